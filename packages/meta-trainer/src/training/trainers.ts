import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  MetaD2AException,
  loadCheckpointSync,
  pearson,
  spearman,
  unwrap,
  validationError,
  type AccuracyNormalisation,
  type ArchGraph,
  type GraphGenerator,
  type PerfPredictor,
  type Rng,
  type SetLayout,
} from '@metad2a/core';
import type { ParameterStore } from '@metad2a/layers';
import { match } from 'ts-pattern';
import type { MetaDatabase, MetaRecord } from '../database/meta-database';
import { splitNormalisation } from '../data/normalisation';
import {
  DEFAULT_GENERATOR_PAIRS,
  GraphResolver,
  batchesOf,
  drawBatch,
  selectGeneratorPairs,
  meanOfReplicates,
  trainingItems,
  type BatchGroup,
  type ReplicateUse,
  type GeneratorPairs,
  type TrainingItem,
} from '../data/pipeline';
import { loadArchitecturePrior, type PriorTrainable } from '../prior/architecture-prior';
import { META_TRAIN_DEFAULTS, RUN_FILES, runMetaTraining, type LoopSpec, type MetaTrainOptions, type MetaTrainResult } from './loop';

/** A model the loop can train: its parameters live in one `ParameterStore`. */
export interface TrainableModel {
  readonly store: ParameterStore;
  /** Parameters that receive gradients (default: all), e.g. without the official dead parameters. */
  usedParameterNames?(): string[];
}

export type TrainableGenerator = GraphGenerator & TrainableModel;
export type TrainablePredictor = PerfPredictor &
  TrainableModel & {
    /** Multiply every score of the network by `factor` (`PredictorModel.scaleScores`): needed to train on `targetScale` ≠ 1 with {@link metaTrainModels}. */
    scaleScores?(factor: number): void;
    /**
     * The summed loss and the gradients of `names` for a batch whose datasets differ in class
     * count (one `{x, layout}` per group, graphs and targets `[N, 1]` in group order), computed
     * group by group rather than in one tape over the batch (`PredictorModel.valueAndGradsOfGroups`).
     * Without it, `loss` runs once per group inside one tape.
     */
    valueAndGradsOfGroups?(
      groups: readonly { readonly x: tf.Tensor3D; readonly layout: SetLayout }[],
      graphs: readonly ArchGraph[],
      targets: tf.Tensor2D,
      names: readonly string[],
    ): { value: tf.Scalar; grads: Map<string, tf.Tensor> };
  };

export interface GeneratorTrainOptions extends MetaTrainOptions {
  /** Which (task, architecture) pairs the generator learns from (default: the best record of each task). */
  readonly pairs?: GeneratorPairs;
  /**
   * A generator checkpoint (e.g. another run's `last.ckpt`) whose parameters start the run, e.g. a
   * generator that learnt the space's grammar from many subnets; ignored when resuming (the run's
   * own checkpoint holds everything).
   */
  readonly init?: string;
}

export interface PredictorTrainOptions extends MetaTrainOptions {
  /**
   * An architecture prior (`saveArchitecturePrior`'s file) whose graph side and head start the
   * run (the set encoder keeps its initial values); ignored when resuming (the run's own
   * checkpoint holds everything).
   */
  readonly prior?: string;
  /**
   * Which validation score picks `ckpt_max_corr.ckpt`: `pearson` (official: pooled over all
   * validation records, so it also rewards telling easy tasks from hard ones) or `task-spearman`
   * (the mean Spearman within each validation task of ≥ 3 records: what ranking a new data set's
   * candidates needs). Default `pearson`.
   */
  readonly selectBy?: 'pearson' | 'task-spearman';
  /**
   * Train on targets multiplied by this factor (default 1: the official ((acc − μ)/σ)/100, spec
   * §3.5). The official targets are ~0.01 in size, which keeps the head where its tanh is linear, so
   * its score is a data-set term plus a cell term: one ranking for every data set (measured on the
   * NB201 default model, `@metad2a/default-model`'s README). 100 trains on the z scale. The run's
   * checkpoints hold the scaled network; {@link metaTrainModels} (and so `metaTrainSearchModel`, the
   * CLI's `meta-train`) divides the kept weights' scores by the factor, so the predictor it hands
   * back, its calibration and a model directory are on the official scale.
   */
  readonly targetScale?: number;
}

