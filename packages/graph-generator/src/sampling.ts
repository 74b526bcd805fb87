import * as tf from '@tensorflow/tfjs-core';
import { getGraphDecodeKernel, type ArchGraph, type Edge, type GraphConfig, type GraphDecodeWeights, type Rng } from '@metad2a/core';

/** The decoder's parameters as plain float32 arrays (PyTorch layout), read once per decode call. */
export interface DecoderWeights {
  readonly hs: number;
  readonly nz: number;
  readonly fc3W: Float32Array; // [hs, nz]
  readonly fc3B: Float32Array;
  readonly wih: Float32Array; // [3hs, nvt]
  readonly whh: Float32Array; // [3hs, hs]
  readonly bih: Float32Array;
  readonly bhh: Float32Array;
  readonly av0W: Float32Array; // [2hs, hs]
  readonly av0B: Float32Array;
  readonly av2W: Float32Array; // [nvt, 2hs]
  readonly av2B: Float32Array;
  readonly ae0W: Float32Array; // [4hs, 2hs]
  readonly ae0B: Float32Array;
  readonly ae2W: Float32Array; // [1, 4hs]
  readonly ae2B: Float32Array;
  readonly gateW: Float32Array; // [hs, hs + maxN]
  readonly gateB: Float32Array;
  readonly mapW: Float32Array; // [hs, hs + maxN]
}

export type DecodeMode = { readonly stochastic: false } | { readonly stochastic: true; readonly rng: Rng };

export interface DecodeOptions {
  /**
   * `auto` (default): the current tfjs backend's graph decoding kernel when it registers one
   * (`@metad2a/tfjs-kernels` does for `native`: same algorithm and draws, compiled), else this
   * TypeScript loop; `js`: always this loop.
   */
  readonly implementation?: 'auto' | 'js';
}

/** Decoded graphs plus what the decoder saw while deciding (for inspection and golden tests). */
export interface DecodeTrace {
  readonly graphs: ArchGraph[];
  /** add_vertex logits at steps idx = 1..maxN−2 (the forced-END step has none): `[B, maxN−2, nvt]`, NaN after a graph finished. */
  readonly typeLogits: Float32Array;
  /** p(vi→idx) `[B, maxN, maxN]` when that decision was taken, −1 where none was (the fixtures' convention). */
  readonly edgeProbs: Float32Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * The decoder's weights re-laid out for the sampling loops: float64, the blocks that act on a
 * state separated from the ones that act on one-hots (a one-hot times a matrix is a column).
 */
export interface PreparedDecoderWeights extends GraphDecodeWeights {
  readonly hs: number;
  readonly nz: number;
  readonly nvt: number;
  readonly maxN: number;
  readonly fc3W: Float64Array; // [hs, nz]
  readonly fc3B: Float64Array;
  /** GRU input part per type: bih + W_ih[:, type], `[nvt, 3hs]`. */
  readonly giByType: Float64Array;
  readonly whh: Float64Array; // [3hs, hs]
  readonly bhh: Float64Array;
  readonly av0W: Float64Array; // [2hs, hs]
  readonly av0B: Float64Array;
  readonly av2W: Float64Array; // [nvt, 2hs]
  readonly av2B: Float64Array;
  /** add_edge.0 weight split by input half: `[4hs, hs]` each. */
  readonly aeOld: Float64Array;
  readonly aeNew: Float64Array;
  readonly ae0B: Float64Array;
  readonly ae2W: Float64Array; // [4hs]
  readonly ae2B: number;
  /** decoding gate / mapper on the state part `[hs, hs]`, and per vertex id: bias + column `[maxN, hs]`. */
  readonly gateH: Float64Array;
  readonly gateByVid: Float64Array;
  readonly mapH: Float64Array;
  readonly mapByVid: Float64Array;
}

/** Re-lay the weights for {@link decodeBatch} (do it once when decoding many batches). */
export function prepareDecoderWeights(w: DecoderWeights, cfg: GraphConfig): PreparedDecoderWeights {
  const { hs, nz } = w;
  const { nvt, maxN } = cfg;
  const h3 = 3 * hs;
  const e4 = 4 * hs;
  const vs = hs + maxN;
  const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);
  const giByType = new Float64Array(nvt * h3);
  for (let t = 0; t < nvt; t++) for (let j = 0; j < h3; j++) giByType[t * h3 + j] = w.bih[j]! + w.wih[j * nvt + t]!;
  const aeOld = new Float64Array(e4 * hs);
  const aeNew = new Float64Array(e4 * hs);
  for (let o = 0; o < e4; o++) {
    for (let i = 0; i < hs; i++) {
      aeOld[o * hs + i] = w.ae0W[o * 2 * hs + i]!;
      aeNew[o * hs + i] = w.ae0W[o * 2 * hs + hs + i]!;
    }
  }
  const split = (W: Float32Array, b: Float32Array | null): [Float64Array, Float64Array] => {
    const h = new Float64Array(hs * hs);
    const byVid = new Float64Array(maxN * hs);
    for (let o = 0; o < hs; o++) {
      for (let i = 0; i < hs; i++) h[o * hs + i] = W[o * vs + i]!;
      for (let v = 0; v < maxN; v++) byVid[v * hs + o] = (b ? b[o]! : 0) + W[o * vs + hs + v]!;
    }
    return [h, byVid];
  };
  const [gateH, gateByVid] = split(w.gateW, w.gateB);
  const [mapH, mapByVid] = split(w.mapW, null);
  return {
    hs,
    nz,
    nvt,
    maxN,
    fc3W: f64(w.fc3W),
    fc3B: f64(w.fc3B),
    giByType,
    whh: f64(w.whh),
    bhh: f64(w.bhh),
    av0W: f64(w.av0W),
    av0B: f64(w.av0B),
    av2W: f64(w.av2W),
    av2B: f64(w.av2B),
    aeOld,
    aeNew,
    ae0B: f64(w.ae0B),
    ae2W: f64(w.ae2W),
    ae2B: w.ae2B[0]!,
    gateH,
    gateByVid,
    mapH,
    mapByVid,
  };
}

