/**
 * How much of a task's ranking of NB201 cells depends on its data set, and how much of that the
 * records can teach (#18). A predictor can only pick a different cell for a different data set if
 * the records' rankings differ between data sets by more than one training's noise. This tool
 * measures it with the simplest model that has a data-set-specific part, ridge regression on the
 * cells' edge-op indicators (`nb201Choices`, 30 features; every task's means removed, so only
 * differences within a task count), scored by the within-task Spearman with trainings it never saw:
 *
 * - training records (`--train`, default the replicated database): tasks in `--folds` folds; a
 *   model fitted on the other folds' first trainings (`one ranking`: one weight vector for every
 *   source; `per-source`: plus a deviation per source, fitted to the same sources' other tasks),
 *   against the held-out fold's *second* trainings (their own noise), beside the seed-to-seed
 *   Spearman of the same pairs (how well one training predicts another);
 * - held-out databases (`--heldout`): every task's random cells (replicate-0 records that are not a
 *   `bench transfer` pick), their mean over trainings as the truth; `one ranking` fitted on every
 *   training pair (means), `+ sibling tasks` adds a deviation fitted to the other tasks of the same
 *   source in that database (leave the task out: the most data-specific knowledge there is), and
 *   `first trainings` / `means` fit `one ranking` on the training pairs measured twice, once on
 *   their first training and once on their mean (what `meta-train --replicates mean` could gain).
 *
 *   npx tsx tools/default-model/ranking-ceiling.ts [--train builtin:nb201-replicated] \
 *     [--heldout builtin:nb201-heldout,builtin:nb201-heldout-dev,builtin:nb201-heldout-dev2] \
 *     [--ridge 100] [--folds 5] [--seed 0]
 * Prints JSON: per database and source the mean within-task Spearman of each model, and the paired
 * differences with 95 % bootstrap intervals over tasks.
 */
import { Rng, fail, ridgeSolve, spearman } from '@metad2a/core';
import { bootstrapMeanCI } from '@metad2a/benchmarks';
import { replicateNoise } from '@metad2a/arch-trainer';
import { meanOfReplicates, type MetaRecord } from '@metad2a/meta-trainer';
import { nb201, nb201Choices } from '@metad2a/search-spaces';
import * as E from 'fp-ts/Either';
import { runTool, toolFlags } from './tool-flags';
import { readTrainedDatabase, type TrainedDatabase } from './trained-records';

const FEATURES = nb201Choices.names.length;

/** A (task, cell) measurement: the task's source, the cell's indicators, its accuracy. */
interface Row {
  readonly task: string;
  readonly source: string;
  readonly arch: string;
  readonly x: Float64Array;
  readonly y: number;
}

const indicatorCache = new Map<string, Float64Array>();
function indicators(arch: string): Float64Array {
  let x = indicatorCache.get(arch);
  if (!x) {
    const cell = nb201.parse(arch);
    if (E.isLeft(cell)) fail('ValidationError', { source: 'ranking-ceiling', field: 'record arch', expected: 'an NB201 cell', got: arch });
    indicatorCache.set(arch, (x = nb201Choices.indicators(cell.right)));
  }
  return x;
}

export interface CeilingOptions {
  /** Ridge penalty (default 100). */
  readonly lambda?: number;
  /** Task folds of the training records' cross-validation (default 5). */
  readonly folds?: number;
  readonly seed?: number;
}

const rowsOf = (records: readonly MetaRecord[], sourceOf: ReadonlyMap<string, string>): Row[] =>
  records.map((r) => ({ task: r.task, source: sourceOf.get(r.task)!, arch: r.arch, x: indicators(r.arch), y: r.accuracy }));

/** Rows with every task's mean accuracy and mean indicators removed (so a task's difficulty does not count). */
function centred(rows: readonly Row[]): Row[] {
  const byTask = groupBy(rows, (r) => r.task);
  return [...byTask.values()].flatMap((g) => {
    const my = g.reduce((s, r) => s + r.y, 0) / g.length;
    const mx = new Float64Array(FEATURES);
    for (const r of g) for (let j = 0; j < FEATURES; j++) mx[j]! += r.x[j]! / g.length;
    return g.map((r) => ({ ...r, x: r.x.map((v, j) => v - mx[j]!), y: r.y - my }));
  });
}

