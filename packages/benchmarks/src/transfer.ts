/**
 * The transfer evaluation (`metad2a bench transfer`, issue #18 item 5): on every task of a
 * held-out build plan, what MetaD2A picks — searched with `@metad2a/search`'s stages, the code
 * `metad2a search` runs — against the task's uniformly random architectures, the space's reference
 * picks (NB201's winners; MBv3: OFA's predictor's best) and, for NB201, the zero-cost proxies'
 * picks, every accuracy measured with the plan's recipe. Picks the database
 * does not hold yet are trained (`trainPairRecord` of `@metad2a/arch-trainer`, the builder's own
 * per-pair step) and stored as records, so a killed run resumes where it stopped and the table
 * never shows a number that was not measured.
 */
import * as E from 'fp-ts/lib/Either.js';
import { match } from 'ts-pattern';
import { MetaD2AException, fail, makeError, spearman, zeroCostProxies, type FeatureSet, type ImageBatch, type SearchSpace } from '@metad2a/core';
import {
  BUILD_PLANS,
  assertSameRecipe,
  buildPlanOptions,
  dataSourceVersion,
  goodMbv3Subnets,
  planBuild,
  taskData,
  replicateSeed,
  trainPairRecord,
  type BuildDatabaseOptions,
  type DatabaseRecipe,
  type DatabaseSpaceName,
  type ImageDataset,
  type TaskPlan,
} from '@metad2a/arch-trainer';
import { indicesByClass, loadFeatureSet, resolveDataset, selectImages, type FeatureExtractor, type ImageDataset as SourceImages } from '@metad2a/datasets';
import { MetaDatabase, parseFeatureOrigin, type MetaRecord } from '@metad2a/meta-trainer';
import { proxyBatchOf, scoreWithProxy } from '@metad2a/proxies';
import {
  SEARCH_IMAGES_PER_CLASS,
  candidatePool,
  createModelExtractor,
  predictionTarget,
  rankCandidates,
  rerankCandidates,
  runSearch,
  searchExtractor,
  type SearchModel,
} from '@metad2a/search';
import { formatNb201, nb201Table, type Nb201Dataset } from '@metad2a/search-spaces';
import { machineInfo, type MachineInfo } from './environment';
import {
  agreementOf,
  bootstrapMeanCI,
  groupOverlaps,
  oneTrainingSearchOutcomes,
  percentileAmong,
  winsTiesLosses,
  type BootstrapCI,
  type GroupOverlap,
  type Outcome,
  type RankingAgreement,
} from './transfer-stats';

/** A build plan's options without the per-run fields (what `BUILD_PLANS` holds). */
export type TransferPlanOptions = Omit<BuildDatabaseOptions, 'db' | 'shard' | 'onProgress' | 'signal'>;

export interface TransferOptions {
  /** The model searched with (any `metad2a-model/1` directory, loaded). */
  readonly model: SearchModel;
  /** How the report names the model (its directory, `builtin:default`). */
  readonly modelName: string;
  /** The meta-database holding the plan's records; picks are written into it. */
  readonly db: string;
  /** A named plan of `BUILD_PLANS` (`nb201-heldout-v1`), or a plan's options with a name (tests, your own plans). */
  readonly plan: string | { readonly name: string; readonly options: TransferPlanOptions };
  /** Search seeds: MetaD2A searches each task once per seed (default 0, 1, 2). */
  readonly seeds?: readonly number[];
  /** How many of MetaD2A's ranking are trained (best-of-top-k; default 5). */
  readonly top?: number;
  /** MetaD2A's top-k as `metad2a search --top-distance` chooses it: cells at least this far apart (default: the model's search default, as `metad2a search`; else 0, the ranking's first k). */
  readonly topDistance?: number;
  /** Candidates each search generates (default 500, as `metad2a search`); the proxies rank the same pool. */
  readonly candidates?: number;
  /** Resampled data sets the predictor averages over (default 10). */
  readonly resamples?: number;
  /** A task needs at least this many measured random cells of the plan (default 30). */
  readonly minRandomCells?: number;
  /** Zero-cost proxies by registry name (default naswot, synflow); [] for none. */
  readonly proxies?: readonly string[];
  /** The proxies choose among the first `proxyPool` candidates of each search's ranking (default all: every generated candidate; the cost is one score per distinct cell). */
  readonly proxyPool?: number;
  /**
   * Also evaluate the search's optional re-ranking stage (`rerankCandidates`, as `metad2a search
   * --rerank`): the first `top` (20) of each ranking re-ranked with `proxy` at `weight` (0.5); its top-1 is a pick.
   */
  readonly rerank?: { readonly proxy: string; readonly top?: number; readonly weight?: number };
  /** Images of the task's training set in the proxies' minibatch (default 64). */
  readonly proxyBatch?: number;
  /** Seed of the proxies' minibatch and network initialisation (default 0). */
  readonly proxySeed?: number;
  /**
   * Trainings per (task, cell) whose mean is the cell's accuracy (default 1: the plan's record).
   * Replicate 0 is the plan's pair (its seed rule); replicate r ≥ 1 is trained with the seed of
   * `${plan.seed}|${task}|${arch}|replicate ${r}` and stored with `replicate: r`. More than one
   * averages out the recipe's seed noise, where a task's cells lie within a few test images.
   */
  readonly replicates?: number;
  /** Bootstrap over tasks: resamples (default 10,000) and seed (default 0). */
  readonly bootstrap?: { readonly resamples?: number; readonly seed?: number };
  /**
   * Feature extractor: the model's own (model.json `extractor`; random-conv for a model that names
   * none) is the default and the only one accepted. Tasks whose data set has no features of that
   * extractor in the database (`db features`) have theirs extracted with it.
   */
  readonly extractor?: string;
  /** Images per class of the task whose features are extracted (default the search's 200, the first of each class). */
  readonly imagesPerClass?: number;
  readonly onProgress?: (p: TransferProgress) => void;
  /** Stop after the pick in training (its record is kept); a rerun resumes. */
  readonly signal?: AbortSignal;
}

