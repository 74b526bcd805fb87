import { createHash } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, seedToU32, validationError } from '@metad2a/core';
import { indicesByClass, preprocessInto, preprocessingFor, resolveDataset, taskSources, type ImageDataset as RawImageDataset } from '@metad2a/datasets';
import { MetaDatabase, type RecordInput } from '@metad2a/meta-trainer';
import { canonicalKey, enumerateNb201, formatNb201, NB201_DATASETS, nb201Cost, nb201Table, parseNb201, type Nb201Cell } from '@metad2a/search-spaces';
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
  /**
   * Grid mode: how many architectures (stratified sample, {@link sampleArchitectures}) or an
   * explicit list of cell strings, each trained on every task. Leave out for per-task cells.
   */
  readonly archs?: number | readonly string[];
  /** Per-task mode (when `archs` is absent): cells per task, a number or [min, max] (see {@link sampleTaskCells}). */
  readonly cellsPerTask?: number | readonly [number, number];
  /** Per-task mode: the share of a task's cells drawn from the NB201-good pool (default 0.4). */
  readonly goodCellShare?: number;
  readonly recipe: TrainRecipe;
  readonly seed: number;
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
}

/** Everything a build will train, in order: a function of the options alone (so every process and rerun agrees). */
export interface BuildPlan {
  readonly tasks: readonly TaskPlan[];
  readonly pairs: readonly PlannedPair[];
  readonly metric: string;
}

/**
 * Records are keyed by metric name, so a recipe whose settings changed under the same name must not
 * resume onto records trained the old way: they would count as done and mix two recipes.
 */
export function assertSameRecipe(db: MetaDatabase, metric: string, recipe: TrainRecipe, file: string): void {
  const want = JSON.stringify(recipe);
  const other = db.records({ metric }).find((r) => r.recipe !== undefined && JSON.stringify(r.recipe) !== want);
  if (other)
    throw new MetaD2AException(
      validationError({
        source: file,
        field: `records of metric ${metric}`,
        expected: `the recipe ${want}`,
        got: `a record (task ${other.task}) trained with ${JSON.stringify(other.recipe)}; build into a new database file or delete those records`,
      }),
    );
}

/** The metric name records of a recipe are stored under (records of different recipes coexist). */
export function recipeMetric(recipe: TrainRecipe): string {
  return `top1-test@${recipe.name}`;
}

/** One NB201 cell per distinct computation (`canonicalKey`), as canonical strings, in enumeration order. */
function distinctCells(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const cell of enumerateNb201()) {
    const key = canonicalKey(cell);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(formatNb201(cell));
  }
  return out;
}

let goodCache: string[] | undefined;
/**
 * The `n` distinct computations that are best on NB201's 200-epoch table, by the mean z-score of
 * their test accuracy on CIFAR-10, CIFAR-100 and ImageNet16-120 (best first).
 */
export function goodNb201Cells(n: number): string[] {
  if (!goodCache) {
    const table = nb201Table();
    const cols = NB201_DATASETS.map((d) => table.column(d, 'testAccuracy'));
    const z = cols.map((c) => {
      const mu = c.reduce((s, v) => s + v, 0) / c.length;
      const sd = Math.sqrt(c.reduce((s, v) => s + (v - mu) ** 2, 0) / c.length);
      return (i: number) => (c[i]! - mu) / sd;
    });
    const score = new Map<string, number>();
    for (let i = 0; i < table.size; i++) {
      const key = canonicalKey(table.cellAt(i));
      const s = z.reduce((a, f) => a + f(i), 0) / z.length;
      if (!score.has(key) || s > score.get(key)!) score.set(key, s);
    }
    const byKey = new Map(distinctCells().map((a) => [canonicalKey((parseNb201(a) as E.Right<Nb201Cell>).right), a]));
    goodCache = [...score.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => byKey.get(k)!);
  }
  if (!Number.isInteger(n) || n < 1 || n > goodCache.length) invalid('architecture sampling', 'good cells', `an integer in 1..${goodCache.length}`, String(n));
  return goodCache.slice(0, n);
}

/** Size of the pool of NB201-good cells that per-task cells are drawn from. */
export const GOOD_CELL_POOL = 100;

