import * as tf from '@tensorflow/tfjs-core';
import { joinName, type ParameterStore } from '@metad2a/layers';

/** `nn.LayerNorm(d)` over the last axis: weight (ones) and bias (zeros), ε = 1e-5. */
export class LayerNorm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    store: ParameterStore,
    readonly name: string,
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    this.weight = store.add(joinName(name, 'weight'), [dim], new Float32Array(dim).fill(1));
    this.bias = store.add(joinName(name, 'bias'), [dim], new Float32Array(dim));
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(y, this.weight), this.bias) as T;
    });
  }
}
