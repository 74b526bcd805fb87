import type { GraphDecodeWeights } from '@metad2a/core';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** The functions of the compiled addon (`native/addon.cc`); all arrays are used in place. */
export interface NativeAddon {
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, aStride: number, bStride: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean): void;
  biasActivation(y: Float32Array, rows: number, cols: number, bias: Float32Array | null, activation: number, alpha: number): void;
  conv2d(x: Float32Array, w: Float32Array, out: Float32Array, geometry: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, out: Float32Array, geometry: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, geometry: Int32Array): void;
  depthwiseConv2d(x: Float32Array, w: Float32Array, out: Float32Array, geometry: Int32Array): void;
  depthwiseBackpropInput(dy: Float32Array, w: Float32Array, out: Float32Array, geometry: Int32Array): void;
  depthwiseBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, geometry: Int32Array): void;
  avgPool(x: Float32Array, out: Float32Array, geometry: Int32Array): void;
  avgPoolGrad(dy: Float32Array, out: Float32Array, geometry: Int32Array): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, geometry: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, k1: number, r: number, k2: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /** Fused SetPool inference (native/setpool.cc); weights in `SET_POOL_PROJECTED_WEIGHTS` order; geometry [heads, dim, numOutputs, outDim, perSet, sets, capacity, rows]. */
  setPoolProjected(q: Float32Array, k: Float32Array, v: Float32Array, slots: Int32Array, weights: Float32Array[], geometry: number[], out: Float32Array): void;
  /** Batched graph decoding (native/graph-decode.cc); geometry [nvt, maxN, startType, endType, batch, stochastic 0/1]. */
  decodeGraphs(weights: GraphDecodeWeights, geometry: number[], z: Float32Array, rngState: Uint32Array, types: Int32Array, edges: Int32Array, edgeCounts: Int32Array, typeLogits: Float32Array, edgeProbs: Float32Array): void;
  sgdUpdate(p: Float32Array, buf: Float32Array, g: Float32Array, pOut: Float32Array, bufOut: Float32Array, scalars: Float32Array, nesterov: boolean): void;
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, m: number, c: number, epsilon: number): void;
  batchNormTrainGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, variance: Float32Array, dmean: Float32Array | null, dvariance: Float32Array | null, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, m: number, c: number, epsilon: number): void;
  /** Fused ReLU → conv (filter [Co, C, kh, kw]) → training BatchNorm (native/relu_conv_bn.cc). */
  reluConvBnTrain(x: Float32Array, filter: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, activated: Float32Array, conv: Float32Array, geometry: Int32Array, relu: boolean, epsilon: number): void;
  reluConvBnTrainGrad(dy: Float32Array, dmean: Float32Array | null, dvariance: Float32Array | null, activated: Float32Array, conv: Float32Array, filter: Float32Array, gamma: Float32Array, mean: Float32Array, variance: Float32Array, dx: Float32Array, dfilter: Float32Array, dgamma: Float32Array, dbeta: Float32Array, geometry: Int32Array, relu: boolean, epsilon: number): void;
  /** `dst[dstOffset + Σ i·dstStride] = src[srcOffset + Σ i·srcStride]`; geometry `[rank, shape…, srcStride…, dstStride…, srcOffset, dstOffset]`. */
  stridedCopy(src: Float32Array, dst: Float32Array, geometry: Int32Array): void;
  /** One fused Adam step into pOut/mOut/vOut; scalars `[β1, 1−β1, β2, 1−β2, √bc2, ε, stepSize]` (float32). */
  adamUpdate(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, scalars: Float32Array): void;
  info(): { gemm: string; threads: number; mallocTuned: boolean };
  setThreads(n: number): number;
}

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

/** The package root: this file lives in `src/` (sources) or `dist/` (build), one level below it. */
function packageRoot(): string {
  return path.resolve(__dirname, '..');
}

/** Where the addon is looked for: `METAD2A_KERNELS_ADDON` if set, else `build/Release/metad2a_kernels.node`. */
export function addonPath(): string {
  return process.env.METAD2A_KERNELS_ADDON || path.join(packageRoot(), 'build', 'Release', 'metad2a_kernels.node');
}

let cached: AddonLoad | undefined;

/** Load the compiled addon once; never throws (the reason says how to build it). */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    cached = {
      ok: false,
      reason: `native addon not built (${file} missing; run \`npm run build:addon -w @metad2a/tfjs-kernels\`, needs g++)`,
    };
    return cached;
  }
  try {
    const req = createRequire(path.join(packageRoot(), 'package.json'));
    const addon = req(file) as NativeAddon;
    if (typeof addon.matmul !== 'function') throw new Error('not the metad2a kernels addon');
    cached = { ok: true, addon, path: file };
  } catch (err) {
    cached = { ok: false, reason: `native addon at ${file} failed to load: ${String((err as Error).message ?? err).split('\n')[0]}` };
  }
  return cached;
}