/**
 * The cells of one task: `k` distinct computations, `round(k · goodShare)` of them drawn from the
 * {@link GOOD_CELL_POOL} cells best on NB201's tables (so the generator sees good cells and
 * tasks share cells to compare on) and the rest uniformly over all 6,466 distinct computations.
 * Deterministic for (seed, task name).
 */
export function sampleTaskCells(task: string, k: number, goodShare: number, seed: number): string[] {
  if (!(goodShare >= 0 && goodShare <= 1)) invalid('architecture sampling', 'goodCellShare', 'a number in [0, 1]', String(goodShare));
  const rng = new Rng(`${seed}|cells|${task}`);
  const good = goodNb201Cells(GOOD_CELL_POOL);
  const all = (uniformPool ??= distinctCells());
  const out = new Set<string>();
  const nGood = Math.round(k * goodShare);
  for (const i of rng.permutation(good.length).slice(0, nGood)) out.add(good[i]!);
  while (out.size < k) out.add(all[rng.int(all.length)]!);
  return [...out];
}
let uniformPool: string[] | undefined;

/** The plan of a build: tasks (round robin over the datasets), then the pairs, task by task. */
export function planBuild(opts: BuildDatabaseOptions, classCount: (ref: string) => number = (r) => openImages(r).classNames.length): BuildPlan {
  const tasks = sampleTasks(opts, classCount);
  const pairOf = (task: TaskPlan, arch: string): PlannedPair => ({ task, arch, seed: seedToU32(`${opts.seed}|${task.name}|${arch}`) });
  let pairs: PlannedPair[];
  if (opts.archs !== undefined) {
    const archs =
      typeof opts.archs === 'number'
        ? sampleArchitectures(opts.archs, opts.recipe, opts.seed)
        : opts.archs.map((a) => {
            const p = parseNb201(a);
            if (E.isLeft(p)) throw new MetaD2AException(p.left);
            return formatNb201(p.right);
          });
    pairs = tasks.flatMap((t) => archs.map((a) => pairOf(t, a)));
  } else {
    const spec = opts.cellsPerTask ?? [3, 8];
    const [lo, hi] = typeof spec === 'number' ? [spec, spec] : spec;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo)
      invalid('database builder', 'cellsPerTask', 'an integer ≥ 1 or a range [min, max]', JSON.stringify(spec));
    const rng = new Rng(`${opts.seed}|cells-per-task`);
    pairs = tasks.flatMap((t) => sampleTaskCells(t.name, lo + rng.int(hi - lo + 1), opts.goodCellShare ?? 0.4, opts.seed).map((a) => pairOf(t, a)));
  }
  if (opts.shard) {
    const { index, of } = opts.shard;
    if (!Number.isInteger(of) || of < 1 || !Number.isInteger(index) || index < 0 || index >= of)
      invalid('database builder', 'shard', 'index/of with 0 ≤ index < of', `${index}/${of}`);
  }
  return { tasks, pairs, metric: recipeMetric(opts.recipe) };
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
  opts: { recipe: TrainRecipe; metric: string; sourceVersion: string },
): Promise<RecordInput> {
  const r = await trainArchitecture({ arch: pair.arch, train: data.train, test: data.test, recipe: opts.recipe, seed: pair.seed });
  r.network.dispose();
  return {
    task: pair.task.name,
    space: 'nb201',
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

/**
 * Build (or resume building) a meta-database of trained accuracies: plan the (task, cell) pairs
 * ({@link planBuild}; seeded, so a rerun or another shard makes the same plan), then for every
 * pair of this shard without a record train the cell with the recipe on the task's training
 * images, evaluate it on the task's test images and write one record (task, `nb201`, canonical
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
    for (const { task, arch, seed } of mine) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      if (db.hasRecord({ task: task.name, space: 'nb201', arch, metric })) {
        done++;
        skipped++;
        opts.onProgress?.({
          done,
          total,
          trained,
          skipped,
          task: task.name,
          arch,
          elapsedMs: Date.now() - t0,
          etaMs: trained > 0 ? (trainMsTotal / trained) * (total - done) : NaN,
        });
        continue;
      }
      const p0 = Date.now();
      const record = await trainPairRecord({ task, arch, seed }, dataOf(task), {
        recipe: opts.recipe,
        metric,
        sourceVersion: dataSourceVersion(task.dataset, imagesOf(task.dataset)),
      });
      const ms = Date.now() - p0;
      db.addRecord(record);
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
