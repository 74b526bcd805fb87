import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import {
  MetaD2AException,
  Rng,
  driveSteps,
  loadCheckpointSync,
  makeError,
  saveCheckpointSync,
  spearman,
  validationError,
  type AccuracyNormalisation,
  type ArchGraph,
  type MetaD2AError,
  type NamedArray,
  type PerfPredictor,
  type StepControl,
  type Steps,
} from '@metad2a/core';
import { Adam } from '@metad2a/layers';
import { match } from 'ts-pattern';
import {
  NB201_DATASETS,
  canonicalKey,
  formatMbv3,
  mbv3,
  mbv3AccuracyOracle,
  mbv3ActiveKey,
  nb201,
  nb201Table,
  sampleMbv3,
  type Mbv3Config,
  type Nb201Dataset,
} from '@metad2a/search-spaces';
import { MetaDatabase } from '../database/meta-database';
import { OFFICIAL_NB201, importOfficialNb201PredictorDb } from '../io/nb201-official';
import type { TrainableModel } from '../training/trainers';

/**
 * Where architecture knowledge comes from without image features. NB201: the 200-epoch table
 * (test accuracy of all 15,625 cells on one data set) or the official MetaD2A predictor records
 * (4,630 accuracies of 1,553 cells on 3,031 ImageNet-32 class subsets; their features are not
 * available, so all of them form one source). MBv3: OFA's accuracy predictor (`ofa:imagenet-oracle`,
 * its ImageNet top-1 estimate at 224 px) over a seeded uniform sample of subnets — the ImageNet
 * prior over the whole space. A prior is of one space: its sources must all be of that space.
 */
export type PriorSource = `nb201:${Nb201Dataset}` | 'metad2a:imagenet32-subsets' | 'ofa:imagenet-oracle';

/** The NB201 sources: the default of `trainArchitecturePriorFile` and of the CLI's `prior`. */
export const PRIOR_SOURCES: readonly PriorSource[] = [...NB201_DATASETS.map((d) => `nb201:${d}` as const), 'metad2a:imagenet32-subsets'];

/** The sources of each search space with a prior. */
export const PRIOR_SOURCES_BY_SPACE: Readonly<Record<'nb201' | 'mbv3', readonly PriorSource[]>> = Object.freeze({
  nb201: PRIOR_SOURCES,
  mbv3: Object.freeze(['ofa:imagenet-oracle'] as const),
});

/** Every source, NB201's first (the order of a prior's source embeddings). */
export const ALL_PRIOR_SOURCES: readonly PriorSource[] = [...PRIOR_SOURCES_BY_SPACE.nb201, ...PRIOR_SOURCES_BY_SPACE.mbv3];

/** Subnets drawn for `ofa:imagenet-oracle` unless `oracleSamples` says otherwise. */
export const DEFAULT_ORACLE_SAMPLES = 20000;

/** The search space of a source's architecture strings. */
export function priorSourceSpace(source: PriorSource): 'nb201' | 'mbv3' {
  return source === 'ofa:imagenet-oracle' ? 'mbv3' : 'nb201';
}

function checkSource(source: string): PriorSource {
  if (!(ALL_PRIOR_SOURCES as readonly string[]).includes(source))
    throw new MetaD2AException(validationError({ source: 'architecture prior', field: 'sources', expected: ALL_PRIOR_SOURCES.join(', '), got: String(source) }));
  return source as PriorSource;
}

/** The one space of `sources`; a ValidationError when they mix spaces or are empty. */
export function priorSpace(sources: readonly PriorSource[]): 'nb201' | 'mbv3' {
  const spaces = [...new Set(sources.map((s) => priorSourceSpace(checkSource(s))))];
  if (spaces.length !== 1)
    throw new MetaD2AException(
      validationError({
        source: 'architecture prior',
        field: 'sources',
        expected: `sources of one search space (${Object.entries(PRIOR_SOURCES_BY_SPACE)
          .map(([k, v]) => `${k}: ${v.join(', ')}`)
          .join('; ')})`,
        got: sources.length === 0 ? 'none' : sources.map((s) => `${s} (${priorSourceSpace(s)})`).join(', '),
      }),
    );
  return spaces[0]!;
}

