import * as tf from '@tensorflow/tfjs-core';
import { dense, jsInference, recordingGradients, softmaxLastAxis } from './dense';
import { backendTraits, type Rng } from '@metad2a/core';
import { Linear, joinName, xavierUniformInit, type ParameterStore } from '@metad2a/layers';
import { LayerNorm } from './layer-norm';

/**
 * Multihead attention block of the Set Transformer, exactly as MetaD2A's `MAB` (spec §2.1):
 *   Q' = fc_q(Q), K' = fc_k(K), V' = fc_v(K); heads = contiguous feature chunks of width d_V/h;
 *   O_h = Q'_h + softmax(Q'_h K'_hᵀ / √d_V) V'_h   (scale: the FULL width d_V; residual: projected queries);
 *   O = concat_h O_h;  [O = ln0(O)];  out = O + ReLU(fc_o(O));  [out = ln1(out)].
 * Parameters `<name>.fc_q/fc_k/fc_v/fc_o.{weight,bias}` (+ `ln0`, `ln1` with layer norm).
 */
export class MultiheadAttentionBlock {
  readonly fcQ: Linear;
  readonly fcK: Linear;
  readonly fcV: Linear;
  readonly fcO: Linear;
  readonly ln0?: LayerNorm;
  readonly ln1?: LayerNorm;

  constructor(
    store: ParameterStore,
    readonly name: string,
    readonly dimQ: number,
    readonly dimK: number,
    readonly dimV: number,
    readonly heads: number,
    rng: Rng,
    opts: { layerNorm?: boolean } = {},
  ) {
    if (!Number.isInteger(heads) || heads < 1 || dimV % heads !== 0) {
      throw new RangeError(`MAB ${name || '(root)'}: d_V = ${dimV} must be a multiple of heads = ${heads}`);
    }
    // Same creation order as the PyTorch module: fc_q, fc_k, fc_v, (ln0, ln1), fc_o.
    this.fcQ = new Linear(store, joinName(name, 'fc_q'), dimQ, dimV, rng);
    this.fcK = new Linear(store, joinName(name, 'fc_k'), dimK, dimV, rng);
    this.fcV = new Linear(store, joinName(name, 'fc_v'), dimK, dimV, rng);
    if (opts.layerNorm) {
      this.ln0 = new LayerNorm(store, joinName(name, 'ln0'), dimV);
      this.ln1 = new LayerNorm(store, joinName(name, 'ln1'), dimV);
    }
    this.fcO = new Linear(store, joinName(name, 'fc_o'), dimV, dimV, rng);
  }

