/**
 * tools/default-model/strong-cells.ts on hand-made held-out records whose truth is known: cells
 * that win by source (a per-source rule chosen on the dev tasks must beat the reference on every
 * test task, one fixed cell only on its source's), cells that are equal (the noise share must be
 * ~1), the percentile equal to `percentileAmong`, the coin's tail, and refusals.
 */
import { Rng } from '@metad2a/core';
import { percentileAmong } from '@metad2a/benchmarks';
import type { MetaRecord } from '@metad2a/meta-trainer';
import { enumerateNb201, formatNb201, nb201 } from '@metad2a/search-spaces';
import { chanceOfMost, strongCellWins } from '../../../tools/default-model/strong-cells';
import type { TrainedDatabase } from '../../../tools/default-model/trained-records';

/** Cells of distinct computations (the tool compares cells by computation). */
const CELLS: string[] = (() => {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of enumerateNb201()) {
    const k = nb201.computationKey!(c);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(formatNb201(c));
  }
  return new Rng('strong-cells test').shuffle(out);
})();
const [REF, Y, Z] = [CELLS[0]!, CELLS[1]!, CELLS[2]!];
const REFERENCES = { reference: REF };
/** Random cells are drawn per task from the rest of the space, as the plans draw them, so none is measured on every task. */
const POOL = CELLS.slice(10);
const RANDOM_ACCURACIES = Array.from({ length: 20 }, (_, i) => 50 + i);

/**
 * `tasks` tasks per source: 20 random cells (accuracies 50 … 69) and the strong cells (every one a
 * pick), each trained `replicates` times with uniform noise ±`noise`; `strong(source)` gives the
 * strong cells' true accuracies on that source.
 */
function database(
  name: string,
  sources: readonly string[],
  strong: (source: string) => Record<string, number>,
  opts: { tasks: number; replicates: number; noise: number; seed: string },
): TrainedDatabase {
  const rng = new Rng(opts.seed);
  const records: MetaRecord[] = [];
  const sourceOf = new Map<string, string>();
  let id = 0;
  let taskId = 0;
  const add = (task: string, arch: string, truth: number, how: string) => {
    for (let r = 0; r < opts.replicates; r++)
      records.push({
        id: ++id,
        taskId,
        task,
        archId: CELLS.indexOf(arch),
        space: 'nb201',
        arch,
        accuracy: truth + rng.uniformIn(-opts.noise, opts.noise),
        metric: 'top1-test@test',
        replicate: r,
        how: r === 0 ? how : 'trained:@metad2a/arch-trainer (replicate of metad2a bench transfer)',
        createdAt: '2026-12-07T00:00:00Z',
      });
  };
  for (const source of sources)
    for (let t = 0; t < opts.tasks; t++) {
      const task = `${name}:${source}/${t}`;
      sourceOf.set(task, source);
      taskId++;
      rng.sampleIndices(POOL.length, 20).forEach((c, i) => add(task, POOL[c]!, RANDOM_ACCURACIES[i]!, 'trained:@metad2a/arch-trainer'));
      for (const [arch, truth] of Object.entries(strong(source))) add(task, arch, truth, 'trained:@metad2a/arch-trainer (a pick of metad2a bench transfer)');
    }
  return { name, records, sourceOf };
}

