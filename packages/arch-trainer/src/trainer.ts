import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, TRAIN_STEP_KERNEL, makeError, validationError } from '@metad2a/core';
import { SGD, type ParameterStore } from '@metad2a/layers';
import type { Mbv3Config } from '@metad2a/search-spaces';
import type { BufferStore } from './buffers';
import { validateDataset, type ImageDataset } from './dataset';
import { Mbv3Network } from './mbv3-network';
import { TinyNetwork, updateRunningStats, type NetworkTrainProgram, type StatUpdate } from './network';
import { cosineLr, type Mbv3TrainRecipe, type TrainRecipe, type TrainingSchedule } from './recipe';

/** What the training loop needs of a network (the NB201 `TinyNetwork`, the OFA `Mbv3Network`). */
export interface TrainableNetwork {
  readonly store: ParameterStore;
  /** BatchNorm running statistics (`<bn>.running_mean` / `.running_var`). */
  readonly buffers: BufferStore;
  forward(x: tf.Tensor4D, mode?: { readonly training: boolean; readonly statUpdates?: StatUpdate[] }): { features: tf.Tensor2D; logits: tf.Tensor2D };
  applyStatUpdates(updates: StatUpdate[]): void;
  /** Its training step as one program, for backends with `TRAIN_STEP_KERNEL` (the NB201 TinyNetwork). */
  trainProgram?(): NetworkTrainProgram;
  /** Forget that program (and the backend's arrays for it) after training. */
  releaseTrainProgram?(): void;
  dispose(): void;
}

/** What a progress callback sees (once per training step and once per evaluation). */
export interface TrainProgress {
  readonly phase: 'train' | 'eval';
  /** 0-based epoch. */
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done so far over the whole run, and the total. */
  readonly step: number;
  readonly totalSteps: number;
  /** Mean training loss of the current epoch so far. */
  readonly loss: number;
  readonly lr: number;
  readonly elapsedMs: number;
  /** Estimated time left for training (linear in steps). */
  readonly etaMs: number;
}

export interface TrainArchitectureOptions {
  /** Cell string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. */
  readonly arch: string;
  readonly train: ImageDataset;
  /** Evaluated once after the last epoch (accuracy on this split is the result). */
  readonly test: ImageDataset;
  readonly recipe: TrainRecipe;
  /** Seeds the initialisation and the batch order. */
  readonly seed: number;
  readonly onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult<N extends TrainableNetwork = TinyNetwork> {
  /** Top-1 accuracy on `test` after the last epoch, in [0, 1]. */
  readonly accuracy: number;
  /** Mean training loss of the last epoch. */
  readonly finalTrainLoss: number;
  readonly steps: number;
  readonly trainMs: number;
  /** The trained network (caller disposes it; a TinyNetwork saves with `saveNetwork`). */
  readonly network: N;
}

/** Network input preparation of a recipe: gray → 3 channels when asked, bilinear resize when the size differs. */
export function prepareBatch(x: tf.Tensor4D, recipe: TrainingSchedule): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    if (recipe.grayTo3 && y.shape[3] === 1) y = tf.tile(y, [1, 1, 1, 3]);
    const s = recipe.inputSize;
    if (s !== undefined && (y.shape[1] !== s || y.shape[2] !== s)) y = tf.image.resizeBilinear(y, [s, s]);
    return y;
  });
}

/** The network input channels a recipe gives for a dataset. */
export function networkChannels(d: ImageDataset, recipe: TrainingSchedule): number {
  return recipe.grayTo3 && d.shape[3] === 1 ? 3 : d.shape[3];
}

function batchTensors(d: ImageDataset, rows: readonly number[], recipe: TrainingSchedule): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const [, h, w, c] = d.shape;
  const per = h * w * c;
  const buf = new Float32Array(rows.length * per);
  const lab = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    buf.set(d.images.subarray(r * per, (r + 1) * per), i * per);
    lab[i] = d.labels[r]!;
  });
  const raw = tf.tensor4d(buf, [rows.length, h, w, c]);
  const x = prepareBatch(raw, recipe);
  if (x !== raw) raw.dispose();
  return { x, y: tf.tensor1d(lab, 'int32') };
}

