import { Rng, seedToU32 } from '../src';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference xoshiro128** stream for state [1, 2, 3, 4]', () => {
    const r = Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect([0, 1, 2, 3, 4, 5].map(() => r.nextU32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('gives known first values for seed 42 (splitmix32 seeding)', () => {
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([2837322924, 544945897, 479756282]);
    expect(new Rng(42).uniform()).toBeCloseTo(0.6606157208001621, 15);
    expect(new Rng(7).permutation(10)).toEqual([3, 9, 6, 5, 4, 7, 2, 1, 8, 0]);
  });

  it('same seed, same stream; different seeds, different streams', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const sa = Array.from({ length: 100 }, () => a.uniform());
    const sb = Array.from({ length: 100 }, () => b.uniform());
    const sc = Array.from({ length: 100 }, () => c.uniform());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(new Rng('cifar10').nextU32()).toBe(new Rng('cifar10').nextU32());
  });

  it('state() / fromState() resume the stream exactly', () => {
    const a = new Rng(9);
    for (let i = 0; i < 17; i++) a.normal();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const rest = Array.from({ length: 50 }, () => a.uniform());
    const b = Rng.fromState(saved);
    expect(Array.from({ length: 50 }, () => b.uniform())).toEqual(rest);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3] as never })).toThrow(/four uint32/);
  });

  it('uniform in [0,1) with the right mean; normal with mean 0 and variance 1', () => {
    const r = new Rng(1);
    const n = 200000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 2);
    expect(sn2 / n).toBeCloseTo(1, 1);
  });

  it('int(n) is unbiased over small ranges and rejects bad n', () => {
    const r = new Rng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[r.int(3)]!++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(1.5)).toThrow(RangeError);
  });

  it('permutation, sampleIndices, choice, categorical, fork', () => {
    const r = new Rng(3);
    const p = r.permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const s = r.sampleIndices(20, 5);
    expect(new Set(s).size).toBe(5);
    expect(() => r.sampleIndices(3, 4)).toThrow(/without replacement/);
    expect(['a', 'b']).toContain(r.choice(['a', 'b']));
    expect(r.categorical([0, 0, 1])).toBe(2);
    const parent = new Rng(11);
    const child = parent.fork();
    expect(child.nextU32()).not.toBe(parent.nextU32());
    expect(new Rng(11).fork().nextU32()).toBe(new Rng(11).fork().nextU32());
  });

  it('seedToU32 folds large seeds and rejects non-integers', () => {
    expect(seedToU32(5)).toBe(5);
    expect(seedToU32(2 ** 32 + 5)).not.toBe(5);
    expect(() => seedToU32(1.5)).toThrow(/safe integer/);
  });
});
