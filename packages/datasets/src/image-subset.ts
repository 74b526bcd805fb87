import * as crypto from 'node:crypto';
import { fail } from '@metad2a/core';
import type { ImageDataset } from './images';

/**
 * A view of some images of a dataset, in the given order, labels kept: extracting its features
 * decodes and runs only these images (a 20-per-class sample of Fashion-MNIST touches 200 images,
 * not 10,000). Its fingerprint names the selection, so cached features never mix selections.
 */
export function selectImages(ds: ImageDataset, indices: readonly number[]): ImageDataset {
  const idx = Int32Array.from(indices);
  for (let k = 0; k < idx.length; k++) {
    if (!Number.isInteger(indices[k]) || idx[k]! < 0 || idx[k]! >= ds.size)
      fail('ValidationError', { source: ds.name, field: `image index ${k}`, expected: `an integer in 0..${ds.size - 1}`, got: String(indices[k]) });
  }
  const digest = crypto.createHash('sha256').update(new Uint8Array(idx.buffer)).digest('hex').slice(0, 16);
  return {
    kind: 'images',
    name: ds.name,
    classNames: ds.classNames,
    labels: Int32Array.from(idx, (i) => ds.labels[i]!),
    size: idx.length,
    image: (i: number) => ds.image(idx[i]!),
    fingerprint: `${ds.fingerprint}|images:${idx.length}:${digest}`,
    normalisation: ds.normalisation,
  };
}
