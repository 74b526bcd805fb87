import * as tf from '@tensorflow/tfjs-core';
import { dense, recordingGradients } from './dense';
import { SET_POOL_PROJECTED_WEIGHTS, SET_POOL_PROJECTED_KERNEL, type Rng, type SetPoolProjectedAttrs, type SetPoolProjectedWeight } from '@metad2a/core';
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

  constructor(
    store: ParameterStore,
    readonly name: string,
    opts: SetPoolOptions,
    rng: Rng,
  ) {
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
    if (this.fusedAvailable()) {
      // inference on a backend with the fused kernel: project the rows once, then run it on identity slots
      const [sets, n] = x.shape;
      const proj = this.rowProjections(Math.max(1, sets * n))!;
      proj.append(x.dataSync() as Float32Array, sets * n);
      return this.applyFused(
        proj,
        Int32Array.from({ length: sets * n }, (_, i) => i),
        sets,
        n,
      );
    }
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
    if (this.fusedAvailable()) return this.applyFused(proj, slots, sets, n);
    return tf.tidy(() => {
      const { qh, kh, vh } = proj.gather(slots, sets, n);
      let h = first.mab.applyProjected(qh, kh, vh, sets, n);
      for (const b of this.enc.slice(1)) h = b.apply(h);
      return dense(this.out, this.pma.apply(h));
    });
  }

  /**
   * Whether this call can use the backend's fused `SET_POOL_PROJECTED_KERNEL` kernel: outside a gradient
   * tape, on a backend that registers it, and for what it covers (SAB → SAB → PMA → Linear, no layer norm).
   */
  private fusedAvailable(): boolean {
    const [a, b] = this.enc;
    const fusable = a instanceof SetAttentionBlock && b instanceof SetAttentionBlock && !a.mab.ln0 && !b.mab.ln0 && !this.pma.mab.ln0 && this.out.bias !== undefined;
    return fusable && !recordingGradients() && tf.getKernel(SET_POOL_PROJECTED_KERNEL, tf.getBackend()) !== undefined;
  }

  /** {@link applyProjected} through the backend's fused `SET_POOL_PROJECTED_KERNEL` kernel (`@metad2a/core` contract). */
  private applyFused(proj: RowProjections, slots: Int32Array, sets: number, n: number): tf.Tensor3D {
    const sab1 = (this.enc[0] as SetAttentionBlock).mab;
    const sab2 = (this.enc[1] as SetAttentionBlock).mab;
    const pma = this.pma.mab;
    const w: Record<SetPoolProjectedWeight, tf.Tensor> = {
      sab1O_w: sab1.fcO.weight,
      sab1O_b: sab1.fcO.bias!,
      sab2Q_w: sab2.fcQ.weight,
      sab2Q_b: sab2.fcQ.bias!,
      sab2K_w: sab2.fcK.weight,
      sab2K_b: sab2.fcK.bias!,
      sab2V_w: sab2.fcV.weight,
      sab2V_b: sab2.fcV.bias!,
      sab2O_w: sab2.fcO.weight,
      sab2O_b: sab2.fcO.bias!,
      seeds: this.pma.seeds,
      pmaQ_w: pma.fcQ.weight,
      pmaQ_b: pma.fcQ.bias!,
      pmaK_w: pma.fcK.weight,
      pmaK_b: pma.fcK.bias!,
      pmaV_w: pma.fcV.weight,
      pmaV_b: pma.fcV.bias!,
      pmaO_w: pma.fcO.weight,
      pmaO_b: pma.fcO.bias!,
      out_w: this.out.weight,
      out_b: this.out.bias!,
    };
    const caches = proj.cacheTensors();
    const slotTensor = tf.tensor1d(slots, 'int32');
    try {
      const attrs: SetPoolProjectedAttrs = {
        heads: sab1.heads,
        dim: sab1.dimV,
        numOutputs: this.pma.seeds.shape[1]!,
        outDim: this.out.outFeatures,
        perSet: n,
        sets,
        capacity: caches.capacity,
        rows: proj.rows,
      };
      const inputs: tf.NamedTensorMap = { q: caches.q, k: caches.k, v: caches.v, slots: slotTensor };
      for (const name of SET_POOL_PROJECTED_WEIGHTS) inputs[name] = w[name];
      return tf.engine().runKernel(SET_POOL_PROJECTED_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
    } finally {
      tf.dispose([caches.q, caches.k, caches.v, slotTensor]);
    }
  }
}