/** out[oo + o] = (b ? b[bo + o] : 0) + Σ_i W[o, i] x[xo + i], W row-major `[nOut, nIn]`. */
function affine(W: Float64Array, b: Float64Array | null, bo: number, x: Float64Array, xo: number, out: Float64Array, oo: number, nOut: number, nIn: number): void {
  for (let o = 0; o < nOut; o++) {
    let s = b === null ? 0 : b[bo + o]!;
    const r = o * nIn;
    for (let i = 0; i < nIn; i++) s += W[r + i]! * x[xo + i]!;
    out[oo + o] = s;
  }
}

/**
 * Graph decoding (spec §2.4 "Stochastic decoding", §8 items 13–14), the whole batch at once:
 * every step handles all B graphs, finished graphs are skipped. Plain float64 arithmetic on the
 * float32 weights: at hs = 56 the per-op overhead of a tensor library would dominate, and the
 * memoryless state (§2.3) allows caching. The state of the new vertex is always recomputed from
 * scratch out of its type and current predecessors (GRU(onehot(type), Σ gated messages)); what is
 * cached are per-vertex terms that are linear in a final vertex's values — its gated message and
 * W_hh times it (so the GRU's hidden part is a running sum), and its half of add_edge's first
 * layer — and the recomputation is skipped when no edge was added, since an unchanged
 * predecessor set gives the same state.
 *
 * Types: argmax, or a draw from softmax(add_vertex) with `rng`; the last position is forced END.
 * Edges vi→idx for vi = idx−1 … 0: p > 0.5, or `rng.uniform() < p`. A new END vertex receives an
 * edge from every vertex of out-degree 0 (ascending) and finishes its graph, also when END was
 * drawn early (the graph then has fewer than maxN vertices and is invalid).
 * Random draws, in order: per step, one per unfinished graph for the type (graphs in batch
 * order, not at the forced END), then per vi (descending) one per graph still deciding.
 */
