/**
 * tools/default-model/ranking-ceiling.ts on hand-made records whose rankings are known: sources that
 * order cells oppositely (a per-source model must win, one ranking cannot), sources that share one
 * ranking (the per-source part must add nothing), held-out sibling tasks, picks left out, and the
 * seed-to-seed column equal to its definition.
 */
import { Rng, spearman } from '@metad2a/core';
import type { MetaRecord } from '@metad2a/meta-trainer';
import { enumerateNb201, formatNb201 } from '@metad2a/search-spaces';
import { rankingCeiling } from '../../../tools/default-model/ranking-ceiling';
import type { TrainedDatabase } from '../../../tools/default-model/trained-records';

const ALL = [...enumerateNb201()];
const CONV3 = 3; // NB201_OPS index of nor_conv_3x3

/** The cell's true accuracy on a source: edge 1's conv3x3 worth `sign` × 10 points, edge 4's op a shared term. */
const truth = (cell: readonly number[], sign: number) => 60 + sign * 10 * (cell[0] === CONV3 ? 1 : 0) + 2 * cell[3]!;

/** A database of `tasks` tasks per source, `cells` random cells each, `replicates` trainings each with ±`noise` uniform noise. */
function database(
  name: string,
  sources: Record<string, number>,
  opts: { tasks: number; cells: number; replicates: number; noise: number; seed: string; picks?: boolean },
): TrainedDatabase {
  const rng = new Rng(opts.seed);
  const records: MetaRecord[] = [];
  const sourceOf = new Map<string, string>();
  let id = 0;
  let taskId = 0;
  for (const [source, sign] of Object.entries(sources)) {
    for (let t = 0; t < opts.tasks; t++) {
      const task = `${source}/${t}`;
      sourceOf.set(task, source);
      taskId++;
      const cells = rng.sampleIndices(ALL.length, opts.cells + (opts.picks ? 1 : 0));
      cells.forEach((c, k) => {
        const cell = ALL[c]!;
        const pick = opts.picks === true && k === opts.cells;
        for (let r = 0; r < opts.replicates; r++)
          records.push({
            id: ++id,
            taskId,
            task,
            archId: c,
            space: 'nb201',
            arch: formatNb201(cell),
            accuracy: truth(cell, sign) + rng.uniformIn(-opts.noise, opts.noise),
            metric: 'top1-test@test',
            replicate: r,
            how: pick && r === 0 ? 'trained:@metad2a/arch-trainer (a pick of metad2a bench transfer)' : 'trained:@metad2a/arch-trainer',
            createdAt: '2026-12-07T00:00:00Z',
          });
      });
    }
  }
  return { name, records, sourceOf };
}

describe('ranking-ceiling', () => {
  it('sources that order the cells oppositely: the per-source model wins, the sibling tasks of a held-out source help', () => {
    const train = database('train', { a: 1, b: -1 }, { tasks: 12, cells: 10, replicates: 2, noise: 1, seed: 'opposite' });
    const heldout = database('heldout', { c: -1 }, { tasks: 4, cells: 16, replicates: 3, noise: 1, seed: 'heldout', picks: true });
    const r = rankingCeiling(train, [heldout], { lambda: 1, folds: 4, seed: 0 });
    expect(r.train.records).toBe(480);
    expect(r.train.pairsTrainedTwice).toBe(240);
    const cv = r.train.crossValidated;
    expect(cv.all.tasks).toBe(24);
    expect(cv.all['per-source']).toBeGreaterThan(cv.all['one ranking'] + 0.3);
    expect(cv.differences['per-source − one ranking']!.ci95[0]).toBeGreaterThan(0);
    // the seed-to-seed column is the mean over tasks of Spearman(first training, second training)
    const byTask = new Map<string, { first: number[]; second: number[] }>();
    for (const rec of train.records) {
      const g = byTask.get(rec.task) ?? { first: [], second: [] };
      (rec.replicate === 0 ? g.first : g.second).push(rec.accuracy);
      byTask.set(rec.task, g);
    }
    const seedRho = [...byTask.values()].map((g) => spearman(g.first, g.second));
    expect(cv.all['another training']).toBeCloseTo(seedRho.reduce((s, x) => s + x, 0) / seedRho.length, 3);
    // held out: 16 random cells per task (the pick is not one); one ranking learnt from opposite sources knows nothing of edge 1,
    // the other tasks of source c do
    const h = r.heldout[0]!;
    expect(h.randomCellsPerTask).toEqual([16, 16]);
    expect(h.all.tasks).toBe(4);
    expect(h.all['+ sibling tasks']).toBeGreaterThan(h.all['one ranking'] + 0.2);
  });

  it('sources that share one ranking: the per-source part and the sibling tasks add nothing', () => {
    const train = database('train', { a: 1, b: 1 }, { tasks: 12, cells: 10, replicates: 2, noise: 1, seed: 'shared' });
    const heldout = database('heldout', { c: 1 }, { tasks: 4, cells: 16, replicates: 3, noise: 1, seed: 'heldout-shared' });
    const r = rankingCeiling(train, [heldout], { lambda: 1, folds: 4, seed: 0 });
    const cv = r.train.crossValidated;
    expect(Math.abs(cv.differences['per-source − one ranking']!.mean)).toBeLessThan(0.02);
    expect(cv.all['one ranking']).toBeGreaterThan(0.9);
    expect(r.heldout[0]!.all['one ranking']).toBeGreaterThan(0.9);
    expect(Math.abs(r.heldout[0]!.differences['+ sibling tasks − one ranking']!.mean)).toBeLessThan(0.02);
    // with ±1 point of noise a pair's mean and its first training teach the same ranking
    expect(Math.abs(r.heldout[0]!.differences['means − first trainings']!.mean)).toBeLessThan(0.02);
  });

  it('refuses a training database without second trainings, and bad options', () => {
    const once = database('once', { a: 1 }, { tasks: 3, cells: 5, replicates: 1, noise: 1, seed: 'once' });
    expect(() => rankingCeiling(once, [])).toThrow(/once: expected pairs trained twice \(db build --replicates 2\), got one training per pair/);
    const twice = database('twice', { a: 1 }, { tasks: 3, cells: 5, replicates: 2, noise: 1, seed: 'twice' });
    expect(() => rankingCeiling(twice, [], { folds: 1 })).toThrow(/folds: expected an integer ≥ 2, got 1/);
    expect(() => rankingCeiling(twice, [], { lambda: 0 })).toThrow(/ridge: expected a number > 0, got 0/);
  });
});
