import { Rng, type FeatureSet } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { buildSearchModel, DEFAULT_GENERATOR_CONFIG, MODEL_FORMAT, type ModelManifest, type SearchModel } from '../src';

/** A search model made of the official-code fixture weights: gen-nb201 (official size) and pred-nb201 (hs 64). */
export function fixtureNb201Model(): SearchModel {
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    space: 'nb201',
    generator: { checkpoint: 'generator.ckpt', config: DEFAULT_GENERATOR_CONFIG },
    predictor: { checkpoint: 'predictor.ckpt', config: { hs: 64, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' }, normalisation: { mean: 71.5715, std: 6.6932 } },
    provenance: { source: 'golden fixtures gen-nb201 + pred-nb201 (official code, warmed-up/random weights)' },
  };
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
