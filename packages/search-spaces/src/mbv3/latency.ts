/**
 * MBv3 latency: a ridge-regression model per GPU × batch setting, fitted to HELP's 5,000 OFA
 * subnets whose latency was measured on 12 settings (`data/ofa-latency.bin.gz`, see SOURCE.md).
 *
 * Features of a subnet at resolution r (s = (r/224)²): 1, s, and for each of the 90 block types
 * (stage × first-of-stage or not × kernel × expand) the number of such active blocks n_t and
 * n_t·s — a per-block cost that has a fixed part (kernel launches, which dominate at batch 1) and a
 * part that scales with the feature-map area. At a fixed resolution the prediction is a sum of a
 * base and one term per active block, the same split as {@link mbv3CostModel}, so feasibility
 * bounds and the fastest subnet are exact for the model.
 *
 * The 5,000 configs are split once with a seeded permutation (seed {@link MBV3_LATENCY_SPLIT_SEED}):
 * 1,000 held out, 4,000 to fit. The model used by the search is the one fitted on the 4,000, so
 * the held-out errors are those of the model the search uses. λ = 1 was chosen on a validation
 * carve of the training part (800 of the 4,000), not on the held-out 1,000.
 */
import { Rng, fail, ridgeSolve, spearman, type LatencyDevice, type SpaceLatency } from '@metad2a/core';
import { PackedArrays, dataFile } from '../packed-arrays';
import { MBV3_EXPANDS, MBV3_KERNELS, MBV3_SLOTS_PER_STAGE, MBV3_STAGES, type Mbv3Config } from './config';

export const MBV3_LATENCY_SPLIT_SEED = 'mbv3-latency-split';
/** Held-out configs of the 5,000. */
export const MBV3_LATENCY_HELD_OUT = 1000;
/** Ridge penalty (on every weight, intercept included). */
export const MBV3_LATENCY_RIDGE = 1;
/** Resolutions the measurements cover (HELP: 128..224 in steps of 4); the model is not asked outside. */
export const MBV3_LATENCY_RESOLUTIONS = Object.freeze({ min: 128, max: 224 });

const BLOCK_TYPES = MBV3_STAGES * 2 * MBV3_KERNELS.length * MBV3_EXPANDS.length; // 90
const FEATURES = 2 + 2 * BLOCK_TYPES; // 182
const SOURCE = 'MBv3 latency model';

function blockType(stage: number, first: boolean, kernel: number, expand: number): number {
  const k = MBV3_KERNELS.indexOf(kernel as 3 | 5 | 7);
  const e = MBV3_EXPANDS.indexOf(expand as 3 | 4 | 6);
  if (k < 0 || e < 0) fail('ValidationError', { source: SOURCE, field: 'block', expected: 'kernel 3/5/7 and expand 3/4/6', got: `k${kernel} e${expand}` });
  return ((stage * 2 + (first ? 0 : 1)) * MBV3_KERNELS.length + k) * MBV3_EXPANDS.length + e;
}

function checkResolution(r: number): number {
  const { min, max } = MBV3_LATENCY_RESOLUTIONS;
  if (!Number.isInteger(r) || r < min || r > max)
    fail('ValidationError', { source: SOURCE, field: 'resolution', expected: `an integer in ${min}..${max} (the measured range)`, got: String(r) });
  return r;
}

/** The feature vector of a subnet (ks, e per slot; d per stage) at resolution r, written into `out`. */
function features(ks: ArrayLike<number>, e: ArrayLike<number>, d: ArrayLike<number>, r: number, out: Float64Array): void {
  out.fill(0);
  const s = (r / 224) ** 2;
  out[0] = 1;
  out[1] = s;
  for (let st = 0; st < MBV3_STAGES; st++) {
    for (let j = 0; j < d[st]!; j++) {
      const i = st * MBV3_SLOTS_PER_STAGE + j;
      const t = blockType(st, j === 0, ks[i]!, e[i]!);
      out[2 + t]! += 1;
      out[2 + BLOCK_TYPES + t]! += s;
    }
  }
}