  /** Q `[B, nq, d_Q]`, K `[B, nk, d_K]` → `[B, nq, d_V]`. */
  apply(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      // head-major needs a batch-broadcasting matMul, whose gradient tfjs 4.22 does not reduce: not under a tape
      const o0 = backendTraits().transposeHeads || this.heads === 1 || recordingGradients() ? this.attendTransposing(q, k) : this.attendHeadMajor(q, k);
      return this.finish(o0);
    });
  }

  /** `[ln0] → O + ReLU(fc_o(O)) → [ln1]`, the part after the attention. */
  private finish(o0: tf.Tensor3D): tf.Tensor3D {
    const o = this.ln0 ? this.ln0.apply(o0) : o0;
    const out = tf.add(o, tf.relu(dense(this.fcO, o))) as tf.Tensor3D;
    return this.ln1 ? this.ln1.apply(out) : out;
  }

  /**
   * Self-attention `MAB(X, X)` from precomputed head-major projections of X's rows (see
   * {@link RowProjections}): `qh`, `kh` (already scaled by 1/√d_V), `vh` all `[h·B, n, w]`, batch
   * index j·B + i = head j of set i → `[B, n, d_V]`. Equal to `apply(X, X)` up to float32 rounding.
   */
  applyProjected(qh: tf.Tensor3D, kh: tf.Tensor3D, vh: tf.Tensor3D, b: number, n: number): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.heads;
      const w = this.dimV / h;
      const att = softmaxLastAxis(tf.matMul(qh, kh, false, true));
      const oh = tf.add(qh, tf.matMul(att, vh));
      let o0: tf.Tensor3D;
      if (h === 1) o0 = tf.reshape(oh, [b, n, this.dimV]) as tf.Tensor3D;
      else if (jsInference()) o0 = mergeHeadsJs(oh, h, b, n, w);
      else if (backendTraits().transposeHeads) o0 = tf.reshape(tf.transpose(tf.reshape(oh, [h, b * n, w]), [1, 0, 2]), [b, n, this.dimV]) as tf.Tensor3D;
      else {
        const heads = tf.split(tf.reshape(oh, [h, b * n * w]), h, 0).map((x) => tf.reshape(x, [b * n, w]));
        o0 = tf.reshape(tf.concat(heads, 1), [b, n, this.dimV]) as tf.Tensor3D;
      }
      return this.finish(o0);
    });
  }

  /** `concat_h (Q'_h + softmax(Q'_h K'_hᵀ/√d_V) V'_h)` with the heads split and merged by transposes (fast on wasm). */
  private attendTransposing(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
    const [b, nq] = q.shape;
    const nk = k.shape[1];
    const h = this.heads;
    const w = this.dimV / h;
    const qp = dense(this.fcQ, q);
    const kp = dense(this.fcK, k);
    const vp = dense(this.fcV, k);
    // [B, n, d_V] → [B·h, n, w], head j = features [j·w, (j+1)·w)
    const split = (t: tf.Tensor3D, n: number): tf.Tensor3D => (h === 1 ? t : (tf.reshape(tf.transpose(tf.reshape(t, [b, n, h, w]), [0, 2, 1, 3]), [b * h, n, w]) as tf.Tensor3D));
    const qh = split(qp, nq);
    const kh = split(kp, nk);
    const vh = split(vp, nk);
    const scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(this.dimV));
    const att = softmaxLastAxis(scores as tf.Tensor3D);
    const oh = tf.add(qh, tf.matMul(att, vh)) as tf.Tensor3D;
    return h === 1 ? oh : (tf.reshape(tf.transpose(tf.reshape(oh, [b, h, nq, w]), [0, 2, 1, 3]), [b, nq, this.dimV]) as tf.Tensor3D);
  }

  /**
   * The same attention without transposing activations (tfjs-cpu's transpose kernel is slow): the
   * projections are computed head-major, `[1, B·n, d] · [h, w, d]ᵀ → [h, B·n, w]` (the 1/√d_V
   * scale folded into fc_k), and the heads are merged by one concat along the feature axis.
   */
  private attendHeadMajor(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
    const [b, nq, dq] = q.shape;
    const [, nk, dk] = k.shape;
    const h = this.heads;
    const w = this.dimV / h;
    // x `[B, n, d]` → `[h·B, n, w]` (batch index j·B + i: head j of set i); bias added through a
    // K = 1 matMul of a ones column, so that no op broadcasts and x is not copied
    const project = (x: tf.Tensor3D, n: number, d: number, lin: Linear, scale = 1): tf.Tensor3D => {
      const wt = tf.reshape(scale === 1 ? lin.weight : tf.mul(lin.weight, scale), [h, w, d]) as tf.Tensor3D;
      const bt = tf.reshape(scale === 1 ? lin.bias! : tf.mul(lin.bias!, scale), [h, 1, w]) as tf.Tensor3D;
      const y = tf.matMul(tf.reshape(x, [1, b * n, d]) as tf.Tensor3D, wt, false, true);
      if (jsInference()) return addHeadBiasJs(y, bt, h, b, n, w);
      const bias = tf.matMul(tf.ones([1, b * n, 1]) as tf.Tensor3D, bt);
      return tf.reshape(tf.add(y, bias), [h * b, n, w]) as tf.Tensor3D;
    };
    const qh = project(q, nq, dq, this.fcQ);
    const kh = project(k, nk, dk, this.fcK, 1 / Math.sqrt(this.dimV));
    const vh = project(k, nk, dk, this.fcV);
    const att = softmaxLastAxis(tf.matMul(qh, kh, false, true));
    const oh = tf.reshape(tf.add(qh, tf.matMul(att, vh)), [h, b * nq * w]);
    const heads = tf.split(oh, h, 0).map((x) => tf.reshape(x, [b * nq, w]));
    return tf.reshape(tf.concat(heads, 1), [b, nq, this.dimV]) as tf.Tensor3D;
  }
}

/** Set attention block: `MAB(X, X)` (parameters `<name>.mab.*`). */
export class SetAttentionBlock {
  readonly mab: MultiheadAttentionBlock;
  constructor(store: ParameterStore, name: string, dimIn: number, dimOut: number, heads: number, rng: Rng, opts: { layerNorm?: boolean } = {}) {
    this.mab = new MultiheadAttentionBlock(store, joinName(name, 'mab'), dimIn, dimIn, dimOut, heads, rng, opts);
  }
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return this.mab.apply(x, x);
  }
}

