import * as E from 'fp-ts/lib/Either.js';
import { match } from 'ts-pattern';
import {
  MetaD2AException,
  anchorOffsets,
  drawClassSamples,
  makeError,
  searchSpaces,
  validationError,
  type AccuracyNormalisation,
  type AnySearchSpace,
  type ArchGraph,
  type FeatureSet,
  type PriorAnchor,
  type Rng,
  type SetLayout,
} from '@metad2a/core';
import '@metad2a/search-spaces'; // registers nb201 and mbv3
import type { MetaDatabase, MetaRecord, TaskInfo } from '../database/meta-database';
import { normaliseAccuracy } from './normalisation';

/** One training item: a record with its task's features, its architecture graph and its normalised target. */
export interface TrainingItem {
  readonly record: MetaRecord;
  readonly task: TaskInfo;
  readonly features: FeatureSet;
  readonly graph: ArchGraph;
  /** ((acc − mean)/std)/100 minus {@link offset}, or NaN when no normalisation was given. */
  readonly target: number;
  /** The anchor's term `weight · prior(arch)/100` (0 without an anchor): the predictor's full score is its output plus this. */
  readonly offset: number;
}

/**
 * How meta-training uses a (task, architecture)'s several trainings (records that differ only in
 * `replicate`, e.g. from `db build --replicates`): `each` (default, official) makes one item of
 * every record; `mean` one item per (task, architecture, metric) whose accuracy is their mean.
 */
export type ReplicateUse = 'each' | 'mean';

/**
 * One record per (task, architecture, metric): the first one's fields (order of first appearance)
 * with the mean accuracy of all of them. A record with no other training is returned as it is.
 */
