import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, checkNamedShapes, validationError, type NamedArray, type NamedArrays, type TrainProgram, type TrainProgramOp } from '@metad2a/core';
import { Linear, ParameterStore, batchNormTrain, joinName, reluConvBnTrain, uniformInit, type BatchNormTrainResult } from '@metad2a/layers';
import { match } from 'ts-pattern';
import { BufferStore } from './buffers';
import { NB201_EDGE_SOURCES, NB201_EDGE_TARGETS, cellToString, parseCell, type Nb201Cell, type Nb201Op } from './cell';

/** Shape options of the NB201 macro network (spec §3.7). */
export interface TinyNetworkConfig {
  /** Cell string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. */
  readonly arch: string;
  /** Channels of the first stage (official 16); stages use C, 2C, 4C. */
  readonly C: number;
  /** Cells per stage (official 5). */
  readonly N: number;
  readonly numClasses: number;
  /** Input channels (official 3; MNIST is replicated to 3). */
  readonly inChannels?: number;
}

/** BatchNorm momentum and epsilon of PyTorch's `nn.BatchNorm2d` defaults. */
export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;

/** How a forward pass runs. In training mode BatchNorm uses batch statistics and queues running-stat updates. */
export interface ForwardMode {
  readonly training: boolean;
  /**
   * Training mode only: BatchNorm pushes its pending running-stat updates here (kept tensors);
   * apply them with {@link TinyNetwork.applyStatUpdates} after the step (outside gradient tapes).
   */
  readonly statUpdates?: StatUpdate[];
  /**
   * Called with the input of every ReLU module of the official network (each conv edge owns its
   * ReLU, so a node feeding two conv edges is reported twice; then `lastact`'s ReLU), e.g. for
   * NASWOT's activation codes. The tensor is disposed after the forward pass.
   */
  readonly onReluInput?: (x: tf.Tensor4D) => void;
  /** BatchNorm layers act as the identity (the BN-free network of synflow); inference mode only. */
  readonly withoutBatchNorm?: boolean;
}

export interface StatUpdate {
  readonly prefix: string;
  /** Batch mean and biased batch variance (kept tensors, disposed by applyStatUpdates). */
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
  /** Values per channel the statistics were taken over (N·H·W); PyTorch updates running_var with the unbiased variance. */
  readonly count: number;
}

/** `nn.BatchNorm2d(C)` over NHWC: weight/bias trainable, running_mean/var as buffers. */
export class BatchNorm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    store: ParameterStore,
    private readonly buffers: BufferStore,
    readonly prefix: string,
    readonly channels: number,
  ) {
    this.weight = store.add(this.weightName, [channels], new Float32Array(channels).fill(1));
    this.bias = store.add(this.biasName, [channels], new Float32Array(channels));
    buffers.add(joinName(prefix, 'running_mean'), [channels], new Float32Array(channels));
    buffers.add(joinName(prefix, 'running_var'), [channels], new Float32Array(channels).fill(1));
  }

  /** The names of γ and β in the parameter store. */
  get weightName(): string {
    return joinName(this.prefix, 'weight');
  }

  get biasName(): string {
    return joinName(this.prefix, 'bias');
  }

  /** The running mean, with the updates of the training steps so far. */
  get runningMean(): tf.Variable {
    return this.buffers.get(joinName(this.prefix, 'running_mean'));
  }

  /** The running (unbiased) variance, with the updates of the training steps so far. */
  get runningVar(): tf.Variable {
    return this.buffers.get(joinName(this.prefix, 'running_var'));
  }

  apply(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    if (mode.withoutBatchNorm) return x;
    if (!mode.training) {
      const scale = tf.div(this.weight, tf.sqrt(tf.add(this.runningVar, BN_EPS)));
      const shift = tf.sub(this.bias, tf.mul(this.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift);
    }
    // fused kernel where the backend has one (native), else the composite tfjs graph
    return this.recordStats(batchNormTrain(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, BN_EPS), mode);
  }

  /** Queue the batch statistics of a training-mode result for the running-stat update; returns y. */
  recordStats(r: BatchNormTrainResult<tf.Rank.R4>, mode: ForwardMode): tf.Tensor4D {
    if (mode.statUpdates) {
      const count = r.y.shape[0] * r.y.shape[1] * r.y.shape[2];
      mode.statUpdates.push({ prefix: this.prefix, mean: tf.keep(r.mean), variance: tf.keep(r.variance), count });
    }
    return r.y;
  }
}