/** Held-out error of one device's model. */
export interface Mbv3LatencyError {
  readonly device: string;
  /** Mean absolute error, ms. */
  readonly maeMs: number;
  /** Mean of |predicted − measured| / measured. */
  readonly meanRelativeError: number;
  /** Spearman rank correlation of predicted and measured. */
  readonly spearman: number;
  /** Range of the measured held-out latencies, ms. */
  readonly measuredMinMs: number;
  readonly measuredMaxMs: number;
}

/** The prediction at one resolution split into a base and per-block terms (ms) that add up. */
export interface Mbv3LatencyParts {
  readonly base: number;
  block(stage: number, first: boolean, kernel: number, expand: number): number;
}

export class Mbv3LatencyModel {
  /** Device settings, e.g. `titan_rtx_32` (GPU_batch). */
  readonly devices: readonly string[];
  /** Configs fitted on and held out. */
  readonly split: { readonly train: number; readonly heldOut: number; readonly seed: string };
  /** Held-out error per device, same order as {@link devices}. */
  readonly heldOut: readonly Mbv3LatencyError[];
  private readonly weights = new Map<string, Float64Array>();

  /** Fit on `data` (the packed arrays of `ofa-latency.bin.gz`). */
  constructor(data: PackedArrays) {
    const ks = data.values('ks');
    const e = data.values('e');
    const d = data.values('d');
    const r = data.values('r');
    const n = r.length;
    if (ks.length !== 20 * n || e.length !== 20 * n || d.length !== 5 * n)
      fail('ValidationError', { source: data.source, field: 'ks/e/d', expected: `20/20/5 values per config for ${n} configs`, got: `${ks.length}/${e.length}/${d.length}` });
    this.devices = Object.freeze(data.names().filter((x) => !['ks', 'e', 'd', 'r'].includes(x)));
    const X = new Float64Array(n * FEATURES);
    const row = new Float64Array(FEATURES);
    for (let i = 0; i < n; i++) {
      features(ks.subarray(20 * i, 20 * i + 20), e.subarray(20 * i, 20 * i + 20), d.subarray(5 * i, 5 * i + 5), r[i]!, row);
      X.set(row, i * FEATURES);
    }
    const perm = new Rng(MBV3_LATENCY_SPLIT_SEED).permutation(n);
    const test = perm.slice(0, MBV3_LATENCY_HELD_OUT);
    const train = perm.slice(MBV3_LATENCY_HELD_OUT);
    this.split = Object.freeze({ train: train.length, heldOut: test.length, seed: MBV3_LATENCY_SPLIT_SEED });
    // XᵀX of the training rows (shared by every device)
    const ata = new Float64Array(FEATURES * FEATURES);
    const nz = new Int32Array(FEATURES); // a row's non-zero features (≤ 42 of 182)
    for (const i of train) {
      const o = i * FEATURES;
      let m = 0;
      for (let a = 0; a < FEATURES; a++) if (X[o + a] !== 0) nz[m++] = a;
      for (let p = 0; p < m; p++) {
        const a = nz[p]!;
        const xa = X[o + a]!;
        for (let q = 0; q <= p; q++) ata[a * FEATURES + nz[q]!]! += xa * X[o + nz[q]!]!;
      }
    }
    for (let a = 0; a < FEATURES; a++) for (let b = 0; b < a; b++) ata[b * FEATURES + a] = ata[a * FEATURES + b]!;
    const errors: Mbv3LatencyError[] = [];
    for (const device of this.devices) {
      const y = data.float32(device);
      const atb = new Float64Array(FEATURES);
      for (const i of train) for (let a = 0; a < FEATURES; a++) atb[a]! += X[i * FEATURES + a]! * y[i]!;
      const w = ridgeSolve(ata, atb, FEATURES, MBV3_LATENCY_RIDGE);
      this.weights.set(device, w);
      const pred = test.map((i) => dot(w, X, i * FEATURES));
      const meas = test.map((i) => y[i]!);
      errors.push(
        Object.freeze({
          device,
          maeMs: mean(pred.map((p, j) => Math.abs(p - meas[j]!))),
          meanRelativeError: mean(pred.map((p, j) => Math.abs(p - meas[j]!) / meas[j]!)),
          spearman: spearman(pred, meas),
          measuredMinMs: Math.min(...meas),
          measuredMaxMs: Math.max(...meas),
        }),
      );
    }
    this.heldOut = Object.freeze(errors);
  }

