import type { FeatureSet } from '@metad2a/core';
import { makeTasks } from '../src';

const set = (name: string, counts: number[], dim = 2): FeatureSet => ({
  name,
  dim,
  classes: counts.map((n, k) => ({ label: `c${k}`, count: n, data: new Float32Array(n * dim).fill(k) })),
});

describe('makeTasks', () => {
  it('draws seeded subsets of distinct classes across several sets', () => {
    const a = set('a', [20, 25, 30, 20]);
    const b = set('b', [21, 22, 23]);
    const t1 = makeTasks([a, b], { numTasks: 50, classesPerTask: 5, seed: 3 });
    const t2 = makeTasks([a, b], { numTasks: 50, classesPerTask: 5, seed: 3 });
    expect(t1.map((t) => t.classes.map((c) => c.label))).toEqual(t2.map((t) => t.classes.map((c) => c.label)));
    expect(makeTasks([a, b], { numTasks: 50, classesPerTask: 5, seed: 4 }).map((t) => t.classes.map((c) => c.label))).not.toEqual(t1.map((t) => t.classes.map((c) => c.label)));
    const seen = new Set<string>();
    for (const t of t1) {
      expect(t.classes).toHaveLength(5);
      expect(new Set(t.classes.map((c) => c.label)).size).toBe(5);
      t.classes.forEach((c, i) => {
        const src = t.sources[i]!;
        expect(c.label).toBe(`${[a, b][src.set]!.name}/c${src.classIndex}`);
        expect(c.count).toBeGreaterThanOrEqual(20);
        seen.add(c.label);
      });
    }
    expect(seen.size).toBe(7); // 50 tasks reach every class
  });

  it('requires at least minPerClass rows per class, or drops the small ones when asked', () => {
    const a = set('a', [20, 5, 30, 19]);
    expect(() => makeTasks([a], { numTasks: 1, classesPerTask: 2 })).toThrow(
      /makeTasks: classes: expected at least 20 samples in every class .*got 2 smaller class\(es\)\n {2}- a: class 1 \(c1\) has 5\n {2}- a: class 3 \(c3\) has 19/,
    );
    const t = makeTasks([a], { numTasks: 3, classesPerTask: 2, dropSmallClasses: true, seed: 1 });
    for (const task of t) expect(task.classes.map((c) => c.label).sort()).toEqual(['c0', 'c2']);
    expect(() => makeTasks([a], { numTasks: 1, classesPerTask: 3, dropSmallClasses: true })).toThrow(/classesPerTask: expected an integer in 1\.\.2/);
    expect(() => makeTasks([a, set('z', [30], 3)], { numTasks: 1, classesPerTask: 1, minPerClass: 1 })).toThrow(/sets\[1\] \(z\)\.dim: expected 2, got 3/);
  });
});