/** Mean softmax cross-entropy of logits [B, K] against integer labels [B]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  });
}

/**
 * One training step (forward, cross-entropy, backward, SGD, running statistics) as a single
 * `TRAIN_STEP_KERNEL` call when the network describes itself as a program and the backend has the
 * kernel; the loss, or null when the step is still to be done through the tape (no program or
 * kernel, SGD's first step, which creates its momentum buffers, or storage the kernel may not write).
 */
export function fusedTrainStep(net: TrainableNetwork, sgd: SGD, x: tf.Tensor4D, labels: tf.Tensor1D): number | null {
  if (!net.trainProgram) return null;
  const p = net.trainProgram();
  const out = sgd.fusedStep(TRAIN_STEP_KERNEL, { x, labels }, { program: p.program }, p.params);
  if (!out) return null;
  const [loss, stats, counts] = out.map((t) => t.dataSync());
  tf.dispose(out);
  let at = 0;
  p.batchNorms.forEach((bn, i) => {
    updateRunningStats(net.buffers, bn.prefix, stats!.subarray(at, at + bn.channels), stats!.subarray(at + bn.channels, at + 2 * bn.channels), counts![i]!);
    at += 2 * bn.channels;
  });
  return loss![0]!;
}

/**
 * One SGD step of the training loop on a batch (cross-entropy against integer labels, BatchNorm
 * running statistics updated): {@link fusedTrainStep} where it runs, else through the tape. The loss
 * before the update.
 */
export function trainStep(net: TrainableNetwork, sgd: SGD, x: tf.Tensor4D, labels: tf.Tensor1D): number {
  return fusedTrainStep(net, sgd, x, labels) ?? tapeTrainStep(net, sgd, x, labels);
}

/** The training step through a gradient tape (any backend, any network): the reference of {@link fusedTrainStep}. */
export function tapeTrainStep(net: TrainableNetwork, sgd: SGD, x: tf.Tensor4D, labels: tf.Tensor1D): number {
  const updates: StatUpdate[] = [];
  const { value, grads } = net.store.valueAndGrads(() => crossEntropy(net.forward(x, { training: true, statUpdates: updates }).logits, labels));
  sgd.apply(grads);
  net.applyStatUpdates(updates);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...grads.values()]);
  return loss;
}

/**
 * OFA's `set_running_statistics`: run the training set in batches (in order) with batch
 * statistics and set each BatchNorm's running mean / variance to the batch-size-weighted mean of
 * its batch means / biased batch variances (no momentum). Weights are not changed.
 */
export function recalibrateBatchNorm(net: TrainableNetwork, data: ImageDataset, recipe: TrainingSchedule): void {
  validateDataset(data, 'BatchNorm recalibration dataset');
  const sums = new Map<string, { mean: Float64Array; variance: Float64Array; weight: number }>();
  const n = data.shape[0];
  for (let s = 0; s < n; s += recipe.batchSize) {
    const rows = Array.from({ length: Math.min(recipe.batchSize, n - s) }, (_, i) => s + i);
    const { x, y } = batchTensors(data, rows, recipe);
    const updates: StatUpdate[] = [];
    tf.tidy(() => {
      net.forward(x, { training: true, statUpdates: updates });
    });
    for (const u of updates) {
      const mean = u.mean.dataSync();
      const variance = u.variance.dataSync();
      let acc = sums.get(u.prefix);
      if (!acc) sums.set(u.prefix, (acc = { mean: new Float64Array(mean.length), variance: new Float64Array(mean.length), weight: 0 }));
      for (let c = 0; c < mean.length; c++) {
        acc.mean[c]! += mean[c]! * rows.length;
        acc.variance[c]! += variance[c]! * rows.length;
      }
      acc.weight += rows.length;
      tf.dispose([u.mean, u.variance]);
    }
    tf.dispose([x, y]);
  }
  for (const [prefix, acc] of sums) {
    tf.tidy(() => {
      net.buffers.get(`${prefix}.running_mean`).assign(tf.tensor1d(Float32Array.from(acc.mean, (v) => v / acc.weight)));
      net.buffers.get(`${prefix}.running_var`).assign(tf.tensor1d(Float32Array.from(acc.variance, (v) => v / acc.weight)));
    });
  }
}