export function meanOfReplicates(records: readonly MetaRecord[]): MetaRecord[] {
  const groups = new Map<string, MetaRecord[]>();
  for (const r of records) {
    const key = `${r.taskId}\u0000${r.archId}\u0000${r.metric}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((g) => (g.length === 1 ? g[0]! : { ...g[0]!, accuracy: g.reduce((a, r) => a + r.accuracy, 0) / g.length }));
}

/**
 * Which (task, architecture) pairs feed the generator. The official generator database
 * (`meta_train_tasks_generator.pt`) is not public and the repository does not say how its "good"
 * architectures were chosen (spec §3.3, §11); these rules make the choice explicit:
 * - `best-per-task`: the `count` most accurate records of each task (default 1: the best one);
 * - `top-fraction-per-task`: the most accurate `fraction` of each task's records (rounded up, at
 *   least one), so tasks with more measured cells give more good cells; the generator then learns
 *   a task's good region rather than one cell, which keeps its decodes diverse;
 * - `min-accuracy`: every record with accuracy ≥ `accuracy` (%);
 * - `all`: every record.
 * The rule is applied inside each part of the split separately.
 */
export type GeneratorPairs =
  | { readonly kind: 'best-per-task'; readonly count?: number }
  | { readonly kind: 'top-fraction-per-task'; readonly fraction: number }
  | { readonly kind: 'min-accuracy'; readonly accuracy: number }
  | { readonly kind: 'all' };

export const DEFAULT_GENERATOR_PAIRS: GeneratorPairs = { kind: 'best-per-task', count: 1 };

/** `best:<k>` | `top:<fraction>` | `min:<accuracy>` | `all` (the CLI's `--generator-pairs`) → the rule; a ValidationError names `source` otherwise. */
export function parseGeneratorPairs(v: string, source = '--generator-pairs'): GeneratorPairs {
  const [kind, arg] = v.split(':');
  const x = Number(arg);
  if (kind === 'all' && arg === undefined) return { kind: 'all' };
  if (kind === 'best' && Number.isInteger(x) && x >= 1) return { kind: 'best-per-task', count: x };
  if (kind === 'top' && x > 0 && x <= 1) return { kind: 'top-fraction-per-task', fraction: x };
  if (kind === 'min' && Number.isFinite(x)) return { kind: 'min-accuracy', accuracy: x };
  throw new MetaD2AException(validationError({ source, expected: 'best:<k ≥ 1>, top:<fraction in (0, 1]>, min:<accuracy %> or all', got: JSON.stringify(v) }));
}

export function selectGeneratorPairs(records: readonly MetaRecord[], rule: GeneratorPairs): MetaRecord[] {
  return match(rule)
    .with({ kind: 'all' }, () => [...records])
    .with({ kind: 'min-accuracy' }, (r) => records.filter((x) => x.accuracy >= r.accuracy))
    .with({ kind: 'best-per-task' }, (r) => {
      const count = r.count ?? 1;
      if (!Number.isInteger(count) || count < 1)
        throw new MetaD2AException(validationError({ source: 'generator pairs', field: 'count', expected: 'a positive integer', got: String(count) }));
      return bestOfEachTask(records, () => count);
    })
    .with({ kind: 'top-fraction-per-task' }, (r) => {
      if (!(r.fraction > 0 && r.fraction <= 1))
        throw new MetaD2AException(validationError({ source: 'generator pairs', field: 'fraction', expected: 'a number in (0, 1]', got: String(r.fraction) }));
      return bestOfEachTask(records, (n) => Math.max(1, Math.ceil(r.fraction * n - 1e-9)));
    })
    .exhaustive();
}

/** The `count(n)` most accurate of each task's n records (stable: ties keep record order), in record order. */
function bestOfEachTask(records: readonly MetaRecord[], count: (n: number) => number): MetaRecord[] {
  const byTask = new Map<number, MetaRecord[]>();
  for (const x of records) {
    const l = byTask.get(x.taskId) ?? [];
    l.push(x);
    byTask.set(x.taskId, l);
  }
  const keep = new Set<number>();
  for (const l of byTask.values()) {
    const sorted = l.map((x, i) => [x, i] as const).sort((a, b) => b[0].accuracy - a[0].accuracy || a[1] - b[1]);
    for (const [x] of sorted.slice(0, count(l.length))) keep.add(x.id);
  }
  return records.filter((x) => keep.has(x.id));
}

/** Architecture string → architecture and graph, through the record's search space (parsed once per string). */
export class GraphResolver {
  private readonly cache = new Map<string, ArchGraph>();
  private readonly archs = new Map<string, unknown>();
  constructor(private readonly spaces: Readonly<Record<string, AnySearchSpace>> = {}) {}

  space(name: string): AnySearchSpace {
    return this.spaces[name] ?? searchSpaces.get(name);
  }

  /** The parsed architecture (of the space's own type). */
  architecture(space: string, arch: string): unknown {
    const key = `${space}\u0000${arch}`;
    if (this.archs.has(key)) return this.archs.get(key);
    const parsed = this.space(space).parse(arch);
    if (E.isLeft(parsed)) throw new MetaD2AException(parsed.left);
    this.archs.set(key, parsed.right);
    return parsed.right;
  }

  graph(space: string, arch: string): ArchGraph {
    const key = `${space}\u0000${arch}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const g = this.space(space).encode(this.architecture(space, arch));
    this.cache.set(key, g);
    return g;
  }
}

/**
 * Training items of records: each record's task must have features for every class. Tasks
 * without features (e.g. the official NB201 import, which ships no ImageNet32 features) are
 * refused with one error that says how many and which. `targetScale` multiplies each target and
 * its anchor offset (default 1: the official normalised scale).
 */
