import * as tf from '@tensorflow/tfjs-core';
import type { TinyNetwork } from '@metad2a/arch-trainer';

/**
 * Add one layer's activation codes to NASWOT's kernel (Mellor et al. 2021): with c the binary
 * code (x > 0) of each image's U units, K += c·cᵀ + (1−c)·(1−c)ᵀ, i.e. K_ij += U − Hamming(c_i, c_j).
 * Computed as 2·c·cᵀ − s_i − s_j + U (s = ones per image): one matMul. `K` is `[B·B]`, row-major, float64.
 */
export function addActivationCodes(K: Float64Array, x: tf.Tensor): void {
  const B = x.shape[0]!;
  const U = x.size / B;
  const [cc, s] = tf.tidy(() => {
    const c = tf.reshape(tf.cast(tf.greater(x, 0), 'float32'), [B, U]) as tf.Tensor2D;
    return [tf.matMul(c, c, false, true), tf.sum(c, 1)];
  });
  const a = cc.dataSync();
  const ones = s.dataSync();
  tf.dispose([cc, s]);
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) K[i * B + j]! += 2 * a[i * B + j]! - ones[i]! - ones[j]! + U;
}

/**
 * log |det K| of an n×n matrix (row-major), by LU with partial pivoting in float64 (NASWOT's
 * `np.linalg.slogdet(K)[1]`); −Infinity for a singular matrix (two images with identical codes).
 */
export function logAbsDeterminant(K: Float64Array, n: number): number {
  const a = Float64Array.from(K);
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]!) > Math.abs(a[p * n + k]!)) p = i;
    const pivot = a[p * n + k]!;
    if (pivot === 0) return -Infinity;
    if (p !== k) for (let j = 0; j < n; j++) [a[k * n + j], a[p * n + j]] = [a[p * n + j]!, a[k * n + j]!];
    logDet += Math.log(Math.abs(pivot));
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k]! / pivot;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) a[i * n + j]! -= f * a[k * n + j]!;
    }
  }
  return logDet;
}

/**
 * NASWOT score of an untrained network on a batch: the log-determinant of the kernel of binary
 * activation codes summed over every ReLU module (the official hooks every `nn.ReLU`), with the
 * network in training mode (BatchNorm on batch statistics, as the official scoring runs it;
 * running statistics are not updated). Returns the kernel too, for inspection.
 */
export function naswot(network: TinyNetwork, images: tf.Tensor4D): { score: number; kernel: Float64Array } {
  const B = images.shape[0];
  const K = new Float64Array(B * B);
  const out = network.forward(images, { training: true, onReluInput: (x) => addActivationCodes(K, x) });
  tf.dispose([out.features, out.logits]);
  return { score: logAbsDeterminant(K, B), kernel: K };
}
