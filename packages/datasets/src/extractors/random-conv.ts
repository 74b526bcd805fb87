/**
 * `random-conv`: a fixed, randomly initialised convolutional feature extractor that needs no
 * download, no training and no tensor backend (plain TypeScript loops). Deterministic from its
 * seed.
 *
 * For a `[32, 32, 3]` normalised image: 16 random 5×5×3 filters (Gaussian from `Rng(seed)`, each
 * made zero-mean and unit-norm) → valid convolution `[28, 28, 16]` → two-sided rectification
 * `relu(z − t)` and `relu(−z − t)` with t = 0.5 (32 maps) → average pooling over a 4×4 grid of
 * 7×7 cells → 16 × 32 = **512 features** → square root. Feature index
 * `(cellRow·4 + cellCol)·32 + map`, maps `0..15` the positive and `16..31` the negative halves.
 * This is the "random filters + rectification + pooling" recipe (Jarrett et al. 2009; Coates &
 * Ng 2011). Its class separation is measured in the package README.
 */
import { MetaD2AException, Rng, validationError } from '@metad2a/core';
import type { ExtractorOptions, FeatureExtractor } from '../extractor';

export interface RandomConvConfig {
  readonly seed: number;
  readonly filters: number;
  readonly kernel: number;
  readonly grid: number;
  readonly threshold: number;
  readonly inputSize: number;
}

export const RANDOM_CONV_DEFAULTS: Omit<RandomConvConfig, 'seed' | 'inputSize'> = { filters: 16, kernel: 5, grid: 4, threshold: 0.5 };

/** The filter bank, `[kernel·kernel·3, filters]` (HWI-major, filter-minor), zero-mean unit-norm filters. */
export function randomFilters(seed: number, filters: number, kernel: number): Float32Array {
  const rng = new Rng(seed);
  const per = kernel * kernel * 3;
  const w = new Float32Array(per * filters);
  for (let f = 0; f < filters; f++) {
    const v = rng.normalArray(per);
    let mean = 0;
    for (let i = 0; i < per; i++) mean += v[i]!;
    mean /= per;
    let norm = 0;
    for (let i = 0; i < per; i++) {
      v[i] = v[i]! - mean;
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < per; i++) w[i * filters + f] = v[i]! / norm;
  }
  return w;
}

/** Filters per register block of {@link extractOne} (16 independent float32 accumulation chains). */
const LANES = 16;

/**
 * Features of one `[size, size, 3]` image into `out[offset ..)`. Each response is accumulated over
 * the taps in (row, column·channel) order and rounded to float32 after every tap, exactly as the
 * v1 loop's Float32Array of sums did (bit-identical features, tested), but in 16 local variables
 * per block of filters, so the 16 rounding chains run in parallel in registers (~2× the
 * throughput of indexing a typed array per multiply-add).
 */
