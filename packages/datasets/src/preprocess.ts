/**
 * Image preprocessing as the official `process_dataset.py` does it (spec §1.1): resize to
 * 32×32, scale to [0, 1], grey → 3 channels, normalise each channel with the dataset's mean/std.
 * Output layout is NHWC (`[32, 32, 3]` per image), the layout tfjs models take.
 */
import { MetaD2AException, validationError } from '@metad2a/core';
import type { RawImage } from './images';

export interface Preprocessing {
  /** Side of the square output image (32 in the paper). */
  readonly size: number;
  /** Per-channel (R, G, B) mean and std of the [0, 1] pixels. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

const same = (v: number): [number, number, number] => [v, v, v];

/**
 * Normalisation constants. `mnist`, `svhn`, `cifar10`, `cifar100`, `imagenet32` are the
 * official script's (spec §1.1); `imagenet` is the ImageNet normalisation the NB201 code uses for
 * Aircraft and Pets; `fashion-mnist` and `digits` are the statistics of those data sets
 * (Fashion-MNIST train split 0.2860/0.3530; sklearn digits, pixels/16, 0.3053/0.3760), computed
 * here; `none` leaves pixels in [0, 1].
 */
export const NORMALISATION = {
  mnist: { mean: same(0.1307), std: same(0.3081) },
  'fashion-mnist': { mean: same(0.286), std: same(0.353) },
  digits: { mean: same(0.3053), std: same(0.376) },
  svhn: { mean: [0.4376821, 0.4437697, 0.47280442], std: [0.19803012, 0.20101562, 0.19703614] },
  cifar10: { mean: [125.3 / 255, 123.0 / 255, 113.9 / 255], std: [63.0 / 255, 62.1 / 255, 66.7 / 255] },
  cifar100: { mean: [129.3 / 255, 124.1 / 255, 112.4 / 255], std: [68.2 / 255, 65.4 / 255, 70.4 / 255] },
  imagenet32: { mean: [122.68 / 255, 116.66 / 255, 104.01 / 255], std: [66.22 / 255, 64.2 / 255, 67.86 / 255] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  none: { mean: same(0), std: same(1) },
} as const satisfies Record<string, Pick<Preprocessing, 'mean' | 'std'>>;

export type NormalisationName = keyof typeof NORMALISATION;

/** The 32×32 preprocessing with a named normalisation (default `imagenet`, for unknown data sets). */
export function preprocessingFor(name: NormalisationName = 'imagenet', size = 32): Preprocessing {
  const n = NORMALISATION[name];
  if (!n)
    throw new MetaD2AException(
      validationError({ source: 'preprocessing', field: 'normalisation', expected: `one of ${Object.keys(NORMALISATION).join(', ')}`, got: JSON.stringify(name) }),
    );
  return { size, mean: n.mean, std: n.std };
}

/** A stable string for cache keys. */
export function preprocessingKey(p: Preprocessing): string {
  return `resize${p.size}-pil-bilinear|grey-to-rgb|mean=${p.mean.join(',')}|std=${p.std.join(',')}`;
}

/** Triangle-filter (PIL "bilinear", antialiased when shrinking) weights for one axis. */
function axisWeights(inSize: number, outSize: number): { start: Int32Array; count: Int32Array; weights: Float64Array; maxTaps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // bilinear support 1.0
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const w = Math.max(0, 1 - Math.abs((x - center + 0.5) / filterScale));
      weights[o * maxTaps + x - lo] = w;
      total += w;
    }
    for (let x = lo; x < hi; x++) weights[o * maxTaps + x - lo]! /= total || 1;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

const clampByte = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * Resize an 8-bit image like PIL's `Image.resize(..., BILINEAR)`: a horizontal then a vertical
 * triangle-filter pass, each rounded to 8 bits. The same size returns the input unchanged.
 */
export function resizeBilinear(img: RawImage, width: number, height: number): RawImage {
  if (img.width === width && img.height === height) return img;
  const c = img.channels;
  let cur = img;
  if (img.width !== width) {
    const ax = axisWeights(img.width, width);
    const out = new Uint8Array(width * img.height * c);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < width; x++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let t = 0; t < ax.count[x]!; t++) s += ax.weights[x * ax.maxTaps + t]! * img.data[(y * img.width + ax.start[x]! + t) * c + ch]!;
          out[(y * width + x) * c + ch] = clampByte(s);
        }
      }
    }
    cur = { width, height: img.height, channels: c, data: out };
  }
  if (cur.height !== height) {
    const ay = axisWeights(cur.height, height);
    const out = new Uint8Array(width * height * c);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let t = 0; t < ay.count[y]!; t++) s += ay.weights[y * ay.maxTaps + t]! * cur.data[((ay.start[y]! + t) * width + x) * c + ch]!;
          out[(y * width + x) * c + ch] = clampByte(s);
        }
      }
    }
    cur = { width, height, channels: c, data: out };
  }
  return cur;
}

/**
 * Preprocess one image into `out[offset .. offset + size*size*3)` (HWC, float32): resize,
 * /255, grey repeated to R, G, B, then `(v - mean[ch]) / std[ch]`.
 */
export function preprocessInto(img: RawImage, p: Preprocessing, out: Float32Array, offset = 0): void {
  const r = resizeBilinear(img, p.size, p.size);
  const n = p.size * p.size;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = r.data[r.channels === 1 ? i : 3 * i + ch]! / 255;
      out[offset + 3 * i + ch] = (v - p.mean[ch]!) / p.std[ch]!;
    }
  }
}

/** {@link preprocessInto} into a new `[size, size, 3]` array. */
export function preprocessImage(img: RawImage, p: Preprocessing): Float32Array {
  const out = new Float32Array(p.size * p.size * 3);
  preprocessInto(img, p, out, 0);
  return out;
}
