import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as tf from '@tensorflow/tfjs-core';
import {
  MetaD2AException,
  Rng,
  driveSteps,
  eitherOf,
  loadCheckpointSync,
  makeError,
  saveCheckpointSync,
  validationError,
  type AnySearchSpace,
  type MetaD2AError,
  type NamedArray,
  type RngState,
  type StepControl,
  type Steps,
} from '@metad2a/core';
import { Adam, type OptimizerState, type ParameterStore } from '@metad2a/layers';
import { batchesOf, drawBatch, type BatchGroup, type ReplicateUse, type TrainingItem } from '../data/pipeline';
import { ReduceLROnPlateau, type PlateauOptions, type PlateauState } from './plateau';
import { JsonLinesLog, ProgressBar, type TrainingEvent } from './progress';

/**
 * Progress of a meta-training run, reported after every optimizer step (`stage: 'step'`, `done`
 * of `total` steps of the run, counting those of a resumed run's earlier calls) and after every
 * epoch (`stage: 'epoch'`, `done` of `total` epochs, with the epoch's summary).
 */
export type MetaTrainProgress =
  | { readonly kind: 'generator' | 'predictor'; readonly stage: 'step'; readonly done: number; readonly total: number; readonly epoch: number; readonly lossPerItem: number }
  | { readonly kind: 'generator' | 'predictor'; readonly stage: 'epoch'; readonly done: number; readonly total: number; readonly summary: EpochSummary };

/**
 * Options shared by generator and predictor meta-training. Defaults are the official NB201 settings (spec §3.4–3.5).
 * `onProgress` is told after every step and epoch; aborting `signal` stops the run between two steps,
 * saving `last.ckpt` first (with a `runDir`), so `resume: true` continues it to the same bytes.
 */
export interface MetaTrainOptions extends StepControl<MetaTrainProgress> {
  /** Name of the split of the database's records (`train` is trained on, `valid` validates). */
  readonly split: string;
  /** Epochs (default 400). */
  readonly epochs?: number;
  /** Items per optimizer step (default 32). MBv3's official generator steps once per record: use 1. */
  readonly batchSize?: number;
  /** Feature rows drawn per class per item (default 20). */
  readonly perClass?: number;
  /** Adam learning rate (default 1e-4; betas 0.9/0.999, eps 1e-8, no weight decay). */
  readonly lr?: number;
  /** ReduceLROnPlateau on the epoch's training loss (default mode min, factor 0.1, patience 10, torch defaults otherwise). */
  readonly plateau?: PlateauOptions;
  /** Seed of the run's RNG (shuffling, feature draws, reparameterisation noise); default 333. */
  readonly seed?: number | string;
  /** Directory for checkpoints and the JSON-lines log. Without it nothing is written to disk. */
  readonly runDir?: string;
  /** Save `ckpt_<epoch>.ckpt` every this many epochs (default 20; 0: never). */
  readonly checkpointEvery?: number;
  /** Also save the resume checkpoint `last.ckpt` every this many steps (default 0: at the end of every epoch only). */
  readonly saveEverySteps?: number;
  /**
   * Continue from `<runDir>/last.ckpt` (weights, Adam state, RNG, scheduler, epoch and step,
   * history): `true` requires it, `'if-present'` starts a fresh run where there is none (a phase
   * that had not begun). A run whose checkpoint is already at `epochs` trains nothing (`phase: 'complete'`).
   */
  readonly resume?: boolean | 'if-present';
  /** Stop after this many optimizer steps in total (saving `last.ckpt` first, so the run can be resumed). */
  readonly maxSteps?: number;
  /** Validate after every epoch (default true). */
  readonly validate?: boolean;
  /** Progress bar on stderr: `auto` (default) draws it only on a TTY. */
  readonly progress?: 'auto' | 'always' | 'never';
  /** Write a `step` log event every this many steps (default 1). */
  readonly logEvery?: number;
  /** Receives every log event (also written to `<runDir>/log.jsonl`). */
  readonly onEvent?: (e: TrainingEvent) => void;
  /** Search spaces by name, overriding the `searchSpaces` registry. */
  readonly spaces?: Readonly<Record<string, AnySearchSpace>>;
  /**
   * How a (task, architecture)'s several trainings are used (`ReplicateUse`): `each` record an
   * item (default, official), or `mean`: one item with their mean accuracy (less seed noise per
   * target, the same number of items per epoch as one training per pair).
   */
  readonly replicates?: ReplicateUse;
}

