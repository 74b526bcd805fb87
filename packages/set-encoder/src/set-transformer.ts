import * as tf from '@tensorflow/tfjs-core';
import {
  MetaD2AException,
  OFFICIAL_MODEL_SPEC,
  modelSpecs,
  shapeMismatch,
  type NamedArrays,
  type RowProjectingSetEncoder,
  type SetEncoderOptions,
  type SetLayout,
} from '@metad2a/core';
import type { RowProjections } from './attention';
import { checkSetInput } from './layout';
import { OwnedParameters } from './parameters';
import { SetPool, type SetPoolBlocks } from './set-pool';

export interface SetTransformerOptions extends SetEncoderOptions {
  /** Layer norm inside every MAB (`ln=True` of the Set Transformer); MetaD2A: off. */
  readonly layerNorm?: boolean;
  /** `sab` (MetaD2A) or `isab` (induced attention, linear in the set size). */
  readonly blocks?: SetPoolBlocks;
  /** Inducing points per ISAB (`blocks: 'isab'` only); default 16. */
  readonly numInducing?: number;
}

/**
 * MetaD2A's two-level dataset encoder (spec §2.2): `[B, C·n, d]` (class-contiguous) →
 * intra-class `SetPool(d → h → h)` on every class set → prototypes `[B, C, h]` →
 * inter-class `SetPool(h → h → out)` → `[B, out]`. All B·C class sets go through the
 * intra-class pool in one batched pass. Parameters under the official names
 * `<prefix>intra_setpool.*` and `<prefix>inter_setpool.*` (PyTorch layout).
 */
export class SetTransformerEncoder implements RowProjectingSetEncoder {
  readonly kind: string;
  readonly inputDim: number;
  readonly hiddenDim: number;
  readonly outputDim: number;
  readonly intra: SetPool;
  readonly inter: SetPool;
  private readonly params: OwnedParameters;

  constructor(opts: SetTransformerOptions) {
    this.kind = (opts.blocks ?? 'sab') === 'sab' ? 'set-transformer' : 'isab';
    this.inputDim = opts.inputDim;
    this.hiddenDim = opts.hiddenDim;
    this.outputDim = opts.outputDim;
    this.params = new OwnedParameters(opts.store);
    const prefix = opts.prefix ?? '';
    // heads left out: the official setting's
    const common = {
      heads: opts.heads ?? modelSpecs.get(OFFICIAL_MODEL_SPEC).generator.heads,
      layerNorm: opts.layerNorm ?? false,
      blocks: opts.blocks ?? 'sab',
      numInducing: opts.numInducing,
    } as const;
    this.intra = new SetPool(this.params.sink, `${prefix}intra_setpool`, { dimInput: opts.inputDim, dimHidden: opts.hiddenDim, dimOutput: opts.hiddenDim, ...common }, opts.rng);
    this.inter = new SetPool(this.params.sink, `${prefix}inter_setpool`, { dimInput: opts.hiddenDim, dimHidden: opts.hiddenDim, dimOutput: opts.outputDim, ...common }, opts.rng);
  }

  /** Intra-class prototypes: `[B, C·n, d]` → `[B, C, hiddenDim]`. */
  encodeClasses(x: tf.Tensor3D, layout: SetLayout): tf.Tensor3D {
    checkSetInput(x, layout, this.inputDim, `${this.kind} encoder`);
    return tf.tidy(() => {
      const b = x.shape[0];
      const sets = tf.reshape(x, [b * layout.classes, layout.perClass, this.inputDim]) as tf.Tensor3D;
      return tf.reshape(this.intra.apply(sets), [b, layout.classes, this.hiddenDim]) as tf.Tensor3D;
    });
  }

  /** Dataset embeddings: `[B, C·n, d]` → `[B, outputDim]` (the batch axis is kept for B = 1). */
  encode(x: tf.Tensor3D, layout: SetLayout): tf.Tensor2D {
    return tf.tidy(() => {
      const protos = this.encodeClasses(x, layout);
      return tf.reshape(this.inter.apply(protos), [x.shape[0], this.outputDim]) as tf.Tensor2D;
    });
  }

  /**
   * A cache of the per-row projections of the intra-class pool's first SAB (undefined with
   * `blocks: 'isab'`), for {@link encodeProjected}: resampled datasets drawn from one pool of
   * feature rows then project each distinct row once instead of once per draw (spec §7.2).
   * The cache follows the current parameter values at projection time; make a new one after
   * changing parameters.
   */
  rowProjections(initialCapacity?: number): RowProjections | undefined {
    return this.intra.rowProjections(initialCapacity);
  }

  /**
   * `encode(x, layout)` where x's `[B, C·n]` rows are the cached rows `slots` (length B·C·n, in
   * x's row order): `[B, outputDim]`, equal up to float32 rounding.
   */
  encodeProjected(proj: RowProjections, slots: Int32Array, batch: number, layout: SetLayout): tf.Tensor2D {
    const { classes, perClass } = layout;
    if (slots.length !== batch * classes * perClass) {
      throw new MetaD2AException(
        shapeMismatch({
          source: `${this.kind} encoder`,
          field: 'slots',
          expected: `${batch} × ${classes} × ${perClass} = ${batch * classes * perClass} rows`,
          got: String(slots.length),
        }),
      );
    }
    return tf.tidy(() => {
      const protos = tf.reshape(this.intra.applyProjected(proj, slots, batch * classes, perClass), [batch, classes, this.hiddenDim]) as tf.Tensor3D;
      return tf.reshape(this.inter.apply(protos), [batch, this.outputDim]) as tf.Tensor2D;
    });
  }

  parameters(): ReadonlyMap<string, tf.Variable> {
    return this.params.entries();
  }

  loadParameters(values: NamedArrays, opts: { allowExtra?: boolean | readonly string[] } = {}): void {
    this.params.load(values, { ...opts, source: `${this.kind} encoder` });
  }

  dispose(): void {
    this.params.dispose();
  }
}
