import { Rng } from '@metad2a/core';
import type { ImageDataset } from '../src';

/**
 * A small learnable image task for tests: class k of K has a bright horizontal bar at row band k
 * (of K bands) on Gaussian noise; single channel, size × size.
 */
export function barsDataset(n: number, K: number, size: number, seed: number): ImageDataset {
  const rng = new Rng(seed);
  const images = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  const band = Math.floor(size / K);
  for (let i = 0; i < n; i++) {
    const y = i % K;
    labels[i] = y;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const on = r >= y * band && r < (y + 1) * band ? 1.5 : 0;
        images[(i * size + r) * size + c] = on + 0.5 * rng.normal();
      }
    }
  }
  return { images, shape: [n, size, size, 1], labels, numClasses: K };
}
