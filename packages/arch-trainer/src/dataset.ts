import { MetaD2AException, validationError } from '@metad2a/core';

/** Labelled images in NHWC float32 (already normalised), labels 0..numClasses−1. */
export interface ImageDataset {
  readonly images: Float32Array;
  /** [n, height, width, channels] */
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array | readonly number[];
  readonly numClasses: number;
}

/** Check sizes and label range; throws a ValidationError naming the field. */
export function validateDataset(d: ImageDataset, source: string): void {
  const bad = (field: string, expected: string, got: string): never => {
    throw new MetaD2AException(validationError({ source, field, expected, got }));
  };
  if (d.shape.length !== 4 || !d.shape.every((s) => Number.isInteger(s) && s > 0)) bad('shape', '[n, height, width, channels] of positive integers', JSON.stringify(d.shape));
  const [n, h, w, c] = d.shape;
  if (d.images.length !== n * h * w * c) bad('images', `${n * h * w * c} values for shape [${d.shape.join(', ')}]`, `${d.images.length}`);
  if (d.labels.length !== n) bad('labels', `${n} labels`, `${d.labels.length}`);
  if (!Number.isInteger(d.numClasses) || d.numClasses < 2) bad('numClasses', 'an integer ≥ 2', String(d.numClasses));
  for (let i = 0; i < n; i++) {
    const y = d.labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= d.numClasses) bad(`labels[${i}]`, `an integer in [0, ${d.numClasses})`, String(y));
  }
}

/** The rows `idx` of a dataset, in that order. */
export function selectRows(d: ImageDataset, idx: readonly number[], numClasses = d.numClasses, relabel?: (y: number) => number): ImageDataset {
  const [, h, w, c] = d.shape;
  const per = h * w * c;
  const images = new Float32Array(idx.length * per);
  const labels = new Int32Array(idx.length);
  idx.forEach((r, i) => {
    images.set(d.images.subarray(r * per, (r + 1) * per), i * per);
    const y = d.labels[r]!;
    labels[i] = relabel ? relabel(y) : y;
  });
  return { images, shape: [idx.length, h, w, c], labels, numClasses };
}
