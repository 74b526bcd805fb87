import type { Scalar, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import type { ArchGraph, GraphConfig } from './graph';
import type { SetLayout } from './features';
import { fail } from './errors';
import { Registry } from './registry';
import type { SearchSpace } from './search-space';
import type { Rng } from './rng';

/** Named float32 values with a shape, in PyTorch layout for official parameter names. */
export interface NamedArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
export type NamedArrays = Readonly<Record<string, NamedArray>>;

/** Anything with trainable parameters under stable (official state_dict) names. */
export interface HasParameters {
  /** Every parameter, keyed by its official name (e.g. `intra_setpool.enc.0.mab.fc_q.weight`). */
  parameters(): ReadonlyMap<string, Variable>;
  /** Copy values in by name; throws a CheckpointMismatch error that lists every missing, unexpected or mis-shaped name. */
  loadParameters(values: NamedArrays, opts?: { allowExtra?: boolean | readonly string[] }): void;
  /** Release every tensor the object owns. */
  dispose(): void;
}

/**
 * Dataset → vector. Input `[B, C*n, d]`, class-contiguous (rows n·c … n·c+n−1 are class c);
 * output `[B, outputDim]`, always with the batch axis (also for B = 1).
 */
export interface SetEncoder extends HasParameters {
  /** Registry name of the architecture (`set-transformer`, `deepsets`, `isab`, ...). */
  readonly kind: string;
  readonly inputDim: number;
  readonly outputDim: number;
  encode(x: Tensor3D, layout: SetLayout): Tensor2D;
}

/**
 * A cache of per-row projections of feature rows (a set encoder's first block), filled by
 * `append` and read by {@link RowProjectingSetEncoder.encodeProjected}.
 */
export interface RowProjectionCache {
  /** Rows cached so far (the next `append` fills slots rows … rows+count−1). */
  readonly rows: number;
  /** Project `count` rows of `data` (`[count, inputDim]`); returns the first new slot. */
  append(data: Float32Array, count: number): number;
}

/**
 * The optional fast path of a set encoder: resampled datasets drawn from one pool of feature rows
 * share most rows, so each distinct row is projected once and every resample is encoded from
 * cached slots (equal to `encode` up to float32 rounding; spec §7.2).
 */
export interface RowProjectingSetEncoder extends SetEncoder {
  /** A fresh cache for the current parameter values, or undefined where this configuration has none. */
  rowProjections(initialCapacity?: number): RowProjectionCache | undefined;
  /** `encode(x, layout)` where x's `[batch, C·n]` rows are the cached `slots` (length batch·C·n, in x's row order). */
  encodeProjected(cache: RowProjectionCache, slots: Int32Array, batch: number, layout: SetLayout): Tensor2D;
}

/** Whether a set encoder implements the row-projection capability. */
export function isRowProjecting(encoder: SetEncoder): encoder is RowProjectingSetEncoder {
  const e = encoder as Partial<RowProjectingSetEncoder>;
  return typeof e.rowProjections === 'function' && typeof e.encodeProjected === 'function';
}

/** A row-projection cache of `encoder` with the encoder that reads it, or the reason it has none (for reports). */
export function rowProjectionsOf(
  encoder: SetEncoder,
  initialCapacity?: number,
): { readonly ok: true; readonly encoder: RowProjectingSetEncoder; readonly cache: RowProjectionCache } | { readonly ok: false; readonly reason: string } {
  if (!isRowProjecting(encoder)) return { ok: false, reason: `set encoder '${encoder.kind}' does not implement the row-projection capability (rowProjections, encodeProjected)` };
  const cache = encoder.rowProjections(initialCapacity);
  if (!cache) return { ok: false, reason: `set encoder '${encoder.kind}' has no row projections in this configuration (its first block does not project rows independently)` };
  return { ok: true, encoder, cache };
}

/** A copy of every parameter's values, by name (for checkpoints). */
export function namedArraysOf(model: HasParameters): NamedArrays {
  const out: Record<string, NamedArray> = {};
  for (const [name, v] of model.parameters()) out[name] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
  return out;
}

/**
 * Where a component registers its parameters. `ParameterStore` of `@metad2a/layers` implements
 * it; a model that contains an encoder passes its own store so that one store (one optimizer,
 * one checkpoint) holds every parameter under its official name.
 */
export interface ParameterSink {
  add(name: string, shape: readonly number[], init: Float32Array): Variable;
}

export interface SetEncoderOptions {
  /** Feature width d of the input rows (512 for ResNet-18 features). */
  readonly inputDim: number;
  /** Width of the hidden set representations. */
  readonly hiddenDim: number;
  readonly outputDim: number;
  /** Attention heads, where the encoder has attention (MetaD2A: 4). */
  readonly heads?: number;
  /** Initialisation randomness (PyTorch-default init drawn from it). */
  readonly rng: Rng;
  /** Prefix of parameter names (MetaD2A: none, names start with `intra_setpool.`). */
  readonly prefix?: string;
  /** Register parameters in this store (the containing model's) instead of a private one. */
  readonly store?: ParameterSink;
}

export type SetEncoderFactory = (opts: SetEncoderOptions) => SetEncoder;

/** Set encoders by name. `@metad2a/set-encoder` registers its encoders on import. */
export const setEncoders = new Registry<SetEncoderFactory>('set encoder');

/** Output of a generator's dataset encoding (the VAE posterior over z). */
export interface LatentPosterior {
  readonly mu: Tensor2D;
  readonly logvar: Tensor2D;
}

export interface GeneratorLoss {
  /** recon + β·kld, summed over the batch. */
  readonly loss: Scalar;
  readonly recon: Scalar;
  readonly kld: Scalar;
}

export interface DecodeOptions {
  /** Sample types and edges (meta-test) or take argmax / p > 0.5. */
  readonly stochastic: boolean;
  /** Required when stochastic. */
  readonly rng?: Rng;
}

/** Decodes z given as values `[batch·nz]` into `batch` graphs, with weights prepared once. */
export type PreparedGraphDecoder = (z: Float32Array, batch: number, opts: DecodeOptions) => ArchGraph[];

/**
 * A model whose dataset encoding is `fromSetEncoding(setEncoder.encode(x))`: the search feeds its
 * set encoder cached row projections (see {@link rowProjectionsOf}) and finishes with this map.
 */
export interface EncodesDatasets {
  /** Width of the dataset's feature rows. */
  readonly inputDim: number;
  readonly setEncoder: SetEncoder;
  /** The set encoder's output `[B, e]` → the model's dataset encoding `[B, nz]` (generator: mu). */
  fromSetEncoding(setEncoding: Tensor2D): Tensor2D;
}

/** Dataset-conditioned graph generator (spec §2.4). Graphs it decodes may be invalid for a space. */
export interface GraphGenerator extends HasParameters, EncodesDatasets {
  readonly graphConfig: GraphConfig;
  readonly latentDim: number;
  encodeDataset(x: Tensor3D, layout: SetLayout): LatentPosterior;
  /** Decode one graph per row of z `[B, nz]`. */
  decode(z: Tensor2D, opts: DecodeOptions): ArchGraph[];
  /** A decoder with the current weights prepared once (valid until the parameters change). */
  preparedDecoder(): PreparedGraphDecoder;
  /** Teacher-forced loss of true graphs given their datasets (one graph per batch row). */
  loss(x: Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[], opts?: { training?: boolean; rng?: Rng }): GeneratorLoss;
}

/** Accuracy normalisation of the predictor's targets: ((acc − mean)/std)/100 (spec §8 item 18). */
export interface AccuracyNormalisation {
  readonly mean: number;
  readonly std: number;
}

/** Meta-performance predictor (spec §2.5): dataset embedding + graph embedding → normalised accuracy. */
export interface PerfPredictor extends HasParameters, EncodesDatasets {
  readonly graphConfig: GraphConfig;
  readonly normalisation: AccuracyNormalisation;
  /** Width of the dataset and graph embeddings. */
  readonly nz: number;
  /** `[B, C*n, d]` → `[B, nz]`. */
  encodeDataset(x: Tensor3D, layout: SetLayout): Tensor2D;
  /** Graphs → `[N, nz]` (independent of the dataset: compute once per candidate). */
  encodeGraphs(graphs: readonly ArchGraph[]): Tensor2D;
  /** Dataset embeddings `[B, nz]` and graph embeddings `[B, nz]` → `[B, 1]` normalised scores. */
  head(datasetEmbedding: Tensor2D, graphEmbedding: Tensor2D): Tensor2D;
  /** Scores of every (dataset, graph) pair: D `[K, nz]`, G `[N, nz]` → `[K, N]` (equal to `head` on each pair). */
  scorePairs(datasetEmbeddings: Tensor2D, graphEmbeddings: Tensor2D): Tensor2D;
  /** `encodeDataset` + `encodeGraphs` + `head`, one graph per dataset row. */
  predict(x: Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[]): Tensor2D;
  /** The training loss against normalised targets `[B, 1]` (MetaD2A: summed squared error). */
  loss(x: Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[], targets: Tensor2D): Scalar;
  /** Accuracy (%) → normalised target. */
  normalise(accuracy: number): number;
  /** Normalised score → accuracy (%). */
  denormalise(score: number): number;
  /** Present when the network predicts only what a data set adds to the space's prior score: see {@link PriorAnchor}. */
  readonly anchor?: PriorAnchor;
  /** Present when meta-training fitted its scores to accuracies on held-back tasks: see {@link ScoreCalibration}. */
  readonly calibration?: ScoreCalibration;
}

/**
 * A monotone map from a predictor's normalised score to a calibrated accuracy (%):
 * `100 · σ(intercept + slope · 100 · score)` (`100 · score` is the score in standard deviations
 * of the training accuracies, spec §8 item 18), fitted by least squares to the accuracies of
 * records of tasks the predictor never trained on (meta-training's validation split). With
 * `slope > 0` it keeps the ranking, and every value lies in (0, 100) — unlike the linear
 * denormalisation, which extrapolates past 100 % on data sets easier than the training tasks.
 */
export interface ScoreCalibration {
  readonly kind: 'logistic';
  readonly intercept: number;
  readonly slope: number;
  /** What it was fitted on, e.g. `412 validation records (41 tasks) of split default-model`. */
  readonly fittedOn: string;
  /** Mean absolute error (accuracy points) on those records: calibrated, and the linear denormalisation's. */
  readonly mae: { readonly calibrated: number; readonly linear: number };
}

/** {@link ScoreCalibration}'s accuracy (%) of a normalised score. */
export function calibratedAccuracy(c: ScoreCalibration, score: number): number {
  return 100 / (1 + Math.exp(-(c.intercept + c.slope * 100 * score)));
}

/** The accuracy (%) a search prints for a predictor's normalised score: calibrated where the predictor has a calibration, else the linear denormalisation. */
export function predictedAccuracy(predictor: Pick<PerfPredictor, 'calibration' | 'denormalise'>, score: number): number {
  return predictor.calibration ? calibratedAccuracy(predictor.calibration, score) : predictor.denormalise(score);
}

/**
 * A predictor anchored on its space's {@link ArchitecturePriorScore}: an architecture's normalised
 * score is the network's output plus `weight · prior(arch) / 100` (the network was trained on the
 * targets minus that term). `weight` is in standard deviations of accuracy per standard deviation
 * of the prior, e.g. the within-task least-squares slope of the training records.
 */
export interface PriorAnchor {
  /** The {@link ArchitecturePriorScore.id} it was trained with. */
  readonly prior: string;
  readonly weight: number;
  /**
   * A learnt value of each of the space's choices (its {@link ArchitectureChoices}, same id), in
   * the units of `weight` per indicator: what the records' training recipe makes of each choice
   * beyond the prior score (e.g. an average pool on NB201's first edge loses more at 16 pixels
   * than the 200-epoch table says). Absent: the prior score alone.
   */
  readonly choices?: { readonly id: string; readonly weights: readonly number[] };
}

/**
 * The anchor's term of each architecture's normalised score (`(weight · prior(arch) + Σ choice
 * weights · indicators(arch)) / 100`), or undefined without an anchor. Fails when the space has no
 * prior score (or choices) of the anchor's id (a model trained on another space's or another
 * version's encoding).
 */
export function anchorOffsets<A>(anchor: PriorAnchor | undefined, space: SearchSpace<A>, architectures: readonly A[]): Float64Array | undefined {
  if (!anchor) return undefined;
  if (space.prior?.id !== anchor.prior)
    fail('ValidationError', {
      source: `search space ${space.name}`,
      field: 'prior',
      expected: `the prior score '${anchor.prior}' the predictor is anchored on`,
      got: space.prior ? `'${space.prior.id}'` : 'none',
    });
  const prior = space.prior;
  const choices = anchor.choices;
  if (choices === undefined) return Float64Array.from(architectures, (a) => (anchor.weight * prior.score(a)) / 100);
  const encoding = space.choices;
  if (encoding?.id !== choices.id || encoding.names.length !== choices.weights.length)
    fail('ValidationError', {
      source: `search space ${space.name}`,
      field: 'choices',
      expected: `the choice encoding '${choices.id}' of ${choices.weights.length} indicators the predictor is anchored on`,
      got: encoding ? `'${encoding.id}' of ${encoding.names.length}` : 'none',
    });
  return Float64Array.from(architectures, (a) => {
    const x = encoding.indicators(a);
    let t = anchor.weight * prior.score(a);
    for (let j = 0; j < x.length; j++) t += choices.weights[j]! * x[j]!;
    return t / 100;
  });
}
