import { modelSpecs, type GeneratorSpec, type ModelSpec, type PredictorSpec } from '@metad2a/core';

/** The official MetaD2A generator (spec §2.2–§2.4): hs = nz = 56 on 512-d ResNet-18 features, 4-head Set Transformer. */
const OFFICIAL_GENERATOR: GeneratorSpec = Object.freeze({ hs: 56, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' });
/** The official predictor (spec §2.5): hs 512, nz 56. */
const OFFICIAL_PREDICTOR: PredictorSpec = Object.freeze({ hs: 512, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' });

/** MetaD2A's model settings, registered in core's `modelSpecs` when `@metad2a/search` is imported. */
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

/** Register {@link METAD2A_MODEL_SPECS} (idempotent; a name a user already bound is left alone). */
export function registerModelSpecs(): void {
  for (const [name, { spec, description }] of Object.entries(METAD2A_MODEL_SPECS)) modelSpecs.registerDefault(name, spec, { description });
}

registerModelSpecs();
