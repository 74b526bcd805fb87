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

/** Model settings by name (`nb201-official`, `mbv3-official`, `nb201-default`, ...); MetaD2A's are registered with core. */
export const modelSpecs = new Registry<ModelSpec>('model spec');

/** The official MetaD2A generator (spec §2.2–§2.4): hs = nz = 56 on 512-d ResNet-18 features, 4-head Set Transformer. */
const OFFICIAL_GENERATOR: GeneratorSpec = Object.freeze({ hs: 56, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' });
/** The official predictor (spec §2.5): hs 512, nz 56. */
const OFFICIAL_PREDICTOR: PredictorSpec = Object.freeze({ hs: 512, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' });

/**
 * MetaD2A's model settings: the only place their numbers are written. Model constructors default
 * to {@link OFFICIAL_MODEL_SPEC}'s sizes, and the CLI, benchmarks and tools read them by name.
 */
export const METAD2A_MODEL_SPECS: Readonly<Record<string, { readonly spec: ModelSpec; readonly description: string }>> = Object.freeze({
  'nb201-official': {
    spec: Object.freeze({ space: 'nb201', generator: OFFICIAL_GENERATOR, predictor: OFFICIAL_PREDICTOR, normalisation: Object.freeze({ mean: 71.5715, std: 6.6932 }) }),
    description: 'the official NB201 models; normalisation of the public NB201 predictor database’s training split (spec §3.5)',
  },
  'mbv3-official': {
    spec: Object.freeze({ space: 'mbv3', generator: OFFICIAL_GENERATOR, predictor: OFFICIAL_PREDICTOR }),
    description: 'the official MobileNetV3 (OFA) models; normalisation from their database',
  },
  'nb201-default': {
    spec: Object.freeze({ space: 'nb201', generator: OFFICIAL_GENERATOR, predictor: Object.freeze({ ...OFFICIAL_PREDICTOR, hs: 128 }) }),
    description: 'the embedded default model of @metad2a/default-model (official generator, predictor hs 128); normalisation from its database split',
  },
});

/** The setting whose sizes `GeneratorModel` and `PredictorModel` take where their options leave one out. */
export const OFFICIAL_MODEL_SPEC = 'nb201-official';

/** Register {@link METAD2A_MODEL_SPECS} (idempotent; a name a user already bound is left alone). */
export function registerModelSpecs(): void {
  for (const [name, { spec, description }] of Object.entries(METAD2A_MODEL_SPECS)) modelSpecs.registerDefault(name, spec, { description });
}

registerModelSpecs();
