/**
 * Official MetaD2A artifacts for the benchmarks: the NB201 generator (`ckpt_400.pt`), the
 * predictor (`ckpt_max_corr.pt`, hs 512) and `*bylabel.pt` target features, read with
 * `@metad2a/torch-io` into our models (official state_dict names).
 */
import { Rng, type FeatureSet, type GraphConfig } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { nb201 } from '@metad2a/search-spaces';
import { readFeatureSet, readStateDictSync } from '@metad2a/torch-io';
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException } from '@metad2a/core';

export interface OfficialModelFiles {
  /** Generator state dict, e.g. `results/generator/model/ckpt_400.pt`. */
  readonly generator: string;
  /** Predictor state dict, e.g. `results/predictor/model/ckpt_max_corr.pt`. */
  readonly predictor: string;
  /** Predictor hidden size (official: 512). */
  readonly predictorHs?: number;
  /** The space's graph config (default NB201's). */
  readonly graphConfig?: GraphConfig;
}

/** Build the two models and load the official weights (full mismatch report on a wrong file). */
export function loadOfficialModels(files: OfficialModelFiles): { generator: GeneratorModel; predictor: PredictorModel } {
  const graphConfig = files.graphConfig ?? nb201.graphConfig;
  const generator = new GeneratorModel({ graphConfig, seed: 0 });
  generator.loadParameters(readStateDictSync(files.generator), { source: files.generator });
  const predictor = new PredictorModel({ graphConfig, hs: files.predictorHs ?? 512, rng: new Rng(0) });
  predictor.loadParameters(readStateDictSync(files.predictor));
  return { generator, predictor };
}

/** A `*bylabel.pt` feature file as a FeatureSet (throws a MetaD2AException naming the file). */
export function loadByLabelFeatures(file: string, name?: string): FeatureSet {
  const r = readFeatureSet(file, { name });
  if (E.isLeft(r)) throw new MetaD2AException(r.left);
  return r.right;
}
