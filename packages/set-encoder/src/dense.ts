import * as tf from '@tensorflow/tfjs-core';
import { backendTraits } from '@metad2a/core';
import type { Linear } from '@metad2a/layers';

/**
 * `lin.apply(x)` = `x · Wᵀ + b`. Where the backend's traits say so (wasm), with an explicit transpose of the (small)
 * weight: wasm's matMul with `transposeB` is several times slower than a plain matMul on large
 * inputs (measured here: 1.4 s vs 0.18 s for [20000, 512]·[512, 56]); elsewhere with `transposeB`
 * (the native GEMM reads Wᵀ in place, while tfjs-cpu's generic transpose kernel is slow).
 */
export function dense<T extends tf.Tensor2D | tf.Tensor3D>(lin: Linear, x: T): T {
  return tf.tidy(() => {
    const explicit = backendTraits().explicitTranspose;
    const shape: number[] = [...x.shape];
    const x2 = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, shape[shape.length - 1]!]) as tf.Tensor2D);
    let y: tf.Tensor = explicit ? tf.matMul(x2, tf.transpose(lin.weight) as tf.Tensor2D) : tf.matMul(x2, lin.weight as tf.Tensor2D, false, true);
    if (lin.bias) y = jsInference() ? addRowVector(y as tf.Tensor2D, lin.bias) : tf.add(y, lin.bias);
    return (x.rank === 2 ? y : tf.reshape(y, [shape[0]!, shape[1]!, lin.outFeatures])) as T;
  });
}

/**
 * Softmax over the last axis of `[M, a, b]`. On wasm `tf.softmax`; elsewhere the same
 * `exp(s − max) / Σ exp(s − max)` with the row max and row sum spread over the row by matMuls, so
 * that no op broadcasts (tfjs-cpu's softmax and broadcasting kernels are slow; its element-wise
 * kernels on equal shapes and the native GEMM are fast); on `native` `tf.softmax` (native kernels).
 */
export function softmaxLastAxis(s: tf.Tensor3D): tf.Tensor3D {
  const traits = backendTraits();
  if (traits.fastSoftmax && !traits.jsMemory) return tf.softmax(s, -1);
  if (jsInference()) return softmaxRowsJs(s);
  // e.g. native: Softmax, and every kernel of its gradient (dy·y − Σ(dy·y)·y), are native; the
  // composite's gradient goes through Max's (Equal + a bool Cast), which fall back to tfjs-cpu
  if (traits.fastSoftmax) return tf.softmax(s, -1);
  return tf.tidy(() => {
    const [m, a, b] = s.shape;
    const s2 = tf.reshape(s, [m * a, b]) as tf.Tensor2D;
    const rowMax = tf.matMul(tf.max(s2, 1, true) as tf.Tensor2D, tf.ones([1, b]) as tf.Tensor2D);
    const e = tf.exp(tf.sub(s2, rowMax)) as tf.Tensor2D;
    const rowSum = tf.matMul(e, tf.ones([b, b]) as tf.Tensor2D);
    return tf.reshape(tf.div(e, rowSum), [m, a, b]) as tf.Tensor3D;
  });
}

/** True while a gradient tape records (inside `tf.grad`, `tf.variableGrads`, ...). */
export function recordingGradients(): boolean {
  return ((tf.engine() as unknown as { state?: { gradientDepth?: number } }).state?.gradientDepth ?? 0) > 0;
}

/**
 * True on the CPU-storage backends (`cpu`, `native`) outside a gradient tape: there a few
 * element-wise steps run as plain loops over the tensor's values (tfjs-cpu's broadcasting and
 * reduction kernels cost far more than the arithmetic), with the same float32 results up to rounding.
 */
export function jsInference(): boolean {
  return backendTraits().jsMemory && !recordingGradients();
}

/** `y [m, n] + v [n]` on every row (inference only). */
function addRowVector(y: tf.Tensor2D, v: tf.Tensor): tf.Tensor2D {
  const [m, n] = y.shape;
  const a = Float32Array.from(y.dataSync() as Float32Array);
  const b = v.dataSync() as Float32Array;
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let j = 0; j < n; j++) a[o + j]! += b[j]!;
  }
  return tf.tensor2d(a, [m, n]);
}

/** Softmax over the last axis, `exp(s − max) / Σ exp(s − max)` row by row (inference only). */
function softmaxRowsJs(s: tf.Tensor3D): tf.Tensor3D {
  const n = s.shape[2];
  const a = Float32Array.from(s.dataSync() as Float32Array);
  for (let o = 0; o < a.length; o += n) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) if (a[o + j]! > mx) mx = a[o + j]!;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.fround(Math.exp(a[o + j]! - mx));
      a[o + j] = e;
      sum += e;
    }
    const f = Math.fround(sum);
    for (let j = 0; j < n; j++) a[o + j] = a[o + j]! / f;
  }
  return tf.tensor3d(a, s.shape);
}
