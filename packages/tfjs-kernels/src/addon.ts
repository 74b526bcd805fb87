import type { GraphDecodeWeights } from '@metad2a/core';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** The functions of the compiled addon (`native/addon.cc`); all arrays are used in place. */
export interface NativeAddon {
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    aStride: number,
    bStride: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
  ): void;
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
  /** tfjs ClipByValue, bit-identical to the cpu kernel (bounds compared in double). */
  clip(x: Float32Array, out: Float32Array, lo: number, hi: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, k1: number, r: number, k2: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /** Fused SetPool inference (native/setpool.cc); weights in `SET_POOL_PROJECTED_WEIGHTS` order; geometry [heads, dim, numOutputs, outDim, perSet, sets, capacity, rows]. */
  setPoolProjected(q: Float32Array, k: Float32Array, v: Float32Array, slots: Int32Array, weights: Float32Array[], geometry: number[], out: Float32Array): void;
  /** Batched graph decoding (native/graph-decode.cc); geometry [nvt, maxN, startType, endType, batch, stochastic 0/1]. */
  decodeGraphs(
    weights: GraphDecodeWeights,
    geometry: number[],
    z: Float32Array,
    rngState: Uint32Array,
    types: Int32Array,
    edges: Int32Array,
    edgeCounts: Int32Array,
    typeLogits: Float32Array,
    edgeProbs: Float32Array,
  ): void;
  sgdUpdate(p: Float32Array, buf: Float32Array, g: Float32Array, pOut: Float32Array, bufOut: Float32Array, scalars: Float32Array, nesterov: boolean): void;
  batchNormTrain(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    m: number,
    c: number,
    epsilon: number,
  ): void;
  /** tfjs FusedBatchNorm (inference) over the last axis, bit-identical to the cpu kernel; null offset / scale: 0 / 1. */
  batchNormInfer(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    y: Float32Array,
    m: number,
    c: number,
    epsilon: number,
  ): void;
  batchNormTrainGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dmean: Float32Array | null,
    dvariance: Float32Array | null,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    m: number,
    c: number,
    epsilon: number,
  ): void;
  /** Fused ReLU → conv (filter [Co, C, kh, kw]) → training BatchNorm (native/relu_conv_bn.cc). */
  reluConvBnTrain(
    x: Float32Array,
    filter: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    activated: Float32Array,
    conv: Float32Array,
    geometry: Int32Array,
    relu: boolean,
    epsilon: number,
  ): void;
  /** True when reluConvBnTrainGrad takes a null dx (no input gradient); absent in older builds. */
  readonly reluConvBnTrainGradOptionalDx?: boolean;
  reluConvBnTrainGrad(
    dy: Float32Array,
    dmean: Float32Array | null,
    dvariance: Float32Array | null,
    activated: Float32Array,
    conv: Float32Array,
    filter: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dx: Float32Array | null,
    dfilter: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    geometry: Int32Array,
    relu: boolean,
    epsilon: number,
  ): void;
  /** `dst[dstOffset + Σ i·dstStride] = src[srcOffset + Σ i·srcStride]`; geometry `[rank, shape…, srcStride…, dstStride…, srcOffset, dstOffset]`. */
  stridedCopy(src: Float32Array, dst: Float32Array, geometry: Int32Array): void;
  /** One fused Adam step into pOut/mOut/vOut; scalars `[β1, 1−β1, β2, 1−β2, √bc2, ε, stepSize]` (float32). */
  adamUpdate(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, scalars: Float32Array): void;
  /** `conv8x8`: 8 → 8 channel convolutions run their own AVX-512 kernel (conv_direct.cc). */
  info(): { gemm: string; threads: number; spinMicroseconds: number; conv8x8: boolean; mallocTuned: boolean };
  setThreads(n: number): number;
}

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

/** The package root: this file lives in `src/` (sources) or `dist/` (build), one level below it. */
function packageRoot(): string {
  return path.resolve(__dirname, '..');
}

/** A locally compiled, machine-tuned addon (`npm run build:addon`): loaded before the prebuilds. */
export function localAddonPath(): string {
  return path.join(packageRoot(), 'build', 'Release', 'metad2a_kernels.node');
}

/** Instruction-set levels of the prebuilt binaries, best first, with the CPU flags each needs. */
export const PREBUILD_LEVELS: Readonly<Record<string, readonly { level: string; cpuFlags: readonly string[] }[]>> = {
  x64: [
    { level: 'x86-64-v4', cpuFlags: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl', 'avx2', 'fma', 'bmi1', 'bmi2', 'f16c', 'movbe'] },
    { level: 'x86-64-v3', cpuFlags: ['avx2', 'fma', 'bmi1', 'bmi2', 'f16c', 'movbe', 'avx'] },
    { level: 'x86-64', cpuFlags: [] },
  ],
  arm64: [{ level: 'armv8-a', cpuFlags: [] }],
};

/** The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere, which selects the baseline). */
export function cpuFlags(): ReadonlySet<string> {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info);
    return new Set((line?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

/** The prebuilt binaries this CPU can run, best first. */
export function prebuiltCandidates(flags: ReadonlySet<string> = cpuFlags(), platform = process.platform, arch = process.arch): { level: string; file: string }[] {
  const dir = path.join(packageRoot(), 'prebuilds', `${platform}-${arch}`);
  return (PREBUILD_LEVELS[arch] ?? [])
    .filter((l) => l.cpuFlags.every((f) => flags.has(f)))
    .map((l) => ({ level: l.level, file: path.join(dir, `metad2a_kernels.${l.level}.node`) }))
    .filter((c) => fs.existsSync(c.file));
}

/**
 * The files tried in order: `METAD2A_KERNELS_ADDON` alone if set; else the local machine-tuned
 * build if present, then the prebuilt binaries this CPU supports, best first.
 */
export function addonCandidates(): string[] {
  if (process.env.METAD2A_KERNELS_ADDON) return [process.env.METAD2A_KERNELS_ADDON];
  const local = localAddonPath();
  return [...(fs.existsSync(local) ? [local] : []), ...prebuiltCandidates().map((c) => c.file)];
}

/** The file the addon was (or would be) loaded from. */
export function addonPath(): string {
  const loaded = loadAddon();
  return loaded.ok ? loaded.path : (addonCandidates()[0] ?? localAddonPath());
}

let cached: AddonLoad | undefined;

/** Load one addon file; never throws. */
export function loadAddonFile(file: string): AddonLoad {
  try {
    const req = createRequire(path.join(packageRoot(), 'package.json'));
    const addon = req(file) as NativeAddon;
    if (typeof addon.matmul !== 'function') throw new Error('not the metad2a kernels addon');
    return { ok: true, addon, path: file };
  } catch (err) {
    return { ok: false, reason: `${file} failed to load: ${String((err as Error).message ?? err).split('\n')[0]}` };
  }
}

/** Load the addon once (the first candidate that loads); never throws (the reason says what to do). */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const candidates = addonCandidates();
  const failures: string[] = [];
  for (const file of candidates) {
    const r = loadAddonFile(file);
    if (r.ok) return (cached = r);
    failures.push(r.reason);
  }
  const where = `${process.platform}-${process.arch}`;
  cached = {
    ok: false,
    reason: candidates.length
      ? `native addon failed to load (${failures.join('; ')})`
      : `no native addon for ${where} (no prebuilt binary for this platform/CPU and none compiled; run \`npm run prebuild -w @metad2a/tfjs-kernels\` or \`npm rebuild @metad2a/tfjs-kernels\`, needs g++ >= 11)`,
  };
  return cached;
}