function extractOne(x: Float32Array, xOff: number, cfg: RandomConvConfig, wb: Float64Array, out: Float32Array, oOff: number): void {
  const { filters: F, kernel: k, grid, threshold: t, inputSize: S } = cfg;
  const conv = S - k + 1;
  const cell = conv / grid;
  const maps = 2 * F;
  const row = 3 * k;
  const taps = k * row;
  const fr = Math.fround;
  const zs = new Float64Array(LANES);
  out.fill(0, oOff, oOff + grid * grid * maps);
  for (let oy = 0; oy < conv; oy++) {
    const gy = Math.floor(oy / cell);
    for (let ox = 0; ox < conv; ox++) {
      const base = oOff + (gy * grid + Math.floor(ox / cell)) * maps;
      for (let f0 = 0; f0 < F; f0 += LANES) {
        let z0 = 0,
          z1 = 0,
          z2 = 0,
          z3 = 0,
          z4 = 0,
          z5 = 0,
          z6 = 0,
          z7 = 0,
          z8 = 0,
          z9 = 0,
          z10 = 0,
          z11 = 0,
          z12 = 0,
          z13 = 0,
          z14 = 0,
          z15 = 0;
        let o = (f0 / LANES) * taps * LANES;
        for (let ky = 0; ky < k; ky++) {
          const xi = xOff + ((oy + ky) * S + ox) * 3;
          for (let j = 0; j < row; j++, o += LANES) {
            const v = x[xi + j]!;
            z0 = fr(z0 + v * wb[o]!);
            z1 = fr(z1 + v * wb[o + 1]!);
            z2 = fr(z2 + v * wb[o + 2]!);
            z3 = fr(z3 + v * wb[o + 3]!);
            z4 = fr(z4 + v * wb[o + 4]!);
            z5 = fr(z5 + v * wb[o + 5]!);
            z6 = fr(z6 + v * wb[o + 6]!);
            z7 = fr(z7 + v * wb[o + 7]!);
            z8 = fr(z8 + v * wb[o + 8]!);
            z9 = fr(z9 + v * wb[o + 9]!);
            z10 = fr(z10 + v * wb[o + 10]!);
            z11 = fr(z11 + v * wb[o + 11]!);
            z12 = fr(z12 + v * wb[o + 12]!);
            z13 = fr(z13 + v * wb[o + 13]!);
            z14 = fr(z14 + v * wb[o + 14]!);
            z15 = fr(z15 + v * wb[o + 15]!);
          }
        }
        zs[0] = z0;
        zs[1] = z1;
        zs[2] = z2;
        zs[3] = z3;
        zs[4] = z4;
        zs[5] = z5;
        zs[6] = z6;
        zs[7] = z7;
        zs[8] = z8;
        zs[9] = z9;
        zs[10] = z10;
        zs[11] = z11;
        zs[12] = z12;
        zs[13] = z13;
        zs[14] = z14;
        zs[15] = z15;
        for (let l = 0; l < LANES && f0 + l < F; l++) {
          const z = zs[l]!;
          const p = z - t;
          const n = -z - t;
          if (p > 0) out[base + f0 + l] += p;
          if (n > 0) out[base + F + f0 + l] += n;
        }
      }
    }
  }
  const inv = 1 / (cell * cell);
  for (let j = oOff; j < oOff + grid * grid * maps; j++) out[j] = Math.sqrt(out[j]! * inv);
}

/**
 * The filter bank `[taps, filters]` regrouped as `[filter block][tap][16 lanes]` doubles (exact
 * copies of the float32 weights; lanes past the last filter are zero and never read back).
 */
function laneBlocks(w: Float32Array, filters: number): Float64Array {
  const taps = w.length / filters;
  const blocks = Math.ceil(filters / LANES);
  const wb = new Float64Array(blocks * taps * LANES);
  for (let i = 0; i < taps; i++) for (let f = 0; f < filters; f++) wb[(Math.floor(f / LANES) * taps + i) * LANES + (f % LANES)] = w[i * filters + f]!;
  return wb;
}

export function createRandomConv(cfg: RandomConvConfig): FeatureExtractor {
  const { filters, kernel, grid, threshold, inputSize } = cfg;
  const conv = inputSize - kernel + 1;
  if (conv <= 0 || conv % grid !== 0) {
    throw new MetaD2AException(validationError({ source: 'random-conv', field: 'grid', expected: `a divisor of inputSize − kernel + 1 = ${conv}`, got: String(grid) }));
  }
  const wb = laneBlocks(randomFilters(cfg.seed, filters, kernel), filters);
  const dim = grid * grid * 2 * filters;
  const px = inputSize * inputSize * 3;
  return {
    name: 'random-conv',
    id: `random-conv:v1:seed=${cfg.seed}:f=${filters}:k=${kernel}:g=${grid}:t=${threshold}:in=${inputSize}`,
    dim,
    inputSize,
    async extract(images: Float32Array, batch: number): Promise<Float32Array> {
      if (images.length !== batch * px) {
        throw new MetaD2AException(
          validationError({ source: 'random-conv', field: 'images', expected: `${batch}×${inputSize}×${inputSize}×3 = ${batch * px} values`, got: String(images.length) }),
        );
      }
      const out = new Float32Array(batch * dim);
      for (let b = 0; b < batch; b++) extractOne(images, b * px, cfg, wb, out, b * dim);
      return out;
    },
    dispose: () => undefined,
  };
}

export async function randomConvFactory(opts: ExtractorOptions): Promise<FeatureExtractor> {
  return createRandomConv({ seed: opts.seed ?? 0, inputSize: opts.inputSize ?? 32, ...RANDOM_CONV_DEFAULTS });
}