/** Mean Spearman correlation within each group of ≥ 3 items (NaN when there is no such group). */
export function meanGroupSpearman(pred: ArrayLike<number>, target: ArrayLike<number>, group: readonly (string | number)[]): number {
  const byGroup = new Map<string | number, number[]>();
  group.forEach((g, i) => {
    const idx = byGroup.get(g);
    if (idx) idx.push(i);
    else byGroup.set(g, [i]);
  });
  let sum = 0;
  let n = 0;
  for (const idx of byGroup.values()) {
    if (idx.length < 3) continue;
    const rho = spearman(
      idx.map((i) => pred[i]!),
      idx.map((i) => target[i]!),
    );
    if (Number.isFinite(rho)) {
      sum += rho;
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

function tensorOf(g: BatchGroup): tf.Tensor3D {
  return tf.tensor3d(g.x, [...g.shape]);
}

/**
 * A predictor's normalised scores of `items` as a search sees them (the network's output plus the
 * anchor's term), each task's images drawn from `rng` batch by batch (validation's draw).
 */
export function predictItems(model: PerfPredictor, items: readonly TrainingItem[], o: { perClass: number; batchSize: number; rng: Rng }): Float64Array {
  const pred = new Float64Array(items.length);
  let pos = 0;
  for (const batch of batchesOf(items, o.batchSize)) {
    for (const g of drawBatch(batch, o.perClass, o.rng)) {
      const y = tf.tidy(() => model.predict(tensorOf(g), g.layout, g.graphs));
      const v = y.dataSync();
      y.dispose();
      g.positions.forEach((p, j) => (pred[pos + p] = v[j]!));
    }
    pos += batch.length;
  }
  for (let i = 0; i < items.length; i++) pred[i] += items[i]!.offset;
  return pred;
}

function trainableNames(m: TrainableModel): string[] {
  return m.usedParameterNames ? m.usedParameterNames() : m.store.names();
}

/** The training and validation records of a split; with `replicates: 'mean'` one per (task, architecture, metric), its trainings' mean. */
export function splitParts(db: MetaDatabase, split: string, replicates: ReplicateUse = 'each'): { train: MetaRecord[]; valid: MetaRecord[] } {
  const s = db.split(split);
  const use = (records: MetaRecord[]): MetaRecord[] => (replicates === 'mean' ? meanOfReplicates(records) : records);
  return { train: use(db.recordsById(s.train)), valid: use(db.recordsById(s.valid)) };
}

/** Check a predictor's normalisation against the split's (they must agree, or targets and scores disagree). */
function checkNormalisation(model: PerfPredictor, n: AccuracyNormalisation, split: string): void {
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  if (!close(model.normalisation.mean, n.mean) || !close(model.normalisation.std, n.std)) {
    throw new MetaD2AException(
      validationError({
        source: 'metaTrainPredictor',
        field: 'model.normalisation',
        expected: `the normalisation of split ${split}'s training records (mean ${n.mean}, std ${n.std}); build the model with { normalisation: splitNormalisation(db, '${split}') }`,
        got: `mean ${model.normalisation.mean}, std ${model.normalisation.std}`,
      }),
    );
  }
}

/** Whether a run continues from its own `last.ckpt` (then a prior or an initial checkpoint is not loaded). */
function isResuming(opts: MetaTrainOptions): boolean {
  return opts.resume === true || (opts.resume === 'if-present' && opts.runDir !== undefined && fs.existsSync(path.join(opts.runDir, RUN_FILES.last)));
}

/**
 * Meta-train a generator (spec §3.4): teacher-forced loss (recon + 0.005·KL, summed over the
 * batch) of the chosen (task, architecture) pairs, Adam, ReduceLROnPlateau on the training
 * loss; validation (z = mu) reports the mean loss per item each epoch. Checkpoints every
 * `checkpointEvery` epochs (`ckpt_<epoch>.ckpt`; official meta-test: epoch 400 for NB201, 120 for MBv3).
 * Async like {@link runMetaTraining}: progress after every step and epoch, abortable between steps.
 */
export async function metaTrainGenerator(db: MetaDatabase, model: TrainableGenerator, opts: GeneratorTrainOptions): Promise<MetaTrainResult> {
  const resolver = new GraphResolver(opts.spaces);
  const rule = opts.pairs ?? DEFAULT_GENERATOR_PAIRS;
  const parts = splitParts(db, opts.split, opts.replicates);
  const perClass = opts.perClass ?? META_TRAIN_DEFAULTS.perClass;
  const train = trainingItems(db, selectGeneratorPairs(parts.train, rule), { resolver, perClass });
  const valid = trainingItems(db, selectGeneratorPairs(parts.valid, rule), { resolver, perClass });
  checkGraphConfig(model.graphConfig, train, resolver);
  if (opts.init !== undefined && !isResuming(opts)) loadTrainedParameters(model, opts.init);
  const generatorLoss = (g: BatchGroup, rng: Rng): tf.Scalar => model.loss(tensorOf(g), g.layout, g.graphs, { training: true, rng }).loss;
  const spec: LoopSpec = {
    kind: 'generator',
    store: model.store,
    trainable: trainableNames(model),
    train,
    valid,
    batchLoss: (groups, rng) => {
      let total: tf.Scalar | undefined;
      for (const g of groups) {
        const l = generatorLoss(g, rng);
        total = total ? (tf.add(total, l) as tf.Scalar) : l;
      }
      return total!;
    },
    // several class counts (MBv3 batches of more than one episode): one tape per group
    batchValueAndGrads: (groups, trainable, rng) =>
      groups.length < 2
        ? undefined
        : model.store.valueAndGradsOfSum(
            groups.map((g) => () => generatorLoss(g, rng)),
            trainable,
          ),
    validate: (items, rng) => {
      let loss = 0;
      let recon = 0;
      let kld = 0;
      for (const batch of batchesOf(items, opts.batchSize ?? META_TRAIN_DEFAULTS.batchSize)) {
        for (const g of drawBatch(batch, perClass, rng)) {
          const v = tf.tidy(() => {
            const r = model.loss(tensorOf(g), g.layout, g.graphs, { training: false });
            return tf.stack([r.loss, r.recon, r.kld]);
          });
          const [a, b, c] = v.dataSync();
          v.dispose();
          loss += a!;
          recon += b!;
          kld += c!;
        }
      }
      const n = items.length;
      return { metrics: { loss: loss / n, recon: recon / n, kld: kld / n } };
    },
    meta: { pairs: rule, split: opts.split, graphConfig: model.graphConfig, latentDim: model.latentDim, ...(opts.replicates === 'mean' ? { replicates: 'mean' } : {}) },
  };
  return await runMetaTraining(spec, opts);
}

/**
 * Meta-train a predictor (spec §3.5): summed squared error between `predict` and the normalised
 * accuracy ((acc − μ)/σ)/100 (μ, σ of the split's training records; the model must have been
 * built with that normalisation), Adam, ReduceLROnPlateau on the training loss. After every
 * epoch the validation Pearson correlation is computed and `ckpt_max_corr.ckpt` is saved
 * whenever it improves (meta-test loads that one). A predictor with an `anchor` (core
 * `PriorAnchor`, e.g. from {@link splitAnchor}) learns the targets minus the anchor's term, and is
 * validated on its output plus that term. Async like {@link runMetaTraining}.
 */
export async function metaTrainPredictor(db: MetaDatabase, model: TrainablePredictor, opts: PredictorTrainOptions): Promise<MetaTrainResult> {
  const resolver = new GraphResolver(opts.spaces);
  const normalisation = splitNormalisation(db, opts.split);
  checkNormalisation(model, normalisation, opts.split);
  const parts = splitParts(db, opts.split, opts.replicates);
  const perClass = opts.perClass ?? META_TRAIN_DEFAULTS.perClass;
  // an anchored predictor learns the targets minus its anchor's term (its validation adds the term back)
  const anchor = model.anchor;
  const targetScale = opts.targetScale ?? 1;
  if (!(Number.isFinite(targetScale) && targetScale > 0))
    throw new MetaD2AException(validationError({ source: 'metaTrainPredictor', field: 'targetScale', expected: 'a finite number > 0', got: String(opts.targetScale) }));
  const train = trainingItems(db, parts.train, { normalisation, resolver, perClass, anchor, targetScale });
  const valid = trainingItems(db, parts.valid, { normalisation, resolver, perClass, anchor, targetScale });
  checkGraphConfig(model.graphConfig, train, resolver);
  if (opts.prior !== undefined && !isResuming(opts)) {
    const m = model as Partial<PriorTrainable>;
    if (typeof m.graphSideParameterNames !== 'function' || typeof m.loadParameters !== 'function') {
      throw new MetaD2AException(
        validationError({
          source: 'metaTrainPredictor',
          field: 'prior',
          expected: 'a predictor that names its graph-side parameters (PredictorModel)',
          got: 'a model without graphSideParameterNames()',
        }),
      );
    }
    loadArchitecturePrior(model as PriorTrainable, opts.prior);
  }
  const spec: LoopSpec = {
    kind: 'predictor',
    store: model.store,
    trainable: trainableNames(model),
    train,
    valid,
    batchLoss: (groups) => {
      let total: tf.Scalar | undefined;
      for (const g of groups) {
        const l = model.loss(tensorOf(g), g.layout, g.graphs, tf.tensor2d(g.targets, [g.targets.length, 1]));
        total = total ? (tf.add(total, l) as tf.Scalar) : l;
      }
      return total!;
    },
    batchValueAndGrads: (groups, trainable) => {
      if (groups.length < 2 || !model.valueAndGradsOfGroups) return undefined;
      // MBv3: one group per class count; one tape per group, the graphs encoded once for the batch
      const xs = groups.map((g) => tensorOf(g));
      const targets = Float32Array.from(groups.flatMap((g) => [...g.targets]));
      const y = tf.tensor2d(targets, [targets.length, 1]);
      try {
        return model.valueAndGradsOfGroups(
          groups.map((g, i) => ({ x: xs[i]!, layout: g.layout })),
          groups.flatMap((g) => g.graphs),
          y,
          trainable,
        );
      } finally {
        tf.dispose([...xs, y]);
      }
    },
    validate: (items, rng) => {
      const pred = predictItems(model, items, { perClass, batchSize: opts.batchSize ?? META_TRAIN_DEFAULTS.batchSize, rng });
      const target = Float64Array.from(items, (it) => it.target + it.offset);
      let sse = 0;
      for (let i = 0; i < items.length; i++) sse += (pred[i]! - target[i]!) ** 2;
      const r = pearson(pred, target);
      const rho = spearman(pred, target);
      const taskRho = meanGroupSpearman(
        pred,
        target,
        items.map((it) => it.task.id),
      );
      const score = match(opts.selectBy ?? 'pearson')
        .with('pearson', () => r)
        .with('task-spearman', () => taskRho)
        .exhaustive();
      return { metrics: { loss: sse / items.length, pearson: r, spearman: rho, taskSpearman: taskRho }, score };
    },
    bestCheckpoint: RUN_FILES.maxCorr,
    meta: {
      split: opts.split,
      normalisation,
      graphConfig: model.graphConfig,
      selectBy: opts.selectBy ?? 'pearson',
      ...(targetScale !== 1 ? { targetScale } : {}),
      ...(opts.replicates === 'mean' ? { replicates: 'mean' } : {}),
      ...(opts.prior !== undefined ? { prior: opts.prior } : {}),
      ...(anchor ? { anchor } : {}),
    },
  };
  return await runMetaTraining(spec, opts);
}

function checkGraphConfig(cfg: { nvt: number; maxN: number }, items: readonly TrainingItem[], resolver: GraphResolver): void {
  const spaces = new Set(items.map((i) => i.record.space));
  for (const s of spaces) {
    const sc = resolver.space(s).graphConfig;
    if (sc.nvt !== cfg.nvt || sc.maxN !== cfg.maxN) {
      throw new MetaD2AException(
        validationError({
          source: 'meta-training',
          field: `records of space ${s}`,
          expected: `a model for graphs with nvt ${sc.nvt}, maxN ${sc.maxN}`,
          got: `a model with nvt ${cfg.nvt}, maxN ${cfg.maxN}`,
        }),
      );
    }
  }
}

/**
 * Load the weights of a meta-training checkpoint (`ckpt_<epoch>.ckpt`, `ckpt_max_corr.ckpt`,
 * `last.ckpt`) into a model; the optimizer slots in the file are ignored. Returns the checkpoint's meta.
 */
export function loadTrainedParameters(model: { loadParameters: GraphGenerator['loadParameters'] }, file: string): Readonly<Record<string, unknown>> {
  const ckpt = unwrap(loadCheckpointSync(file));
  const params = Object.fromEntries(Object.entries(ckpt.tensors).filter(([k]) => !k.startsWith('adam.')));
  model.loadParameters(params);
  return ckpt.meta;
}

export interface MetaTrainModelsOptions {
  readonly predictor: TrainablePredictor & { loadParameters: GraphGenerator['loadParameters'] };
  readonly generator: TrainableGenerator;
  /** `<runsDir>/predictor` and `<runsDir>/generator` hold each phase's checkpoints and log. */
  readonly runsDir: string;
  readonly predictorEpochs: number;
  /** 0: no generator training; the generator keeps `generatorOptions.init` as it is (required then). */
  readonly generatorEpochs: number;
  /**
   * Continue an earlier call per phase: a finished phase is skipped (its weights loaded), an
   * interrupted one resumes from its last.ckpt, one that had not begun starts.
   */
  readonly resume?: boolean;
  /** Options of both phases (split, batch size, seed, ...). */
  readonly options: Omit<PredictorTrainOptions & GeneratorTrainOptions, 'epochs' | 'runDir' | 'resume' | 'init'>;
  /** The generator phase's own learning rate (default: `options.lr`) and starting checkpoint ({@link GeneratorTrainOptions.init}). */
  readonly generatorOptions?: { readonly lr?: number; readonly init?: string };
  /** Told when a phase begins, and how. */
  readonly onPhase?: (model: 'predictor' | 'generator', phase: MetaTrainResult['phase']) => void;
}

export interface PhaseResult {
  readonly phase: MetaTrainResult['phase'];
  readonly result: MetaTrainResult;
}

/**
 * Meta-train the predictor, then the generator (the CLI's `meta-train`). The predictor ends
 * holding its best validation-score weights (Pearson by default, spec §3.5; `selectBy`), not the last epoch's. Progress
 * (`options.onProgress`, each report naming its model) and abort (`options.signal`) as in
 * {@link runMetaTraining}: an aborted call is continued by one with `resume: true`.
 */
export async function metaTrainModels(db: MetaDatabase, o: MetaTrainModelsOptions): Promise<{ predictor: PhaseResult; generator: PhaseResult }> {
  const resume = o.resume ? ('if-present' as const) : false;
  const targetScale = o.options.targetScale ?? 1;
  if (targetScale !== 1 && typeof o.predictor.scaleScores !== 'function')
    throw new MetaD2AException(
      validationError({
        source: 'meta-training',
        field: 'options.targetScale',
        expected: 'a predictor that can scale its scores (scaleScores)',
        got: `${targetScale} for one that cannot`,
      }),
    );
  const predictorDir = path.join(o.runsDir, 'predictor');
  const pr = await metaTrainPredictor(db, o.predictor, { ...o.options, epochs: o.predictorEpochs, runDir: predictorDir, resume, onEvent: phaseEvents('predictor', o) });
  const best = path.join(predictorDir, RUN_FILES.maxCorr);
  if (fs.existsSync(best)) loadTrainedParameters(o.predictor, best);
  // the kept weights are on the training's target scale: back to the official scale
  if (targetScale !== 1) o.predictor.scaleScores!(1 / targetScale);
  if (o.generatorEpochs === 0) {
    // retrain the predictor only (e.g. on a grown database) and keep a generator trained before
    const init = o.generatorOptions?.init;
    if (init === undefined)
      throw new MetaD2AException(
        validationError({
          source: 'meta-training',
          field: 'generatorEpochs',
          expected: 'at least 1, or 0 with a generator checkpoint to keep (generatorOptions.init)',
          got: '0 and no checkpoint',
        }),
      );
    loadTrainedParameters(o.generator, init);
    o.onPhase?.('generator', 'kept');
    const kept: MetaTrainResult = { epochs: 0, steps: 0, history: [], stopped: false, files: [], phase: 'kept' };
    return { predictor: { phase: pr.phase, result: pr }, generator: { phase: 'kept', result: kept } };
  }
  const gr = await metaTrainGenerator(db, o.generator, {
    ...o.options,
    ...(o.generatorOptions?.lr !== undefined ? { lr: o.generatorOptions.lr } : {}),
    ...(o.generatorOptions?.init !== undefined ? { init: o.generatorOptions.init } : {}),
    epochs: o.generatorEpochs,
    runDir: path.join(o.runsDir, 'generator'),
    resume,
    onEvent: phaseEvents('generator', o),
  });
  return { predictor: { phase: pr.phase, result: pr }, generator: { phase: gr.phase, result: gr } };
}

/** The caller's event handler, plus onPhase at the run's first event. */
function phaseEvents(model: 'predictor' | 'generator', o: MetaTrainModelsOptions): MetaTrainOptions['onEvent'] {
  const inner = o.options.onEvent;
  return (e) => {
    if (e.event === 'start') o.onPhase?.(model, 'started');
    if (e.event === 'resume')
      o.onPhase?.(model, e.epoch !== undefined && Number(e.epoch) >= (model === 'predictor' ? o.predictorEpochs : o.generatorEpochs) ? 'complete' : 'resumed');
    inner?.(e);
  };
}

export type { Rng };