export function trainingItems(
  db: MetaDatabase,
  records: readonly MetaRecord[],
  opts: { normalisation?: AccuracyNormalisation; resolver?: GraphResolver; perClass?: number; anchor?: PriorAnchor; targetScale?: number } = {},
): TrainingItem[] {
  const resolver = opts.resolver ?? new GraphResolver();
  const perClass = opts.perClass ?? 20;
  const tasks = new Map<number, { task: TaskInfo; features?: FeatureSet; missing: number[] }>();
  for (const r of records) {
    if (tasks.has(r.taskId)) continue;
    const task = db.task(r.taskId);
    const missing = db.missingFeatures(task);
    tasks.set(r.taskId, { task, missing, ...(missing.length === 0 ? { features: db.taskFeatureSet(task) } : {}) });
  }
  const without = [...tasks.values()].filter((t) => t.missing.length > 0);
  if (without.length > 0) {
    const datasets = [...new Set(without.map((t) => t.task.dataset))];
    throw new MetaD2AException(
      makeError('ValidationError', {
        source: db.file,
        field: 'task features',
        expected: `features for every class of every training task (meta-training encodes each task's images)`,
        got: `${without.length} of ${tasks.size} tasks without features (dataset ${datasets.join(', ')}; e.g. ${without
          .slice(0, 3)
          .map((t) => `${t.task.name}: ${t.missing.length} classes`)
          .join('; ')}). Add them with \`metad2a db features\` (or MetaDatabase.addFeatureSet); the official MetaD2A database ships no ImageNet32 features`,
      }),
    );
  }
  // One model learns from one extractor's features: a mix would put unlike vectors side by side.
  const origins = new Map<string, string>();
  for (const t of tasks.values()) origins.set(t.task.dataset, db.dataset(t.task.dataset).featuresFrom ?? 'an unnamed extractor');
  if (new Set(origins.values()).size > 1)
    throw new MetaD2AException(
      validationError({
        source: db.file,
        field: 'task features',
        expected: 'features from one extractor for every data set of the training tasks',
        got: [...origins].map(([d, from]) => `${d}: ${from}`).join('; '),
      }),
    );
  for (const t of tasks.values()) {
    for (const [i, c] of t.features!.classes.entries()) {
      if (c.count < perClass) {
        throw new MetaD2AException(
          validationError({
            source: db.file,
            field: `task ${t.task.name} class ${t.task.classIds[i]} (${c.label})`,
            expected: `at least ${perClass} feature rows`,
            got: String(c.count),
          }),
        );
      }
    }
  }
  const anchor = opts.anchor;
  // targets (and the anchor's term with them) on a scale of the caller's (PredictorTrainOptions.targetScale)
  const scale = opts.targetScale ?? 1;
  return records.map((r) => {
    const t = tasks.get(r.taskId)!;
    // core's anchorOffsets: the one place the anchor term is computed (the search's ranking uses it too)
    const offset = anchorOffsets(anchor, resolver.space(r.space), [resolver.architecture(r.space, r.arch)])?.[0] ?? 0;
    return {
      record: r,
      task: t.task,
      features: t.features!,
      graph: resolver.graph(r.space, r.arch),
      target: opts.normalisation ? (normaliseAccuracy(r.accuracy, opts.normalisation) - offset) * scale : Number.NaN,
      offset: offset * scale,
    };
  });
}

/** Items of a batch with the same class count, stacked: `x` is `[B, C·perClass, d]`, class-contiguous. */
export interface BatchGroup {
  readonly x: Float32Array;
  readonly shape: readonly [number, number, number];
  readonly layout: SetLayout;
  readonly graphs: readonly ArchGraph[];
  readonly targets: Float32Array;
  /** Positions of the group's items in the batch. */
  readonly positions: readonly number[];
}

/**
 * Draw the set-encoder inputs of a batch: for each item, `perClass` rows per class without
 * replacement (core `drawClassSamples`, spec §1.3), in item order, from `rng`. Items are grouped
 * by class count (NB201 tasks all have 20 classes: one group; MBv3 tasks vary).
 */
export function drawBatch(items: readonly TrainingItem[], perClass: number, rng: Rng): BatchGroup[] {
  const draws = items.map((it) => drawClassSamples(it.features, perClass, rng));
  const groups = new Map<string, number[]>();
  items.forEach((it, i) => {
    const key = `${it.features.classes.length}x${it.features.dim}`;
    const l = groups.get(key) ?? [];
    l.push(i);
    groups.set(key, l);
  });
  return [...groups.values()].map((positions) => {
    const first = items[positions[0]!]!.features;
    const rows = first.classes.length * perClass;
    const one = rows * first.dim;
    const x = new Float32Array(positions.length * one);
    positions.forEach((p, j) => x.set(draws[p]!, j * one));
    return {
      x,
      shape: [positions.length, rows, first.dim] as const,
      layout: { classes: first.classes.length, perClass },
      graphs: positions.map((p) => items[p]!.graph),
      targets: Float32Array.from(positions.map((p) => items[p]!.target)),
      positions,
    };
  });
}

/** Consecutive batches of an ordering (the last one may be smaller). */
export function batchesOf<T>(order: readonly T[], batchSize: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}