/** A learned `[1, k, d]` tensor with PyTorch's Xavier-uniform init (fan_in = k·d, fan_out = d). */
function seedTensor(store: ParameterStore, name: string, k: number, d: number, rng: Rng): tf.Variable {
  return store.add(name, [1, k, d], xavierUniformInit(rng, k * d, k * d, d));
}

/**
 * Induced set attention block: `H = MAB0(I, X)`, `out = MAB1(X, H)` with m learned inducing
 * points `I [1, m, d_out]` (parameters `<name>.I`, `<name>.mab0.*`, `<name>.mab1.*`). Cost linear in the set size.
 */
export class InducedSetAttentionBlock {
  readonly inducing: tf.Variable;
  readonly mab0: MultiheadAttentionBlock;
  readonly mab1: MultiheadAttentionBlock;
  constructor(store: ParameterStore, name: string, dimIn: number, dimOut: number, heads: number, numInducing: number, rng: Rng, opts: { layerNorm?: boolean } = {}) {
    this.inducing = seedTensor(store, joinName(name, 'I'), numInducing, dimOut, rng);
    this.mab0 = new MultiheadAttentionBlock(store, joinName(name, 'mab0'), dimOut, dimIn, dimOut, heads, rng, opts);
    this.mab1 = new MultiheadAttentionBlock(store, joinName(name, 'mab1'), dimIn, dimOut, dimOut, heads, rng, opts);
  }
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const ind = repeatOverBatch(this.inducing, x.shape[0]);
      return this.mab1.apply(x, this.mab0.apply(ind, x));
    });
  }
}

/**
 * A learned `[1, k, d]` tensor repeated over a batch of b: `[b, k, d]`. By a broadcasting add to
 * zeros rather than `tf.tile`, whose tfjs gradient is one slice and one add per batch row (1280
 * kernels per step for the 640 class sets of a meta-training batch); this one's is a single sum.
 */
function repeatOverBatch(t: tf.Tensor, b: number): tf.Tensor3D {
  return tf.add(tf.zeros([b, 1, 1]), t) as tf.Tensor3D;
}

/** Pooling by multihead attention: `MAB(S, X)` with k learned seeds `S [1, k, d]` (parameters `<name>.S`, `<name>.mab.*`). */
export class PoolingByAttention {
  readonly seeds: tf.Variable;
  readonly mab: MultiheadAttentionBlock;
  constructor(store: ParameterStore, name: string, dim: number, heads: number, numSeeds: number, rng: Rng, opts: { layerNorm?: boolean } = {}) {
    this.seeds = seedTensor(store, joinName(name, 'S'), numSeeds, dim, rng);
    this.mab = new MultiheadAttentionBlock(store, joinName(name, 'mab'), dim, dim, dim, heads, rng, opts);
  }
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const b = x.shape[0];
      const s = b === 1 ? (this.seeds as unknown as tf.Tensor3D) : repeatOverBatch(this.seeds, b);
      return this.mab.apply(s, x);
    });
  }
}

/**
 * A growing cache of the per-row projections fc_q/fc_k/fc_v of feature rows for a
 * {@link MultiheadAttentionBlock} used as a SAB (queries = keys = X). These maps act row by row,
 * so when many sets are drawn from one pool of rows (resampled datasets, spec §7.2), each distinct
 * row is projected once and every batch's Q/K/V are gathered by row copies. Stored head-major
 * `[h, capacity, w]` in plain Float32Arrays (keys already scaled by 1/√d_V).
 */
export class RowProjections {
  private q: Float32Array;
  private k: Float32Array;
  private v: Float32Array;
  private capacity: number;
  /** Rows projected so far (slots 0..rows-1). */
  rows = 0;
  readonly heads: number;
  readonly width: number;

