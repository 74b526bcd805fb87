import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@metad2a/core';
import { uniformInit } from './init';
import { joinName, type ParameterStore } from './parameter-store';

/**
 * `nn.GRUCell(input, hidden)` with PyTorch's parameters and equations (spec §2.3):
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.
 * Parameters `<name>.weight_ih [3H, I]`, `.weight_hh [3H, H]`, `.bias_ih [3H]`, `.bias_hh [3H]`,
 * rows stacked [r; z; n]. Init U(−1/√H, 1/√H) on everything, like PyTorch.
 */
export class GRUCell {
  readonly weightIh: tf.Variable;
  readonly weightHh: tf.Variable;
  readonly biasIh: tf.Variable;
  readonly biasHh: tf.Variable;

  constructor(
    store: ParameterStore,
    readonly name: string,
    readonly inputSize: number,
    readonly hiddenSize: number,
    rng: Rng,
  ) {
    const H = hiddenSize;
    const bound = 1 / Math.sqrt(H);
    this.weightIh = store.add(joinName(name, 'weight_ih'), [3 * H, inputSize], uniformInit(rng, 3 * H * inputSize, bound));
    this.weightHh = store.add(joinName(name, 'weight_hh'), [3 * H, H], uniformInit(rng, 3 * H * H, bound));
    this.biasIh = store.add(joinName(name, 'bias_ih'), [3 * H], uniformInit(rng, 3 * H, bound));
    this.biasHh = store.add(joinName(name, 'bias_hh'), [3 * H], uniformInit(rng, 3 * H, bound));
  }

  /** x `[B, I]`, h `[B, H]` → h' `[B, H]`. */
  apply(x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    const H = this.hiddenSize;
    return tf.tidy(() => {
      // All three gates in one matMul per input ([B, 3H], columns [r | z | n]), then split: the
      // same dot products as per-gate weight slices, with a third of the kernels (each of which,
      // forward and backward, costs tfjs bookkeeping in the decoder's per-vertex loop).
      const gi = tf.add(tf.matMul(x, this.weightIh as tf.Tensor2D, false, true), this.biasIh);
      const gh = tf.add(tf.matMul(h, this.weightHh as tf.Tensor2D, false, true), this.biasHh);
      const [ir, iz, iN] = tf.split(gi, [H, H, H], 1);
      const [hr, hz, hN] = tf.split(gh, [H, H, H], 1);
      const r = tf.sigmoid(tf.add(ir!, hr!));
      const z = tf.sigmoid(tf.add(iz!, hz!));
      const n = tf.tanh(tf.add(iN!, tf.mul(r, hN!)));
      return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
    });
  }
}