type Padding = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** `nn.Conv2d(in, out, k, stride, pad, bias=False)`; weight stored in PyTorch layout [out, in, kh, kw]. */
export class Conv {
  readonly weight: tf.Variable;
  /** The weight's name in the parameter store. */
  readonly weightName: string;
  constructor(
    store: ParameterStore,
    name: string,
    readonly inC: number,
    readonly outC: number,
    readonly k: number,
    readonly stride: number,
    rng: Rng,
  ) {
    // PyTorch default init (kaiming_uniform with a = √5): U(−1/√fan_in, 1/√fan_in).
    const fanIn = inC * k * k;
    this.weightName = joinName(name, 'weight');
    this.weight = store.add(this.weightName, [outC, inC, k, k], uniformInit(rng, outC * fanIn, 1 / Math.sqrt(fanIn)));
  }

  /** PyTorch's padding (k−1)/2 on every side. */
  get pad(): number {
    return (this.k - 1) / 2;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const filter = tf.transpose(this.weight, [2, 3, 1, 0]) as tf.Tensor4D;
    // PyTorch pads (k−1)/2 on every side; tfjs 'same' pads asymmetrically when stride > 1.
    const p = (this.k - 1) / 2;
    const pad: Padding =
      this.stride === 1
        ? p === 0
          ? 'valid'
          : 'same'
        : [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ];
    return tf.conv2d(x, filter, this.stride, pad);
  }
}

/** NB201 `ReLUConvBN`: parameters `<prefix>.op.1.weight` (conv) and `<prefix>.op.2.*` (BN). */
class ReluConvBn {
  readonly conv: Conv;
  readonly bn: BatchNorm;
  constructor(store: ParameterStore, buffers: BufferStore, prefix: string, inC: number, outC: number, k: number, stride: number, rng: Rng) {
    this.conv = new Conv(store, joinName(prefix, 'op.1'), inC, outC, k, stride, rng);
    this.bn = new BatchNorm(store, buffers, joinName(prefix, 'op.2'), outC);
  }
  apply(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    mode.onReluInput?.(x);
    if (mode.training) return convBnTrain(this.conv, this.bn, x, true, mode);
    return this.applyToActivated(tf.relu(x), mode);
  }
  /** Its training op in a {@link TrainProgram}: the slot of its output. */
  toProgram(b: ProgramBuilder, x: number): number {
    return b.reluConvBn(this.conv, this.bn, x, true);
  }
  /** Inference on an input that is already ReLU'd (cells share one ReLU per node among its conv edges). */
  applyToActivated(relu: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(relu), mode);
  }
}

/**
 * Training-mode [ReLU →] Conv → BN as one fused op (one kernel each way on `native`), statistics
 * queued. `inputGradient` false: x is data (the stem's input), its gradient is not computed.
 */
function convBnTrain(conv: Conv, bn: BatchNorm, x: tf.Tensor4D, relu: boolean, mode: ForwardMode, inputGradient = true): tf.Tensor4D {
  const r = reluConvBnTrain(x, conv.weight as tf.Tensor4D, bn.weight as tf.Tensor1D, bn.bias as tf.Tensor1D, {
    stride: conv.stride,
    pad: conv.pad,
    relu,
    epsilon: BN_EPS,
    inputGradient,
  });
  return bn.recordStats(r, mode);
}

type EdgeOp = { kind: 'none' } | { kind: 'skip' } | { kind: 'pool' } | { kind: 'conv'; m: ReluConvBn };