/** Top-1 accuracy of a network (eval-mode BatchNorm) on a dataset, in batches. */
export function evaluate(net: TrainableNetwork, data: ImageDataset, recipe: TrainingSchedule): { accuracy: number; loss: number } {
  validateDataset(data, 'evaluation dataset');
  const n = data.shape[0];
  let correct = 0;
  let lossSum = 0;
  for (let s = 0; s < n; s += recipe.evalBatchSize) {
    const rows = Array.from({ length: Math.min(recipe.evalBatchSize, n - s) }, (_, i) => s + i);
    const { x, y } = batchTensors(data, rows, recipe);
    const [logits, l] = tf.tidy(() => {
      const { logits } = net.forward(x);
      return [logits, tf.mul(crossEntropy(logits, y), rows.length)];
    });
    // top-1 in JS (first maximum wins, as torch.argmax)
    const z = logits!.dataSync();
    const k = data.numClasses;
    rows.forEach((r, i) => {
      let best = 0;
      for (let j = 1; j < k; j++) if (z[i * k + j]! > z[i * k + best]!) best = j;
      if (best === data.labels[r]) correct++;
    });
    lossSum += l!.dataSync()[0]!;
    tf.dispose([x, y, logits!, l!]);
  }
  return { accuracy: correct / n, loss: lossSum / n };
}

/**
 * Train an NB201 cell from scratch with a recipe (spec §3.7: SGD with Nesterov momentum, weight
 * decay on every parameter, cosine learning rate set once per epoch, cross-entropy, train-mode
 * BatchNorm with running statistics), then evaluate on `test`. The last batch of an epoch may be
 * smaller (PyTorch DataLoader, drop_last = False). Deterministic for a given seed and backend.
 */
/** The gradient kernels training a TinyNetwork needs; tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter. */
export const TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'AvgPoolGrad'] as const;

/** The gradient kernels an MBv3 subnet needs besides those of a TinyNetwork (depthwise convolutions). */
export const MBV3_TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'] as const;

/**
 * Fail before any work, with the fix, when the current backend cannot compute convolution
 * gradients (wasm without @metad2a/tfjs-kernels) instead of crashing at the first backward pass.
 */
export function requireTrainingKernels(backend: string = tf.getBackend(), kernels: readonly string[] = TRAINING_KERNELS): void {
  const missing = kernels.filter((k) => tf.getKernel(k, backend) === undefined);
  if (missing.length === 0) return;
  throw new MetaD2AException(
    makeError('BackendError', {
      source: `backend '${backend}'`,
      field: 'training kernels',
      expected: `gradient kernels ${kernels.join(', ')} to train a network`,
      got: `missing ${missing.join(', ')}. Fix: install @metad2a/tfjs-kernels (the native backend, or wasm gradient kernels), import it before initBackend() (the CLI does), or run on another backend (METAD2A_BACKEND=cpu)`,
    }),
  );
}

/** Check a training request before any work (datasets, class counts, schedule integers, gradient kernels). */
function checkTraining(train: ImageDataset, test: ImageDataset, recipe: TrainingSchedule, source: string, kernels: readonly string[]): void {
  validateDataset(train, 'training dataset');
  validateDataset(test, 'test dataset');
  if (train.numClasses !== test.numClasses) {
    throw new MetaD2AException(validationError({ source, field: 'test.numClasses', expected: `${train.numClasses} (as train)`, got: String(test.numClasses) }));
  }
  for (const k of ['epochs', 'batchSize', 'evalBatchSize'] as const) {
    if (!Number.isInteger(recipe[k]) || recipe[k] < 1)
      throw new MetaD2AException(validationError({ source: `recipe ${recipe.name}`, field: k, expected: 'a positive integer', got: String(recipe[k]) }));
  }
  requireTrainingKernels(tf.getBackend(), kernels);
}

export async function trainArchitecture(opts: TrainArchitectureOptions): Promise<TrainResult> {
  const { train, test, recipe } = opts;
  checkTraining(train, test, recipe, 'trainArchitecture', TRAINING_KERNELS);
  const rng = new Rng(opts.seed);
  const initRng = rng.fork();
  const orderRng = rng.fork();
  const net = new TinyNetwork({ arch: opts.arch, C: recipe.C, N: recipe.N, numClasses: train.numClasses, inChannels: networkChannels(train, recipe) }, initRng);
  return trainNetwork(net, { ...opts, label: opts.arch }, orderRng);
}

export interface TrainMbv3Options {
  /** The OFA-MBv3 subnet. */
  readonly config: Mbv3Config;
  readonly train: ImageDataset;
  readonly test: ImageDataset;
  readonly recipe: Mbv3TrainRecipe;
  /** Seeds the initialisation and the batch order. */
  readonly seed: number;
  readonly onProgress?: (p: TrainProgress) => void;
}

