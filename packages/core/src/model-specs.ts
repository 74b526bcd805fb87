import type { AccuracyNormalisation } from './models';
import { Registry } from './registry';

/** Sizes of a MetaD2A generator (what rebuilds it before its weights load). */
export interface GeneratorSpec {
  /** GRU hidden size (must equal nz). */
  readonly hs: number;
  readonly nz: number;
  /** Width of the dataset's feature rows. */
  readonly inputDim: number;
  readonly heads: number;
  /** Set encoder by registry name. */
  readonly setEncoder: string;
}

/** Sizes of a MetaD2A predictor. */
export interface PredictorSpec {
  /** Graph-encoder hidden size and head width. */
  readonly hs: number;
  readonly nz: number;
  readonly inputDim: number;
  readonly heads: number;
  readonly setEncoder: string;
}

/**
 * A named model setting: the space, both models' sizes and, where it is fixed by the setting, the
 * predictor's accuracy normalisation. Every place that builds "the official model" or "the
 * default model" reads it from {@link modelSpecs} instead of repeating the numbers.
 */
export interface ModelSpec {
  /** Search space by registry name. */
  readonly space: string;
  readonly generator: GeneratorSpec;
  readonly predictor: PredictorSpec;
  /** The training split's normalisation the setting's predictor was trained with, where it is fixed. */
  readonly normalisation?: AccuracyNormalisation;
}

/** Model settings by name (`nb201-official`, `mbv3-official`, `nb201-default`, ...); `@metad2a/search` registers MetaD2A's on import. */
export const modelSpecs = new Registry<ModelSpec>('model spec');