/** Ridge weights on centred rows; `offset(row)` is subtracted from the target first (a deviation from another model). */
function ridge(rows: readonly Row[], lambda: number, offset: (r: Row) => number = () => 0): Float64Array {
  const ata = new Float64Array(FEATURES * FEATURES);
  const atb = new Float64Array(FEATURES);
  for (const r of rows) {
    const t = r.y - offset(r);
    for (let i = 0; i < FEATURES; i++) {
      const xi = r.x[i]!;
      if (xi === 0) continue;
      atb[i]! += xi * t;
      for (let j = 0; j < FEATURES; j++) ata[i * FEATURES + j]! += xi * r.x[j]!;
    }
  }
  return ridgeSolve(ata, atb, FEATURES, lambda);
}

const dot = (w: Float64Array, x: Float64Array): number => w.reduce((s, v, j) => s + v * x[j]!, 0);

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = m.get(k);
    if (g) g.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** Spearman of one task's scores against its truth (undefined where either side is constant or fewer than 3 cells). */
function taskSpearman(scores: readonly number[], truth: readonly number[]): number | undefined {
  if (scores.length < 3) return undefined;
  const rho = spearman(scores, truth);
  return Number.isFinite(rho) ? rho : undefined;
}

interface TaskScores {
  readonly task: string;
  readonly source: string;
  /** model name → the task's Spearman */
  readonly rho: Record<string, number>;
}

