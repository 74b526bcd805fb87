/**
 * FLOPs and parameters of an OFA MobileNetV3 subnet (`ofa_mbv3_d234_e346_k357_w1.0`, spec §4.1).
 *
 * Network: first conv 3×3/2 (3→16, BN, h-swish); MBConv(16→16, k3, expand 1, ReLU, identity);
 * 5 stages (widths 24, 40, 80, 112, 160; first-block strides 2, 2, 2, 1, 2; SE in stages 2, 4, 5)
 * of d active blocks: [1×1 in→mid +BN] (skipped when mid = in and expand 1), depthwise k×k
 * (+BN), [SE mid→make_divisible(mid/4, 8)→mid, with biases], 1×1 mid→out (+BN), where
 * mid = make_divisible(round(in·e), 8); then 1×1 160→960 (+BN), global pool, 1×1 960→1280
 * (no BN, no bias), Linear(1280→classes).
 *
 * `flops` follows OFA's `count_flops_given_config` (multiply-accumulates of every conv and the
 * classifier at the subnet's feature sizes, no biases/BN/activations; reported in MFLOPs by
 * OFA). `params` counts trainable parameters including BN affine and SE / classifier biases.
 */
import { fail } from '@metad2a/core';
import { MBV3_SLOTS_PER_STAGE, MBV3_STAGES, type Mbv3Config } from './config';

const STAGE_WIDTH = [24, 40, 80, 112, 160] as const;
const STAGE_STRIDE = [2, 2, 2, 1, 2] as const;
const STAGE_SE = [false, true, false, true, true] as const;

/** OFA's `make_divisible(v, divisor)`: round to the nearest multiple, never below 90 % of v. */
export function makeDivisible(v: number, divisor = 8, minValue?: number): number {
  const min = minValue ?? divisor;
  let nv = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (nv < 0.9 * v) nv += divisor;
  return nv;
}

/** Python's round() (banker's rounding at .5). */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export interface Mbv3CostOptions {
  /** Input resolution (default 224, MetaD2A's fixed value). */
  readonly resolution?: number;
  /** Classifier outputs (default 1000). */
  readonly classes?: number;
}

export interface Mbv3Cost {
  /** Multiply-accumulates, OFA convention. */
  readonly flops: number;
  /** `flops` / 10⁶, the unit OFA and MetaD2A report. */
  readonly mflops: number;
  readonly params: number;
}

/** FLOPs and parameters of one part of the network. */
export interface Mbv3PartCost {
  readonly flops: number;
  readonly params: number;
}

/**
 * The network's cost split into parts that add up: everything outside the 5 stages (`base`) and
 * each block of a stage, which depends only on its stage, whether it is the stage's first block,
 * its kernel and its expand ratio (a stage's input width and feature size do not depend on the
 * depths). `mbv3Cost` sums them; feasibility counts (`mbv3FeasibleBound`) search over them.
 */
export interface Mbv3CostModel {
  readonly base: Mbv3PartCost;
  block(stage: number, first: boolean, kernel: number, expand: number): Mbv3PartCost;
}

export function mbv3CostModel(opts: Mbv3CostOptions = {}): Mbv3CostModel {
  const r = opts.resolution ?? 224;
  const classes = opts.classes ?? 1000;
  if (!Number.isInteger(r) || r < 1) fail('ValidationError', { source: 'mbv3Cost options', field: 'resolution', expected: 'a positive integer', got: String(r) });
  if (!Number.isInteger(classes) || classes < 1) fail('ValidationError', { source: 'mbv3Cost options', field: 'classes', expected: 'a positive integer', got: String(classes) });

  const part = (): { flops: number; params: number } => ({ flops: 0, params: 0 });
  const conv = (acc: { flops: number; params: number }, size: number, cin: number, cout: number, k: number, groups: number, extra: number): void => {
    acc.flops += (cin * cout * k * k * size * size) / groups;
    acc.params += (cin * cout * k * k) / groups + extra;
  };
  const block = (acc: { flops: number; params: number }, fsize: number, cin: number, cout: number, k: number, stride: number, expand: number, se: boolean): number => {
    const mid = makeDivisible(pyRound(cin * expand), 8);
    const out = Math.floor((fsize - 1) / stride + 1);
    if (expand !== 1) conv(acc, fsize, cin, mid, 1, 1, 2 * mid); // inverted bottleneck + BN
    conv(acc, out, mid, mid, k, mid, 2 * mid); // depthwise + BN
    if (se) {
      const seMid = makeDivisible(Math.floor(mid / 4), 8);
      conv(acc, 1, mid, seMid, 1, 1, seMid); // reduce (bias)
      conv(acc, 1, seMid, mid, 1, 1, mid); // expand (bias)
    }
    conv(acc, out, mid, cout, 1, 1, 2 * cout); // point linear + BN
    return out;
  };

  const base = part();
  let fsize = Math.floor((r + 1) / 2);
  conv(base, fsize, 3, 16, 3, 1, 32); // first conv + BN
  fsize = block(base, fsize, 16, 16, 3, 1, 1, false);
  // feature size entering each stage, and after it (fixed by the first block's stride)
  const stageIn: number[] = [];
  for (let s = 0; s < MBV3_STAGES; s++) {
    stageIn.push(fsize);
    fsize = Math.floor((fsize - 1) / STAGE_STRIDE[s]! + 1);
  }
  conv(base, fsize, 160, 960, 1, 1, 2 * 960); // final expand + BN
  conv(base, 1, 960, 1280, 1, 1, 0); // feature mix (no BN, no bias)
  conv(base, 1, 1280, classes, 1, 1, classes); // classifier (+ bias)
  return {
    base,
    block(s, first, k, e) {
      const acc = part();
      const cin = first ? (s === 0 ? 16 : STAGE_WIDTH[s - 1]!) : STAGE_WIDTH[s]!;
      const fin = first ? stageIn[s]! : Math.floor((stageIn[s]! - 1) / STAGE_STRIDE[s]! + 1);
      block(acc, fin, cin, STAGE_WIDTH[s]!, k, first ? STAGE_STRIDE[s]! : 1, e, STAGE_SE[s]!);
      return acc;
    },
  };
}

/** FLOPs and parameters of the subnet `config` at `resolution`. */
export function mbv3Cost(config: Mbv3Config, opts: Mbv3CostOptions = {}): Mbv3Cost {
  const model = mbv3CostModel(opts);
  let flops = model.base.flops;
  let params = model.base.params;
  for (let s = 0; s < MBV3_STAGES; s++) {
    for (let j = 0; j < config.d[s]!; j++) {
      const i = s * MBV3_SLOTS_PER_STAGE + j;
      const b = model.block(s, j === 0, config.ks[i]!, config.e[i]!);
      flops += b.flops;
      params += b.params;
    }
  }
  return { flops, mflops: flops / 1e6, params };
}