export type TransferProgress =
  | { readonly phase: 'select'; readonly task: string; readonly index: number; readonly tasks: number; readonly elapsedMs: number }
  | {
      readonly phase: 'train';
      /** Picks finished (trained by this run) and still to train when the phase began. */
      readonly done: number;
      readonly total: number;
      readonly task: string;
      readonly arch: string;
      /** Which training of the cell (0: the plan's pair; see `replicates`). */
      readonly replicate: number;
      readonly accuracy: number;
      readonly elapsedMs: number;
      /** Mean time per trained pick × picks left. */
      readonly etaMs: number;
    };

/** A cell with its measured accuracy (%) and percentile among the task's random cells. */
export interface MeasuredCell {
  readonly arch: string;
  readonly accuracy: number;
  readonly percentile: number;
}

export interface TransferSeedResult {
  readonly seed: number;
  /** MetaD2A's top-k, in predicted order. */
  readonly top: readonly MeasuredCell[];
  /** The search's predicted percentile of its top-1 (among its reference cells: the predictor's view of where the top-1 sits; compare with `top[0].percentile`). */
  readonly top1PredictedPercentile: number;
  readonly bestOfTop: MeasuredCell;
  /** The top-1 after the re-ranking stage (with `rerank`). */
  readonly rerankTop1?: MeasuredCell;
  /** Each proxy's top-1 over this search's candidate pool, with its score. */
  readonly proxies: Readonly<Record<string, MeasuredCell & { readonly score: number }>>;
  /** The predictor's Spearman between its scores and the measured accuracies of the task's random cells (NaN where either side is constant). */
  readonly spearman: number;
  /** The printed accuracy (`predictedAccuracy`: calibrated where the model is) against the measured one, over the task's random cells. */
  readonly predictionError: PredictionError;
  readonly candidates: number;
  readonly searchSeconds: number;
}

/** Printed accuracy minus measured accuracy (points) over a set of cells: mean absolute value and mean. */
export interface PredictionError {
  readonly mae: number;
  readonly bias: number;
}

/** Methods compared on every task (their accuracies and percentiles; seeded ones averaged over seeds). */
export type TransferMethod = 'metad2a-top1' | 'metad2a-best-of-top' | `rerank:${string}` | ReferenceMethod | `proxy:${string}` | 'best-known';

/** A pick the space's own benchmark knowledge makes for any data set (see {@link referencePicks}). */
export type ReferenceMethod = 'nb201-cifar10' | 'nb201-imagenet16-120' | 'ofa-oracle-best';

export interface TransferTaskResult {
  readonly task: string;
  readonly source: string;
  readonly classes: number;
  /** Where the search's features came from: `database (<how they were made>)` or `extractor <name>` (the model's). */
  readonly features: string;
  /** The plan's uniformly random cells of the task that have records. */
  readonly random: {
    readonly count: number;
    readonly planned: number;
    readonly mean: number;
    readonly best: number;
    readonly cells: readonly { arch: string; accuracy: number }[];
  };
  /** The space's reference picks ({@link referencePicks}), measured. */
  readonly references: Readonly<Partial<Record<ReferenceMethod, MeasuredCell>>>;
  /** The best record of the task (random cells and every pick). */
  readonly bestKnown: MeasuredCell;
  readonly seeds: readonly TransferSeedResult[];
  /** Per method: accuracy and percentile (mean over seeds for the searched ones). */
  /** Keys: exactly the result's `methods`. */
  readonly methods: Readonly<Partial<Record<TransferMethod, { readonly accuracy: number; readonly percentile: number }>>>;
  /** Mean Spearman over the seeds where it is defined; NaN where it is nowhere (constant accuracies or scores). */
  readonly spearman: number;
  /** Mean over the seeds. */
  readonly predictionError: PredictionError;
  /**
   * With `replicates` ≥ 2, per reference: the outcomes of random search with one training per
   * random cell against it, one per training ({@link oneTrainingSearchOutcomes}). Absent otherwise,
   * and in reports made before it existed.
   */
  readonly oneTrainingSearch?: Readonly<Partial<Record<ReferenceMethod, readonly Outcome[]>>>;
}

/** Random search with one training per random cell against a reference, over all tasks and trainings. */
export interface OneTrainingSearchCounts {
  readonly against: ReferenceMethod;
  readonly above: number;
  readonly equal: number;
  readonly below: number;
  /** Tasks × trainings. */
  readonly comparisons: number;
}

export interface TransferGroupSummary {
  /** A source (data set reference) or `all`. */
  readonly group: string;
  readonly tasks: number;
  /** Keys: exactly the result's `methods`. */
  readonly percentile: Readonly<Partial<Record<TransferMethod, BootstrapCI>>>;
  readonly accuracy: Readonly<Partial<Record<TransferMethod, BootstrapCI>>>;
  /** Over the tasks whose Spearman is defined (null when none is: constant scores or accuracies). */
  readonly spearman: BootstrapCI | null;
  /** The printed accuracy's error on the tasks' random cells: mean absolute error and bias over tasks. */
  readonly predictionMae: BootstrapCI;
  readonly predictionBias: BootstrapCI;
}

