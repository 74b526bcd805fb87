import type { Scalar, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import type { ArchGraph, GraphConfig } from './graph';
import type { SetLayout } from './features';
import { Registry } from './registry';
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

/** Dataset-conditioned graph generator (spec §2.4). Graphs it decodes may be invalid for a space. */
export interface GraphGenerator extends HasParameters {
  readonly graphConfig: GraphConfig;
  readonly latentDim: number;
  encodeDataset(x: Tensor3D, layout: SetLayout): LatentPosterior;
  /** Decode one graph per row of z `[B, nz]`. */
  decode(z: Tensor2D, opts: DecodeOptions): ArchGraph[];
  /** Teacher-forced loss of true graphs given their datasets (one graph per batch row). */
  loss(x: Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[], opts?: { training?: boolean; rng?: Rng }): GeneratorLoss;
}

/** Accuracy normalisation of the predictor's targets: ((acc − mean)/std)/100 (spec §8 item 18). */
export interface AccuracyNormalisation {
  readonly mean: number;
  readonly std: number;
}

/** Meta-performance predictor (spec §2.5): dataset embedding + graph embedding → normalised accuracy. */
export interface PerfPredictor extends HasParameters {
  readonly graphConfig: GraphConfig;
  readonly normalisation: AccuracyNormalisation;
  /** `[B, C*n, d]` → `[B, nz]`. */
  encodeDataset(x: Tensor3D, layout: SetLayout): Tensor2D;
  /** Graphs → `[N, nz]` (independent of the dataset: compute once per candidate). */
  encodeGraphs(graphs: readonly ArchGraph[]): Tensor2D;
  /** Dataset embeddings `[B, nz]` and graph embeddings `[B, nz]` → `[B, 1]` normalised scores. */
  head(datasetEmbedding: Tensor2D, graphEmbedding: Tensor2D): Tensor2D;
  /** `encodeDataset` + `encodeGraphs` + `head`, one graph per dataset row. */
  predict(x: Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[]): Tensor2D;
}