/** One (source, architecture, accuracy %) sample of the prior's training data. */
export interface PriorSample {
  readonly source: PriorSource;
  /** Architecture string of the source's space (NB201 arch string, `formatMbv3`). */
  readonly arch: string;
  readonly accuracy: number;
}

export interface PriorSampleOptions {
  /** Default `PRIOR_SOURCES` (NB201's four, 51,505 samples). */
  readonly sources?: readonly PriorSource[];
  readonly officialDir?: string;
  /** `ofa:imagenet-oracle`: how many uniform subnets (`sampleMbv3`) to score (default {@link DEFAULT_ORACLE_SAMPLES}); drawn without repeating an active subnet. */
  readonly oracleSamples?: number;
  /** `ofa:imagenet-oracle`: seed of the subnet sample (default 0). */
  readonly seed?: number | string;
}

/**
 * `n` distinct subnets (by `mbv3ActiveKey`: the network that runs) drawn uniformly with `seed`,
 * each with OFA's ImageNet top-1 estimate in percent.
 */
export function mbv3OracleSamples(n: number, seed: number | string = 0): { config: Mbv3Config; arch: string; accuracy: number }[] {
  if (!Number.isInteger(n) || n < 1)
    throw new MetaD2AException(validationError({ source: 'architecture prior', field: 'oracleSamples', expected: 'a positive integer', got: String(n) }));
  const rng = new Rng(seed);
  const oracle = mbv3AccuracyOracle();
  const seen = new Set<string>();
  const out: { config: Mbv3Config; arch: string; accuracy: number }[] = [];
  while (out.length < n) {
    const config = sampleMbv3(rng);
    const key = mbv3ActiveKey(config);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ config, arch: formatMbv3(config), accuracy: 100 * oracle.predict(config) });
  }
  return out;
}

/** The samples of the chosen sources (one space; default NB201's four, 51,505 samples). */
export function architecturePriorSamples(opts: PriorSampleOptions = {}): PriorSample[] {
  const sources = opts.sources ?? PRIOR_SOURCES;
  priorSpace(sources);
  const out: PriorSample[] = [];
  for (const source of sources) {
    match(source)
      .with('metad2a:imagenet32-subsets', () => {
        const db = MetaDatabase.inMemory();
        try {
          importOfficialNb201PredictorDb(db, opts.officialDir ? { dir: opts.officialDir } : {});
          for (const r of db.records({ metric: OFFICIAL_NB201.metric })) out.push({ source, arch: r.arch, accuracy: r.accuracy });
        } finally {
          db.close();
        }
      })
      .with('ofa:imagenet-oracle', () => {
        for (const x of mbv3OracleSamples(opts.oracleSamples ?? DEFAULT_ORACLE_SAMPLES, opts.seed ?? 0)) out.push({ source, arch: x.arch, accuracy: x.accuracy });
      })
      .otherwise((s) => {
        const dataset = s.slice('nb201:'.length) as Nb201Dataset;
        const table = nb201Table();
        const acc = table.column(dataset, 'testAccuracy');
        for (let i = 0; i < acc.length; i++) out.push({ source, arch: table.archAt(i), accuracy: acc[i]! });
      });
  }
  return out;
}

/**
 * Split samples by cell for a held-out measurement: whole classes of architectures that compute
 * the same function (NB201: isomorphism classes, `canonicalKey`; MBv3: the same active subnet,
 * `mbv3ActiveKey`) go to the held-out part, in every source, so no held-out cell is seen in
 * training under any source.
 */
export function splitPriorSamples(samples: readonly PriorSample[], opts: { heldOutFraction: number; seed: number | string }): { train: PriorSample[]; heldOut: PriorSample[] } {
  if (!(opts.heldOutFraction >= 0 && opts.heldOutFraction < 1))
    throw new MetaD2AException(validationError({ source: 'architecture prior', field: 'heldOutFraction', expected: 'a number in [0, 1)', got: String(opts.heldOutFraction) }));
  const keyOf = new Map<string, string>();
  const space = priorSpace([...new Set(samples.map((s) => s.source))]);
  for (const s of samples) if (!keyOf.has(s.arch)) keyOf.set(s.arch, architectureKey(space, s.arch));
  const classes = [...new Set(keyOf.values())].sort();
  const rng = new Rng(opts.seed);
  const held = new Set(rng.shuffle(classes).slice(0, Math.round(classes.length * opts.heldOutFraction)));
  const train: PriorSample[] = [];
  const heldOut: PriorSample[] = [];
  for (const s of samples) (held.has(keyOf.get(s.arch)!) ? heldOut : train).push(s);
  return { train, heldOut };
}