/** NB201 `InferCell`: node_j = Σ_{i<j} op_{i→j}(node_i); edge k lives at `<prefix>.layers.<k>`. */
class InferCell {
  readonly edges: EdgeOp[];
  constructor(store: ParameterStore, buffers: BufferStore, prefix: string, cell: Nb201Cell, C: number, rng: Rng) {
    this.edges = cell.ops.map((op: Nb201Op, k): EdgeOp => {
      const p = joinName(prefix, `layers.${k}`);
      switch (op) {
        case 'none':
          return { kind: 'none' };
        case 'skip_connect':
          return { kind: 'skip' };
        case 'avg_pool_3x3':
          return { kind: 'pool' };
        case 'nor_conv_1x1':
          return { kind: 'conv', m: new ReluConvBn(store, buffers, p, C, C, 1, 1, rng) };
        case 'nor_conv_3x3':
          return { kind: 'conv', m: new ReluConvBn(store, buffers, p, C, C, 3, 1, rng) };
      }
    });
  }

  /** The training-mode forward pass of {@link apply} as program ops (same edges, same order of sums). */
  toProgram(b: ProgramBuilder, x: number): number {
    const nodes = [x];
    for (let j = 1; j <= 3; j++) {
      let sum: number | undefined;
      this.edges.forEach((e, k) => {
        if (NB201_EDGE_TARGETS[k] !== j) return;
        const src = nodes[NB201_EDGE_SOURCES[k]!]!;
        const y = match(e)
          .with({ kind: 'none' }, () => undefined)
          .with({ kind: 'skip' }, () => src)
          .with({ kind: 'pool' }, () => b.avgPool(src, 3, 1, 'same'))
          .with({ kind: 'conv' }, (c) => c.m.toProgram(b, src))
          .exhaustive();
        if (y !== undefined) sum = sum === undefined ? y : b.add(sum, y);
      });
      nodes.push(sum ?? b.zeros(x));
    }
    return nodes[3]!;
  }

  apply(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    const nodes: tf.Tensor4D[] = [x];
    // relu(node_i) computed once for all conv edges leaving node i (same values as one per edge)
    const activated = new Map<number, tf.Tensor4D>();
    const reluOf = (i: number): tf.Tensor4D => {
      let r = activated.get(i);
      if (!r) activated.set(i, (r = tf.relu(nodes[i]!)));
      return r;
    };
    for (let j = 1; j <= 3; j++) {
      let sum: tf.Tensor4D | undefined;
      this.edges.forEach((e, k) => {
        if (NB201_EDGE_TARGETS[k] !== j) return;
        const src = nodes[NB201_EDGE_SOURCES[k]]!;
        let y: tf.Tensor4D | undefined;
        switch (e.kind) {
          case 'none':
            y = undefined; // x · 0 contributes nothing (and no gradient)
            break;
          case 'skip':
            y = src;
            break;
          case 'pool':
            // AvgPool2d(3, 1, 1, count_include_pad=False): tfjs 'same' averages over valid pixels only.
            y = tf.avgPool(src, 3, 1, 'same');
            break;
          case 'conv':
            // training: the fused op applies its own ReLU (PyTorch's per-edge ReLU, same values)
            if (mode.training) y = e.m.apply(src, mode);
            else {
              mode.onReluInput?.(src);
              y = e.m.applyToActivated(reluOf(NB201_EDGE_SOURCES[k]!), mode);
            }
            break;
        }
        if (y !== undefined) sum = sum === undefined ? y : (tf.add(sum, y) as tf.Tensor4D);
      });
      nodes.push(sum ?? tf.zerosLike(x));
    }
    return nodes[3]!;
  }
}