export interface EpochSummary {
  readonly epoch: number;
  /** Mean over the epoch's batches of (batch loss / batch size), what the scheduler sees. */
  readonly trainLoss: number;
  /** Learning rate after the scheduler step of this epoch. */
  readonly lr: number;
  readonly valid?: Readonly<Record<string, number>>;
  readonly seconds: number;
}

export interface MetaTrainResult {
  /** Epochs completed. */
  readonly epochs: number;
  readonly steps: number;
  readonly history: readonly EpochSummary[];
  /** True when `maxSteps` stopped the run before its last epoch. */
  readonly stopped: boolean;
  /** Best validation score and its epoch (predictor: Pearson). */
  readonly best?: { readonly epoch: number; readonly score: number };
  /** Files written (checkpoints, log). */
  readonly files: readonly string[];
  /**
   * `started` fresh, `resumed` from last.ckpt, `complete`: last.ckpt was already at the last epoch,
   * nothing was trained; `kept`: no run at all (a generator phase of 0 epochs keeps its starting
   * checkpoint, see `metaTrainModels`).
   */
  readonly phase: 'started' | 'resumed' | 'complete' | 'kept';
}

export const META_TRAIN_DEFAULTS = {
  epochs: 400,
  batchSize: 32,
  perClass: 20,
  lr: 1e-4,
  seed: 333,
  checkpointEvery: 20,
  plateau: { mode: 'min', factor: 0.1, patience: 10 } as PlateauOptions,
} as const;

/** What the generic loop needs from a model-specific trainer. */
export interface LoopSpec {
  readonly kind: 'generator' | 'predictor';
  readonly store: ParameterStore;
  /** Parameters that receive gradients. */
  readonly trainable: readonly string[];
  readonly train: readonly TrainingItem[];
  readonly valid: readonly TrainingItem[];
  /** The batch's summed loss; called inside `store.valueAndGrads`. */
  batchLoss(groups: readonly BatchGroup[], rng: Rng): tf.Scalar;
  /**
   * The batch's summed loss and the gradients of `trainable` computed by the model itself (e.g.
   * one tape per group of an MBv3 batch, whose single tape would hold every group's activations);
   * undefined where {@link batchLoss} in one tape is the way.
   */
  batchValueAndGrads?(groups: readonly BatchGroup[], trainable: readonly string[], rng: Rng): { value: tf.Scalar; grads: Map<string, tf.Tensor> } | undefined;
  /** Validation metrics; `score` (higher is better) selects the best checkpoint when present. */
  validate(items: readonly TrainingItem[], rng: Rng): { metrics: Record<string, number>; score?: number };
  /** Name of the best-score checkpoint (predictor: `ckpt_max_corr.ckpt`). */
  readonly bestCheckpoint?: string;
  /** Extra JSON for every checkpoint's meta (model config, normalisation, ...). */
  readonly meta: Record<string, unknown>;
}

interface LoopState {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  order: number[] | null;
  epochLossSum: number;
  history: EpochSummary[];
  best?: { epoch: number; score: number };
}

export const CHECKPOINT_FORMAT = 'metad2a-meta-training/1';

/** The checkpoint file names of a run directory. */
export const RUN_FILES = { last: 'last.ckpt', epoch: (e: number): string => `ckpt_${e}.ckpt`, maxCorr: 'ckpt_max_corr.ckpt', log: 'log.jsonl' } as const;

function saveRun(file: string, spec: LoopSpec, adam: Adam, rng: Rng, plateau: ReduceLROnPlateau, st: LoopState, seed: number | string): void {
  const opt = adam.state();
  const tensors: Record<string, NamedArray> = { ...spec.store.toNamedArrays(), ...opt.tensors };
  saveCheckpointSync(file, {
    meta: {
      format: CHECKPOINT_FORMAT,
      kind: spec.kind,
      ...spec.meta,
      seed,
      epoch: st.epoch,
      stepInEpoch: st.stepInEpoch,
      step: st.globalStep,
      lr: adam.lr,
      optimizer: { kind: opt.kind, step: opt.step, lr: opt.lr, betas: [adam.beta1, adam.beta2], eps: adam.eps },
      rng: rng.state(),
      plateau: plateau.state(),
      order: st.order,
      epochLossSum: st.epochLossSum,
      history: st.history,
      best: st.best ?? null,
    },
    tensors,
  });
}

