/**
 * Meta-training end to end (the CLI's `meta-train`, the default model's build): a predictor and a
 * generator of a space's official setting, trained on a split, written as a model directory that
 * `metad2a search --model` loads — naming the extractor of the features it learnt from.
 */
import * as path from 'node:path';
import { MetaD2AException, Rng, modelSpecs, searchSpaces, validationError, type ModelSpec, type ScoreCalibration } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { saveSearchModel, type ModelManifest } from '@metad2a/search';
import '@metad2a/search-spaces';
import { splitAnchor, type AnchorKind } from '../data/anchor';
import { splitFeatureOrigin } from '../data/feature-origin';
import * as E from 'fp-ts/lib/Either.js';
import { splitNormalisation, splitPredictionTarget } from '../data/normalisation';
import type { MetaDatabase } from '../database/meta-database';
import { fitSplitCalibration } from './calibration';
import { metaTrainModels, type GeneratorTrainOptions, type MetaTrainModelsOptions, type PhaseResult, type PredictorTrainOptions } from './trainers';

export interface MetaTrainSearchModelOptions {
  /** Model directory to write; its `runs/` holds each phase's checkpoints and log. */
  readonly out: string;
  /** A search space with an official setting (`<space>-official` in core's `modelSpecs`). */
  readonly space: string;
  readonly split: string;
  readonly predictorEpochs: number;
  /** 0: the generator is not trained but keeps `generatorOptions.init` (e.g. a shipped model's generator). */
  readonly generatorEpochs: number;
  /** Predictor hidden size (default the official setting's). */
  readonly predictorHs?: number;
  readonly seed: number;
  /** Continue the runs in `<out>/runs` per phase (see `metaTrainModels`). */
  readonly resume?: boolean;
  /** Options of both phases but split and seed (batch size, generator pairs, prior, progress, signal, ...). */
  readonly options?: Omit<PredictorTrainOptions & GeneratorTrainOptions, 'epochs' | 'runDir' | 'resume' | 'split' | 'seed' | 'init'>;
  /** The generator phase's own learning rate and starting checkpoint (`metaTrainModels`' `generatorOptions`). */
  readonly generatorOptions?: MetaTrainModelsOptions['generatorOptions'];
  readonly onPhase?: MetaTrainModelsOptions['onPhase'];
  /**
   * Anchor the predictor on the space's prior score (`SearchSpace.prior`, e.g. NB201's table):
   * its weight is fitted to the split's training records ({@link splitAnchor}) and the network
   * learns the rest. `prior+choices`: also a learnt value of each of the space's choices
   * (`SearchSpace.choices`; see `fitChoiceAnchor`); `true` is `prior`. Absent: the network's score
   * alone (MetaD2A's).
   */
  readonly anchor?: boolean | AnchorKind;
  /** Extra provenance of model.json (merged over `metaTrained`). */
  readonly provenance?: Record<string, unknown>;
}

export interface MetaTrainedSearchModel {
  readonly manifest: ModelManifest;
  readonly predictor: PhaseResult;
  readonly generator: PhaseResult;
  /** The predictor's accuracy calibration on the split's validation records (in the manifest), or why there is none. */
  readonly calibration: E.Either<string, ScoreCalibration>;
  /** The `featuresFrom` of the training data sets, when they name one. */
  readonly featuresFrom?: string;
}

/**
 * Meta-train on `split` of `db` and write the model directory `out`. Its model.json records the
 * records' metric and recipe (`predictor.predicts`) and, where the training data sets' features
 * name their origin (`db features` writes it), the extractor (`extractor`: name, id, images per
 * class), so that a search extracts with the same one, and the predictor's accuracy calibration
 * on the split's validation records (`predictor.calibration`; see `fitSplitCalibration`).
 */