/** NB201 `ResNetBasicblock(in, out, stride 2)`: conv_a, conv_b, shortcut AvgPool(2,2) → Conv1×1 at `downsample.1`. */
class ReductionBlock {
  readonly convA: ReluConvBn;
  readonly convB: ReluConvBn;
  readonly down: Conv;
  constructor(store: ParameterStore, buffers: BufferStore, prefix: string, inC: number, outC: number, rng: Rng) {
    this.convA = new ReluConvBn(store, buffers, joinName(prefix, 'conv_a'), inC, outC, 3, 2, rng);
    this.convB = new ReluConvBn(store, buffers, joinName(prefix, 'conv_b'), outC, outC, 3, 1, rng);
    this.down = new Conv(store, joinName(prefix, 'downsample.1'), inC, outC, 1, 1, rng);
  }
  toProgram(b: ProgramBuilder, x: number): number {
    const y = this.convB.toProgram(b, this.convA.toProgram(b, x));
    return b.add(y, b.conv(this.down, b.avgPool(x, 2, 2, 'valid')));
  }
  apply(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D {
    const y = this.convB.apply(this.convA.apply(x, mode), mode);
    const r = this.down.apply(tf.avgPool(x, 2, 2, 'valid'));
    return tf.add(y, r);
  }
}

/**
 * PyTorch's running-statistics update of one BatchNorm (r ← (1−m)·r + m·batch, the variance
 * unbiased by count/(count−1)), computed on the host in float32 (each product and sum rounded as
 * the tfjs ops r·(1−m) + batch·m would round it): a few channels per layer, where tensor ops cost
 * ~12 kernel launches per layer and step. The new values wait in the store until the variables are read.
 */
export function updateRunningStats(buffers: BufferStore, prefix: string, mean: ArrayLike<number>, variance: ArrayLike<number>, count: number): void {
  const f = Math.fround;
  const keep = f(1 - BN_MOMENTUM);
  const mom = f(BN_MOMENTUM);
  const rm = joinName(prefix, 'running_mean');
  const rv = joinName(prefix, 'running_var');
  const unbias = f(count / (count - 1));
  const oldMean = buffers.value(rm);
  const oldVar = buffers.value(rv);
  const newMean = new Float32Array(mean.length);
  const newVar = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    const v = count > 1 ? f(variance[c]! * unbias) : variance[c]!;
    newMean[c] = f(oldMean[c]! * keep) + f(mean[c]! * mom);
    newVar[c] = f(oldVar[c]! * keep) + f(v * mom);
  }
  buffers.setPending(rm, newMean);
  buffers.setPending(rv, newVar);
}

/** Apply queued running-stat updates ({@link updateRunningStats}) and dispose them. */
export function applyRunningStatUpdates(buffers: BufferStore, updates: StatUpdate[]): void {
  for (const u of updates) {
    updateRunningStats(buffers, u.prefix, u.mean.dataSync(), u.variance.dataSync(), u.count);
    u.mean.dispose();
    u.variance.dispose();
  }
  updates.length = 0;
}

/** A network's training step as a {@link TrainProgram}, with the parameters it names and its BatchNorms in op order. */
export interface NetworkTrainProgram {
  readonly program: TrainProgram;
  /** Every trainable parameter, in the store's order (the step's `params`). */
  readonly params: readonly string[];
  /** The prefix and channels of each BatchNorm (the layout of the step's statistics). */
  readonly batchNorms: readonly { readonly prefix: string; readonly channels: number }[];
}

/** Writes program ops over fresh slots (slot 0: the input batch). */
class ProgramBuilder {
  readonly ops: TrainProgramOp[] = [];
  readonly batchNorms: { prefix: string; channels: number }[] = [];
  private next = 1;

  private emit(op: (y: number) => TrainProgramOp): number {
    const y = this.next++;
    this.ops.push(op(y));
    return y;
  }
  reluConvBn(conv: Conv, bn: BatchNorm, x: number, relu: boolean, inputGradient = true): number {
    this.batchNorms.push({ prefix: bn.prefix, channels: bn.channels });
    const { weightName: filter, stride, pad } = conv;
    return this.emit((y) => ({ op: 'reluConvBn', x, y, filter, gamma: bn.weightName, beta: bn.biasName, stride, pad, relu, inputGradient }));
  }
  conv(conv: Conv, x: number): number {
    return this.emit((y) => ({ op: 'conv', x, y, filter: conv.weightName, stride: conv.stride, pad: conv.pad }));
  }
  avgPool(x: number, size: number, stride: number, padding: 'same' | 'valid'): number {
    return this.emit((y) => ({ op: 'avgPool', x, y, size, stride, padding }));
  }
  add(a: number, b: number): number {
    return this.emit((y) => ({ op: 'add', a, b, y }));
  }
  zeros(like: number): number {
    return this.emit((y) => ({ op: 'zeros', like, y }));
  }
  batchNorm(bn: BatchNorm, x: number): number {
    this.batchNorms.push({ prefix: bn.prefix, channels: bn.channels });
    return this.emit((y) => ({ op: 'batchNorm', x, y, gamma: bn.weightName, beta: bn.biasName }));
  }
  relu(x: number): number {
    return this.emit((y) => ({ op: 'relu', x, y }));
  }
  spatialMean(x: number): number {
    return this.emit((y) => ({ op: 'spatialMean', x, y }));
  }
  linear(l: Linear, x: number): number {
    return this.emit((y) => ({ op: 'linear', x, y, weight: joinName(l.name, 'weight'), ...(l.bias ? { bias: joinName(l.name, 'bias') } : {}) }));
  }
  get slots(): number {
    return this.next;
  }
}

