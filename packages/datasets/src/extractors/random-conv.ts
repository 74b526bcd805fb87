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

/** Features of one `[size, size, 3]` image into `out[offset ..)`. */
function extractOne(x: Float32Array, xOff: number, cfg: RandomConvConfig, w: Float32Array, out: Float32Array, oOff: number): void {
  const { filters: F, kernel: k, grid, threshold: t, inputSize: S } = cfg;
  const conv = S - k + 1;
  const cell = conv / grid;
  const maps = 2 * F;
  const z = new Float32Array(F);
  out.fill(0, oOff, oOff + grid * grid * maps);
  for (let oy = 0; oy < conv; oy++) {
    const gy = Math.floor(oy / cell);
    for (let ox = 0; ox < conv; ox++) {
      z.fill(0);
      let wi = 0;
      for (let ky = 0; ky < k; ky++) {
        let xi = xOff + ((oy + ky) * S + ox) * 3;
        for (let kc = 0; kc < 3 * k; kc++, xi++) {
          const v = x[xi]!;
          for (let f = 0; f < F; f++) z[f] += v * w[wi + f]!;
          wi += F;
        }
      }
      const base = oOff + (gy * grid + Math.floor(ox / cell)) * maps;
      for (let f = 0; f < F; f++) {
        const p = z[f]! - t;
        const n = -z[f]! - t;
        if (p > 0) out[base + f] += p;
        if (n > 0) out[base + F + f] += n;
      }
    }
  }
  const inv = 1 / (cell * cell);
  for (let j = oOff; j < oOff + grid * grid * maps; j++) out[j] = Math.sqrt(out[j]! * inv);
}

export function createRandomConv(cfg: RandomConvConfig): FeatureExtractor {
  const { filters, kernel, grid, threshold, inputSize } = cfg;
  const conv = inputSize - kernel + 1;
  if (conv <= 0 || conv % grid !== 0) {
    throw new MetaD2AException(validationError({ source: 'random-conv', field: 'grid', expected: `a divisor of inputSize − kernel + 1 = ${conv}`, got: String(grid) }));
  }
  const w = randomFilters(cfg.seed, filters, kernel);
  const dim = grid * grid * 2 * filters;
  const px = inputSize * inputSize * 3;
  return {
    name: 'random-conv',
    id: `random-conv:v1:seed=${cfg.seed}:f=${filters}:k=${kernel}:g=${grid}:t=${threshold}:in=${inputSize}`,
    dim,
    inputSize,
    async extract(images: Float32Array, batch: number): Promise<Float32Array> {
      if (images.length !== batch * px) {
        throw new MetaD2AException(validationError({ source: 'random-conv', field: 'images', expected: `${batch}×${inputSize}×${inputSize}×3 = ${batch * px} values`, got: String(images.length) }));
      }
      const out = new Float32Array(batch * dim);
      for (let b = 0; b < batch; b++) extractOne(images, b * px, cfg, w, out, b * dim);
      return out;
    },
    dispose: () => undefined,
  };
}

export async function randomConvFactory(opts: ExtractorOptions): Promise<FeatureExtractor> {
  return createRandomConv({ seed: opts.seed ?? 0, inputSize: opts.inputSize ?? 32, ...RANDOM_CONV_DEFAULTS });
}
