import * as tf from '@tensorflow/tfjs-core';
import { dense } from './dense';
import type { NamedArrays, SetEncoder, SetEncoderOptions, SetLayout } from '@metad2a/core';
import { Linear } from '@metad2a/layers';
import { checkSetInput } from './layout';
import { OwnedParameters } from './parameters';

/**
 * A two-level DeepSets encoder (Zaheer et al. 2017), a cheap alternative to the Set Transformer
 * behind the same interface: per class, `φ(x) = ReLU(W2 ReLU(W1 x))` mean-pooled over the n samples
 * → prototypes `[B, C, h]`; then `ψ` (same form) mean-pooled over classes → `Linear(h → out)`.
 * Parameters `<prefix>intra.phi.0/2.*`, `<prefix>inter.phi.0/2.*`, `<prefix>inter.out.*`.
 */
export class DeepSetsEncoder implements SetEncoder {
  readonly kind = 'deepsets';
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  private readonly params: OwnedParameters;
  private readonly intra: [Linear, Linear];
  private readonly inter: [Linear, Linear];
  private readonly out: Linear;

  constructor(opts: SetEncoderOptions) {
    this.inputDim = opts.inputDim;
    this.hiddenDim = opts.hiddenDim;
    this.outputDim = opts.outputDim;
    this.params = new OwnedParameters(opts.store);
    const p = opts.prefix ?? '';
    const s = this.params.sink;
    const h = opts.hiddenDim;
    this.intra = [new Linear(s, `${p}intra.phi.0`, opts.inputDim, h, opts.rng), new Linear(s, `${p}intra.phi.2`, h, h, opts.rng)];
    this.inter = [new Linear(s, `${p}inter.phi.0`, h, h, opts.rng), new Linear(s, `${p}inter.phi.2`, h, h, opts.rng)];
    this.out = new Linear(s, `${p}inter.out`, h, opts.outputDim, opts.rng);
  }

  private static pool(x: tf.Tensor3D, mlp: [Linear, Linear]): tf.Tensor2D {
    return tf.mean(tf.relu(dense(mlp[1], tf.relu(dense(mlp[0], x)))), 1) as tf.Tensor2D;
  }

  encodeClasses(x: tf.Tensor3D, layout: SetLayout): tf.Tensor3D {
    checkSetInput(x, layout, this.inputDim, 'deepsets encoder');
    return tf.tidy(() => {
      const b = x.shape[0];
      const sets = tf.reshape(x, [b * layout.classes, layout.perClass, this.inputDim]) as tf.Tensor3D;
      return tf.reshape(DeepSetsEncoder.pool(sets, this.intra), [b, layout.classes, this.hiddenDim]) as tf.Tensor3D;
    });
  }

  encode(x: tf.Tensor3D, layout: SetLayout): tf.Tensor2D {
    return tf.tidy(() => dense(this.out, DeepSetsEncoder.pool(this.encodeClasses(x, layout), this.inter)));
  }

  parameters(): ReadonlyMap<string, tf.Variable> {
    return this.params.entries();
  }

  loadParameters(values: NamedArrays, opts: { allowExtra?: boolean | readonly string[] } = {}): void {
    this.params.load(values, { ...opts, source: 'deepsets encoder' });
  }

  dispose(): void {
    this.params.dispose();
  }
}
