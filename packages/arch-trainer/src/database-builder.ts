import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, seedToU32, validationError } from '@metad2a/core';
import { indicesByClass, preprocessInto, preprocessingFor, resolveDataset, type ImageDataset as RawImageDataset } from '@metad2a/datasets';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { canonicalKey, enumerateNb201, formatNb201, nb201Cost, parseNb201 } from '@metad2a/search-spaces';
import type { ImageDataset } from './dataset';
import type { TrainRecipe } from './recipe';
import { trainArchitecture } from './trainer';

/** A task of the database: some classes of one image dataset, with its own train/test images. */
export interface TaskPlan {
  /** `<dataset ref>/<class ids joined by '-'>`, e.g. `builtin:mnist/1-4-7`. */
  readonly name: string;
  /** Dataset reference as `@metad2a/datasets` resolves it (`builtin:mnist`, a folder, an IDX file...). */
  readonly dataset: string;
  /** 0-based class ids of the dataset, ascending; task label k is classIds[k]. */
  readonly classIds: readonly number[];
}

export interface TaskSamplingOptions {
  readonly datasets: readonly string[];
  readonly numTasks: number;
  /** Classes per task: a number, or an inclusive range [min, max]. */
  readonly classesPerTask: number | readonly [number, number];
  readonly seed: number;
}

const invalid = (source: string, field: string, expected: string, got: string): never => {
  throw new MetaD2AException(validationError({ source, field, expected, got }));
};

function openImages(ref: string): RawImageDataset {
  const src = resolveDataset(ref);
  if (src.kind !== 'images') invalid('database builder', `dataset ${ref}`, 'an image dataset (training needs images, not features)', 'precomputed features');
  return src as RawImageDataset;
}

/**
 * Sample distinct tasks: each picks a dataset (round robin over `datasets`) and a seeded random
 * subset of its classes. Deterministic for the same options.
 */
