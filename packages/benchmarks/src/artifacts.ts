/**
 * Official MetaD2A artifacts for the benchmarks: the NB201 generator (`ckpt_400.pt`), the
 * predictor (`ckpt_max_corr.pt`, hs 512) and `*bylabel.pt` target features, read with
 * `@metad2a/torch-io` into our models (official state_dict names).
 */
import { MetaD2AException, type AccuracyNormalisation, type FeatureSet, type GraphGenerator, type PerfPredictor } from '@metad2a/core';
import { buildSearchModel, manifestFromSpec } from '@metad2a/search';
import { readFeatureSet, readStateDictSync } from '@metad2a/torch-io';
import * as E from 'fp-ts/lib/Either.js';

export interface OfficialModelFiles {
  /** Generator state dict, e.g. `results/generator/model/ckpt_400.pt`. */
  readonly generator: string;
  /** Predictor state dict, e.g. `results/predictor/model/ckpt_max_corr.pt`. */
  readonly predictor: string;
  /** Predictor hidden size (default: the setting's). */
  readonly predictorHs?: number;
  /** Search space of the official setting `<space>-official` (default `nb201`). */
  readonly space?: string;
  /** The predictor's accuracy normalisation (default: the setting's, where it fixes one). */
  readonly normalisation?: AccuracyNormalisation;
}

/** Build the two models of the official setting and load the official weights (full mismatch report on a wrong file). */
export function loadOfficialModels(files: OfficialModelFiles): { generator: GraphGenerator; predictor: PerfPredictor } {
  const manifest = manifestFromSpec(`${files.space ?? 'nb201'}-official`, { predictorHs: files.predictorHs, normalisation: files.normalisation });
  const model = buildSearchModel(manifest, { generator: readStateDictSync(files.generator), predictor: readStateDictSync(files.predictor) });
  return { generator: model.generator, predictor: model.predictor };
}

/** A `*bylabel.pt` feature file as a FeatureSet (throws a MetaD2AException naming the file). */
export function loadByLabelFeatures(file: string, name?: string): FeatureSet {
  const r = readFeatureSet(file, { name });
  if (E.isLeft(r)) throw new MetaD2AException(r.left);
  return r.right;
}