function restoreRun(file: string, spec: LoopSpec, adam: Adam, plateau: ReduceLROnPlateau): { rng: Rng; st: LoopState } {
  const loaded = loadCheckpointSync(file);
  if (E.isLeft(loaded)) throw new MetaD2AException(loaded.left);
  const { meta, tensors } = loaded.right;
  if (meta.format !== CHECKPOINT_FORMAT || meta.kind !== spec.kind) {
    throw new MetaD2AException(
      makeError('ValidationError', {
        source: file,
        field: 'meta.format/kind',
        expected: `${CHECKPOINT_FORMAT} of a ${spec.kind} run`,
        got: `${String(meta.format)} / ${String(meta.kind)}`,
      }),
    );
  }
  // a run's targets are fixed by its target scale and by its use of a pair's several trainings:
  // resuming it with another would change them under the network
  const settings: readonly { field: string; of: (m: Record<string, unknown>) => number | string; asked: string; trained: string }[] = [
    { field: 'targetScale', of: (m) => (typeof m.targetScale === 'number' ? m.targetScale : 1), asked: 'the target scale asked for', trained: 'the run was trained on it' },
    { field: 'replicates', of: (m) => (m.replicates === 'mean' ? 'mean' : 'each'), asked: 'the replicate use asked for', trained: 'the run was trained with it' },
  ];
  for (const s of settings)
    if (s.of(meta) !== s.of(spec.meta))
      throw new MetaD2AException(
        makeError('ValidationError', {
          source: file,
          field: `meta.${s.field}`,
          expected: `${s.of(spec.meta)} (${s.asked})`,
          got: `${s.of(meta)} (${s.trained}: resume with it, or start a new run)`,
        }),
      );
  const params: Record<string, NamedArray> = {};
  const slots: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(tensors)) (k.startsWith('adam.') ? slots : params)[k] = v;
  spec.store.load(params, { source: file });
  const o = meta.optimizer as { kind: 'adam'; step: number; lr: number };
  adam.loadState({ kind: o.kind, step: o.step, lr: o.lr, tensors: slots } as OptimizerState);
  plateau.loadState(meta.plateau as PlateauState);
  return {
    rng: Rng.fromState(meta.rng as RngState),
    st: {
      epoch: meta.epoch as number,
      stepInEpoch: meta.stepInEpoch as number,
      globalStep: meta.step as number,
      order: (meta.order as number[] | null) ?? null,
      epochLossSum: meta.epochLossSum as number,
      history: (meta.history as EpochSummary[]) ?? [],
      ...(meta.best ? { best: meta.best as { epoch: number; score: number } } : {}),
    },
  };
}

const positiveInt = (v: number, field: string, allowZero = false): void => {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1))
    throw new MetaD2AException(validationError({ source: 'meta-training options', field, expected: allowZero ? 'an integer ≥ 0' : 'a positive integer', got: String(v) }));
};

/**
 * The training loop shared by both models: shuffle, draw, step, schedule, validate, checkpoint,
 * resume. Hands the event loop back after every optimizer step and epoch (progress to
 * `opts.onProgress`); rejects with a MetaD2AException (bad options or data, a non-finite loss,
 * `Aborted` when `opts.signal` is aborted: `last.ckpt` then holds the last finished step, and the
 * optimizer's tensors are released).
 */
export function runMetaTraining(spec: LoopSpec, opts: MetaTrainOptions): Promise<MetaTrainResult> {
  return driveSteps(metaTrainingSteps(spec, opts), `${spec.kind} meta-training`, opts);
}

/** {@link runMetaTraining} with its expected failures as a Left (a bug still rejects). */
export function runMetaTrainingEither(spec: LoopSpec, opts: MetaTrainOptions): Promise<E.Either<MetaD2AError, MetaTrainResult>> {
  return eitherOf(runMetaTraining(spec, opts));
}