export function sampleTasks(opts: TaskSamplingOptions, classCount: (ref: string) => number = (r) => openImages(r).classNames.length): TaskPlan[] {
  const [lo, hi] = typeof opts.classesPerTask === 'number' ? [opts.classesPerTask, opts.classesPerTask] : opts.classesPerTask;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 2 || hi < lo) invalid('task sampling', 'classesPerTask', 'an integer ≥ 2 or a range [min, max] with 2 ≤ min ≤ max', JSON.stringify(opts.classesPerTask));
  if (!Number.isInteger(opts.numTasks) || opts.numTasks < 1) invalid('task sampling', 'numTasks', 'a positive integer', String(opts.numTasks));
  if (opts.datasets.length === 0) invalid('task sampling', 'datasets', 'at least one dataset reference', '[]');
  const counts = opts.datasets.map((d) => classCount(d));
  counts.forEach((c, i) => {
    if (c < lo) invalid('task sampling', `dataset ${opts.datasets[i]}`, `at least ${lo} classes`, String(c));
  });
  const rng = new Rng(opts.seed);
  const tasks: TaskPlan[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; tasks.length < opts.numTasks; attempt++) {
    if (attempt > 100 * opts.numTasks) invalid('task sampling', 'numTasks', `at most the number of distinct class subsets available`, String(opts.numTasks));
    const di = tasks.length % opts.datasets.length;
    const k = Math.min(counts[di]!, lo + rng.int(hi - lo + 1));
    const classIds = rng.permutation(counts[di]!).slice(0, k).sort((a, b) => a - b);
    const name = `${opts.datasets[di]}/${classIds.join('-')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    tasks.push({ name, dataset: opts.datasets[di]!, classIds });
  }
  return tasks;
}

/**
 * Sample `n` NB201 cells stratified by network size so that accuracies spread: the 15,625 cells
 * are reduced to one per computation (the search space's `canonicalKey`, 6,466 classes), sorted
 * by their parameter count at the recipe's C and N, cut into n equal strata, and one cell is drawn
 * from each stratum. Returns canonical strings, deterministic for the seed.
 */
export function sampleArchitectures(n: number, recipe: Pick<TrainRecipe, 'C' | 'N'>, seed: number): string[] {
  if (!Number.isInteger(n) || n < 1) invalid('architecture sampling', 'archs', 'a positive integer', String(n));
  const byKey = new Map<string, { arch: string; params: number }>();
  for (const cell of enumerateNb201()) {
    const key = canonicalKey(cell);
    if (byKey.has(key)) continue;
    byKey.set(key, { arch: formatNb201(cell), params: nb201Cost(cell, { channels: recipe.C, cellsPerStage: Math.max(1, recipe.N) }).params });
  }
  const all = [...byKey.values()].sort((a, b) => a.params - b.params || (a.arch < b.arch ? -1 : 1));
  if (n > all.length) invalid('architecture sampling', 'archs', `at most ${all.length} (distinct NB201 computations)`, String(n));
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let s = 0; s < n; s++) {
    const from = Math.floor((s * all.length) / n);
    const to = Math.floor(((s + 1) * all.length) / n);
    out.push(all[from + rng.int(to - from)]!.arch);
  }
  return rng.shuffle(out);
}

/** Train/test images of a task, preprocessed as the paper does (resize, grey → RGB, dataset normalisation), NHWC. */
export function taskData(images: RawImageDataset, task: TaskPlan, opts: { trainPerClass: number; testPerClass: number; inputSize: number; seed: number }): { train: ImageDataset; test: ImageDataset } {
  const byClass = indicesByClass(images);
  const rng = new Rng(`${opts.seed}|${task.name}`);
  const trainRows: Array<[number, number]> = [];
  const testRows: Array<[number, number]> = [];
  task.classIds.forEach((c, label) => {
    const pool = byClass[c];
    if (!pool) return invalid('database builder', `task ${task.name}`, `class ids below ${byClass.length}`, String(c));
    const need = opts.trainPerClass + opts.testPerClass;
    if (pool.length < need) invalid('database builder', `task ${task.name} class ${c}`, `at least ${need} images (trainPerClass + testPerClass)`, String(pool.length));
    const pick = rng.permutation(pool.length).slice(0, need).map((i) => pool[i]!);
    pick.slice(0, opts.trainPerClass).forEach((r) => trainRows.push([r, label]));
    pick.slice(opts.trainPerClass).forEach((r) => testRows.push([r, label]));
  });
  const k = task.classIds.length;
  return { train: preprocessRows(images, trainRows, opts.inputSize, k), test: preprocessRows(images, testRows, opts.inputSize, k) };
}

/**
 * A whole image dataset (all classes) as train/test tensors for `trainArchitecture`: per class, a
 * seeded `testFraction` of the images (at least one) is held out; `maxPerClass` caps the images
 * used per class. Preprocessed as the paper (resize to `inputSize`, grey → RGB, normalisation).
 */
export function splitImages(ref: string, opts: { inputSize: number; testFraction?: number; maxPerClass?: number; seed: number }): { train: ImageDataset; test: ImageDataset; classNames: readonly string[] } {
  const images = openImages(ref);
  const frac = opts.testFraction ?? 0.2;
  if (!(frac > 0 && frac < 1)) invalid('splitImages', 'testFraction', 'a number in (0, 1)', String(frac));
  const byClass = indicesByClass(images);
  const rng = new Rng(`${opts.seed}|${ref}`);
  const trainRows: Array<[number, number]> = [];
  const testRows: Array<[number, number]> = [];
  byClass.forEach((pool, label) => {
    if (pool.length < 2) invalid('splitImages', `${ref} class ${label}`, 'at least 2 images', String(pool.length));
    const pick = rng.permutation(pool.length).slice(0, opts.maxPerClass ?? pool.length).map((i) => pool[i]!);
    const nTest = Math.max(1, Math.round(frac * pick.length));
    pick.slice(0, nTest).forEach((r) => testRows.push([r, label]));
    pick.slice(nTest).forEach((r) => trainRows.push([r, label]));
  });
  const k = images.classNames.length;
  return { train: preprocessRows(images, trainRows, opts.inputSize, k), test: preprocessRows(images, testRows, opts.inputSize, k), classNames: images.classNames };
}

function preprocessRows(images: RawImageDataset, rows: ReadonlyArray<readonly [number, number]>, size: number, numClasses: number): ImageDataset {
  const prep = preprocessingFor(images.normalisation ?? 'imagenet', size);
  const per = size * size * 3;
  const data = new Float32Array(rows.length * per);
  const labels = new Int32Array(rows.length);
  rows.forEach(([r, y], i) => {
    preprocessInto(images.image(r), prep, data, i * per);
    labels[i] = y;
  });
  return { images: data, shape: [rows.length, size, size, 3], labels, numClasses };
}

export interface BuildDatabaseOptions {
  /** The meta-database file (SQLite, `@metad2a/meta-trainer`); created if missing. */
  readonly db: string;
  /** Image dataset references (`builtin:mnist`, `builtin:fashion-mnist`, `builtin:digits`, folders, IDX files...). */
  readonly datasets: readonly string[];
  readonly numTasks: number;
  readonly classesPerTask: number | readonly [number, number];
  /** Images per class drawn for training and for testing (disjoint). */
  readonly trainPerClass: number;
  readonly testPerClass: number;
  /** How many architectures (stratified sample, {@link sampleArchitectures}) or an explicit list of cell strings. */
  readonly archs: number | readonly string[];
  readonly recipe: TrainRecipe;
  readonly seed: number;
  readonly onProgress?: (p: BuildProgress) => void;
  /** Stop after the pair in progress (the database stays consistent; a rerun resumes). */
  readonly signal?: AbortSignal;
}

export interface BuildProgress {
  /** Pairs finished in total (including ones found already done), and the total. */
  readonly done: number;
  readonly total: number;
  /** Pairs trained by this run, and pairs skipped because the database had them. */
  readonly trained: number;
  readonly skipped: number;
  readonly task: string;
  readonly arch: string;
  /** Accuracy (percent) of the pair just trained; undefined when it was skipped. */
  readonly accuracy?: number;
  readonly elapsedMs: number;
  /** Estimated time left: mean time per trained pair × pairs left. */
  readonly etaMs: number;
}

export interface BuildSummary {
  readonly tasks: readonly TaskPlan[];
  readonly archs: readonly string[];
  readonly metric: string;
  readonly trained: number;
  readonly skipped: number;
  readonly wallMs: number;
  readonly aborted: boolean;
}

/** The metric name records of a recipe are stored under (records of different recipes coexist). */
export function recipeMetric(recipe: TrainRecipe): string {
  return `top1-test@${recipe.name}`;
}

/**
 * Build (or resume building) a meta-database of trained accuracies: sample tasks and
 * architectures (both seeded, so a rerun with the same options makes the same plan), then for every
 * (architecture, task) pair without a record train the architecture with the recipe on the task's
 * training images, evaluate it on the task's test images and write one record
 * (task, `nb201`, canonical arch string, accuracy in percent, metric `top1-test@<recipe>`, the
 * recipe, seed and timings) in its own transaction. A process killed at any point loses at most the
 * pair it was training; rerunning skips every recorded pair.
 */
export async function buildDatabase(opts: BuildDatabaseOptions): Promise<BuildSummary> {
  const inputSize = opts.recipe.inputSize;
  if (inputSize === undefined) invalid('database builder', 'recipe.inputSize', 'a size (tasks are preprocessed to it)', 'undefined');
  for (const k of ['trainPerClass', 'testPerClass'] as const) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) invalid('database builder', k, 'a positive integer', String(opts[k]));
  }
  const t0 = Date.now();
  const images = new Map<string, RawImageDataset>();
  const imagesOf = (ref: string): RawImageDataset => {
    let d = images.get(ref);
    if (!d) images.set(ref, (d = openImages(ref)));
    return d;
  };
  const tasks = sampleTasks(opts, (r) => imagesOf(r).classNames.length);
  const archs =
    typeof opts.archs === 'number'
      ? sampleArchitectures(opts.archs, opts.recipe, opts.seed)
      : opts.archs.map((a) => {
          const p = parseNb201(a);
          if (E.isLeft(p)) throw new MetaD2AException(p.left);
          return formatNb201(p.right);
        });
  const metric = recipeMetric(opts.recipe);
  const db = MetaDatabase.open(opts.db);
  let trained = 0;
  let skipped = 0;
  let trainMsTotal = 0;
  let aborted = false;
  try {
    for (const ref of new Set(tasks.map((t) => t.dataset))) {
      const d = imagesOf(ref);
      db.addDataset({ name: ref, source: d.name, numClasses: d.classNames.length, note: 'images; tasks of the arch-trainer database builder' });
    }
    db.addTasks(tasks.map((t) => ({ name: t.name, dataset: t.dataset, classIds: t.classIds })));
    const data = new Map<string, { train: ImageDataset; test: ImageDataset }>();
    const dataOf = (t: TaskPlan) => {
      let d = data.get(t.name);
      if (!d) data.set(t.name, (d = taskData(imagesOf(t.dataset), t, { trainPerClass: opts.trainPerClass, testPerClass: opts.testPerClass, inputSize: inputSize!, seed: opts.seed })));
      return d;
    };
    const total = tasks.length * archs.length;
    let done = 0;
    outer: for (const arch of archs) {
      for (const task of tasks) {
        if (opts.signal?.aborted) {
          aborted = true;
          break outer;
        }
        if (db.hasRecord({ task: task.name, space: 'nb201', arch, metric })) {
          done++;
          skipped++;
          opts.onProgress?.({ done, total, trained, skipped, task: task.name, arch, elapsedMs: Date.now() - t0, etaMs: trained > 0 ? (trainMsTotal / trained) * (total - done) : NaN });
          continue;
        }
        const { train, test } = dataOf(task);
        const seed = seedToU32(`${opts.seed}|${task.name}|${arch}`);
        const p0 = Date.now();
        const r = await trainArchitecture({ arch, train, test, recipe: opts.recipe, seed });
        r.network.dispose();
        const ms = Date.now() - p0;
        db.addRecord({
          task: task.name,
          space: 'nb201',
          arch,
          accuracy: 100 * r.accuracy,
          metric,
          how: 'trained:@metad2a/arch-trainer',
          recipe: opts.recipe,
          extra: { seed, trainImages: train.shape[0], testImages: test.shape[0], finalTrainLoss: r.finalTrainLoss, trainMs: r.trainMs, backend: tf.getBackend() },
        });
        trained++;
        done++;
        trainMsTotal += ms;
        opts.onProgress?.({ done, total, trained, skipped, task: task.name, arch, accuracy: 100 * r.accuracy, elapsedMs: Date.now() - t0, etaMs: (trainMsTotal / trained) * (total - done) });
      }
    }
  } finally {
    db.close();
  }
  return { tasks, archs, metric, trained, skipped, wallMs: Date.now() - t0, aborted };
}
