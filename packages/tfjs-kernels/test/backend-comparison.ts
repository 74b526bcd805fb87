/** Helpers shared by the tests that compare a backend's kernels with the cpu backend's. */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@metad2a/core';

/** n standard-normal float32 values drawn from `rng`. */
export function randn(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** Run `fn` on a backend with fresh tensors made from plain arrays; returns plain arrays (no tensor left behind). */
export function onBackend(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  const out = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const vals = out.map((t) => t.dataSync() as Float32Array);
  out.forEach((t) => t.dispose());
  return vals;
}