/**
 * Train an OFA-MBv3 subnet ({@link Mbv3Network} at the recipe's width and input size) from scratch
 * with the same loop as {@link trainArchitecture} (SGD Nesterov, weight decay, per-epoch cosine,
 * train-mode BatchNorm), then evaluate on `test`.
 */
export async function trainMbv3(opts: TrainMbv3Options): Promise<TrainResult<Mbv3Network>> {
  const { train, test, recipe } = opts;
  checkTraining(train, test, recipe, 'trainMbv3', MBV3_TRAINING_KERNELS);
  const rng = new Rng(opts.seed);
  const initRng = rng.fork();
  const orderRng = rng.fork();
  const net = new Mbv3Network({ config: opts.config, numClasses: train.numClasses, widthMult: recipe.widthMult, inChannels: networkChannels(train, recipe) }, initRng);
  return trainNetwork(net, { ...opts, label: 'MBv3 subnet' }, orderRng);
}

/**
 * The training loop (spec §3.7): per epoch the cosine learning rate, a seeded permutation of the
 * training rows in batches (the last may be smaller, as PyTorch's DataLoader with drop_last =
 * False), cross-entropy, SGD, BatchNorm running statistics; then top-1 on `test`. The network is
 * disposed if training fails; otherwise the caller owns it.
 */
async function trainNetwork<N extends TrainableNetwork>(
  net: N,
  opts: { readonly train: ImageDataset; readonly test: ImageDataset; readonly recipe: TrainingSchedule; readonly label: string; readonly onProgress?: (p: TrainProgress) => void },
  orderRng: Rng,
): Promise<TrainResult<N>> {
  const { train, test, recipe } = opts;
  const sgd = new SGD(net.store.entries(), { lr: recipe.lr, momentum: recipe.momentum, nesterov: recipe.nesterov, weightDecay: recipe.weightDecay });
  const n = train.shape[0];
  const stepsPerEpoch = Math.ceil(n / recipe.batchSize);
  const totalSteps = stepsPerEpoch * recipe.epochs;
  const t0 = Date.now();
  let step = 0;
  let epochLoss = 0;
  try {
    for (let epoch = 0; epoch < recipe.epochs; epoch++) {
      sgd.lr = cosineLr(recipe.lr, epoch, recipe.epochs);
      const order = orderRng.permutation(n);
      let lossSum = 0;
      let seen = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const rows = order.slice(b * recipe.batchSize, (b + 1) * recipe.batchSize);
        const { x, y } = batchTensors(train, rows, recipe);
        const loss = trainStep(net, sgd, x, y);
        tf.dispose([x, y]);
        if (!Number.isFinite(loss)) {
          throw new MetaD2AException(validationError({ source: `training ${opts.label}`, field: `epoch ${epoch} step ${b}`, expected: 'a finite loss', got: String(loss) }));
        }
        lossSum += loss * rows.length;
        seen += rows.length;
        step++;
        epochLoss = lossSum / seen;
        if (opts.onProgress) {
          const elapsedMs = Date.now() - t0;
          opts.onProgress({
            phase: 'train',
            epoch,
            epochs: recipe.epochs,
            step,
            totalSteps,
            loss: epochLoss,
            lr: sgd.lr,
            elapsedMs,
            etaMs: (elapsedMs / step) * (totalSteps - step),
          });
        }
        if (b % 8 === 7) await new Promise((r) => setImmediate(r)); // let timers and signals run
      }
    }
  } catch (err) {
    sgd.dispose();
    net.dispose();
    throw err;
  }
  sgd.dispose();
  net.releaseTrainProgram?.(); // the fused step's arrays are not needed for evaluation
  const trainMs = Date.now() - t0;
  if (recipe.recalibrateBatchNorm) recalibrateBatchNorm(net, train, recipe);
  const { accuracy } = evaluate(net, test, recipe);
  opts.onProgress?.({ phase: 'eval', epoch: recipe.epochs - 1, epochs: recipe.epochs, step, totalSteps, loss: epochLoss, lr: sgd.lr, elapsedMs: Date.now() - t0, etaMs: 0 });
  return { accuracy, finalTrainLoss: epochLoss, steps: step, trainMs, network: net };
}
