/** Test support: the fixture weights (untrained, official sizes; predictor hs 64) and small synthetic features. */
import { Rng, modelSpecs, type FeatureSet } from '@metad2a/core';
import '@metad2a/search'; // registers the official model settings
import { GoldenFixture } from '@metad2a/fixtures';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { MBV3_GRAPH_CONFIG, NB201_GRAPH_CONFIG } from '@metad2a/search-spaces';
import { getMbv3Recipe } from '@metad2a/arch-trainer';
import type { TransferPlanOptions } from '../src';

/** A held-out MBv3 plan that trains in seconds: one digits task of 3 classes, 3 random subnets, a one-epoch reduced recipe. */
export function tinyMbv3Plan(): TransferPlanOptions {
  return {
    space: 'mbv3',
    datasets: ['builtin:digits'],
    numTasks: 1,
    classesPerTask: 3,
    cellsPerTask: 3,
    goodCellShare: 0,
    recipe: getMbv3Recipe('mbv3-reduced', { epochs: 1, batchSize: 12 }),
    trainPerClass: 8,
    testPerClass: 4,
    seed: 3,
  };
}

export function syntheticFeatures(classes: number, rows = 25, seed = 1): FeatureSet {
  const rng = new Rng(seed);
  return {
    name: `synthetic-${classes}`,
    dim: 512,
    classes: Array.from({ length: classes }, (_, c) => ({ label: `c${c}`, count: rows, data: rng.uniformArray(rows * 512, -1 + 0.1 * c, 1) })),
  };
}

export function fixtureNb201Models(): { generator: GeneratorModel; predictor: PredictorModel } {
  const generator = new GeneratorModel({ graphConfig: NB201_GRAPH_CONFIG, seed: 0 });
  generator.loadParameters(GoldenFixture.load('gen-nb201').params());
  const predictor = new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 64, rng: new Rng(0), normalisation: modelSpecs.get('nb201-official').normalisation! });
  predictor.loadParameters(GoldenFixture.load('pred-nb201').params());
  return { generator, predictor };
}

export function fixtureMbv3Models(): { generator: GeneratorModel; predictor: PredictorModel } {
  const generator = new GeneratorModel({ graphConfig: MBV3_GRAPH_CONFIG, seed: 0 });
  generator.loadParameters(GoldenFixture.load('gen-mbv3').params());
  const predictor = new PredictorModel({ graphConfig: MBV3_GRAPH_CONFIG, hs: 64, rng: new Rng(0), normalisation: modelSpecs.get('nb201-official').normalisation! });
  predictor.loadParameters(GoldenFixture.load('pred-mbv3').params());
  return { generator, predictor };
}