function parsed<C>(space: { parse(text: string): E.Either<MetaD2AError, C> }, arch: string): C {
  const c = space.parse(arch);
  if (E.isLeft(c)) throw new MetaD2AException(c.left);
  return c.right;
}

/** The key of what an architecture computes: equal keys, equal networks. */
function architectureKey(space: 'nb201' | 'mbv3', arch: string): string {
  return match(space)
    .with('nb201', () => canonicalKey(parsed(nb201, arch)))
    .with('mbv3', () => mbv3ActiveKey(parsed(mbv3, arch)))
    .exhaustive();
}

/** An architecture string of a prior space → its graph. */
function architectureGraph(space: 'nb201' | 'mbv3', arch: string): ArchGraph {
  return match(space)
    .with('nb201', () => nb201.encode(parsed(nb201, arch)))
    .with('mbv3', () => mbv3.encode(parsed(mbv3, arch)))
    .exhaustive();
}

/** A predictor the prior can pre-train: its graph side and head, fed a learned per-source embedding in place of the dataset embedding. */
export type PriorTrainable = PerfPredictor &
  TrainableModel & {
    readonly nz: number;
    readonly hs: number;
    graphSideParameterNames(): string[];
    loadParameters(values: Readonly<Record<string, NamedArray>>, opts?: { allowExtra?: boolean | readonly string[] }): void;
  };

/** Progress of the prior's pre-training: after every optimizer step (`done` of `total` steps) and every epoch. */
export type PriorProgress =
  | { readonly stage: 'step'; readonly done: number; readonly total: number; readonly epoch: number }
  | { readonly stage: 'epoch'; readonly done: number; readonly total: number; readonly summary: PriorEpoch };

export interface PriorTrainOptions extends StepControl<PriorProgress> {
  /** Passes over the training cells (default 40). */
  readonly epochs?: number;
  /** Cells per optimizer step; every sample of each cell (all its sources) is in the step (default 256). */
  readonly batchSize?: number;
  /** Adam learning rate, cosine-annealed to 0 over the run (default 1e-3). */
  readonly lr?: number;
  readonly seed?: number | string;
  /** Samples scored after every epoch (per-source Spearman); never trained on. */
  readonly heldOut?: readonly PriorSample[];
  readonly onEpoch?: (e: PriorEpoch) => void;
}

export interface PriorEpoch {
  readonly epoch: number;
  /** Mean over steps of the mean squared error of the z-scored targets. */
  readonly trainLoss: number;
  readonly lr: number;
  /** Spearman between score and accuracy on the held-out samples, per source. */
  readonly heldOutSpearman?: Readonly<Record<string, number>>;
  readonly seconds: number;
}

export interface ArchitecturePrior {
  readonly sources: readonly PriorSource[];
  /** Per-source μ, σ of the training accuracies (targets are ((acc − μ)/σ)/100, the predictor's scale). */
  readonly normalisations: Readonly<Record<string, AccuracyNormalisation>>;
  /** The learned source embeddings `[S, nz]`, row i = sources[i]. */
  readonly sourceEmbedding: NamedArray;
  readonly history: readonly PriorEpoch[];
  readonly trainSamples: number;
  readonly trainCells: number;
  readonly seconds: number;
}

const EMBEDDING = 'prior.source_embedding';
/** The official names of the predictor head's output layer. */
const OUTPUT_LAYER = ['pred_fc.2.weight', 'pred_fc.2.bias'];
const spaceGraphConfig = (space: 'nb201' | 'mbv3') => (space === 'nb201' ? nb201 : mbv3).graphConfig;
let embeddingCounter = 0;