export function decodeBatch(
  weights: DecoderWeights | PreparedDecoderWeights,
  cfg: GraphConfig,
  z: Float32Array,
  B: number,
  mode: DecodeMode,
  opts: DecodeOptions = {},
): DecodeTrace {
  const w = 'giByType' in weights && weights.maxN === cfg.maxN && weights.nvt === cfg.nvt ? weights : prepareDecoderWeights(weights as DecoderWeights, cfg);
  const kernel = (opts.implementation ?? 'auto') === 'auto' ? getGraphDecodeKernel(tf.getBackend()) : undefined;
  if (kernel) return decodeWithKernel(kernel, w, cfg, z, B, mode);
  const { nvt, maxN, startType, endType } = cfg;
  const hs = w.hs;
  const nz = w.nz;
  const h3 = 3 * hs;
  const e4 = 4 * hs;
  // per graph, per final vertex: state, gated message, W_hh·message, add_edge's old-vertex half
  const H = new Float64Array(B * maxN * hs);
  const MSG = new Float64Array(B * maxN * hs);
  const GH = new Float64Array(B * maxN * h3);
  const EA = new Float64Array(B * maxN * e4);
  const types: number[][] = Array.from({ length: B }, () => [startType]);
  const edges: Edge[][] = Array.from({ length: B }, () => []);
  const outDeg = new Int32Array(B * maxN);
  const finished = new Uint8Array(B);
  const typeLogits = new Float32Array(B * Math.max(0, maxN - 2) * nvt).fill(NaN);
  const edgeProbs = new Float32Array(B * maxN * maxN).fill(-1);

  const gh = new Float64Array(h3);
  const hidden2 = new Float64Array(2 * hs);
  const logits = new Float64Array(nvt);
  const g = new Float64Array(hs);
  const mp = new Float64Array(hs);
  const tmp = new Float64Array(hs);
  const hNew = new Float64Array(hs);

  /** hNew = GRUCell(onehot(type), hin) given gh = W_hh·hin + b_hh. */
  const gru = (type: number, hin: Float64Array, ho: number): void => {
    const gi = w.giByType;
    const to = type * h3;
    for (let j = 0; j < hs; j++) {
      const r = sigmoid(gi[to + j]! + gh[j]!);
      const zz = sigmoid(gi[to + hs + j]! + gh[hs + j]!);
      const n = Math.tanh(gi[to + 2 * hs + j]! + r * gh[2 * hs + j]!);
      hNew[j] = (1 - zz) * n + zz * hin[ho + j]!;
    }
  };
  /** Cache vertex v of graph b (state in hNew) as final. */
  const finalize = (b: number, v: number): void => {
    const base = (b * maxN + v) * hs;
    H.set(hNew, base);
    affine(w.gateH, w.gateByVid, v * hs, hNew, 0, g, 0, hs, hs);
    affine(w.mapH, w.mapByVid, v * hs, hNew, 0, mp, 0, hs, hs);
    for (let j = 0; j < hs; j++) MSG[base + j] = sigmoid(g[j]!) * mp[j]!;
    affine(w.whh, null, 0, MSG, base, GH, (b * maxN + v) * h3, h3, hs);
    affine(w.aeOld, null, 0, hNew, 0, EA, (b * maxN + v) * e4, e4, hs);
  };

  // vertex 0: START, with H_in := H0 = tanh(fc3(z))
  const zRow = new Float64Array(nz);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < nz; i++) zRow[i] = z[b * nz + i]!;
    affine(w.fc3W, w.fc3B, 0, zRow, 0, tmp, 0, hs, nz);
    for (let j = 0; j < hs; j++) tmp[j] = Math.tanh(tmp[j]!);
    affine(w.whh, w.bhh, 0, tmp, 0, gh, 0, h3, hs);
    gru(startType, tmp, 0);
    finalize(b, 0);
  }

  // per graph, the new vertex while its edges are decided: state, H_in, W_hh·H_in + b_hh, add_edge half
  const NEW = new Float64Array(B * hs);
  const NEWHIN = new Float64Array(B * hs);
  const NEWGH = new Float64Array(B * h3);
  const EB = new Float64Array(B * e4);
  const newType = new Int32Array(B);
  const deciding = new Uint8Array(B);
  const zeros = new Float64Array(hs);

  for (let idx = 1; idx < maxN; idx++) {
    // 1. types
    for (let b = 0; b < B; b++) {
      if (finished[b]) continue;
      let t: number;
      if (idx === maxN - 1) t = endType;
      else {
        const base = (b * maxN + idx - 1) * hs;
        affine(w.av0W, w.av0B, 0, H, base, hidden2, 0, 2 * hs, hs);
        for (let o = 0; o < 2 * hs; o++) if (hidden2[o]! < 0) hidden2[o] = 0;
        affine(w.av2W, w.av2B, 0, hidden2, 0, logits, 0, nvt, 2 * hs);
        const lo = (b * (maxN - 2) + idx - 1) * nvt;
        for (let k = 0; k < nvt; k++) typeLogits[lo + k] = logits[k]!;
        if (mode.stochastic) {
          let mx = -Infinity;
          for (let k = 0; k < nvt; k++) mx = Math.max(mx, logits[k]!);
          for (let k = 0; k < nvt; k++) logits[k] = Math.exp(logits[k]! - mx);
          t = mode.rng.categorical(logits);
        } else {
          t = 0;
          for (let k = 1; k < nvt; k++) if (logits[k]! > logits[t]!) t = k;
        }
      }
      newType[b] = t;
      types[b]!.push(t);
      if (t === endType) {
        // 2a. END: every other vertex of out-degree 0 gets an edge to it; the graph is done
        for (let v = 0; v < idx; v++) {
          if (outDeg[b * maxN + v] === 0) {
            edges[b]!.push([v, idx]);
            outDeg[b * maxN + v]++;
          }
        }
        finished[b] = 1;
        continue;
      }
      // 2b. the new vertex, no predecessors yet (H_in = 0, so W_hh·H_in + b_hh = b_hh)
      deciding[b] = 1;
      gh.set(w.bhh);
      gru(t, zeros, 0);
      NEW.set(hNew, b * hs);
      NEWHIN.fill(0, b * hs, (b + 1) * hs);
      NEWGH.set(w.bhh, b * h3);
      affine(w.aeNew, w.ae0B, 0, hNew, 0, EB, b * e4, e4, hs);
    }
    // 3. edges vi → idx, vi = idx−1 … 0, all deciding graphs together
    for (let vi = idx - 1; vi >= 0; vi--) {
      for (let b = 0; b < B; b++) {
        if (!deciding[b]) continue;
        const ea = (b * maxN + vi) * e4;
        const ebo = b * e4;
        let s = w.ae2B;
        for (let o = 0; o < e4; o++) {
          const a = EA[ea + o]! + EB[ebo + o]!;
          if (a > 0) s += w.ae2W[o]! * a;
        }
        const p = sigmoid(s);
        edgeProbs[(b * maxN + vi) * maxN + idx] = p;
        const add = mode.stochastic ? mode.rng.uniform() < p : p > 0.5;
        if (!add) continue;
        edges[b]!.push([vi, idx]);
        outDeg[b * maxN + vi]++;
        // re-encode the new vertex from scratch: H_in and W_hh·H_in gain vi's (cached) terms
        const mo = (b * maxN + vi) * hs;
        for (let j = 0; j < hs; j++) NEWHIN[b * hs + j] += MSG[mo + j]!;
        const go = (b * maxN + vi) * h3;
        for (let j = 0; j < h3; j++) gh[j] = NEWGH[b * h3 + j] += GH[go + j]!;
        gru(newType[b]!, NEWHIN, b * hs);
        NEW.set(hNew, b * hs);
        affine(w.aeNew, w.ae0B, 0, hNew, 0, EB, ebo, e4, hs);
      }
    }
    for (let b = 0; b < B; b++) {
      if (!deciding[b]) continue;
      hNew.set(NEW.subarray(b * hs, (b + 1) * hs));
      finalize(b, idx);
      deciding[b] = 0;
    }
  }
  return { graphs: types.map((t, b) => ({ types: t, edges: edges[b]! })), typeLogits, edgeProbs };
}

