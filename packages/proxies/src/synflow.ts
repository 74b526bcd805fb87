import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, validationError } from '@metad2a/core';
import type { TinyNetwork } from '@metad2a/arch-trainer';

/** Conv kernels and Linear weights: what synflow sums over (the official `layer.weight` of Conv2d and Linear). */
function synflowWeights(network: TinyNetwork): [string, tf.Variable][] {
  return [...network.store.entries()].filter(([name, v]) => name.endsWith('.weight') && (v.rank === 4 || v.rank === 2));
}

/**
 * Synflow (Tanaka et al. 2020, as zero-cost NAS scores it): every parameter replaced by its
 * absolute value, BatchNorm removed, one all-ones input of the batch's image shape; R = Σ outputs;
 * score = Σ over conv and linear weights of |θ · ∂R/∂θ|. The network's values are restored
 * afterwards. float32 here (the official runs in float64): a network whose R overflows float32
 * is an error that says so.
 */
export function synflow(network: TinyNetwork, imageShape: readonly [number, number, number]): number {
  const saved = [...network.store.entries()].map(([name, v]) => [name, v, tf.clone(v)] as const);
  try {
    for (const [, v] of saved) tf.tidy(() => v.assign(tf.abs(v)));
    const weights = synflowWeights(network);
    const ones = tf.ones([1, ...imageShape]) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(
      () => {
        const { features, logits } = network.forward(ones, { training: false, withoutBatchNorm: true });
        features.dispose();
        return tf.sum(logits) as tf.Scalar;
      },
      weights.map(([, v]) => v),
    );
    ones.dispose();
    const R = value.dataSync()[0]!;
    value.dispose();
    let score = 0;
    for (const [, v] of weights) {
      const g = grads[v.name];
      if (!g) continue; // an unused weight (e.g. behind a `none` edge) contributes 0
      const p = tf.tidy(() => tf.abs(tf.mul(v, g)));
      const d = p.dataSync();
      for (let i = 0; i < d.length; i++) score += d[i]!;
      p.dispose();
    }
    for (const g of Object.values(grads)) g.dispose();
    if (!Number.isFinite(R) || !Number.isFinite(score)) {
      throw new MetaD2AException(
        validationError({
          source: `synflow of ${network.config.arch}`,
          field: 'R',
          expected: 'a finite float32 sum of outputs',
          got: `${R} (the network is too deep/wide for float32 synflow; use smaller C or N)`,
        }),
      );
    }
    return score;
  } finally {
    for (const [, v, orig] of saved) {
      v.assign(orig);
      orig.dispose();
    }
  }
}
