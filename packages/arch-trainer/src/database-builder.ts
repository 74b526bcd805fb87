import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, seedToU32 } from '@metad2a/core';
import { indicesByClass, preprocessInto, preprocessingFor, resolveDataset, taskSources, type ImageDataset as RawImageDataset } from '@metad2a/datasets';
import { MetaDatabase, type RecordInput } from '@metad2a/meta-trainer';
import type { ImageDataset } from './dataset';
import { databaseSpace, invalid, type DatabaseRecipe, type DatabaseSpaceName } from './database-spaces';
import type { TrainingSchedule } from './recipe';

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
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 2 || hi < lo)
    invalid('task sampling', 'classesPerTask', 'an integer ≥ 2 or a range [min, max] with 2 ≤ min ≤ max', JSON.stringify(opts.classesPerTask));
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
    const classIds = rng
      .permutation(counts[di]!)
      .slice(0, k)
      .sort((a, b) => a - b);
    const name = `${opts.datasets[di]}/${classIds.join('-')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    tasks.push({ name, dataset: opts.datasets[di]!, classIds });
  }
  return tasks;
}

/** Train/test images of a task, preprocessed as the paper does (resize, grey → RGB, dataset normalisation), NHWC. */
export function taskData(
  images: RawImageDataset,
  task: TaskPlan,
  opts: { trainPerClass: number; testPerClass: number; inputSize: number; seed: number },
): { train: ImageDataset; test: ImageDataset } {
  const byClass = indicesByClass(images);
  const rng = new Rng(`${opts.seed}|${task.name}`);
  const trainRows: Array<[number, number]> = [];
  const testRows: Array<[number, number]> = [];
  task.classIds.forEach((c, label) => {
    const pool = byClass[c];
    if (!pool) return invalid('database builder', `task ${task.name}`, `class ids below ${byClass.length}`, String(c));
    const need = opts.trainPerClass + opts.testPerClass;
    if (pool.length < need) invalid('database builder', `task ${task.name} class ${c}`, `at least ${need} images (trainPerClass + testPerClass)`, String(pool.length));
    const pick = rng
      .permutation(pool.length)
      .slice(0, need)
      .map((i) => pool[i]!);
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
export function splitImages(
  ref: string,
  opts: { inputSize: number; testFraction?: number; maxPerClass?: number; seed: number },
): { train: ImageDataset; test: ImageDataset; classNames: readonly string[] } {
  const images = openImages(ref);
  const frac = opts.testFraction ?? 0.2;
  if (!(frac > 0 && frac < 1)) invalid('splitImages', 'testFraction', 'a number in (0, 1)', String(frac));
  const byClass = indicesByClass(images);
  const rng = new Rng(`${opts.seed}|${ref}`);
  const trainRows: Array<[number, number]> = [];
  const testRows: Array<[number, number]> = [];
  byClass.forEach((pool, label) => {
    if (pool.length < 2) invalid('splitImages', `${ref} class ${label}`, 'at least 2 images', String(pool.length));
    const pick = rng
      .permutation(pool.length)
      .slice(0, opts.maxPerClass ?? pool.length)
      .map((i) => pool[i]!);
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
  /** Image dataset references (`builtin:mnist`, `source:glyphs-greek`, folders, IDX files...); tasks go round robin over them. */
  readonly datasets: readonly string[];
  readonly numTasks: number;
  readonly classesPerTask: number | readonly [number, number];
  /** Images per class drawn for training and for testing (disjoint). */
  readonly trainPerClass: number;
  readonly testPerClass: number;
  /** The search space whose architectures are trained (default `nb201`); `recipe` must be one of its recipes. */
  readonly space?: DatabaseSpaceName;
  /**
   * Grid mode: how many architectures (stratified by size: `sampleArchitectures`, `sampleMbv3Grid`)
   * or an explicit list of architecture strings, each trained on every task. Leave out for per-task ones.
   */
  readonly archs?: number | readonly string[];
  /** Per-task mode (when `archs` is absent): architectures per task, a number or [min, max] (see `sampleTaskCells`, `sampleTaskSubnets`). */
  readonly cellsPerTask?: number | readonly [number, number];
  /** Per-task mode: the share of a task's architectures drawn from the space's good pool (default 0.4). */
  readonly goodCellShare?: number;
  /** An NB201 recipe (`RECIPES`) for space nb201, an MBv3 one (`MBV3_RECIPES`) for mbv3. */
  readonly recipe: DatabaseRecipe;
  readonly seed: number;
  /**
   * Trainings per (task, architecture) (default 1): replicate 0 is the pair's record, replicate
   * r ≥ 1 is trained with {@link replicateSeed} and stored with `replicate: r`. The plan lists every
   * pair's replicate 0, then every pair's replicate 1, and so on, so a build stopped part-way has
   * one more training of the first pairs (and a later, larger `replicates` adds to what is there).
   */
  readonly replicates?: number;
  /** Train only the pairs whose plan index is `index` modulo `of` (one process per shard; all shards share the file). */
  readonly shard?: { readonly index: number; readonly of: number };
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
  /** Which training of the pair (`replicates`; 0: its record). */
  readonly replicate: number;
  /** Accuracy (percent) of the pair just trained; undefined when it was skipped. */
  readonly accuracy?: number;
  readonly elapsedMs: number;
  /** Estimated time left: mean time per trained pair × pairs left. */
  readonly etaMs: number;
}

export interface BuildSummary {
  readonly tasks: readonly TaskPlan[];
  /** Every distinct cell of the plan. */
  readonly archs: readonly string[];
  readonly metric: string;
  readonly trained: number;
  readonly skipped: number;
  readonly wallMs: number;
  readonly aborted: boolean;
}

/** One (task, cell) pair of a build plan with the seed it is trained with. */
export interface PlannedPair {
  readonly task: TaskPlan;
  readonly arch: string;
  readonly seed: number;
  /** Which training of the pair this is (see `BuildDatabaseOptions.replicates`); absent: 0. */
  readonly replicate?: number;
}

/**
 * The training seed of a (task, architecture) pair's replicate under a build or plan seed: replicate
 * 0 is the pair's record, replicate r ≥ 1 one more training with a seed of its own. The one rule of
 * `db build --replicates` and `bench transfer --replicates` (the same pair gets the same trainings).
 */
export function replicateSeed(seed: number, task: string, arch: string, replicate: number): number {
  return seedToU32(replicate === 0 ? `${seed}|${task}|${arch}` : `${seed}|${task}|${arch}|replicate ${replicate}`);
}

/** Everything a build will train, in order: a function of the options alone (so every process and rerun agrees). */
export interface BuildPlan {
  readonly space: DatabaseSpaceName;
  readonly tasks: readonly TaskPlan[];
  readonly pairs: readonly PlannedPair[];
  readonly metric: string;
}

/**
 * Records are keyed by metric name, so a recipe whose settings changed under the same name must not
 * resume onto records trained the old way: they would count as done and mix two recipes.
 */
export function assertSameRecipe(db: MetaDatabase, metric: string, recipe: TrainingSchedule, file: string): void {
  const want = JSON.stringify(recipe);
  const other = db.records({ metric }).find((r) => r.recipe !== undefined && JSON.stringify(r.recipe) !== want);
  if (other)
    invalid(
      file,
      `records of metric ${metric}`,
      `the recipe ${want}`,
      `a record (task ${other.task}) trained with ${JSON.stringify(other.recipe)}; build into a new database file or delete those records`,
    );
}

/** The metric name records of a recipe are stored under (records of different recipes coexist). */
export function recipeMetric(recipe: TrainingSchedule): string {
  return `top1-test@${recipe.name}`;
}

/** The plan of a build: tasks (round robin over the datasets), then the pairs, task by task. */
export function planBuild(opts: BuildDatabaseOptions, classCount: (ref: string) => number = (r) => openImages(r).classNames.length): BuildPlan {
  const space = databaseSpace(opts.space ?? 'nb201', opts.recipe);
  const tasks = sampleTasks(opts, classCount);
  const pairOf = (task: TaskPlan, arch: string): PlannedPair => ({ task, arch, seed: replicateSeed(opts.seed, task.name, arch, 0) });
  const replicates = opts.replicates ?? 1;
  if (!Number.isInteger(replicates) || replicates < 1) invalid('database builder', 'replicates', 'an integer ≥ 1', String(opts.replicates));
  let pairs: PlannedPair[];
  if (opts.archs !== undefined) {
    const archs = typeof opts.archs === 'number' ? space.grid(opts.archs, opts.seed) : opts.archs.map((a) => space.canonical(a));
    pairs = tasks.flatMap((t) => archs.map((a) => pairOf(t, a)));
  } else {
    const spec = opts.cellsPerTask ?? [3, 8];
    const [lo, hi] = typeof spec === 'number' ? [spec, spec] : spec;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo)
      invalid('database builder', 'cellsPerTask', 'an integer ≥ 1 or a range [min, max]', JSON.stringify(spec));
    const rng = new Rng(`${opts.seed}|cells-per-task`);
    pairs = tasks.flatMap((t) => space.taskArchitectures(t.name, lo + rng.int(hi - lo + 1), opts.goodCellShare ?? 0.4, opts.seed).map((a) => pairOf(t, a)));
  }
  if (opts.shard) {
    const { index, of } = opts.shard;
    if (!Number.isInteger(of) || of < 1 || !Number.isInteger(index) || index < 0 || index >= of)
      invalid('database builder', 'shard', 'index/of with 0 ≤ index < of', `${index}/${of}`);
  }
  const trainings = Array.from({ length: replicates }, (_, r) =>
    r === 0 ? pairs : pairs.map((p) => ({ ...p, seed: replicateSeed(opts.seed, p.task.name, p.arch, r), replicate: r })),
  ).flat();
  return { space: space.name, tasks, pairs: trainings, metric: recipeMetric(opts.recipe) };
}

/** The dataset row of a task source or image data set, as the builder and queue collectors write it. */
export function datasetEntry(ref: string, images: RawImageDataset): { name: string; source: string; numClasses: number; note: string } {
  return {
    name: ref,
    source: images.name,
    numClasses: images.classNames.length,
    note: `images; tasks of the arch-trainer database builder; source version ${dataSourceVersion(ref, images)}`,
  };
}

const sourceVersions = new Map<string, string>();
/**
 * The version of a data source's images, recorded with every record and carried by queued jobs
 * (a worker refuses a job made with another version): a task source's declared version, else a
 * hash of the class names, labels and every image's pixels (two machines agree exactly when their
 * images are the same bytes, wherever the files live).
 */
export function dataSourceVersion(ref: string, images: RawImageDataset): string {
  let v = sourceVersions.get(ref) ?? taskSources().find((s) => s.ref === ref)?.version;
  if (v === undefined) {
    const h = createHash('sha256')
      .update(JSON.stringify(images.classNames))
      .update(new Uint8Array(images.labels.buffer, images.labels.byteOffset, images.labels.byteLength));
    for (let i = 0; i < images.size; i++) {
      const im = images.image(i);
      h.update(`${im.width}x${im.height}x${im.channels}`).update(im.data);
    }
    v = `sha256:${h.digest('hex').slice(0, 16)}`;
  }
  sourceVersions.set(ref, v);
  return v;
}

/**
 * Node options for a process started to train networks (`db build --workers` children): a 64 MB
 * young generation (V8's default is 16 MB). A small-network training step allocates a few MB of
 * short-lived tfjs bookkeeping (tape nodes, tensor wrappers); with 16 MB V8 scavenged every ~4
 * steps and promoted the tape of the step in flight, ~8 % of an `nb201-db` step's CPU time; with
 * 64 MB the same steps took about 5–10 % less CPU (measured side by side, one kernel thread,
 * under load). It changes no number, only when garbage is collected (V8 reads it at start-up only).
 */
export const TRAINING_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * Train one planned pair on its task's images and make its record: the one per-pair step of the
 * local builder and of queue workers (same seeds, same images, same record).
 */
export async function trainPairRecord(
  pair: PlannedPair,
  data: { train: ImageDataset; test: ImageDataset },
  opts: { space?: DatabaseSpaceName; recipe: DatabaseRecipe; metric: string; sourceVersion: string },
): Promise<RecordInput> {
  const space = databaseSpace(opts.space ?? 'nb201', opts.recipe);
  const r = await space.train(pair.arch, data, pair.seed);
  return {
    task: pair.task.name,
    space: space.name,
    arch: pair.arch,
    accuracy: 100 * r.accuracy,
    metric: opts.metric,
    how: 'trained:@metad2a/arch-trainer',
    recipe: opts.recipe,
    extra: {
      seed: pair.seed,
      trainImages: data.train.shape[0],
      testImages: data.test.shape[0],
      finalTrainLoss: r.finalTrainLoss,
      trainMs: r.trainMs,
      backend: tf.getBackend(),
      sourceVersion: opts.sourceVersion,
    },
  };
}

/** A pair's record as the training `replicate` of it (0: the record itself), as a local build and a queue worker store it. */
export function asReplicate(record: RecordInput, replicate: number): RecordInput {
  return replicate === 0 ? record : { ...record, replicate, how: `${record.how} (replicate ${replicate} of metad2a db build)` };
}

/**
 * Build (or resume building) a meta-database of trained accuracies: plan the (task, architecture)
 * pairs ({@link planBuild}; seeded, so a rerun or another shard makes the same plan), then for every
 * pair of this shard without a record train the architecture with the recipe on the task's training
 * images, evaluate it on the task's test images and write one record (task, space, canonical
 * arch string, accuracy in percent, metric `top1-test@<recipe>`, the recipe, seed, source version
 * and timings) in its own transaction. A process killed at any point loses at most the pair it
 * was training; rerunning skips every recorded pair.
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
  const plan = planBuild(opts, (r) => imagesOf(r).classNames.length);
  const { tasks, metric } = plan;
  const mine = opts.shard ? plan.pairs.filter((_, i) => i % opts.shard!.of === opts.shard!.index) : plan.pairs;
  const db = MetaDatabase.open(opts.db);
  assertSameRecipe(db, metric, opts.recipe, opts.db);
  let trained = 0;
  let skipped = 0;
  let trainMsTotal = 0;
  let aborted = false;
  try {
    for (const ref of new Set(tasks.map((t) => t.dataset))) {
      const d = imagesOf(ref);
      db.addDataset(datasetEntry(ref, d));
    }
    db.addTasks(tasks.map((t) => ({ name: t.name, dataset: t.dataset, classIds: t.classIds })));
    // Pairs come task by task: keep only the current task's images in memory.
    let current: { name: string; train: ImageDataset; test: ImageDataset } | undefined;
    const dataOf = (t: TaskPlan) => {
      if (current?.name !== t.name)
        current = {
          name: t.name,
          ...taskData(imagesOf(t.dataset), t, { trainPerClass: opts.trainPerClass, testPerClass: opts.testPerClass, inputSize: inputSize!, seed: opts.seed }),
        };
      return current;
    };
    const total = mine.length;
    let done = 0;
    for (const { task, arch, seed, replicate = 0 } of mine) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      if (db.hasRecord({ task: task.name, space: plan.space, arch, metric, replicate })) {
        done++;
        skipped++;
        opts.onProgress?.({
          done,
          total,
          trained,
          skipped,
          task: task.name,
          arch,
          replicate,
          elapsedMs: Date.now() - t0,
          etaMs: trained > 0 ? (trainMsTotal / trained) * (total - done) : NaN,
        });
        continue;
      }
      const p0 = Date.now();
      const record = await trainPairRecord({ task, arch, seed }, dataOf(task), {
        space: plan.space,
        recipe: opts.recipe,
        metric,
        sourceVersion: dataSourceVersion(task.dataset, imagesOf(task.dataset)),
      });
      const ms = Date.now() - p0;
      db.addRecord(asReplicate(record, replicate));
      trained++;
      done++;
      trainMsTotal += ms;
      opts.onProgress?.({
        done,
        total,
        trained,
        skipped,
        task: task.name,
        arch,
        replicate,
        accuracy: record.accuracy,
        elapsedMs: Date.now() - t0,
        etaMs: (trainMsTotal / trained) * (total - done),
      });
    }
  } finally {
    db.close();
  }
  return { tasks, archs: [...new Set(plan.pairs.map((p) => p.arch))], metric, trained, skipped, wallMs: Date.now() - t0, aborted };
}
