import { databaseStats } from '../src';

describe('database statistics', () => {
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
});
