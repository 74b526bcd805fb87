import * as tf from '@tensorflow/tfjs-core';
import { dense } from './dense';
import type { Rng } from '@metad2a/core';
import { Linear, joinName, type ParameterStore } from '@metad2a/layers';
import { InducedSetAttentionBlock, PoolingByAttention, RowProjections, SetAttentionBlock } from './attention';

/** Which attention blocks the encoder part of a {@link SetPool} stacks: MetaD2A uses `sab`. */
export type SetPoolBlocks = 'sab' | 'isab';

export interface SetPoolOptions {
  readonly dimInput: number;
  readonly dimHidden: number;
  readonly dimOutput: number;
  readonly heads: number;
  /** Pooled outputs (PMA seeds); MetaD2A: 1. */
  readonly numOutputs?: number;
  readonly blocks?: SetPoolBlocks;
  /** Inducing points of each ISAB (only for `blocks: 'isab'`). */
  readonly numInducing?: number;
  readonly layerNorm?: boolean;
}

/**
 * MetaD2A's `SetPool` (spec §2.1), mode `sabPF`: `enc = SAB(in→hidden) ∘ SAB(hidden→hidden)`,
 * `dec = PMA(hidden, k seeds) → Linear(hidden→out)`; `[N, n, in]` → `[N, k, out]`.
 * Parameter names `<name>.enc.0.mab.*`, `<name>.enc.1.mab.*`, `<name>.dec.0.S`, `<name>.dec.0.mab.*`,
 * `<name>.dec.1.*` (with `blocks: 'isab'`: `<name>.enc.i.I`, `.mab0.*`, `.mab1.*`).
 */
export class SetPool {
  readonly enc: readonly (SetAttentionBlock | InducedSetAttentionBlock)[];
  readonly pma: PoolingByAttention;
  readonly out: Linear;

  constructor(store: ParameterStore, readonly name: string, opts: SetPoolOptions, rng: Rng) {
    const ln = { layerNorm: opts.layerNorm ?? false };
    const block = (i: number, din: number, dout: number): SetAttentionBlock | InducedSetAttentionBlock =>
      (opts.blocks ?? 'sab') === 'sab'
        ? new SetAttentionBlock(store, joinName(name, `enc.${i}`), din, dout, opts.heads, rng, ln)
        : new InducedSetAttentionBlock(store, joinName(name, `enc.${i}`), din, dout, opts.heads, opts.numInducing ?? 16, rng, ln);
    this.enc = [block(0, opts.dimInput, opts.dimHidden), block(1, opts.dimHidden, opts.dimHidden)];
    this.pma = new PoolingByAttention(store, joinName(name, 'dec.0'), opts.dimHidden, opts.heads, opts.numOutputs ?? 1, rng, ln);
    this.out = new Linear(store, joinName(name, 'dec.1'), opts.dimHidden, opts.dimOutput, rng);
  }

  /** `[N, n, in]` → `[N, k, out]`. */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      let h = x;
      for (const b of this.enc) h = b.apply(h);
      return dense(this.out, this.pma.apply(h));
    });
  }

  /** The projection cache of the first block (a SAB only; undefined with ISABs). */
  rowProjections(initialCapacity?: number): RowProjections | undefined {
    const first = this.enc[0]!;
    return first instanceof SetAttentionBlock ? new RowProjections(first.mab, initialCapacity) : undefined;
  }

  /**
   * `apply(x)` for N sets of n rows whose first-block projections are cached in `proj`
   * (`slots`: the N·n rows, set-contiguous). Same numbers up to float32 rounding.
   */
  applyProjected(proj: RowProjections, slots: Int32Array, sets: number, n: number): tf.Tensor3D {
    const first = this.enc[0]!;
    if (!(first instanceof SetAttentionBlock) || proj.mab !== first.mab) throw new Error(`SetPool ${this.name}: projections of another block`);
    return tf.tidy(() => {
      const { qh, kh, vh } = proj.gather(slots, sets, n);
      let h = first.mab.applyProjected(qh, kh, vh, sets, n);
      for (const b of this.enc.slice(1)) h = b.apply(h);
      return dense(this.out, this.pma.apply(h));
    });
  }
}
