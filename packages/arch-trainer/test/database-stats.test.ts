import { databaseStats, priorAgreement, replicateNoise } from '../src';

describe('database statistics', () => {
  it('replicateNoise: the pooled sd of one training around its pair, and the seed-to-seed Spearman within tasks', () => {
    const rec = (task: string, arch: string, accuracy: number, replicate: number) => ({ task, arch, accuracy, replicate });
    const n = replicateNoise([
      // task a: three pairs trained twice, the second training orders them the same way
      rec('a', 'x', 50, 0),
      rec('a', 'x', 52, 1),
      rec('a', 'y', 60, 0),
      rec('a', 'y', 66, 1),
      rec('a', 'z', 70, 0),
      rec('a', 'z', 71, 1),
      // task b: three pairs, reversed by the second training; one of them trained three times
      rec('b', 'x', 10, 0),
      rec('b', 'x', 30, 1),
      rec('b', 'x', 26, 2),
      rec('b', 'y', 20, 0),
      rec('b', 'y', 20, 1),
      rec('b', 'z', 30, 0),
      rec('b', 'z', 10, 1),
      // a pair trained once, and a task with two pairs trained twice (too few for a Spearman)
      rec('c', 'x', 40, 0),
      rec('d', 'x', 40, 0),
      rec('d', 'x', 44, 1),
      rec('d', 'y', 41, 0),
      rec('d', 'y', 41, 1),
    ]);
    expect([n.pairs, n.trainings, n.tasks]).toEqual([8, 17, 2]);
    // sample variances: (2²+6²+1²)/2 each, b/x: mean 22 → (144+64+16)/2, b/y 0, b/z 200, d/x 8, d/y 0
    const variances = [2, 18, 0.5, 112, 0, 200, 8, 0];
    expect(n.sd).toBeCloseTo(Math.sqrt(variances.reduce((a, b) => a + b, 0) / 8), 12);
    expect(n.seedSpearman).toBeCloseTo((1 + -1) / 2, 12);
    expect(replicateNoise([rec('a', 'x', 50, 0)])).toEqual({ pairs: 0, trainings: 0, sd: NaN, seedSpearman: NaN, tasks: 0 });
  });

  it('reports spread per task and rank agreement within and across dataset groups', () => {
    const rec = (task: string, arch: string, accuracy: number) => ({ task, arch, accuracy });
    const s = databaseStats([
      rec('a/1-2', 'x', 50),
      rec('a/1-2', 'y', 60),
      rec('a/1-2', 'z', 90),
      rec('a/3-4', 'x', 40),
      rec('a/3-4', 'y', 70),
      rec('a/3-4', 'z', 80),
      rec('b/1-2', 'x', 90),
      rec('b/1-2', 'y', 60),
      rec('b/1-2', 'z', 50),
    ]);
    expect([s.tasks, s.archs, s.records]).toEqual([3, 3, 9]);
    expect(s.meanRange).toBeCloseTo((40 + 40 + 40) / 3, 12);
    const std = (v: number[]) => {
      const m = v.reduce((p, q) => p + q, 0) / v.length;
      return Math.sqrt(v.reduce((p, q) => p + (q - m) ** 2, 0) / v.length);
    };
    expect(s.meanStd).toBeCloseTo((std([50, 60, 90]) + std([40, 70, 80]) + std([90, 60, 50])) / 3, 12);
    // arch means: x 60, y 63.33, z 73.33
    expect(s.archMeanRange).toBeCloseTo(220 / 3 - 60, 12);
    expect([s.pairsWithinGroup, s.pairsAcrossGroups]).toEqual([1, 2]);
    expect(s.rankAgreementWithinGroup).toBeCloseTo(1, 12);
    expect(s.rankAgreementAcrossGroups).toBeCloseTo(-1, 12);
  });

  it('measures within-task agreement with a prior score without shared architectures', () => {
    const rec = (task: string, arch: string, accuracy: number) => ({ task, arch, accuracy });
    const prior: Record<string, number> = { p: 1, q: 2, r: 3, s: 4, t: 5, u: 6 };
    const records = [
      // t1 orders its cells as the prior does (ρ 1); t2 exactly against it (ρ −1); t3: ρ 0.5
      rec('t1', 'p', 10),
      rec('t1', 'q', 20),
      rec('t1', 'r', 30),
      rec('t2', 's', 30),
      rec('t2', 't', 20),
      rec('t2', 'u', 10),
      rec('t3', 'p', 20),
      rec('t3', 'q', 10),
      rec('t3', 'r', 30),
      // too few scored cells: two records and an unscored one
      rec('t4', 'p', 1),
      rec('t4', 'q', 2),
      rec('t4', 'unknown', 3),
    ];
    const a = priorAgreement(records, (arch) => prior[arch]);
    expect(a.tasks).toBe(3);
    expect(a.meanSpearman).toBeCloseTo((1 - 1 + 0.5) / 3, 12);
    expect(a.positiveShare).toBeCloseTo(2 / 3, 12);
    expect(priorAgreement(records, (arch) => prior[arch], 2).tasks).toBe(4);
    expect(Number.isNaN(priorAgreement([], () => 1).meanSpearman)).toBe(true);
  });
});