describe('strong-cells', () => {
  it('cells that win by source: the per-source rule beats the reference on every test task, one fixed cell on its own source only', () => {
    // between two random cells (integers 50–69, noise ±0.2) where a strong cell is not above them all, so its percentile is exact
    const truth = (s: string) => ({ [REF]: 66.5, [Y]: s === 'a' ? 75 : 64.5, [Z]: s === 'a' ? 63.5 : 76 });
    const opts = { replicates: 3, noise: 0.2 };
    const test = database('test', ['a', 'b'], truth, { ...opts, tasks: 5, seed: 'test' });
    const dev = database('dev', ['a', 'b'], truth, { ...opts, tasks: 3, seed: 'dev' });
    const r = strongCellWins([test], [dev], { replicates: 3, references: REFERENCES });
    expect(r.tasks).toEqual({ test: 10, dev: 6 });
    expect(r.strongCells.map((c) => c.cell).sort()).toEqual(['reference', Y, Z].sort());
    const [fixed, perSource, bound] = r.rules;
    // Y's dev mean percentile (100 on a, 75 on b) is above Z's (70, 100) and the reference's (85, 85): one fixed cell wins on its own source's 5 tasks only
    expect(fixed!.chosen).toEqual({ all: Y });
    expect(fixed!.test.wins.reference).toEqual({ wins: 5, ties: 0, losses: 5 });
    expect(perSource!.chosen).toEqual({ a: Y, b: Z });
    expect(perSource!.test.wins.reference).toEqual({ wins: 10, ties: 0, losses: 0 });
    expect(bound!.chosen).toEqual({ a: Y, b: Z });
    // differences of 2–9.5 points against noise of ±0.2: the noise share is tiny
    const noise = r.noise.reference!.all;
    expect(noise.noiseShare).toBeLessThan(0.01);
    expect(noise.trueDifferenceSd).toBeCloseTo(Math.sqrt((8.5 ** 2 + 3 ** 2 + 2 ** 2 + 9.5 ** 2) / 4), 0);
    const y = r.strongCells.find((c) => c.cell === Y)!;
    expect(y.perSource.a!.test).toBe(100);
    expect(y.perSource.b!.test).toBe(percentileAmong(64.5, RANDOM_ACCURACIES));
    expect(y.perSource.b!.test).toBe(75);
    expect(y.wins.reference!.test).toEqual({ wins: 5, ties: 0, losses: 5 });
  });

  it('cells that are equal: the noise share is about 1 and no rule wins on most tasks by construction', () => {
    const truth = () => ({ [REF]: 80, [Y]: 80, [Z]: 80, [CELLS[3]!]: 80 });
    const test = database('test', ['a', 'b', 'c', 'd'], truth, { replicates: 3, noise: 3, tasks: 25, seed: 'equal-test' });
    const dev = database('dev', ['a', 'b', 'c', 'd'], truth, { replicates: 3, noise: 3, tasks: 25, seed: 'equal-dev' });
    const r = strongCellWins([test], [dev], { replicates: 3, references: REFERENCES });
    const noise = r.noise.reference!.all;
    expect(noise.tasks).toBe(200);
    // uniform ±3: one training's sd is √3
    expect(noise.oneTrainingSd).toBeCloseTo(Math.sqrt(3), 0);
    expect(noise.noiseShare).toBeGreaterThan(0.85);
    expect(noise.noiseShare).toBeLessThan(1.15);
    for (const rule of r.rules.slice(0, 2)) {
      const w = rule.test.wins.reference!;
      expect(w.wins + w.ties + w.losses).toBe(100);
      expect(w.wins).toBeGreaterThan(30);
      expect(w.wins).toBeLessThan(70);
    }
    expect(r.chanceOfMost).toEqual({ tasks: 100, probability: 0.46 });
  });

  it("the coin's tail: P(more than half of n) for a fair coin", () => {
    expect(chanceOfMost(1)).toBe(0.5);
    expect(chanceOfMost(2)).toBe(0.25);
    expect(chanceOfMost(3)).toBe(0.5);
    // Σ_{k=11}^{20} C(20, k) / 2^20 = 431,910 / 1,048,576
    expect(chanceOfMost(20)).toBeCloseTo(431910 / 1048576, 12);
  });

  it('refuses one training per cell, a reference missing from a task, no dev tasks, and a source with no dev task', () => {
    const truth = () => ({ [REF]: 70, [Y]: 71 });
    const test = database('test', ['a'], truth, { replicates: 3, noise: 1, tasks: 2, seed: 't' });
    const dev = database('dev', ['a'], truth, { replicates: 3, noise: 1, tasks: 2, seed: 'd' });
    expect(() => strongCellWins([test], [dev], { replicates: 1, references: REFERENCES })).toThrow(/replicates: expected an integer ≥ 2/);
    const devWithout = { ...dev, records: dev.records.filter((r) => !(r.arch === REF && r.task.endsWith('/1'))) };
    expect(() => strongCellWins([test], [devWithout], { references: REFERENCES })).toThrow(
      /reference reference: expected 3 trainings on each of the 4 tasks \(bench transfer --replicates 3\), got 3 tasks/,
    );
    expect(() => strongCellWins([test], [], { references: REFERENCES })).toThrow(/--dev: expected held-out tasks, got none/);
    const devOtherSource = database('dev', ['b'], truth, { replicates: 3, noise: 1, tasks: 2, seed: 'd' });
    expect(() => strongCellWins([test], [devOtherSource], { references: REFERENCES })).toThrow(/source a: expected tasks in both --test and --dev .*, got no dev task/);
  });
});