function* metaTrainingSteps(spec: LoopSpec, opts: MetaTrainOptions): Steps<MetaTrainProgress, MetaTrainResult> {
  const epochs = opts.epochs ?? META_TRAIN_DEFAULTS.epochs;
  const batchSize = opts.batchSize ?? META_TRAIN_DEFAULTS.batchSize;
  const perClass = opts.perClass ?? META_TRAIN_DEFAULTS.perClass;
  const seed = opts.seed ?? META_TRAIN_DEFAULTS.seed;
  const checkpointEvery = opts.checkpointEvery ?? META_TRAIN_DEFAULTS.checkpointEvery;
  const saveEverySteps = opts.saveEverySteps ?? 0;
  const logEvery = opts.logEvery ?? 1;
  positiveInt(epochs, 'epochs');
  positiveInt(batchSize, 'batchSize');
  positiveInt(perClass, 'perClass');
  positiveInt(checkpointEvery, 'checkpointEvery', true);
  positiveInt(saveEverySteps, 'saveEverySteps', true);
  if (opts.maxSteps !== undefined) positiveInt(opts.maxSteps, 'maxSteps', true);
  if (spec.train.length === 0)
    throw new MetaD2AException(validationError({ source: 'meta-training', field: `split ${opts.split} train`, expected: 'at least one training item', got: '0' }));
  if ((opts.resume || saveEverySteps > 0 || opts.maxSteps !== undefined) && !opts.runDir) {
    // stopping or resuming without a checkpoint would lose the run
    if (opts.resume) throw new MetaD2AException(validationError({ source: 'meta-training options', field: 'resume', expected: 'a runDir holding last.ckpt', got: 'no runDir' }));
  }
  const runDir = opts.runDir;
  const files = new Set<string>();
  const file = (name: string): string => path.join(runDir!, name);
  const log = new JsonLinesLog(runDir ? file(RUN_FILES.log) : undefined, opts.onEvent);
  if (runDir) files.add(file(RUN_FILES.log));

  const adam = new Adam(spec.store.entries(), { lr: opts.lr ?? META_TRAIN_DEFAULTS.lr });
  const plateau = new ReduceLROnPlateau({ ...META_TRAIN_DEFAULTS.plateau, ...opts.plateau });
  let rng = new Rng(seed);
  let st: LoopState = { epoch: 0, stepInEpoch: 0, globalStep: 0, order: null, epochLossSum: 0, history: [] };
  let phase: MetaTrainResult['phase'] = 'started';
  // true while suspended between two finished steps: a driver that stops the run there (abort) gets last.ckpt saved
  let between = false;
  let save = (_name: string): void => {};
  let bar: ProgressBar | undefined;
  try {
    const last = runDir ? file(RUN_FILES.last) : undefined;
    if (opts.resume === true && !fs.existsSync(last!))
      throw new MetaD2AException(makeError('IoError', { source: last, expected: 'the resume checkpoint of an earlier run', got: 'no such file' }));
    if (opts.resume && last !== undefined && fs.existsSync(last)) {
      ({ rng, st } = restoreRun(last, spec, adam, plateau));
      phase = st.epoch >= epochs ? 'complete' : 'resumed';
      log.write('resume', { kind: spec.kind, file: last, epoch: st.epoch, stepInEpoch: st.stepInEpoch, step: st.globalStep, lr: adam.lr });
    } else {
      log.write('start', {
        kind: spec.kind,
        split: opts.split,
        train: spec.train.length,
        valid: spec.valid.length,
        epochs,
        batchSize,
        perClass,
        lr: adam.lr,
        seed,
        parameters: spec.store.count(),
      });
    }
    const batchesPerEpoch = Math.ceil(spec.train.length / batchSize);
    const total = Math.min(epochs * batchesPerEpoch, opts.maxSteps ?? Infinity);
    bar = ProgressBar.forMode(opts.progress ?? 'auto', total);
    save = (name: string): void => {
      if (!runDir) return;
      saveRun(file(name), spec, adam, rng, plateau, st, seed);
      files.add(file(name));
      log.write('checkpoint', { file: file(name), epoch: st.epoch, step: st.globalStep });
    };
    let stopped = false;
    outer: while (st.epoch < epochs) {
      const epochStart = Date.now();
      if (st.order === null) {
        st.order = rng.permutation(spec.train.length);
        st.stepInEpoch = 0;
        st.epochLossSum = 0;
      }
      const batches = batchesOf(st.order, batchSize);
      for (let b = st.stepInEpoch; b < batches.length; b++) {
        if (opts.maxSteps !== undefined && st.globalStep >= opts.maxSteps) {
          stopped = true;
          break outer;
        }
        const items = batches[b]!.map((i) => spec.train[i]!);
        const groups = drawBatch(items, perClass, rng);
        const { value, grads } = spec.batchValueAndGrads?.(groups, spec.trainable, rng) ?? spec.store.valueAndGrads(() => spec.batchLoss(groups, rng), spec.trainable);
        const loss = value.dataSync()[0]!;
        value.dispose();
        adam.apply(grads);
        for (const g of grads.values()) g.dispose();
        if (!Number.isFinite(loss))
          throw new MetaD2AException(validationError({ source: 'meta-training', field: `epoch ${st.epoch + 1} batch ${b + 1}`, expected: 'a finite loss', got: String(loss) }));
        st.epochLossSum += loss / items.length;
        st.stepInEpoch = b + 1;
        st.globalStep += 1;
        if (st.globalStep % logEvery === 0)
          log.write('step', { epoch: st.epoch + 1, batch: b + 1, batches: batches.length, step: st.globalStep, loss, lossPerItem: loss / items.length, lr: adam.lr });
        bar.update({ step: st.globalStep, epoch: st.epoch + 1, epochs, batch: b + 1, batches: batches.length, loss: loss / items.length, lr: adam.lr });
        if (saveEverySteps > 0 && st.globalStep % saveEverySteps === 0 && b + 1 < batches.length) save(RUN_FILES.last);
        between = true;
        yield { kind: spec.kind, stage: 'step', done: st.globalStep, total, epoch: st.epoch + 1, lossPerItem: loss / items.length };
        between = false;
      }
      // end of an epoch: schedule on the training loss, validate, checkpoint
      const trainLoss = st.epochLossSum / batches.length;
      st.epoch += 1;
      st.order = null;
      st.stepInEpoch = 0;
      st.epochLossSum = 0;
      adam.lr = plateau.step(trainLoss, adam.lr);
      let valid: Record<string, number> | undefined;
      if (opts.validate !== false && spec.valid.length > 0) {
        const v = spec.validate(spec.valid, new Rng(`${seed}/valid`));
        valid = v.metrics;
        if (v.score !== undefined && Number.isFinite(v.score) && (!st.best || v.score > st.best.score)) {
          st.best = { epoch: st.epoch, score: v.score };
          if (spec.bestCheckpoint) save(spec.bestCheckpoint);
        }
      }
      const summary: EpochSummary = { epoch: st.epoch, trainLoss, lr: adam.lr, ...(valid ? { valid } : {}), seconds: (Date.now() - epochStart) / 1000 };
      st.history.push(summary);
      log.write('epoch', { ...summary });
      bar.line(
        `epoch ${st.epoch}/${epochs}  train loss ${trainLoss.toPrecision(5)}  lr ${adam.lr.toExponential(1)}${
          valid
            ? `  ${Object.entries(valid)
                .map(([k, x]) => `${k} ${x.toPrecision(4)}`)
                .join('  ')}`
            : ''
        }`,
      );
      if (checkpointEvery > 0 && st.epoch % checkpointEvery === 0) save(RUN_FILES.epoch(st.epoch));
      save(RUN_FILES.last);
      between = true;
      yield { kind: spec.kind, stage: 'epoch', done: st.epoch, total: epochs, summary };
      between = false;
    }
    if (stopped) save(RUN_FILES.last);
    log.write('end', { epoch: st.epoch, step: st.globalStep, stopped, best: st.best ?? null });
    return { epochs: st.epoch, steps: st.globalStep, history: st.history, stopped, ...(st.best ? { best: st.best } : {}), files: [...files], phase };
  } finally {
    if (between) {
      save(RUN_FILES.last);
      bar?.line(`stopped after step ${st.globalStep}${runDir ? `, ${RUN_FILES.last} saved` : ''}`); // ends the bar's line before the caller's message
      log.write('end', { epoch: st.epoch, step: st.globalStep, stopped: true, aborted: true, best: st.best ?? null });
    }
    adam.dispose();
  }
}