  constructor(
    readonly mab: MultiheadAttentionBlock,
    initialCapacity = 1024,
  ) {
    this.heads = mab.heads;
    this.width = mab.dimV / mab.heads;
    this.capacity = Math.max(1, initialCapacity);
    const size = this.heads * this.capacity * this.width;
    this.q = new Float32Array(size);
    this.k = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** Projects `count` rows (`data` row-major `[count, d_K]`) into the next slots; returns the first new slot. */
  append(data: Float32Array, count: number): number {
    const first = this.rows;
    if (count === 0) return first;
    const need = first + count;
    if (need > this.capacity) this.grow(Math.max(need, 2 * this.capacity));
    const { heads: h, width: w, mab } = this;
    const [qd, kd, vd] = tf
      .tidy(() => {
        const x = tf.tensor2d(data, [count, mab.dimK]);
        const scale = 1 / Math.sqrt(mab.dimV);
        return [dense(mab.fcQ, x), tf.mul(dense(mab.fcK, x), scale), dense(mab.fcV, x)];
      })
      .map((t) => {
        const a = t.dataSync() as Float32Array;
        t.dispose();
        return a;
      }) as [Float32Array, Float32Array, Float32Array];
    // row-major [count, h·w] → head-major slots
    for (const [src, dst] of [
      [qd, this.q],
      [kd, this.k],
      [vd, this.v],
    ] as const) {
      for (let r = 0; r < count; r++) {
        for (let j = 0; j < h; j++) dst.set(src.subarray(r * h * w + j * w, r * h * w + (j + 1) * w), (j * this.capacity + first + r) * w);
      }
    }
    this.rows = need;
    return first;
  }

  private grow(capacity: number): void {
    const { heads: h, width: w } = this;
    const move = (old: Float32Array): Float32Array => {
      const a = new Float32Array(h * capacity * w);
      for (let j = 0; j < h; j++) a.set(old.subarray(j * this.capacity * w, (j * this.capacity + this.rows) * w), j * capacity * w);
      return a;
    };
    this.q = move(this.q);
    this.k = move(this.k);
    this.v = move(this.v);
    this.capacity = capacity;
  }

  /** The whole caches as 1-D tensors `[heads · capacity · width]` (sharing this cache's arrays on CPU-storage backends) and the capacity. */
  cacheTensors(): { q: tf.Tensor1D; k: tf.Tensor1D; v: tf.Tensor1D; capacity: number } {
    return { q: tf.tensor1d(this.q), k: tf.tensor1d(this.k), v: tf.tensor1d(this.v), capacity: this.capacity };
  }

  /** Q/K/V `[h·B, n, w]` of B sets of n rows each, the sets' rows being `slots` (length B·n, set-contiguous). */
  gather(slots: Int32Array, b: number, n: number): { qh: tf.Tensor3D; kh: tf.Tensor3D; vh: tf.Tensor3D } {
    if (slots.length !== b * n) throw new RangeError(`RowProjections.gather: ${slots.length} slots for ${b} sets of ${n}`);
    const { heads: h, width: w, capacity } = this;
    const m = b * n;
    const pick = (src: Float32Array): tf.Tensor3D => {
      const out = new Float32Array(h * m * w);
      for (let j = 0; j < h; j++) {
        const base = j * capacity;
        for (let i = 0; i < m; i++) {
          const s = slots[i]!;
          if (s < 0 || s >= this.rows) throw new RangeError(`RowProjections.gather: slot ${s} not projected (${this.rows} rows)`);
          const from = (base + s) * w;
          const to = (j * m + i) * w;
          for (let t = 0; t < w; t++) out[to + t] = src[from + t]!;
        }
      }
      return tf.tensor3d(out, [h * b, n, w]);
    };
    return { qh: pick(this.q), kh: pick(this.k), vh: pick(this.v) };
  }
}

/** Head-major `[h·B, n, w]` (batch j·B + i = head j of set i) → `[B, n, h·w]` by row copies (inference only). */
function mergeHeadsJs(oh: tf.Tensor, h: number, b: number, n: number, w: number): tf.Tensor3D {
  const src = oh.dataSync() as Float32Array;
  const m = b * n;
  const out = new Float32Array(m * h * w);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < m; i++) {
      const from = (j * m + i) * w;
      const to = (i * h + j) * w;
      for (let t = 0; t < w; t++) out[to + t] = src[from + t]!;
    }
  }
  return tf.tensor3d(out, [b, n, h * w]);
}

/** `y [h, B·n, w]` + head j's bias `bt [h, 1, w]` on every row of head j → `[h·B, n, w]` (inference only). */
function addHeadBiasJs(y: tf.Tensor, bt: tf.Tensor, h: number, b: number, n: number, w: number): tf.Tensor3D {
  const a = Float32Array.from(y.dataSync() as Float32Array);
  const bias = bt.dataSync() as Float32Array;
  const m = b * n;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < m; i++) {
      const o = (j * m + i) * w;
      for (let t = 0; t < w; t++) a[o + t]! += bias[j * w + t]!;
    }
  }
  return tf.tensor3d(a, [h * b, n, w]);
}