export interface TransferWins {
  /** The method MetaD2A's top-1 (mean over seeds) is compared with; `nb201-both` (NB201 plans): better than both winners. */
  readonly against: string;
  /** Tasks where MetaD2A's top-1 is more accurate (by more than float rounding). */
  readonly wins: number;
  /** Tasks where both are equally accurate (e.g. the same cell); absent in reports made before it existed. */
  readonly ties?: number;
  readonly tasks: number;
  /**
   * MetaD2A's top-1 percentile minus the other's, mean over tasks with its bootstrap interval (the
   * same resampled tasks as the summaries): how far apart they are, which a count of wins between
   * two near-equal cells does not say. Absent in reports made before it existed.
   */
  readonly percentileDifference?: BootstrapCI;
}

export interface TransferResult {
  readonly plan: {
    readonly name: string;
    readonly description?: string;
    readonly space: DatabaseSpaceName;
    readonly recipe: DatabaseRecipe;
    readonly metric: string;
    readonly seed: number;
    readonly tasks: number;
  };
  readonly model: { readonly name: string; readonly predicts: string };
  readonly settings: {
    readonly seeds: readonly number[];
    readonly top: number;
    /** The top-k's minimum distance (`metad2a search --top-distance`); absent in reports made before it existed: 0. */
    readonly topDistance?: number;
    readonly candidates: number;
    readonly resamples: number;
    readonly minRandomCells: number;
    /** Trainings averaged per cell (`replicates`); absent in reports made before it existed: 1. */
    readonly replicates?: number;
    readonly proxies: {
      readonly names: readonly string[];
      readonly pool: string;
      readonly batch: number;
      readonly seed: number;
      /** The network the proxies score (NB201's TinyNetwork at the recipe's size); null for a plan of another space. */
      readonly network: { readonly C: number; readonly N: number } | null;
    };
    readonly bootstrap: { readonly resamples: number; readonly seed: number; readonly level: number };
    readonly rerank: { readonly proxy: string; readonly top: number; readonly weight: number } | null;
  };
  readonly methods: readonly TransferMethod[];
  readonly tasks: readonly TransferTaskResult[];
  readonly summary: readonly TransferGroupSummary[];
  /** Overall mean percentile of MetaD2A's top-1 and best-of-top-k, and mean Spearman, per seed. */
  readonly perSeed: readonly {
    readonly seed: number;
    readonly top1Percentile: number;
    /** Mean over tasks of the search's predicted percentile of its top-1 (the predictor's own estimate of `top1Percentile`). */
    readonly top1PredictedPercentile: number;
    readonly bestOfTopPercentile: number;
    readonly spearman: number;
  }[];
  readonly wins: readonly TransferWins[];
  /** Mean overlap of MetaD2A's top-k between (and within) sources. */
  readonly overlap: readonly GroupOverlap[];
  /** The predictor's between-task ranking agreement (the first seed's resampling); absent in reports made before it existed. */
  readonly rankingAgreement?: RankingAgreement;
  /**
   * With `replicates` ≥ 2: how often random search that trains each of a task's random cells once
   * beats each reference (the yardstick for MetaD2A's `wins`, which trains nothing).
   */
  readonly oneTrainingSearch?: readonly OneTrainingSearchCounts[];
  /** Picks trained by this run, and picks whose record was already there. */
  readonly trainings: { readonly trained: number; readonly reused: number; readonly trainSeconds: number };
  readonly machine: MachineInfo;
}

/** What a run ends with: the result, or where it stopped (signal) — rerun to resume. */
export type TransferRun = { readonly status: 'complete'; readonly result: TransferResult } | { readonly status: 'stopped'; readonly trained: number; readonly remaining: number };

/** Printed minus measured accuracy over the same cells. */
function predictionErrorOf(printed: ArrayLike<number>, measured: readonly number[]): PredictionError {
  let abs = 0;
  let sum = 0;
  for (let i = 0; i < measured.length; i++) {
    const d = printed[i]! - measured[i]!;
    abs += Math.abs(d);
    sum += d;
  }
  return { mae: abs / measured.length, bias: sum / measured.length };
}

/** An architecture string of `space`, parsed; a parse error names the source. */
function archOf<A>(space: SearchSpace<A>, arch: string, source: string): A {
  const p = space.parse(arch);
  if (E.isLeft(p)) throw new MetaD2AException(makeError('ParseError', { source, field: 'arch', expected: `an ${space.name} architecture string`, got: arch }));
  return p.right;
}
/** One key per computed function (`computationKey`: NB201's isomorphic cells, MBv3's active blocks): one record stands for all. */
function keyOf<A>(space: SearchSpace<A>, arch: string, source = 'transfer'): string {
  const a = archOf(space, arch, source);
  return space.computationKey ? space.computationKey(a) : space.format(a);
}
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
/** `f` of the finite values (a Spearman is NaN where one side is constant), null when there are none. */
const definedMean = <T>(xs: readonly number[], f: (v: number[]) => T): T | null => {
  const ok = xs.filter(Number.isFinite);
  return ok.length > 0 ? f(ok) : null;
};

/**
 * What a space's own benchmark knowledge picks for any data set, by method: NB201's table winners
 * on CIFAR-10 and ImageNet16-120; MBv3: the subnet OFA's ImageNet accuracy predictor rates best of
 * the database builder's 10,000-subnet good pool (`goodMbv3Subnets`).
 */
export function referencePicks(space: DatabaseSpaceName): Partial<Record<ReferenceMethod, string>> {
  return match(space)
    .with('nb201', () => {
      const w = nb201Winners();
      return { 'nb201-cifar10': w.cifar10, 'nb201-imagenet16-120': w['imagenet16-120'] };
    })
    .with('mbv3', () => ({ 'ofa-oracle-best': goodMbv3Subnets(1)[0]! }))
    .exhaustive();
}