/** Per source and overall: each model's mean Spearman and the tasks; the paired differences `[a, b]` (a − b over tasks) with a bootstrap interval. */
function summarise(tasks: readonly TaskScores[], models: readonly string[], pairs: readonly (readonly [string, string])[], seed: number) {
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  // the task count and each model's mean Spearman, by model name
  const block = (ts: readonly TaskScores[]): Record<string, number> => ({
    tasks: ts.length,
    ...Object.fromEntries(models.map((m) => [m, round(mean(ts.map((t) => t.rho[m]!)))])),
  });
  return {
    all: block(tasks),
    differences: Object.fromEntries(
      pairs.map(([a, b]) => {
        const ci = bootstrapMeanCI(
          tasks.map((t) => t.rho[a]! - t.rho[b]!),
          { seed: `${seed}|${a} − ${b}` },
        );
        return [`${a} − ${b}`, { mean: round(ci.mean), ci95: [round(ci.lo), round(ci.hi)] }];
      }),
    ),
    perSource: Object.fromEntries([...groupBy(tasks, (t) => t.source)].sort(([a], [b]) => a.localeCompare(b)).map(([s, ts]) => [s, block(ts)])),
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** The measurements described at the top of this file, on a training database and held-out databases. */
export function rankingCeiling(train: TrainedDatabase, heldoutDbs: readonly TrainedDatabase[], opts: CeilingOptions = {}) {
  const lambda = opts.lambda ?? 100;
  const folds = opts.folds ?? 5;
  const seed = opts.seed ?? 0;
  if (!(lambda > 0)) fail('ValidationError', { source: 'ranking-ceiling', field: 'ridge', expected: 'a number > 0', got: String(lambda) });
  if (!Number.isInteger(folds) || folds < 2) fail('ValidationError', { source: 'ranking-ceiling', field: 'folds', expected: 'an integer ≥ 2', got: String(folds) });
  const trainRef = train.name;

  // ---- training records: one ranking vs a ranking per source, against second trainings
  const first = train.records.filter((r) => r.replicate === 0);
  const second = new Map(train.records.filter((r) => r.replicate === 1).map((r) => [`${r.task}\u0000${r.arch}`, r.accuracy]));
  if (second.size === 0)
    fail('ValidationError', { source: 'ranking-ceiling', field: trainRef, expected: 'pairs trained twice (db build --replicates 2)', got: 'one training per pair' });
  const firstRows = centred(rowsOf(first, train.sourceOf));
  const taskNames = [...new Set(firstRows.map((r) => r.task))].sort();
  const order = new Rng(`${seed}|ranking-ceiling folds`).shuffle([...taskNames]);
  const foldOf = new Map(order.map((t, i) => [t, i % folds]));
  const cv: TaskScores[] = [];
  for (let f = 0; f < folds; f++) {
    const fit = firstRows.filter((r) => foldOf.get(r.task) !== f);
    const w = ridge(fit, lambda);
    const deviation = new Map([...groupBy(fit, (r) => r.source)].map(([s, rs]) => [s, ridge(rs, lambda, (r) => dot(w, r.x))]));
    for (const [task, rows] of groupBy(
      firstRows.filter((r) => foldOf.get(r.task) === f && second.has(`${r.task}\u0000${r.arch}`)),
      (r) => r.task,
    )) {
      const truth = rows.map((r) => second.get(`${r.task}\u0000${r.arch}`)!);
      const d = deviation.get(rows[0]!.source);
      const rho = {
        'one ranking': taskSpearman(
          rows.map((r) => dot(w, r.x)),
          truth,
        ),
        'per-source': taskSpearman(
          rows.map((r) => dot(w, r.x) + (d ? dot(d, r.x) : 0)),
          truth,
        ),
        'another training': taskSpearman(
          rows.map((r) => r.y),
          truth,
        ),
      };
      if (Object.values(rho).every((v) => v !== undefined)) cv.push({ task, source: rows[0]!.source, rho: rho as Record<string, number> });
    }
  }
  const noise = replicateNoise(train.records);

  // ---- held-out databases: one ranking, + the sibling tasks of the source, first trainings vs means
  const meanRows = centred(rowsOf(meanOfReplicates(train.records), train.sourceOf));
  const w = ridge(meanRows, lambda);
  const twice = new Set([...second.keys()]);
  const pairKey = (r: { task: string; arch: string }) => `${r.task}\u0000${r.arch}`;
  const wFirst = ridge(
    centred(
      rowsOf(
        first.filter((r) => twice.has(pairKey(r))),
        train.sourceOf,
      ),
    ),
    lambda,
  );
  const wMean = ridge(centred(rowsOf(meanOfReplicates(train.records.filter((r) => twice.has(pairKey(r)))), train.sourceOf)), lambda);
  const heldout = heldoutDbs.map((h) => {
    const ref = h.name;
    const means = meanOfReplicates(h.records);
    const meanOf = new Map(means.map((r) => [pairKey(r), r.accuracy]));
    const random = h.records.filter((r) => r.replicate === 0 && !r.how.includes('a pick of'));
    const allRows = centred(rowsOf(means, h.sourceOf));
    const tasks: TaskScores[] = [];
    for (const [task, rs] of groupBy(random, (r) => r.task)) {
      const source = h.sourceOf.get(task)!;
      const siblings = allRows.filter((r) => r.source === source && r.task !== task);
      const d = siblings.length > 0 ? ridge(siblings, lambda, (r) => dot(w, r.x)) : undefined;
      const truth = rs.map((r) => meanOf.get(pairKey(r))!);
      const xs = rs.map((r) => indicators(r.arch));
      const rho = {
        'one ranking': taskSpearman(
          xs.map((x) => dot(w, x)),
          truth,
        ),
        '+ sibling tasks': d
          ? taskSpearman(
              xs.map((x) => dot(w, x) + dot(d, x)),
              truth,
            )
          : undefined,
        'first trainings': taskSpearman(
          xs.map((x) => dot(wFirst, x)),
          truth,
        ),
        means: taskSpearman(
          xs.map((x) => dot(wMean, x)),
          truth,
        ),
      };
      if (Object.values(rho).every((v) => v !== undefined)) tasks.push({ task, source, rho: rho as Record<string, number> });
    }
    const cells = groupBy(random, (r) => r.task);
    return {
      database: ref,
      randomCellsPerTask: [Math.min(...[...cells.values()].map((c) => c.length)), Math.max(...[...cells.values()].map((c) => c.length))],
      ...summarise(
        tasks,
        ['one ranking', '+ sibling tasks', 'first trainings', 'means'],
        [
          ['+ sibling tasks', 'one ranking'],
          ['means', 'first trainings'],
        ],
        seed,
      ),
    };
  });

  return {
    model: `ridge (λ ${lambda}) on ${FEATURES} edge-op indicators (${nb201Choices.id}), every task's means removed; within-task Spearman`,
    train: {
      database: trainRef,
      records: train.records.length,
      pairsTrainedTwice: twice.size,
      seedNoise: { sd: round(noise.sd), seedSpearman: round(noise.seedSpearman), tasks: noise.tasks },
      crossValidated: {
        folds,
        seed,
        against: 'the held-out folds’ second trainings',
        ...summarise(
          cv,
          ['one ranking', 'per-source', 'another training'],
          [
            ['per-source', 'one ranking'],
            ['another training', 'one ranking'],
          ],
          seed,
        ),
      },
    },
    heldout,
  };
}

function main(): void {
  const { arg, integer } = toolFlags('ranking-ceiling');
  const readDatabase = (ref: string) => readTrainedDatabase('ranking-ceiling', ref);
  const train = readDatabase(arg('train') ?? 'builtin:nb201-replicated');
  const heldout = (arg('heldout') ?? 'builtin:nb201-heldout,builtin:nb201-heldout-dev,builtin:nb201-heldout-dev2').split(',').map(readDatabase);
  const lambda = Number(arg('ridge') ?? 100);
  console.log(JSON.stringify(rankingCeiling(train, heldout, { lambda, folds: integer('folds', 5), seed: integer('seed', 0) }), null, 2));
}

runTool(module, main);
