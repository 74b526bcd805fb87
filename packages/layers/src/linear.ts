import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@metad2a/core';
import { linearInit } from './init';
import { joinName, type ParameterStore } from './parameter-store';

/**
 * `nn.Linear(in, out)`: parameters `<name>.weight [out, in]` (PyTorch layout) and
 * `<name>.bias [out]`; y = x Wᵀ + b over the last axis of a 2-D or 3-D input.
 */
export class Linear {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    store: ParameterStore,
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: { bias?: boolean } = {},
  ) {
    const init = linearInit(rng, inFeatures, outFeatures, opts.bias !== false);
    this.weight = store.add(joinName(name, 'weight'), [outFeatures, inFeatures], init.weight);
    if (init.bias) this.bias = store.add(joinName(name, 'bias'), [outFeatures], init.bias);
  }

  apply<T extends tf.Tensor2D | tf.Tensor3D>(x: T): T {
    return tf.tidy(() => {
      if (x.rank === 2) {
        const y = tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D, false, true);
        return (this.bias ? tf.add(y, this.bias) : y) as T;
      }
      const [b, n, d] = x.shape as [number, number, number];
      const y2 = tf.matMul(tf.reshape(x, [b * n, d]) as tf.Tensor2D, this.weight as tf.Tensor2D, false, true);
      const y = this.bias ? tf.add(y2, this.bias) : y2;
      return tf.reshape(y, [b, n, this.outFeatures]) as T;
    });
  }
}