/** `[rows.length, n]` one-hot rows: selecting by a matMul differentiates on every backend (wasm has no gather gradient). */
function oneHot(rows: readonly number[], n: number): tf.Tensor2D {
  const m = new Float32Array(rows.length * n);
  rows.forEach((r, i) => (m[i * n + r] = 1));
  return tf.tensor2d(m, [rows.length, n]);
}

function meanStd(xs: readonly number[]): AccuracyNormalisation {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean: m, std: Math.sqrt(v) };
}

/**
 * Pre-train a predictor's graph side (graph encoder, `fc1`) and head (`pred_fc`) on
 * architecture-only targets: for a sample (source s, cell a), `pred_fc([e_s; G(a)])` regresses
 * the source-normalised accuracy ((acc − μ_s)/σ_s)/100, with one learned embedding `e_s` per
 * source standing where the dataset embedding `D` stands in meta-training. The set encoder is
 * not touched. Each step encodes its cells once and scores all their sources.
 *
 * Hands the event loop back after every step and epoch (`onProgress`); rejects with a
 * MetaD2AException (bad options, `Aborted` when `signal` is aborted: the model keeps the weights
 * of the last finished step, the embedding and optimizer tensors are released).
 */
export function pretrainArchitecturePrior(model: PriorTrainable, train: readonly PriorSample[], opts: PriorTrainOptions = {}): Promise<ArchitecturePrior> {
  return driveSteps(priorSteps(model, train, opts), 'architecture prior', opts);
}

