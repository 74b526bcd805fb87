import type { FeatureSet } from '@metad2a/core';
import type { NormalisationName } from './preprocess';

/**
 * The image-side contract of every reader: a labelled collection of 8-bit images that is read
 * one image at a time (a reader never has to hold every decoded image in memory).
 */

/** One decoded image: `height × width × channels` bytes, row-major, channels last (HWC). */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 3 (RGB). */
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/** A labelled image collection. `labels[i]` indexes `classNames`. */
export interface ImageDataset {
  readonly kind: 'images';
  /** A human-readable name (file or folder, or `builtin:<name>`). */
  readonly name: string;
  /** Class names in class order (class `k` is `classNames[k]`). */
  readonly classNames: readonly string[];
  /** One label per image, each in `0..classNames.length-1`. */
  readonly labels: Int32Array;
  /** Number of images. */
  readonly size: number;
  /** Decode image `i` (`0 <= i < size`). */
  image(i: number): RawImage;
  /**
   * A string that changes whenever the underlying bytes change (file paths with sizes and
   * modification times, or a content hash): part of the feature-cache key.
   */
  readonly fingerprint: string;
  /** The normalisation constants its images call for, when the reader knows the data set. */
  readonly normalisation?: NormalisationName;
}

/** Precomputed features (a `*bylabel.pt`, a feature file, a float `.npy`): nothing to extract. */
export interface FeatureSource {
  readonly kind: 'features';
  readonly name: string;
  readonly featureSet: FeatureSet;
  /** Cache identity of the bytes it came from. */
  readonly fingerprint: string;
}

/** What a dataset reference resolves to: images to extract features from, or features. */
export type DatasetSource = ImageDataset | FeatureSource;

/** Indices of the images of each class, in file order: `out[k]` lists the images of class k. */
export function indicesByClass(ds: Pick<ImageDataset, 'labels' | 'classNames'>): number[][] {
  const out: number[][] = ds.classNames.map(() => []);
  for (let i = 0; i < ds.labels.length; i++) out[ds.labels[i]!]!.push(i);
  return out;
}

/** RGBA (as pngjs / jpeg-js decode it) → grey or RGB; grey when every pixel has r = g = b. */
export function fromRgba(width: number, height: number, rgba: Uint8Array): RawImage {
  const n = width * height;
  let grey = true;
  for (let p = 0; p < n && grey; p++) {
    const r = rgba[4 * p]!;
    if (rgba[4 * p + 1] !== r || rgba[4 * p + 2] !== r) grey = false;
  }
  if (grey) {
    const data = new Uint8Array(n);
    for (let p = 0; p < n; p++) data[p] = rgba[4 * p]!;
    return { width, height, channels: 1, data };
  }
  const data = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    data[3 * p] = rgba[4 * p]!;
    data[3 * p + 1] = rgba[4 * p + 1]!;
    data[3 * p + 2] = rgba[4 * p + 2]!;
  }
  return { width, height, channels: 3, data };
}
