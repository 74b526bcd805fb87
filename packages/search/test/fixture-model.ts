import { Rng, type FeatureSet } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { buildSearchModel, manifestFromSpec, saveSearchModel, type ModelManifest, type SearchModel } from '../src';

/** A search model made of the official-code fixture weights: gen-nb201 (official size) and pred-nb201 (hs 64). */
export function fixtureNb201Model(): SearchModel {
  const manifest = manifestFromSpec('nb201-official', {
    predictorHs: 64,
    provenance: { source: 'golden fixtures gen-nb201 + pred-nb201 (official code, warmed-up/random weights)' },
  });
  return buildSearchModel(manifest, { generator: GoldenFixture.load('gen-nb201').params(), predictor: GoldenFixture.load('pred-nb201').params() });
}

/** C classes of `rows` standard-normal 512-d rows, each class shifted by its own offset. */
export function syntheticFeatures(classes: number, rows: number, seed: number, dim = 512): FeatureSet {
  const rng = new Rng(seed);
  return {
    name: `synthetic-${classes}x${rows}`,
    dim,
    classes: Array.from({ length: classes }, (_, c) => {
      const data = rng.normalArray(rows * dim);
      for (let i = 0; i < data.length; i++) data[i]! += 0.3 * Math.sin(c + (i % dim));
      return { label: `class${c}`, count: rows, data };
    }),
  };
}

/** Write `model` as a model directory (its own configs), with the optional fields given. */
export function saveModelDir(dir: string, model: SearchModel, extra: Pick<ModelManifest, 'extractor'> & { provenance?: Record<string, unknown> } = {}): ModelManifest {
  return saveSearchModel(dir, {
    space: model.manifest.space,
    generator: model.generator,
    generatorConfig: model.manifest.generator.config,
    predictor: model.predictor,
    predictorConfig: model.manifest.predictor.config,
    ...extra,
  });
}