function* priorSteps(model: PriorTrainable, train: readonly PriorSample[], opts: PriorTrainOptions): Steps<PriorProgress, ArchitecturePrior> {
  const epochs = opts.epochs ?? 40;
  const batchSize = opts.batchSize ?? 256;
  const lr0 = opts.lr ?? 1e-3;
  for (const [f, v] of [
    ['epochs', epochs],
    ['batchSize', batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new MetaD2AException(validationError({ source: 'architecture prior', field: f, expected: 'a positive integer', got: String(v) }));
  }
  if (train.length === 0) throw new MetaD2AException(validationError({ source: 'architecture prior', field: 'train', expected: 'at least one sample', got: '0' }));
  const started = Date.now();
  const sources = ALL_PRIOR_SOURCES.filter((s) => train.some((x) => x.source === s));
  const space = priorSpace(sources);
  const want = spaceGraphConfig(space);
  if (model.graphConfig.nvt !== want.nvt || model.graphConfig.maxN !== want.maxN)
    throw new MetaD2AException(
      validationError({
        source: 'architecture prior',
        field: 'model.graphConfig',
        expected: `a predictor of ${space} graphs (nvt ${want.nvt}, maxN ${want.maxN})`,
        got: `nvt ${model.graphConfig.nvt}, maxN ${model.graphConfig.maxN}`,
      }),
    );
  const sourceIndex = new Map(sources.map((s, i) => [s, i]));
  const normalisations: Record<string, AccuracyNormalisation> = {};
  for (const s of sources) normalisations[s] = meanStd(train.filter((x) => x.source === s).map((x) => x.accuracy));
  const z = (x: PriorSample): number => (x.accuracy - normalisations[x.source]!.mean) / normalisations[x.source]!.std;

  // cells with every (source, z) pair they have
  const cells = new Map<string, { graph: ArchGraph; pairs: [number, number][] }>();
  for (const x of train) {
    let c = cells.get(x.arch);
    if (!c) cells.set(x.arch, (c = { graph: architectureGraph(space, x.arch), pairs: [] }));
    c.pairs.push([sourceIndex.get(x.source)!, z(x)]);
  }
  const cellList = [...cells.values()];
  const rng = new Rng(opts.seed ?? 0);
  const initial = tf.tensor2d(rng.normalArray(sources.length * model.nz, 0, 0.1), [sources.length, model.nz]);
  const emb = tf.variable(initial, true, `${EMBEDDING}/${++embeddingCounter}`);
  initial.dispose(); // the variable holds its own copy
  const names = model.graphSideParameterNames();
  // targets are z/100 (the predictor's scale): start the head's output layer at that scale too, or its
  // first outputs are ~100 standard deviations off and the first steps only undo the initialisation
  for (const n of OUTPUT_LAYER) if (model.store.has(n)) tf.tidy(() => model.store.get(n).assign(tf.mul(model.store.get(n), 0.01)));
  const vars = new Map<string, tf.Variable>(names.map((n) => [n, model.store.get(n)] as const));
  vars.set(EMBEDDING, emb);
  const byTfName = new Map([...vars].map(([n, v]) => [v.name, n] as const));
  const adam = new Adam(vars, { lr: lr0 });
  const history: PriorEpoch[] = [];
  const steps = Math.ceil(cellList.length / batchSize);
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const t0 = Date.now();
      const order = rng.permutation(cellList.length);
      let lossSum = 0;
      for (let b = 0; b < steps; b++) {
        adam.lr = lr0 * 0.5 * (1 + Math.cos((Math.PI * ((epoch - 1) * steps + b)) / (epochs * steps)));
        const batch = order.slice(b * batchSize, (b + 1) * batchSize).map((i) => cellList[i]!);
        const rows: number[] = [];
        const src: number[] = [];
        const target: number[] = [];
        batch.forEach((c, i) => c.pairs.forEach(([s, t]) => (rows.push(i), src.push(s), target.push(t))));
        const { value, grads } = tf.variableGrads(
          () =>
            tf.tidy(() => {
              const g = model.encodeGraphs(batch.map((c) => c.graph));
              const y = model.head(tf.matMul(oneHot(src, sources.length), emb), tf.matMul(oneHot(rows, batch.length), g));
              // targets on the predictor's scale: z/100, so the loss is on z
              return tf.mean(tf.square(tf.sub(tf.mul(tf.reshape(y, [-1]), 100), tf.tensor1d(target)))) as tf.Scalar;
            }),
          [...vars.values()],
        );
        lossSum += value.dataSync()[0]!;
        value.dispose();
        const named = new Map<string, tf.Tensor>();
        for (const [k, g] of Object.entries(grads)) {
          const n = byTfName.get(k);
          if (n === undefined) g.dispose();
          else named.set(n, g);
        }
        adam.apply(named);
        for (const g of named.values()) g.dispose();
        yield { stage: 'step', done: (epoch - 1) * steps + b + 1, total: epochs * steps, epoch };
      }
      const heldOutSpearman = opts.heldOut && opts.heldOut.length > 0 ? priorSpearman(model, emb, sources, opts.heldOut) : undefined;
      const e: PriorEpoch = { epoch, trainLoss: lossSum / steps, lr: adam.lr, ...(heldOutSpearman ? { heldOutSpearman } : {}), seconds: (Date.now() - t0) / 1000 };
      history.push(e);
      opts.onEpoch?.(e);
      yield { stage: 'epoch', done: epoch, total: epochs, summary: e };
    }
    return {
      sources,
      normalisations,
      sourceEmbedding: { shape: [sources.length, model.nz], data: emb.dataSync() as Float32Array },
      history,
      trainSamples: train.length,
      trainCells: cellList.length,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    adam.dispose();
    emb.dispose();
  }
}

/** Prior scores `[N]` of cells for one source (normalised scale of the predictor). */
export function priorScores(model: PriorTrainable, prior: Pick<ArchitecturePrior, 'sources' | 'sourceEmbedding'>, source: PriorSource, archs: readonly string[]): Float32Array {
  const s = prior.sources.indexOf(source);
  if (s < 0) throw new MetaD2AException(validationError({ source: 'architecture prior', field: 'source', expected: prior.sources.join(', '), got: source }));
  const nz = prior.sourceEmbedding.shape[1]!;
  const e = tf.tensor2d(prior.sourceEmbedding.data.slice(s * nz, (s + 1) * nz), [1, nz]);
  try {
    return scoreCells(
      model,
      e,
      0,
      archs.map((a) => architectureGraph(priorSourceSpace(source), a)),
    );
  } finally {
    e.dispose();
  }
}

function scoreCells(model: PriorTrainable, emb: tf.Tensor2D, row: number, graphs: readonly ArchGraph[]): Float32Array {
  const out = new Float32Array(graphs.length);
  for (let i = 0; i < graphs.length; i += 2048) {
    const chunk = graphs.slice(i, i + 2048);
    const y = tf.tidy(() => {
      const g = model.encodeGraphs(chunk);
      return model.head(tf.tile(tf.slice(emb, [row, 0], [1, -1]), [chunk.length, 1]) as tf.Tensor2D, g);
    });
    out.set(y.dataSync() as Float32Array, i);
    y.dispose();
  }
  return out;
}

function priorSpearman(model: PriorTrainable, emb: tf.Tensor2D, sources: readonly PriorSource[], samples: readonly PriorSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  sources.forEach((s, row) => {
    const xs = samples.filter((x) => x.source === s);
    if (xs.length < 2) return;
    const y = scoreCells(
      model,
      emb,
      row,
      xs.map((x) => architectureGraph(priorSourceSpace(s), x.arch)),
    );
    out[s] = spearman(
      y,
      Float64Array.from(xs, (x) => x.accuracy),
    );
  });
  return out;
}

export const PRIOR_CHECKPOINT_KIND = 'metad2a-architecture-prior';

/** Write the prior (graph-side and head parameters, source embeddings, normalisations, history) atomically. */
export function saveArchitecturePrior(file: string, model: PriorTrainable, prior: ArchitecturePrior, meta: Record<string, unknown> = {}): void {
  const all = model.store.toNamedArrays();
  const tensors: Record<string, NamedArray> = { [EMBEDDING]: prior.sourceEmbedding };
  for (const n of model.graphSideParameterNames()) tensors[n] = all[n]!;
  saveCheckpointSync(file, {
    meta: {
      ...meta,
      kind: PRIOR_CHECKPOINT_KIND,
      space: priorSpace(prior.sources),
      nvt: model.graphConfig.nvt,
      maxN: model.graphConfig.maxN,
      hs: model.hs,
      nz: model.nz,
      sources: prior.sources,
      normalisations: prior.normalisations,
      history: prior.history,
      trainSamples: prior.trainSamples,
      trainCells: prior.trainCells,
      seconds: prior.seconds,
    },
    tensors,
  });
}

/**
 * Load a prior's graph side and head into a predictor (its set encoder keeps its own values).
 * The predictor must have the prior's graph config, `hs` and `nz`. Returns the prior (for scoring with {@link priorScores}).
 */
export function loadArchitecturePrior(model: PriorTrainable, file: string): ArchitecturePrior {
  const loaded = loadCheckpointSync(file);
  if (E.isLeft(loaded)) throw new MetaD2AException(loaded.left);
  const { meta, tensors } = loaded.right;
  if (meta.kind !== PRIOR_CHECKPOINT_KIND)
    throw new MetaD2AException(makeError('ValidationError', { source: file, field: 'meta.kind', expected: PRIOR_CHECKPOINT_KIND, got: String(meta.kind) }));
  const want = { nvt: model.graphConfig.nvt, maxN: model.graphConfig.maxN, hs: model.hs, nz: model.nz };
  for (const [k, v] of Object.entries(want)) {
    if (meta[k] !== v) throw new MetaD2AException(makeError('ValidationError', { source: file, field: `meta.${k}`, expected: `${v} (the predictor's)`, got: String(meta[k]) }));
  }
  const emb = tensors[EMBEDDING];
  if (!emb) throw new MetaD2AException(makeError('ValidationError', { source: file, field: EMBEDDING, expected: 'the source embeddings', got: 'nothing' }));
  // the set encoder's current values complete the state, so the store's all-or-nothing load checks every graph-side name and shape
  const current = model.store.toNamedArrays();
  const graphSide = new Set(model.graphSideParameterNames());
  const values: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(current)) if (!graphSide.has(k)) values[k] = v;
  for (const [k, v] of Object.entries(tensors)) if (k !== EMBEDDING) values[k] = v;
  model.loadParameters(values);
  return {
    sources: meta.sources as PriorSource[],
    normalisations: meta.normalisations as Record<string, AccuracyNormalisation>,
    sourceEmbedding: emb,
    history: (meta.history as PriorEpoch[]) ?? [],
    trainSamples: meta.trainSamples as number,
    trainCells: meta.trainCells as number,
    seconds: meta.seconds as number,
  };
}