/** The winners of NB201's 200-epoch table (best test accuracy) on CIFAR-10 and ImageNet16-120. */
export function nb201Winners(): Record<'cifar10' | 'imagenet16-120', string> {
  const t = nb201Table();
  const w = (d: Nb201Dataset): string => formatNb201(t.cellAt(t.best(d, 'test').index));
  return { cifar10: w('cifar10'), 'imagenet16-120': w('imagenet16-120') };
}

interface TaskWork {
  readonly task: TaskPlan;
  readonly random: { arch: string; accuracy: number }[];
  readonly planned: number;
  readonly features: string;
  readonly references: Partial<Record<ReferenceMethod, string>>;
  readonly seeds: {
    seed: number;
    top: string[];
    top1PredictedPercentile: number;
    rerankTop1?: string;
    proxies: Record<string, { arch: string; score: number }>;
    spearman: number;
    predictionError: PredictionError;
    candidates: number;
    searchSeconds: number;
  }[];
}

/**
 * Run the transfer evaluation. Phase 1 (per task): features (the database's, else extracted),
 * one MetaD2A search per seed (`runSearch`), the proxies over each search's candidates, the
 * predictor's Spearman on the task's random cells (`rankCandidates`). Phase 2: every pick without
 * a record of the same computation (`canonicalKey`) on the task is trained with the plan's recipe
 * and seed rule and stored. Phase 3: the table's numbers, all from records.
 */