/** {@link decodeBatch} on a backend's kernel (core's `GraphDecodeKernel`), the rng advanced as the loop would. */
function decodeWithKernel(
  kernel: NonNullable<ReturnType<typeof getGraphDecodeKernel>>,
  w: PreparedDecoderWeights,
  cfg: GraphConfig,
  z: Float32Array,
  B: number,
  mode: DecodeMode,
): DecodeTrace {
  const rngState = mode.stochastic ? Uint32Array.from(mode.rng.state().s) : undefined;
  const r = kernel({
    weights: w,
    nvt: cfg.nvt,
    maxN: cfg.maxN,
    startType: cfg.startType,
    endType: cfg.endType,
    batch: B,
    z: z.length === B * w.nz ? z : z.subarray(0, B * w.nz),
    rngState,
  });
  if (mode.stochastic) mode.rng.setState({ algorithm: 'xoshiro128**', s: [rngState![0]!, rngState![1]!, rngState![2]!, rngState![3]!] });
  const maxE = (cfg.maxN * (cfg.maxN - 1)) / 2;
  const graphs: ArchGraph[] = [];
  for (let b = 0; b < B; b++) {
    const types: number[] = [];
    for (let i = 0; i < cfg.maxN; i++) {
      const t = r.types[b * cfg.maxN + i]!;
      if (t < 0) break;
      types.push(t);
    }
    const edges: Edge[] = [];
    for (let e = 0; e < r.edgeCounts[b]!; e++) edges.push([r.edges[(b * maxE + e) * 2]!, r.edges[(b * maxE + e) * 2 + 1]!]);
    graphs.push({ types, edges });
  }
  return { graphs, typeLogits: r.typeLogits, edgeProbs: r.edgeProbs };
}
