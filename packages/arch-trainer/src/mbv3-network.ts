import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, validationError, type NamedArray } from '@metad2a/core';
import { ParameterStore, joinName, uniformInit } from '@metad2a/layers';
import { MBV3_SLOTS_PER_STAGE, MBV3_STAGES, isValidMbv3, encodeMbv3, makeDivisible, type Mbv3Config } from '@metad2a/search-spaces';
import { BufferStore } from './buffers';
import { BatchNorm, Conv, applyRunningStatUpdates, type StatUpdate } from './network';

/**
 * OFA MobileNetV3 (`ofa_mbv3_d234_e346_k357_w1.0`) constants: widths of the stem, the first
 * block and the 5 stages, the final expand and feature-mix widths, stage strides, activations and
 * squeeze-and-excitation (OFA's `OFAMobileNetV3`: `base_stage_width`, `stride_stages`,
 * `act_stages`, `se_stages`).
 */
export const MBV3_NETWORK = Object.freeze({
  stem: 16,
  stageWidths: Object.freeze([24, 40, 80, 112, 160]),
  stageStrides: Object.freeze([2, 2, 2, 1, 2]),
  stageActs: Object.freeze(['relu', 'relu', 'h_swish', 'h_swish', 'h_swish'] as const),
  stageSe: Object.freeze([false, true, false, true, true]),
  finalExpand: 960,
  featureMix: 1280,
});

export interface Mbv3NetworkConfig {
  /** The subnet: kernel and expand ratio of each of the 20 slots, depth of each of the 5 stages. */
  readonly config: Mbv3Config;
  readonly numClasses: number;
  /** Every width × this, rounded to a multiple of 8 as OFA does (1: the full network; < 1: reduced for CPU training). */
  readonly widthMult?: number;
  /** Input channels (3; 1 for gray images kept gray). */
  readonly inChannels?: number;
}

/** How a forward pass runs (training: batch statistics, running-stat updates queued as in {@link TinyNetwork}). */
export interface Mbv3ForwardMode {
  readonly training: boolean;
  readonly statUpdates?: StatUpdate[];
  /** Add the multiply-accumulates of every convolution and the classifier, from the real tensors' shapes (OFA's FLOPs convention: per image, SE at 1×1). */
  readonly macs?: { total: number };
}

type Act = 'relu' | 'h_swish';

const hSwish = <T extends tf.Tensor>(x: T): T => tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6) as T;
const hSigmoid = (x: tf.Tensor2D): tf.Tensor2D => tf.div(tf.relu6(tf.add(x, 3)), 6);
const activate = (x: tf.Tensor4D, act: Act): tf.Tensor4D => (act === 'relu' ? tf.relu(x) : hSwish(x));

/** MACs of a convolution from its output tensor: cin·cout·k²·H·W / groups (per image). */
function countConv(mode: Mbv3ForwardMode, y: tf.Tensor4D, cin: number, k: number, groups: number): void {
  if (mode.macs) mode.macs.total += (cin * y.shape[3] * k * k * y.shape[1] * y.shape[2]) / groups;
}

/** `ConvLayer` of OFA: conv (no bias) → BN → activation, names `<prefix>.conv.weight`, `<prefix>.bn.*`. */
class ConvBnAct {
  readonly conv: Conv;
  readonly bn: BatchNorm;
  constructor(
    store: ParameterStore,
    buffers: BufferStore,
    prefix: string,
    inC: number,
    outC: number,
    k: number,
    stride: number,
    readonly act: Act | undefined,
    rng: Rng,
  ) {
    this.conv = new Conv(store, joinName(prefix, 'conv'), inC, outC, k, stride, rng);
    this.bn = new BatchNorm(store, buffers, joinName(prefix, 'bn'), outC);
  }
  apply(x: tf.Tensor4D, mode: Mbv3ForwardMode): tf.Tensor4D {
    const c = this.conv.apply(x);
    countConv(mode, c, this.conv.inC, this.conv.k, 1);
    const y = this.bn.apply(c, mode);
    return this.act ? activate(y, this.act) : y;
  }
}

