import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@metad2a/core';
import { Linear } from './linear';
import type { ParameterStore } from './parameter-store';

/**
 * D-VAE's gated aggregation of neighbour messages (spec §2.3):
 *   H_in(v) = Σ_{u ∈ N(v)} σ(W_g m_u + b_g) ⊙ (W_m m_u),
 * with a gate `Linear(in→out)` + sigmoid (parameters `<gateName>.weight/.bias`, e.g.
 * `decoding_gate.0`) and a mapper `Linear(in→out)` without bias (`<mapperName>.weight`).
 */
export class GatedSum {
  readonly gate: Linear;
  readonly mapper: Linear;

  constructor(store: ParameterStore, gateName: string, mapperName: string, inFeatures: number, outFeatures: number, rng: Rng) {
    this.gate = new Linear(store, gateName, inFeatures, outFeatures, rng);
    this.mapper = new Linear(store, mapperName, inFeatures, outFeatures, rng, { bias: false });
  }

  /** Gated, mapped messages `[N, in]` → `[N, out]` (before summing). */
  message(m: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.sigmoid(this.gate.apply(m)), this.mapper.apply(m)) as tf.Tensor2D);
  }

  /**
   * Messages `[B, K, in]` → `[B, out]`, summed over the K neighbours; `mask [B, K]` (1 = a real
   * neighbour, 0 = padding) lets graphs with different neighbour counts share one batch.
   */
  apply(messages: tf.Tensor3D, mask?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, k, d] = messages.shape;
      if (k === 0) return tf.zeros([b, this.mapper.outFeatures]) as tf.Tensor2D;
      let g = tf.reshape(this.message(tf.reshape(messages, [b * k, d]) as tf.Tensor2D), [b, k, this.mapper.outFeatures]);
      if (mask) g = tf.mul(g, tf.expandDims(mask, 2));
      return tf.sum(g, 1) as tf.Tensor2D;
    });
  }
}