export async function runTransferBenchmark(opts: TransferOptions): Promise<TransferRun> {
  const t0 = Date.now();
  const planName = typeof opts.plan === 'string' ? opts.plan : opts.plan.name;
  const plan = typeof opts.plan === 'string' ? buildPlanOptions(opts.plan) : opts.plan.options;
  const description = typeof opts.plan === 'string' ? BUILD_PLANS[opts.plan]?.description : undefined;
  const seeds = opts.seeds ?? [0, 1, 2];
  const top = opts.top ?? 5;
  // what the searches used (runSearch resolves the default: the model's, else 0), for the report
  let topDistance = opts.topDistance ?? 0;
  const candidates = opts.candidates ?? 500;
  const resamples = opts.resamples ?? 10;
  const minRandom = opts.minRandomCells ?? 30;
  const proxies = opts.proxies ?? ['naswot', 'synflow'];
  const proxyBatchSize = opts.proxyBatch ?? 64;
  const proxyPool = Math.min(opts.proxyPool ?? candidates, candidates);
  const rerank = opts.rerank ? { proxy: opts.rerank.proxy, top: opts.rerank.top ?? 20, weight: opts.rerank.weight ?? 0.5 } : null;
  const proxySeed = opts.proxySeed ?? 0;
  const boot = { resamples: opts.bootstrap?.resamples ?? 10_000, seed: opts.bootstrap?.seed ?? 0, level: 0.95 };
  const positive = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) fail('ValidationError', { source: 'bench transfer', field, expected: 'a positive integer', got: String(v) });
  };
  positive('top', top);
  positive('candidates', candidates);
  positive('minRandomCells', minRandom);
  positive('proxyPool', proxyPool);
  const replicates = opts.replicates ?? 1;
  positive('replicates', replicates);
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length || seeds.some((s) => !Number.isSafeInteger(s) || s < 0))
    fail('ValidationError', { source: 'bench transfer', field: 'seeds', expected: 'distinct non-negative integers, at least one', got: JSON.stringify(seeds) });
  if (top > candidates) fail('ValidationError', { source: 'bench transfer', field: 'top', expected: `at most the candidates (${candidates})`, got: String(top) });
  const planSpace = plan.space ?? 'nb201';
  if (opts.model.space.name !== planSpace)
    fail('ValidationError', {
      source: opts.modelName,
      field: 'space',
      expected: `an ${planSpace} model (plan ${planName} trains ${planSpace} architectures)`,
      got: opts.model.space.name,
    });
  const space = opts.model.space;
  for (const p of [...proxies, ...(rerank ? [rerank.proxy] : [])]) zeroCostProxies.get(p); // an unknown name fails before any work, naming the registered ones
  // the zero-cost proxies score NB201's TinyNetwork at the recipe's size
  const recipe = plan.recipe;
  const proxyNetwork = 'C' in recipe ? { C: recipe.C, N: recipe.N } : null;
  if ((proxies.length > 0 || rerank) && (planSpace !== 'nb201' || proxyNetwork === null))
    fail('ValidationError', {
      source: `plan ${planName}`,
      field: 'proxies',
      expected: "none for a plan of space mbv3 (the zero-cost proxies score NB201's TinyNetwork)",
      got: [...proxies, ...(rerank ? [`rerank ${rerank.proxy}`] : [])].join(', '),
    });
  // the model's extractor (an `extractor` that differs fails here, before any work)
  const extractorName = searchExtractor(opts.model.manifest, { requested: opts.extractor, precomputed: false, flag: 'extractor', source: opts.modelName })!;
  if (recipe.inputSize === undefined) fail('ValidationError', { source: `plan ${planName}`, field: 'recipe.inputSize', expected: 'a size', got: 'undefined' });

  const images = new Map<string, SourceImages>();
  const imagesOf = (ref: string): SourceImages => {
    let d = images.get(ref);
    if (!d) {
      const src = resolveDataset(ref);
      if (src.kind !== 'images')
        fail('ValidationError', { source: `plan ${planName}`, field: `dataset ${ref}`, expected: 'an image data set (picks are trained)', got: 'precomputed features' });
      images.set(ref, (d = src as SourceImages));
    }
    return d;
  };
  const built = planBuild({ ...plan, db: opts.db }, (r) => imagesOf(r).classNames.length);
  const metric = built.metric;
  const references = referencePicks(planSpace);
  const db = MetaDatabase.open(opts.db);
  let extractor: FeatureExtractor | undefined;
  try {
    extractor = await createModelExtractor(opts.model.manifest, opts.modelName);
    // every record of the metric (random cells and picks already trained) must come from this recipe
    assertSameRecipe(db, metric, recipe, opts.db);
    const recordsOf = (task: string): MetaRecord[] => db.records({ task, space: planSpace, metric }).filter((r) => r.replicate < replicates);
    /** Per computation of the task: the arch string of its first record and its accuracy by replicate. */
    const measurementsOf = (task: string): Map<string, { arch: string; accuracies: Map<number, number> }> => {
      const byKey = new Map<string, { arch: string; accuracies: Map<number, number> }>();
      for (const r of recordsOf(task)) {
        const k = keyOf(space, r.arch, opts.db);
        let m = byKey.get(k);
        if (!m) byKey.set(k, (m = { arch: r.arch, accuracies: new Map() }));
        if (!m.accuracies.has(r.replicate)) m.accuracies.set(r.replicate, r.accuracy);
      }
      return byKey;
    };
    /** The mean over the replicates of a cell's key; undefined until every replicate is measured. */
    const meanAccuracy = (m: { accuracies: Map<number, number> } | undefined): number | undefined =>
      m !== undefined && m.accuracies.size === replicates ? mean([...m.accuracies.values()]) : undefined;
    /** The replicates of a key not measured yet (all of them for a key without records). */
    const missingReplicates = (m: { accuracies: Map<number, number> } | undefined): number[] =>
      Array.from({ length: replicates }, (_, r) => r).filter((r) => !m?.accuracies.has(r));
    let trained = 0;
    let trainMs = 0;
    let current: { name: string; train: ImageDataset; test: ImageDataset } | undefined;
    /** Train and store the trainings of `todo` (grouped by task); returns how many the signal left undone (0: all done). */
    const trainAll = async (todo: readonly { task: TaskPlan; arch: string; replicate: number }[]): Promise<number> => {
      let done = 0;
      let ms = 0;
      for (const { task, arch, replicate } of todo) {
        if (opts.signal?.aborted) return todo.length - done;
        if (current?.name !== task.name)
          current = {
            name: task.name,
            ...taskData(imagesOf(task.dataset), task, { trainPerClass: plan.trainPerClass, testPerClass: plan.testPerClass, inputSize: recipe.inputSize!, seed: plan.seed }),
          };
        const p0 = Date.now();
        const record = await trainPairRecord({ task, arch, seed: replicateSeed(plan.seed, task.name, arch, replicate) }, current, {
          space: planSpace,
          recipe,
          metric,
          sourceVersion: dataSourceVersion(task.dataset, imagesOf(task.dataset)),
        });
        db.addRecord({ ...record, replicate, how: `${record.how} (${replicate === 0 ? 'a pick' : `replicate ${replicate}`} of metad2a bench transfer)` });
        done++;
        trained++;
        ms += Date.now() - p0;
        trainMs += Date.now() - p0;
        opts.onProgress?.({
          phase: 'train',
          done,
          total: todo.length,
          task: task.name,
          arch,
          replicate,
          accuracy: record.accuracy,
          elapsedMs: Date.now() - t0,
          etaMs: (ms / done) * (todo.length - done),
        });
      }
      return 0;
    };
    // ---- phase 1: searches, proxies, Spearman (no training)
    const work: TaskWork[] = [];
    // every task's random cells first: a database short of records fails before any search, naming every short task
    const randomOf = built.tasks.map((task) => {
      const version = dataSourceVersion(task.dataset, imagesOf(task.dataset));
      const byArch = new Map(
        recordsOf(task.name)
          .filter((r) => r.replicate === 0)
          .map((r) => [r.arch, r]),
      );
      const plannedArchs = built.pairs.filter((p) => p.task.name === task.name).map((p) => p.arch);
      const random = plannedArchs.flatMap((arch) => {
        const r = byArch.get(arch);
        if (!r) return [];
        checkRecord(r, version, opts.db);
        return [{ arch, accuracy: r.accuracy }];
      });
      return { task, random, planned: plannedArchs.length };
    });
    const short = randomOf.filter((x) => x.random.length < minRandom);
    if (short.length > 0) {
      throw new MetaD2AException(
        makeError('NotFound', {
          source: opts.db,
          field: short.length === 1 ? `task ${short[0]!.task.name}` : `${short.length} of ${built.tasks.length} tasks`,
          expected: `at least ${minRandom} measured random cells of plan ${planName} per task (metric ${metric})`,
          got: `${short
            .slice(0, 3)
            .map((x) => `${x.random.length} of ${x.planned}${short.length > 1 ? ` for ${x.task.name}` : ''}`)
            .join(', ')}${short.length > 3 ? ', …' : ''} (build them: metad2a db build --plan ${planName} --db ${opts.db})`,
        }),
      );
    }
    // ---- phase 0 (replicates > 1): the random cells' other trainings, so that the Spearman below sees their means
    if (replicates > 1) {
      const todo = randomOf.flatMap(({ task, random }) => {
        const byKey = measurementsOf(task.name);
        return random.flatMap(({ arch }) => missingReplicates(byKey.get(keyOf(space, arch))).map((replicate) => ({ task, arch, replicate })));
      });
      const left = await trainAll(todo);
      if (left > 0) return { status: 'stopped', trained, remaining: left };
      for (const x of randomOf) {
        const byKey = measurementsOf(x.task.name);
        x.random = x.random.map(({ arch }) => ({ arch, accuracy: meanAccuracy(byKey.get(keyOf(space, arch)))! }));
      }
    }
    // every task's random cells, pooled (one per computation): each task scores them all, for the ranking agreement
    const commonArchs = [...new Map(randomOf.flatMap((x) => x.random.map((r) => [keyOf(space, r.arch), r.arch] as const))).values()];
    const commonPool = candidatePool(
      opts.model.space,
      commonArchs.map((a) => archOf(space, a, opts.db)),
    );
    const commonScores: Float64Array[] = [];
    for (const [ti, { task, random, planned }] of randomOf.entries()) {
      let features: FeatureSet;
      let featureSource: string;
      const stored = db.tasks().find((t) => t.name === task.name);
      const from = db.dataset(task.dataset).featuresFrom;
      // stored features serve only when they come from the model's extractor
      if (stored && from !== undefined && parseFeatureOrigin(from)?.id === extractor.id && db.missingFeatures(stored).length === 0) {
        features = db.taskFeatureSet(stored);
        featureSource = `database (${from})`;
      } else {
        // the first images of the task's classes only (as `metad2a search` would extract for a data set of those classes)
        const src = imagesOf(task.dataset);
        const byClass = indicesByClass(src);
        const rows = task.classIds.flatMap((c) => byClass[c]!.slice(0, opts.imagesPerClass ?? SEARCH_IMAGES_PER_CLASS));
        const extracted = await loadFeatureSet(selectImages(src, rows), { extractor });
        features = { name: task.name, dim: extracted.dim, classes: task.classIds.map((c) => extracted.classes[c]!) };
        featureSource = `extractor ${extractorName}${stored && from !== undefined && db.classesWithFeatures(task.dataset).length > 0 ? ` (the database's features come from ${from})` : ''}`;
      }
      const batch = proxies.length > 0 || rerank ? proxyBatchForTask(imagesOf(task.dataset), task, plan, proxyBatchSize, proxySeed) : undefined;
      const proxyScores = new Map<string, Map<string, number>>(proxies.map((p) => [p, new Map()]));
      const randomPool = candidatePool(
        opts.model.space,
        random.map((r) => archOf(space, r.arch, opts.db)),
      );
      const common = await rankCandidates(opts.model.predictor, features, commonPool, { resamples, seed: `${seeds[0]}/rank` });
      const commonScore = new Float64Array(commonArchs.length);
      for (const c of common.ranking) commonScore[c.index] = c.score;
      commonScores.push(commonScore);
      const seedsOut: TaskWork['seeds'] = [];
      for (const seed of seeds) {
        const res = await runSearch(opts.model, features, { candidates, resamples, top, topDistance: opts.topDistance, seed });
        topDistance = res.settings.topDistance;
        const pool = res.ranking.slice(0, proxyPool).map((c) => c.arch);
        const picked: Record<string, { arch: string; score: number }> = {};
        for (const name of proxies) {
          const cache = proxyScores.get(name)!;
          const missing = pool.filter((a) => !cache.has(a));
          if (missing.length > 0) {
            const { scores } = scoreWithProxy(name, missing, batch!, { numClasses: task.classIds.length, seed: proxySeed, ...proxyNetwork! });
            missing.forEach((a, i) => cache.set(a, Number.isNaN(scores[i]!) ? -Infinity : scores[i]!));
          }
          // the highest score; ties keep the predictor's order
          let best = 0;
          pool.forEach((a, i) => {
            if (cache.get(a)! > cache.get(pool[best]!)!) best = i;
          });
          picked[name] = { arch: pool[best]!, score: cache.get(pool[best]!)! };
        }
        const reranked = rerank
          ? (await rerankCandidates(res.ranking, { ...rerank, batch: batch!, numClasses: task.classIds.length, seed: proxySeed, ...proxyNetwork! })).ranking[0]!.arch
          : undefined;
        const ranked = await rankCandidates(opts.model.predictor, features, randomPool, { resamples, seed: `${seed}/rank` });
        const scores = new Float64Array(random.length);
        const printed = new Float64Array(random.length);
        for (const c of ranked.ranking) (scores[c.index] = c.score), (printed[c.index] = c.predictedAccuracy);
        seedsOut.push({
          seed,
          top: res.top.map((c) => c.arch),
          top1PredictedPercentile: res.top[0]!.predictedPercentile ?? Number.NaN,
          ...(reranked !== undefined ? { rerankTop1: reranked } : {}),
          proxies: picked,
          spearman: spearman(
            scores,
            random.map((r) => r.accuracy),
          ),
          predictionError: predictionErrorOf(
            printed,
            random.map((r) => r.accuracy),
          ),
          candidates: res.ranking.length,
          searchSeconds: res.timings.search,
        });
      }
      work.push({ task, random, planned, features: featureSource, references, seeds: seedsOut });
      opts.onProgress?.({ phase: 'select', task: task.name, index: ti + 1, tasks: built.tasks.length, elapsedMs: Date.now() - t0 });
    }

    // ---- phase 2: train the picks the database lacks (per computation and task: every replicate)
    const todo: { task: TaskPlan; arch: string; replicate: number }[] = [];
    let reused = 0;
    for (const w of work) {
      const known = measurementsOf(w.task.name);
      // a pick that computes what a planned, not yet measured random cell computes is trained as that pair (same string, same seed): the build then skips it
      const plannedByKey = new Map(built.pairs.filter((p) => p.task.name === w.task.name).map((p) => [keyOf(space, p.arch), p.arch]));
      const picks = [
        ...Object.values(w.references),
        ...w.seeds.flatMap((s) => [...s.top, ...(s.rerankTop1 !== undefined ? [s.rerankTop1] : []), ...Object.values(s.proxies).map((p) => p.arch)]),
      ];
      const seen = new Set<string>();
      for (const arch of picks) {
        const k = keyOf(space, arch);
        if (seen.has(k)) continue;
        seen.add(k);
        const m = known.get(k);
        if (m?.accuracies.size === replicates) reused++;
        // the other replicates of a measured computation train its recorded string (the seed rule follows the string)
        const trainAs = m?.arch ?? plannedByKey.get(k) ?? arch;
        for (const replicate of missingReplicates(m)) todo.push({ task: w.task, arch: trainAs, replicate });
      }
    }
    const left = await trainAll(todo);
    if (left > 0) return { status: 'stopped', trained, remaining: left };

    // ---- phase 3: the numbers, all from records
    const methods: TransferMethod[] = [
      'metad2a-top1',
      'metad2a-best-of-top',
      ...(rerank ? [`rerank:${rerank.proxy}` as const] : []),
      ...(Object.keys(references) as ReferenceMethod[]),
      ...proxies.map((p) => `proxy:${p}` as const),
      'best-known',
    ];
    const tasks: TransferTaskResult[] = work.map((w) => {
      const byKey = measurementsOf(w.task.name);
      const randomAcc = w.random.map((r) => r.accuracy);
      const measured = (arch: string): MeasuredCell => {
        const accuracy = meanAccuracy(byKey.get(keyOf(space, arch)));
        if (accuracy === undefined)
          fail('NotFound', { source: opts.db, field: `task ${w.task.name}`, expected: `a record of ${arch}`, got: 'none (was it deleted while the benchmark ran?)' });
        return { arch, accuracy, percentile: percentileAmong(accuracy, randomAcc) };
      };
      const seedsRes: TransferSeedResult[] = w.seeds.map((s) => {
        const topCells = s.top.map(measured);
        const bestOfTop = topCells.reduce((b, c) => (c.accuracy > b.accuracy ? c : b));
        const px: Record<string, MeasuredCell & { score: number }> = {};
        for (const [name, p] of Object.entries(s.proxies)) px[name] = { ...measured(p.arch), score: p.score };
        return {
          seed: s.seed,
          top: topCells,
          top1PredictedPercentile: s.top1PredictedPercentile,
          bestOfTop,
          ...(s.rerankTop1 !== undefined ? { rerankTop1: measured(s.rerankTop1) } : {}),
          proxies: px,
          spearman: s.spearman,
          predictionError: s.predictionError,
          candidates: s.candidates,
          searchSeconds: s.searchSeconds,
        };
      });
      // the best computation measured on the task (random cells and every pick; its replicates' mean)
      let bestKnown: MeasuredCell | undefined;
      for (const m of byKey.values()) {
        const c = meanAccuracy(m) !== undefined ? measured(m.arch) : undefined;
        if (c && (bestKnown === undefined || c.accuracy > bestKnown.accuracy)) bestKnown = c;
      }
      if (bestKnown === undefined) fail('NotFound', { source: opts.db, field: `task ${w.task.name}`, expected: 'a measured cell', got: 'none' });
      const refs = Object.fromEntries(Object.entries(w.references).map(([m, arch]) => [m, measured(arch)])) as Partial<Record<ReferenceMethod, MeasuredCell>>;
      /** A measured cell's trainings, in replicate order. */
      const trainingsOf = (arch: string): number[] => {
        const acc = byKey.get(keyOf(space, arch))!.accuracies;
        return Array.from({ length: replicates }, (_, r) => acc.get(r)!);
      };
      const oneTrainingSearch =
        replicates > 1
          ? Object.fromEntries(
              Object.entries(w.references).map(([m, arch]) => [
                m,
                oneTrainingSearchOutcomes(
                  w.random.map((c) => trainingsOf(c.arch)),
                  trainingsOf(arch),
                ),
              ]),
            )
          : undefined;
      const avg = (f: (s: TransferSeedResult) => MeasuredCell) => ({ accuracy: mean(seedsRes.map((s) => f(s).accuracy)), percentile: mean(seedsRes.map((s) => f(s).percentile)) });
      const m: Record<string, { accuracy: number; percentile: number }> = {
        'metad2a-top1': avg((s) => s.top[0]!),
        'metad2a-best-of-top': avg((s) => s.bestOfTop),
        ...(rerank ? { [`rerank:${rerank.proxy}`]: avg((s) => s.rerankTop1!) } : {}),
        ...refs,
      };
      for (const p of proxies) m[`proxy:${p}`] = avg((s) => s.proxies[p]!);
      m['best-known'] = bestKnown;
      return {
        task: w.task.name,
        source: w.task.dataset,
        classes: w.task.classIds.length,
        features: w.features,
        random: { count: w.random.length, planned: w.planned, mean: mean(randomAcc), best: Math.max(...randomAcc), cells: w.random },
        references: refs,
        bestKnown,
        seeds: seedsRes,
        methods: m as Partial<Record<TransferMethod, { accuracy: number; percentile: number }>>,
        spearman:
          definedMean(
            seedsRes.map((s) => s.spearman),
            mean,
          ) ?? Number.NaN,
        predictionError: { mae: mean(seedsRes.map((s) => s.predictionError.mae)), bias: mean(seedsRes.map((s) => s.predictionError.bias)) },
        ...(oneTrainingSearch ? { oneTrainingSearch } : {}),
      };
    });
    const sources = [...new Set(tasks.map((t) => t.source))];
    const summarise = (group: string, ts: readonly TransferTaskResult[]): TransferGroupSummary => {
      const ci = (vals: number[]) => bootstrapMeanCI(vals, { resamples: boot.resamples, seed: `${boot.seed}|${group}`, level: boot.level });
      const percentile: Record<string, BootstrapCI> = {};
      const accuracy: Record<string, BootstrapCI> = {};
      for (const k of methods) {
        percentile[k] = ci(ts.map((t) => t.methods[k]!.percentile));
        accuracy[k] = ci(ts.map((t) => t.methods[k]!.accuracy));
      }
      return {
        group,
        tasks: ts.length,
        percentile: percentile as Partial<Record<TransferMethod, BootstrapCI>>,
        accuracy: accuracy as Partial<Record<TransferMethod, BootstrapCI>>,
        spearman: definedMean(
          ts.map((t) => t.spearman),
          ci,
        ),
        predictionMae: ci(ts.map((t) => t.predictionError.mae)),
        predictionBias: ci(ts.map((t) => t.predictionError.bias)),
      };
    };
    const summary = [
      ...sources.map((s) =>
        summarise(
          s,
          tasks.filter((t) => t.source === s),
        ),
      ),
      summarise('all', tasks),
    ];
    const perSeed = seeds.map((seed, i) => ({
      seed,
      top1Percentile: mean(tasks.map((t) => t.seeds[i]!.top[0]!.percentile)),
      top1PredictedPercentile: mean(tasks.map((t) => t.seeds[i]!.top1PredictedPercentile)),
      bestOfTopPercentile: mean(tasks.map((t) => t.seeds[i]!.bestOfTop.percentile)),
      spearman:
        definedMean(
          tasks.map((t) => t.seeds[i]!.spearman),
          mean,
        ) ?? Number.NaN,
    }));
    const top1 = (t: TransferTaskResult) => t.methods['metad2a-top1']!;
    /** `other`: the compared cell's accuracy and percentile on a task. */
    const beats = (against: string, other: (t: TransferTaskResult) => { accuracy: number; percentile: number }): TransferWins => {
      const { wins, ties } = winsTiesLosses(
        tasks.map((t) => top1(t).accuracy),
        tasks.map((t) => other(t).accuracy),
      );
      const percentileDifference = bootstrapMeanCI(
        tasks.map((t) => top1(t).percentile - other(t).percentile),
        { resamples: boot.resamples, seed: `${boot.seed}|all`, level: boot.level },
      );
      return { against, wins, ties, tasks: tasks.length, percentileDifference };
    };
    const refMethods = Object.keys(references) as ReferenceMethod[];
    // the better NB201 winner of a task (percentile is monotone in accuracy within a task)
    const betterWinner = (t: TransferTaskResult) => {
      const [a, b] = [t.methods['nb201-cifar10']!, t.methods['nb201-imagenet16-120']!];
      return a.accuracy >= b.accuracy ? a : b;
    };
    const wins = [
      ...refMethods.map((m) => beats(m, (t) => t.methods[m]!)),
      ...(planSpace === 'nb201' ? [beats('nb201-both', betterWinner)] : []),
      ...proxies.map((p) => beats(`proxy:${p}`, (t) => t.methods[`proxy:${p}`]!)),
    ];
    const oneTrainingSearch =
      replicates > 1
        ? refMethods.map((against): OneTrainingSearchCounts => {
            const all = tasks.flatMap((t) => t.oneTrainingSearch?.[against] ?? []);
            const n = (o: Outcome) => all.filter((x) => x === o).length;
            return { against, above: n('above'), equal: n('equal'), below: n('below'), comparisons: all.length };
          })
        : undefined;
    const rankingAgreement = agreementOf(
      commonScores,
      tasks.map((t) => t.source),
    );
    const overlap = groupOverlaps(
      tasks.map((t) => ({ name: t.task, group: t.source, tops: new Map(t.seeds.map((s) => [s.seed, s.top.map((c) => keyOf(space, c.arch))])) })),
      sources,
    );
    return {
      status: 'complete',
      result: {
        plan: { name: planName, ...(description ? { description } : {}), space: planSpace, recipe, metric, seed: plan.seed, tasks: tasks.length },
        model: { name: opts.modelName, predicts: predictionTarget(opts.model.manifest) },
        settings: {
          seeds,
          top,
          topDistance,
          candidates,
          resamples,
          minRandomCells: minRandom,
          replicates,
          proxies: {
            names: proxies,
            pool:
              proxyPool >= candidates
                ? `every candidate of each MetaD2A search (${candidates} generated cells per seed)`
                : `the first ${proxyPool} of each MetaD2A search's ranking of ${candidates} generated cells`,
            batch: proxyBatchSize,
            seed: proxySeed,
            network: proxyNetwork,
          },
          bootstrap: boot,
          rerank,
        },
        methods,
        tasks,
        summary,
        perSeed,
        wins,
        overlap,
        rankingAgreement,
        ...(oneTrainingSearch ? { oneTrainingSearch } : {}),
        trainings: { trained, reused, trainSeconds: trainMs / 1000 },
        machine: machineInfo(),
      },
    };
  } finally {
    extractor?.dispose();
    db.close();
  }
}

/** A record of the plan must come from the images as they are now (the recipe is checked for every record by `assertSameRecipe`). */
function checkRecord(r: MetaRecord, version: string, file: string): void {
  const v = (r.extra as { sourceVersion?: unknown } | undefined)?.sourceVersion;
  if (v !== undefined && v !== version)
    fail('ValidationError', {
      source: file,
      field: `record ${r.id} (${r.task}, ${r.arch}).extra.sourceVersion`,
      expected: `${version} (the images of the task now)`,
      got: `${String(v)} (made from other images: rebuild the plan's records)`,
    });
}

/** The proxies' minibatch: seeded rows of the task's training images, preprocessed as the recipe trains them. */
function proxyBatchForTask(images: SourceImages, task: TaskPlan, plan: TransferPlanOptions, size: number, seed: number): ImageBatch {
  const { train } = taskData(images, task, { trainPerClass: plan.trainPerClass, testPerClass: plan.testPerClass, inputSize: plan.recipe.inputSize!, seed: plan.seed });
  return proxyBatchOf(train, { size, seed: `${seed}|${task.name}`, source: `proxy batch of ${task.name}` });
}