const isRunningStat = (name: string): boolean => name.endsWith('.running_mean') || name.endsWith('.running_var');

/**
 * The NAS-Bench-201 macro network (`TinyNetwork`, spec §3.7) for any cell: stem Conv3×3+BN,
 * N cells at C, reduction to 2C, N cells, reduction to 4C, N cells, BN+ReLU, global average
 * pooling, Linear. Inputs are NHWC float32. Trainable parameters live in `store` and BatchNorm
 * running statistics in `buffers`, all under the official PyTorch `state_dict` names and shapes
 * (conv kernels [out, in, kh, kw]; they are transposed to tfjs' [kh, kw, in, out] in the forward
 * pass), so an official state_dict loads as it is.
 */
export class TinyNetwork {
  readonly config: Required<TinyNetworkConfig>;
  readonly cell: Nb201Cell;
  readonly store = new ParameterStore();
  readonly buffers = new BufferStore();
  private readonly stemConv: Conv;
  private readonly stemBn: BatchNorm;
  private readonly blocks: Array<InferCell | ReductionBlock> = [];
  private readonly lastBn: BatchNorm;
  private readonly classifier: Linear;
  private trainProgramCache?: NetworkTrainProgram;

  constructor(config: TinyNetworkConfig, rng: Rng = new Rng(0)) {
    const cfg = { inChannels: 3, ...config };
    for (const k of ['C', 'N', 'numClasses', 'inChannels'] as const) {
      const v = cfg[k];
      if (!Number.isInteger(v) || v < (k === 'N' ? 0 : 1)) {
        throw new MetaD2AException(validationError({ source: 'TinyNetwork config', field: k, expected: k === 'N' ? 'an integer ≥ 0' : 'a positive integer', got: String(v) }));
      }
    }
    this.cell = parseCell(cfg.arch);
    this.config = { ...cfg, arch: cellToString(this.cell) };
    const { C, N, numClasses, inChannels } = cfg;
    this.stemConv = new Conv(this.store, 'stem.0', inChannels, C, 3, 1, rng);
    this.stemBn = new BatchNorm(this.store, this.buffers, 'stem.1', C);
    const widths = [C, 2 * C, 4 * C];
    let idx = 0;
    for (let s = 0; s < 3; s++) {
      if (s > 0) this.blocks.push(new ReductionBlock(this.store, this.buffers, `cells.${idx++}`, widths[s - 1]!, widths[s]!, rng));
      for (let i = 0; i < N; i++) this.blocks.push(new InferCell(this.store, this.buffers, `cells.${idx++}`, this.cell, widths[s]!, rng));
    }
    this.lastBn = new BatchNorm(this.store, this.buffers, 'lastact.0', 4 * C);
    this.classifier = new Linear(this.store, 'classifier', 4 * C, numClasses, rng);
  }

