import { Rng } from '@metad2a/core';
import { MBV3_SIZE, enumerateNb201, isValidNb201, encodeNb201, mbv3, mbv3Cost, mbv3FeasibleBound, nb201Cost, nb201FeasibleCount, type Mbv3Config } from '../src';

describe('NB201: the number of cells within FLOPs / parameter limits, exactly', () => {
  // brute force over all 15,625 cells, as the closed form must agree with it
  const all = [...enumerateNb201()];
  const brute = (maxMflops?: number, maxMparams?: number, classes = 10): number =>
    all.filter((c) => {
      const k = nb201Cost(c, { classes });
      return (maxMflops === undefined || k.macs / 1e6 <= maxMflops) && (maxMparams === undefined || k.params / 1e6 <= maxMparams);
    }).length;

  test('no limits: all 15,625 cells, every one a valid graph', () => {
    expect(all.every((c) => isValidNb201(encodeNb201(c)))).toBe(true);
    expect(nb201FeasibleCount()).toMatchObject({ count: 15625n, exact: true, total: 15625n });
  });

  test.each([
    [undefined, undefined, 10],
    [0.5, undefined, 10],
    [100, undefined, 10],
    [50, 0.5, 10],
    [150, 1.0, 100],
    [7.78304, undefined, 10],
  ])('flops ≤ %s M, params ≤ %s M, %i classes: equal to enumeration', (f, p, classes) => {
    const r = nb201FeasibleCount({ maxMflops: f, maxMparams: p, classes });
    expect(r.exact).toBe(true);
    expect(Number(r.count)).toBe(brute(f, p, classes));
  });

  test('--flops-max 0.5 admits no cell; the cheapest has 7.78 MFLOPs', () => {
    const r = nb201FeasibleCount({ maxMflops: 0.5 });
    expect(r.count).toBe(0n);
    expect(r.minMflops).toBeCloseTo(7.78304, 6);
    expect(nb201FeasibleCount({ maxMflops: 100 }).count).toBe(14080n);
    // only the 3^6 cells without convolutions have the minimum
    expect(nb201FeasibleCount({ maxMflops: r.minMflops }).count).toBe(729n);
  });

  test('bad limits are named errors', () => {
    expect(() => nb201FeasibleCount({ maxMflops: -1 })).toThrow(/maxMflops: expected a positive finite number/);
  });
});

describe('MBv3: an upper bound on the configs within limits', () => {
  test('no limits or limits above the largest subnet: the whole space, exactly', () => {
    expect(mbv3FeasibleBound()).toMatchObject({ count: MBV3_SIZE, exact: true });
    expect(mbv3FeasibleBound({ maxMflops: 10_000, maxMparams: 1000 })).toMatchObject({ count: MBV3_SIZE, exact: true });
  });

  test('below the smallest subnet: 0, exactly; the minimum is the all-k3e3 depth-2 subnet', () => {
    const r = mbv3FeasibleBound({ maxMflops: 100 });
    expect(r).toMatchObject({ count: 0n, exact: true });
    const small: Mbv3Config = { ks: new Array(20).fill(3), e: new Array(20).fill(3), d: new Array(5).fill(2) };
    expect(r.minMflops).toBeCloseTo(mbv3Cost(small).mflops, 9);
    expect(r.minMparams).toBeCloseTo(mbv3Cost(small).params / 1e6, 9);
  });

  test('at exactly the minimum, the bound is the 81^5 configs whose active blocks are all k3e3 (inactive slots free)', () => {
    const r = mbv3FeasibleBound({ maxMflops: mbv3FeasibleBound().minMflops });
    expect(r.count).toBe(81n ** 5n);
  });

  test('the bound is never below what sampling finds, and is below the whole space for a tight limit', () => {
    const limit = 180;
    const r = mbv3FeasibleBound({ maxMflops: limit });
    expect(r.count).toBeLessThan(MBV3_SIZE);
    expect(r.count).toBeGreaterThan(0n);
    const rng = new Rng(19);
    let hits = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) if (mbv3Cost(mbv3.sample(rng)).mflops <= limit) hits++;
    // sampled fraction × space (with a generous 3-sigma margin) must not exceed the bound
    const p = hits / n;
    const lower = Math.max(0, p - 3 * Math.sqrt((p * (1 - p)) / n));
    expect((BigInt(Math.floor(lower * 1e6)) * MBV3_SIZE) / 1_000_000n).toBeLessThanOrEqual(r.count);
  });
});

describe('the spaces carry the capability', () => {
  test('nb201 / mbv3 countFeasible; a constrained view drops it (its filter is unknown to the base count)', async () => {
    const { nb201, mbv3 } = await import('../src');
    const { constrainSearchSpace } = await import('@metad2a/core');
    expect(nb201.countFeasible!({ flopsMaxM: 100 }, { classes: 10 }).count).toBe(14080n);
    expect(nb201.countFeasible!({}, { classes: 10 }).count).toBe(15625n);
    expect(mbv3.countFeasible!({ flopsMaxM: 100 }, { classes: 10 })).toMatchObject({ count: 0n, exact: true });
    expect(constrainSearchSpace(nb201, { flopsMaxM: 100 }, 10).countFeasible).toBeUndefined();
  });
});