  /** Predicted latency in ms of `config` on `device` at `resolution` (default 224). */
  predict(config: Mbv3Config, device: string, resolution = 224): number {
    const w = this.weightsOf(device);
    const row = new Float64Array(FEATURES);
    features(config.ks, config.e, config.d, checkResolution(resolution), row);
    return dot(w, row, 0);
  }

  /** The prediction at `resolution` as a base plus one term per active block. */
  parts(device: string, resolution = 224): Mbv3LatencyParts {
    const w = this.weightsOf(device);
    const s = (checkResolution(resolution) / 224) ** 2;
    return {
      base: w[0]! + w[1]! * s,
      block: (stage, first, kernel, expand) => {
        const t = blockType(stage, first, kernel, expand);
        return w[2 + t]! + w[2 + BLOCK_TYPES + t]! * s;
      },
    };
  }

  private weightsOf(device: string): Float64Array {
    const w = this.weights.get(device);
    if (!w) return fail('NotFound', { source: SOURCE, field: 'device', expected: `one of ${this.devices.join(', ')}`, got: JSON.stringify(device) });
    return w;
  }
}

const mean = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0) / a.length;

function dot(w: Float64Array, x: Float64Array, offset: number): number {
  let s = 0;
  for (let a = 0; a < w.length; a++) s += w[a]! * x[offset + a]!;
  return s;
}

let shared: Mbv3LatencyModel | undefined;

/** The model fitted to the shipped HELP measurements (fitted once per process, on first use: ≈ 0.1 s). */
export function mbv3LatencyModel(): Mbv3LatencyModel {
  shared ??= new Mbv3LatencyModel(PackedArrays.readGzip(dataFile('ofa-latency.bin.gz')));
  return shared;
}

/** Fastest and slowest predicted latency over the whole space at `parts`' resolution (exact: the slots are independent). */
export function mbv3LatencyRange(parts: Mbv3LatencyParts): { readonly minMs: number; readonly maxMs: number } {
  let minMs = parts.base;
  let maxMs = parts.base;
  for (let s = 0; s < MBV3_STAGES; s++) {
    const opts = (first: boolean): number[] => MBV3_KERNELS.flatMap((k) => MBV3_EXPANDS.map((e) => parts.block(s, first, k, e)));
    const [f, l] = [opts(true), opts(false)];
    const [fMin, fMax, lMin, lMax] = [Math.min(...f), Math.max(...f), Math.min(...l), Math.max(...l)];
    // depth 2..4: the first block and 1..3 later ones
    minMs += fMin + Math.min(lMin, 2 * lMin, 3 * lMin);
    maxMs += fMax + Math.max(lMax, 2 * lMax, 3 * lMax);
  }
  return { minMs, maxMs };
}

let devices: readonly LatencyDevice[] | undefined;

/**
 * MBv3's latency knowledge for the search: the model's prediction at 224 px (the resolution of
 * the space's cost and oracle). Device names are HELP's GPU_batch settings.
 */
export const mbv3Latency: SpaceLatency<Mbv3Config> = Object.freeze({
  devices(): readonly LatencyDevice[] {
    if (devices === undefined) {
      const m = mbv3LatencyModel();
      devices = Object.freeze(
        m.devices.map((name, i) => {
          const err = m.heldOut[i]!;
          const { minMs, maxMs } = mbv3LatencyRange(m.parts(name));
          return Object.freeze({
            name,
            batch: Number(/_(\d+)$/.exec(name)?.[1]),
            kind: 'model' as const,
            note: `ridge model fitted to ${m.split.train} HELP measurements; held-out ${m.split.heldOut}: MAE ${err.maeMs.toFixed(2)} ms, ${(100 * err.meanRelativeError).toFixed(1)} % mean relative error, Spearman ${err.spearman.toFixed(3)}`,
            minMs,
            maxMs,
          });
        }),
      );
    }
    return devices;
  },
  latencyMs: (config: Mbv3Config, device: string) => mbv3LatencyModel().predict(config, device),
});