/** Depthwise k×k conv (PyTorch layout [C, 1, k, k], padding k//2 on every side) → BN → activation. */
class DepthwiseBnAct {
  readonly weight: tf.Variable;
  readonly bn: BatchNorm;
  constructor(
    store: ParameterStore,
    buffers: BufferStore,
    prefix: string,
    readonly channels: number,
    readonly k: number,
    readonly stride: number,
    readonly act: Act,
    rng: Rng,
  ) {
    this.weight = store.add(joinName(prefix, 'conv.weight'), [channels, 1, k, k], uniformInit(rng, channels * k * k, 1 / k));
    this.bn = new BatchNorm(store, buffers, joinName(prefix, 'bn'), channels);
  }
  apply(x: tf.Tensor4D, mode: Mbv3ForwardMode): tf.Tensor4D {
    const filter = tf.transpose(this.weight, [2, 3, 0, 1]) as tf.Tensor4D;
    const c = tf.depthwiseConv2d(x, filter, this.stride, (this.k - 1) / 2);
    countConv(mode, c, this.channels, this.k, this.channels);
    return activate(this.bn.apply(c, mode), this.act);
  }
}

/** OFA's `SEModule`: global mean → 1×1 reduce (bias) → ReLU → 1×1 expand (bias) → h_sigmoid → scale. */
class SqueezeExcite {
  readonly reduceW: tf.Variable;
  readonly reduceB: tf.Variable;
  readonly expandW: tf.Variable;
  readonly expandB: tf.Variable;
  readonly mid: number;
  constructor(
    store: ParameterStore,
    prefix: string,
    readonly channels: number,
    rng: Rng,
  ) {
    this.mid = makeDivisible(Math.floor(channels / 4), 8);
    const b1 = 1 / Math.sqrt(channels);
    const b2 = 1 / Math.sqrt(this.mid);
    this.reduceW = store.add(joinName(prefix, 'fc.reduce.weight'), [this.mid, channels, 1, 1], uniformInit(rng, this.mid * channels, b1));
    this.reduceB = store.add(joinName(prefix, 'fc.reduce.bias'), [this.mid], uniformInit(rng, this.mid, b1));
    this.expandW = store.add(joinName(prefix, 'fc.expand.weight'), [channels, this.mid, 1, 1], uniformInit(rng, channels * this.mid, b2));
    this.expandB = store.add(joinName(prefix, 'fc.expand.bias'), [channels], uniformInit(rng, channels, b2));
  }
  apply(x: tf.Tensor4D, mode: Mbv3ForwardMode): tf.Tensor4D {
    const [B, , , C] = x.shape;
    const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
    const h = tf.relu(tf.add(tf.matMul(pooled, tf.reshape(this.reduceW, [this.mid, C]), false, true), this.reduceB)) as tf.Tensor2D;
    const g = hSigmoid(tf.add(tf.matMul(h, tf.reshape(this.expandW, [C, this.mid]), false, true), this.expandB) as tf.Tensor2D);
    if (mode.macs) mode.macs.total += 2 * C * this.mid;
    return tf.mul(x, tf.reshape(g, [B, 1, 1, C]));
  }
}