export async function metaTrainSearchModel(db: MetaDatabase, o: MetaTrainSearchModelOptions): Promise<MetaTrainedSearchModel> {
  const space = searchSpaces.get(o.space);
  // fails before any training on mixed origins
  const origin = splitFeatureOrigin(db, o.split);
  // the official sizes of the space's setting (the generator's and the predictor's but its hidden size)
  const spec: ModelSpec = modelSpecs.get(`${o.space}-official`);
  const predictorConfig = { ...spec.predictor, hs: o.predictorHs ?? spec.predictor.hs };
  if (o.anchor && !space.prior)
    throw new MetaD2AException(
      validationError({ source: 'meta-training', field: 'anchor', expected: 'a search space with a prior score (SearchSpace.prior)', got: `space ${o.space}, which has none` }),
    );
  if (o.anchor === 'prior+choices' && !space.choices)
    throw new MetaD2AException(
      validationError({
        source: 'meta-training',
        field: 'anchor',
        expected: 'a search space with choice indicators (SearchSpace.choices) for prior+choices',
        got: `space ${o.space}, which has none`,
      }),
    );
  const anchorKind: AnchorKind = o.anchor === 'prior+choices' ? 'prior+choices' : 'prior';
  const anchor = o.anchor && space.prior ? splitAnchor(db, o.split, space.prior.id, undefined, anchorKind) : undefined;
  const predictor = new PredictorModel({
    graphConfig: space.graphConfig,
    ...predictorConfig,
    rng: new Rng(o.seed),
    normalisation: splitNormalisation(db, o.split),
    ...(anchor ? { anchor } : {}),
  });
  const generator = new GeneratorModel({ graphConfig: space.graphConfig, ...spec.generator, seed: o.seed });
  try {
    const phases = await metaTrainModels(db, {
      predictor,
      generator,
      runsDir: path.join(o.out, 'runs'),
      predictorEpochs: o.predictorEpochs,
      generatorEpochs: o.generatorEpochs,
      resume: o.resume,
      options: { ...o.options, split: o.split, seed: o.seed },
      ...(o.generatorOptions ? { generatorOptions: o.generatorOptions } : {}),
      onPhase: o.onPhase,
    });
    // the predictor holds its selected weights (on the official scale, whatever its targetScale): fit its scores to the validation tasks' accuracies
    const targetScale = o.options?.targetScale ?? 1;
    const calibration = fitSplitCalibration(db, predictor, {
      split: o.split,
      seed: o.seed,
      ...(o.options?.perClass !== undefined ? { perClass: o.options.perClass } : {}),
      ...(o.options?.batchSize !== undefined ? { batchSize: o.options.batchSize } : {}),
      ...(o.options?.spaces !== undefined ? { spaces: o.options.spaces } : {}),
      ...(o.options?.replicates !== undefined ? { replicates: o.options.replicates } : {}),
    });
    if (E.isRight(calibration)) predictor.calibration = calibration.right;
    const manifest = saveSearchModel(o.out, {
      space: o.space,
      generator,
      generatorConfig: spec.generator,
      predictor,
      predictorConfig,
      predicts: splitPredictionTarget(db, o.split),
      ...(origin.extractor ? { extractor: origin.extractor } : {}),
      provenance: {
        metaTrained: {
          db: path.resolve(db.file),
          split: o.split,
          predictorEpochs: o.predictorEpochs,
          generatorEpochs: o.generatorEpochs,
          predictorHs: predictorConfig.hs,
          seed: o.seed,
          prior: o.options?.prior ?? null,
          generatorPairs: o.options?.pairs ?? null,
          ...(o.generatorOptions?.lr !== undefined ? { generatorLr: o.generatorOptions.lr } : {}),
          ...(o.generatorOptions?.init !== undefined ? { generatorInit: o.generatorOptions.init } : {}),
          selectBy: o.options?.selectBy ?? 'pearson',
          ...(targetScale !== 1 ? { targetScale } : {}),
          ...(o.options?.replicates === 'mean' ? { replicates: 'mean' } : {}),
          ...(o.options?.lr !== undefined ? { lr: o.options.lr } : {}),
          anchor: anchor ?? null,
          featuresFrom: origin.from ?? null,
          calibration: E.isRight(calibration) ? 'fitted on the validation split (predictor.calibration)' : `none: ${calibration.left}`,
        },
        at: new Date().toISOString(),
        ...o.provenance,
      },
    });
    return { manifest, ...phases, calibration, ...(origin.from !== undefined ? { featuresFrom: origin.from } : {}) };
  } finally {
    generator.dispose();
    predictor.dispose();
  }
}
