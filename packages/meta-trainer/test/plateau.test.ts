import { ReduceLROnPlateau } from '../src';

describe('ReduceLROnPlateau (torch semantics)', () => {
  test('mode min, patience 10: the 11th epoch without improvement divides lr by 10', () => {
    const s = new ReduceLROnPlateau({ factor: 0.1, patience: 10 });
    let lr = 1e-4;
    const lrs: number[] = [];
    // epoch 1 sets best = 5; epochs 2..12 do not improve; the 12th is the 11th bad epoch
    for (let e = 1; e <= 12; e++) lrs.push((lr = s.step(5, lr)));
    expect(lrs.slice(0, 11)).toEqual(Array(11).fill(1e-4));
    expect(lrs[11]).toBeCloseTo(1e-5, 15);
    // the counter restarts: another 11 bad epochs for the next reduction
    for (let e = 13; e <= 22; e++) lr = s.step(5, lr);
    expect(lr).toBeCloseTo(1e-5, 15);
    lr = s.step(5, lr);
    expect(lr).toBeCloseTo(1e-6, 16);
  });

  test('relative threshold 1e-4: an improvement smaller than best·1e-4 counts as bad', () => {
    const s = new ReduceLROnPlateau({ patience: 0 });
    let lr = 1;
    lr = s.step(100, lr); // best 100
    lr = s.step(99.995, lr); // not < 100·(1 − 1e-4) = 99.99 → bad, > patience 0 → reduce
    expect(lr).toBeCloseTo(0.1, 12);
    lr = s.step(99.98, lr); // < 99.99 → improvement, best = 99.98
    expect(lr).toBeCloseTo(0.1, 12);
    expect(s.bestMetric).toBe(99.98);
  });

  test('cooldown, min_lr, eps and state round trip', () => {
    const s = new ReduceLROnPlateau({ patience: 1, cooldown: 2, minLr: 0.05 });
    let lr = 1;
    const seq = [1, 1, 1, 1, 1, 1, 1, 1].map((m) => (lr = s.step(m, lr)));
    // epoch1 best; e2 bad(1); e3 bad(2)>1 → 0.1, cooldown 2; e4,e5 in cooldown; e6 bad(1); e7 bad(2) → max(0.01, 0.05) = 0.05; e8 cooldown
    expect(seq).toEqual([1, 1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]);
    const copy = new ReduceLROnPlateau({ patience: 1, cooldown: 2, minLr: 0.05 });
    copy.loadState(JSON.parse(JSON.stringify(s.state())));
    expect(copy.state()).toEqual(s.state());
    // at min_lr the change is below eps: stays
    for (let i = 0; i < 5; i++) lr = s.step(1, lr);
    expect(lr).toBe(0.05);
    const max = new ReduceLROnPlateau({ mode: 'max', patience: 0 });
    expect(max.step(1, 1)).toBe(1);
    expect(max.step(2, 1)).toBe(1);
    expect(max.step(1.5, 1)).toBeCloseTo(0.1, 12);
  });
});