  /**
   * Pooled features [B, 4C] and logits [B, classes] of an NHWC batch. In training mode x is data:
   * with the fused kernels (`native`) the stem computes no input gradient, and differentiating
   * with respect to x throws (gradients with respect to the parameters are unaffected).
   */
  forward(x: tf.Tensor4D, mode: ForwardMode = { training: false }): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    if (x.rank !== 4 || x.shape[3] !== this.config.inChannels) {
      throw new MetaD2AException(validationError({ source: 'TinyNetwork input', expected: `NHWC [B, H, W, ${this.config.inChannels}]`, got: `[${x.shape.join(', ')}]` }));
    }
    if (mode.training && mode.withoutBatchNorm)
      throw new MetaD2AException(
        validationError({
          source: 'TinyNetwork forward',
          field: 'withoutBatchNorm',
          expected: 'inference mode (training mode fuses BatchNorm into its convolutions)',
          got: 'training: true',
        }),
      );
    return tf.tidy(() => {
      // the input is data: training never differentiates with respect to it (no stem input gradient)
      let h = mode.training ? convBnTrain(this.stemConv, this.stemBn, x, false, mode, false) : this.stemBn.apply(this.stemConv.apply(x), mode);
      for (const b of this.blocks) h = b.apply(h, mode);
      h = this.lastBn.apply(h, mode);
      mode.onReluInput?.(h);
      h = tf.relu(h);
      const features = tf.mean(h, [1, 2]) as tf.Tensor2D;
      const logits = this.classifier.apply(features);
      return { features, logits };
    });
  }

  /**
   * The training step of {@link forward} (training mode) as a {@link TrainProgram}: the same ops
   * in the same order, for backends that run a whole step as one kernel (`TRAIN_STEP_KERNEL`).
   */
  trainProgram(): NetworkTrainProgram {
    if (this.trainProgramCache) return this.trainProgramCache;
    const b = new ProgramBuilder();
    let h = b.reluConvBn(this.stemConv, this.stemBn, 0, false, false);
    for (const block of this.blocks) h = block.toProgram(b, h);
    const logits = b.linear(this.classifier, b.spatialMean(b.relu(b.batchNorm(this.lastBn, h))));
    this.trainProgramCache = { program: { ops: b.ops, slots: b.slots, logits, epsilon: BN_EPS }, params: this.store.names(), batchNorms: b.batchNorms };
    return this.trainProgramCache;
  }

  /**
   * Forget the training program once training is done: a backend's plans for it (their
   * activation and gradient arrays, GBs for the full network) go with it. A later
   * {@link trainProgram} builds it again.
   */
  releaseTrainProgram(): void {
    this.trainProgramCache = undefined;
  }

  /** Apply queued running-stat updates ({@link applyRunningStatUpdates}). */
  applyStatUpdates(updates: StatUpdate[]): void {
    applyRunningStatUpdates(this.buffers, updates);
  }

  /** Number of trainable scalars (buffers excluded, as PyTorch counts parameters). */
  parameterCount(): number {
    return this.store.count();
  }

  /** Names and shapes of the full state_dict (parameters and running statistics; `num_batches_tracked` omitted). */
  stateShapes(): Record<string, number[]> {
    return { ...this.store.shapes(), ...this.buffers.shapes() };
  }

  /** The state_dict as plain arrays (PyTorch names and layouts). */
  stateDict(): Record<string, NamedArray> {
    return { ...this.store.toNamedArrays(), ...this.buffers.toNamedArrays() };
  }

  /**
   * Load a state_dict (PyTorch names and layouts). Every mismatch is reported at once; integer
   * `num_batches_tracked` entries are ignored; nothing is assigned unless everything matches.
   */
  loadStateDict(values: NamedArrays, source = 'state_dict'): void {
    const extras = Object.keys(values).filter((k) => k.endsWith('.num_batches_tracked'));
    const mismatch = checkNamedShapes(values, this.stateShapes(), source, { allowExtra: extras });
    if (mismatch) throw new MetaD2AException(mismatch);
    const params: Record<string, NamedArray> = {};
    for (const [k, v] of Object.entries(values)) if (!isRunningStat(k) && this.store.has(k)) params[k] = v;
    this.store.load(params, { source });
    for (const [k, v] of this.buffers.entries()) {
      const a = values[k]!;
      tf.tidy(() => v.assign(tf.tensor(a.data, [...a.shape], 'float32')));
    }
  }

  dispose(): void {
    this.releaseTrainProgram();
    this.store.dispose();
    this.buffers.dispose();
  }
}