/** OFA's `MBConvLayer` (+ residual where stride 1 and widths match): [1×1 expand → BN → act] → depthwise → BN → act → [SE] → 1×1 → BN. */
class MBConvBlock {
  readonly expand: ConvBnAct | undefined;
  readonly depthwise: DepthwiseBnAct;
  readonly se: SqueezeExcite | undefined;
  readonly project: ConvBnAct;
  readonly residual: boolean;
  constructor(
    store: ParameterStore,
    buffers: BufferStore,
    prefix: string,
    inC: number,
    outC: number,
    k: number,
    stride: number,
    expandRatio: number,
    act: Act,
    se: boolean,
    rng: Rng,
  ) {
    const mid = makeDivisible(Math.round(inC * expandRatio), 8);
    const p = joinName(prefix, 'conv');
    this.expand = expandRatio === 1 ? undefined : new ConvBnAct(store, buffers, joinName(p, 'inverted_bottleneck'), inC, mid, 1, 1, act, rng);
    this.depthwise = new DepthwiseBnAct(store, buffers, joinName(p, 'depth_conv'), mid, k, stride, act, rng);
    this.se = se ? new SqueezeExcite(store, joinName(p, 'depth_conv.se'), mid, rng) : undefined;
    this.project = new ConvBnAct(store, buffers, joinName(p, 'point_linear'), mid, outC, 1, 1, undefined, rng);
    this.residual = stride === 1 && inC === outC;
  }
  apply(x: tf.Tensor4D, mode: Mbv3ForwardMode): tf.Tensor4D {
    let h = this.expand ? this.expand.apply(x, mode) : x;
    h = this.depthwise.apply(h, mode);
    if (this.se) h = this.se.apply(h, mode);
    h = this.project.apply(h, mode);
    return this.residual ? tf.add(h, x) : h;
  }
}

/**
 * An OFA MobileNetV3 subnet in tfjs: stem 3×3/2 conv (h_swish), the fixed first block (3×3,
 * expand 1, ReLU, residual), the active blocks of the 5 stages (kernel 3/5/7, expand 3/4/6; stage
 * widths 24/40/80/112/160, strides 2/2/2/1/2, ReLU in stages 1–2 and h_swish after, SE in stages
 * 2, 4, 5; the first block of a stage strides), final 1×1 expand to 960 (BN, h_swish), global
 * average pooling, 1×1 feature mix to 1280 (no BN, no bias, h_swish), linear classifier. Any
 * input size; `widthMult` < 1 narrows every layer for CPU training. State names follow OFA's
 * `get_active_subnet` network (`first_conv`, `blocks.<i>.conv.{inverted_bottleneck,depth_conv,
 * point_linear}`, `final_expand_layer`, `feature_mix_layer`, `classifier.linear`); kernels in
 * PyTorch layout. Differences from OFA's training network: PyTorch's default initialisation and no
 * classifier dropout (deterministic reduced training). At widthMult 1 and 1,000 classes its
 * parameter count and its MACs at 224 px equal `mbv3Cost` (tested).
 */
export class Mbv3Network {
  readonly config: Required<Mbv3NetworkConfig>;
  readonly store = new ParameterStore();
  readonly buffers = new BufferStore();
  private readonly firstConv: ConvBnAct;
  private readonly blocks: MBConvBlock[] = [];
  private readonly finalExpand: ConvBnAct;
  private readonly featureMix: tf.Variable;
  private readonly classifierW: tf.Variable;
  private readonly classifierB: tf.Variable;

  constructor(config: Mbv3NetworkConfig, rng: Rng = new Rng(0)) {
    const cfg = { widthMult: 1, inChannels: 3, ...config };
    const src = 'Mbv3Network config';
    if (!isValidMbv3(encodeMbv3(cfg.config)))
      throw new MetaD2AException(validationError({ source: src, field: 'config', expected: 'a valid OFA-MBv3 subnet', got: JSON.stringify(cfg.config) }));
    for (const k of ['numClasses', 'inChannels'] as const) {
      if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new MetaD2AException(validationError({ source: src, field: k, expected: 'a positive integer', got: String(cfg[k]) }));
    }
    if (!(cfg.widthMult > 0 && cfg.widthMult <= 1))
      throw new MetaD2AException(validationError({ source: src, field: 'widthMult', expected: 'a number in (0, 1]', got: String(cfg.widthMult) }));
    this.config = cfg;
    const w = (c: number): number => (cfg.widthMult === 1 ? c : makeDivisible(c * cfg.widthMult, 8));
    const N = MBV3_NETWORK;
    const stem = w(N.stem);
    this.firstConv = new ConvBnAct(this.store, this.buffers, 'first_conv', cfg.inChannels, stem, 3, 2, 'h_swish', rng);
    this.blocks.push(new MBConvBlock(this.store, this.buffers, 'blocks.0', stem, stem, 3, 1, 1, 'relu', false, rng));
    let inC = stem;
    for (let s = 0; s < MBV3_STAGES; s++) {
      const outC = w(N.stageWidths[s]!);
      for (let j = 0; j < cfg.config.d[s]!; j++) {
        const slot = s * MBV3_SLOTS_PER_STAGE + j;
        const prefix = `blocks.${this.blocks.length}`;
        this.blocks.push(
          new MBConvBlock(
            this.store,
            this.buffers,
            prefix,
            inC,
            outC,
            cfg.config.ks[slot]!,
            j === 0 ? N.stageStrides[s]! : 1,
            cfg.config.e[slot]!,
            N.stageActs[s]!,
            N.stageSe[s]!,
            rng,
          ),
        );
        inC = outC;
      }
    }
    const fe = w(N.finalExpand);
    const fm = w(N.featureMix);
    this.finalExpand = new ConvBnAct(this.store, this.buffers, 'final_expand_layer', inC, fe, 1, 1, 'h_swish', rng);
    this.featureMix = this.store.add('feature_mix_layer.conv.weight', [fm, fe, 1, 1], uniformInit(rng, fm * fe, 1 / Math.sqrt(fe)));
    this.classifierW = this.store.add('classifier.linear.weight', [cfg.numClasses, fm], uniformInit(rng, cfg.numClasses * fm, 1 / Math.sqrt(fm)));
    this.classifierB = this.store.add('classifier.linear.bias', [cfg.numClasses], uniformInit(rng, cfg.numClasses, 1 / Math.sqrt(fm)));
  }

  /** Pooled, feature-mixed features [B, 1280·w] and logits [B, classes] of an NHWC batch. */
  forward(x: tf.Tensor4D, mode: Mbv3ForwardMode = { training: false }): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    if (x.rank !== 4 || x.shape[3] !== this.config.inChannels) {
      throw new MetaD2AException(validationError({ source: 'Mbv3Network input', expected: `NHWC [B, H, W, ${this.config.inChannels}]`, got: `[${x.shape.join(', ')}]` }));
    }
    return tf.tidy(() => {
      let h = this.firstConv.apply(x, mode);
      for (const b of this.blocks) h = b.apply(h, mode);
      h = this.finalExpand.apply(h, mode);
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      const [fm, fe] = this.featureMix.shape as [number, number];
      const features = hSwish(tf.matMul(pooled, tf.reshape(this.featureMix, [fm, fe]), false, true) as tf.Tensor2D);
      const logits = tf.add(tf.matMul(features, this.classifierW, false, true), this.classifierB) as tf.Tensor2D;
      if (mode.macs) mode.macs.total += fe * fm + fm * this.config.numClasses;
      return { features, logits };
    });
  }

  /** Multiply-accumulates of one image at `resolution` px, counted in a real forward pass (OFA's FLOPs convention). */
  macs(resolution: number): number {
    const counter = { total: 0 };
    tf.tidy(() => {
      this.forward(tf.zeros([1, resolution, resolution, this.config.inChannels]) as tf.Tensor4D, { training: false, macs: counter });
    });
    return counter.total;
  }

  /** Active blocks including the fixed first one. */
  get blockCount(): number {
    return this.blocks.length;
  }

  applyStatUpdates(updates: StatUpdate[]): void {
    applyRunningStatUpdates(this.buffers, updates);
  }

  /** Number of trainable scalars (BatchNorm running statistics excluded, as PyTorch counts parameters). */
  parameterCount(): number {
    return this.store.count();
  }

  /** The state_dict as plain arrays (OFA names, PyTorch layouts). */
  stateDict(): Record<string, NamedArray> {
    return { ...this.store.toNamedArrays(), ...this.buffers.toNamedArrays() };
  }

  dispose(): void {
    this.store.dispose();
    this.buffers.dispose();
  }
}
