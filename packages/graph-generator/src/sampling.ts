import type { ArchGraph, Edge, GraphConfig, Rng } from '@metad2a/core';

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

/** Decoded graphs plus what the decoder saw while deciding (for inspection and golden tests). */
export interface DecodeTrace {
  readonly graphs: ArchGraph[];
  /** add_vertex logits at steps idx = 1..maxN−2 (the forced-END step has none): `[B, maxN−2, nvt]`, NaN after a graph finished. */
  readonly typeLogits: Float32Array;
  /** p(vi→idx) `[B, maxN, maxN]` when that decision was taken, −1 where none was (the fixtures' convention). */
  readonly edgeProbs: Float32Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** y[o] = b[o] + Σ_i W[o, i] x[i] (W row-major [out, in], x at offset xo). */
function affine(W: Float32Array, b: Float32Array | null, x: ArrayLike<number>, xo: number, out: Float64Array, nOut: number, nIn: number): void {
  for (let o = 0; o < nOut; o++) {
    let s = b ? b[o]! : 0;
    const r = o * nIn;
    for (let i = 0; i < nIn; i++) s += W[r + i]! * x[xo + i]!;
    out[o] = s;
  }
}

/**
 * Graph decoding (spec §2.4 "Stochastic decoding", §8 items 13–14), the whole batch at once:
 * every step handles all B graphs, finished graphs are skipped. Plain float64 arithmetic on the
 * float32 weights: at hs = 56 the per-op overhead of a tensor library would dominate, and the
 * memoryless state (§2.3) allows caching — a vertex's gated message and its half of add_edge's
 * first layer are computed once when it is final, and the new vertex's state is recomputed (from
 * scratch, out of its type and current predecessors) only when an edge was actually added, since
 * an unchanged predecessor set gives the same state.
 *
 * Types: argmax, or a draw from softmax(add_vertex) with `rng`; the last position is forced END.
 * Edges vi→idx for vi = idx−1 … 0: p > 0.5, or `rng.uniform() < p`. A new END vertex receives an
 * edge from every vertex of out-degree 0 (ascending) and finishes its graph, also when END was
 * drawn early (the graph then has fewer than maxN vertices and is invalid).
 * Random draws, in order: per step, one per unfinished graph for the type (graphs in batch
 * order, not at the forced END), then per vi (descending) one per graph still deciding.
 */
export function decodeBatch(w: DecoderWeights, cfg: GraphConfig, z: Float32Array, B: number, mode: DecodeMode): DecodeTrace {
  const { nvt, maxN, startType, endType } = cfg;
  const hs = w.hs;
  const nz = w.nz;
  const vs = hs + maxN;
  const h3 = 3 * hs;
  const e4 = 4 * hs;
  // per graph, per vertex caches
  const H = new Float64Array(B * maxN * hs); // final states
  const MSG = new Float64Array(B * maxN * hs); // gated messages
  const EA = new Float64Array(B * maxN * e4); // add_edge.0 weight[:, :hs] · h_u
  const types: number[][] = Array.from({ length: B }, () => [startType]);
  const edges: Edge[][] = Array.from({ length: B }, () => []);
  const outDeg = new Int32Array(B * maxN);
  const finished = new Uint8Array(B);
  const typeLogits = new Float32Array(B * Math.max(0, maxN - 2) * nvt).fill(NaN);
  const edgeProbs = new Float32Array(B * maxN * maxN).fill(-1);

  const tmp3 = new Float64Array(h3);
  const gi = new Float64Array(h3);
  const hidden2 = new Float64Array(2 * hs);
  const logits = new Float64Array(nvt);
  const m = new Float64Array(vs);
  const g = new Float64Array(hs);
  const mp = new Float64Array(hs);
  const hin = new Float64Array(hs);
  const hNew = new Float64Array(hs);
  const eb = new Float64Array(e4);

  /** h' = GRUCell(onehot(type), hin) into out. */
  const gru = (type: number, hIn: Float64Array, out: Float64Array, oo: number): void => {
    for (let j = 0; j < h3; j++) gi[j] = w.wih[j * nvt + type]! + w.bih[j]!;
    affine(w.whh, w.bhh, hIn, 0, tmp3, h3, hs);
    for (let j = 0; j < hs; j++) {
      const r = sigmoid(gi[j]! + tmp3[j]!);
      const zz = sigmoid(gi[hs + j]! + tmp3[hs + j]!);
      const n = Math.tanh(gi[2 * hs + j]! + r * tmp3[2 * hs + j]!);
      out[oo + j] = (1 - zz) * n + zz * hIn[j]!;
    }
  };
  /** Cache vertex v of graph b as final: state, gated message, its add_edge half. */
  const finalize = (b: number, v: number, h: Float64Array): void => {
    const base = (b * maxN + v) * hs;
    for (let j = 0; j < hs; j++) {
      H[base + j] = h[j]!;
      m[j] = h[j]!;
    }
    m.fill(0, hs);
    m[hs + v] = 1;
    affine(w.gateW, w.gateB, m, 0, g, hs, vs);
    affine(w.mapW, null, m, 0, mp, hs, vs);
    for (let j = 0; j < hs; j++) MSG[base + j] = sigmoid(g[j]!) * mp[j]!;
    const eo = (b * maxN + v) * e4;
    const n2 = 2 * hs;
    for (let o = 0; o < e4; o++) {
      let s = 0;
      const r = o * n2;
      for (let i = 0; i < hs; i++) s += w.ae0W[r + i]! * h[i]!;
      EA[eo + o] = s;
    }
  };
  /** eb = add_edge.0 bias + weight[:, hs:] · hNew. */
  const edgeHalf = (): void => {
    const n2 = 2 * hs;
    for (let o = 0; o < e4; o++) {
      let s = w.ae0B[o]!;
      const r = o * n2 + hs;
      for (let i = 0; i < hs; i++) s += w.ae0W[r + i]! * hNew[i]!;
      eb[o] = s;
    }
  };

  // vertex 0: START, with H_in := H0 = tanh(fc3(z))
  const zRow = new Float64Array(nz);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < nz; i++) zRow[i] = z[b * nz + i]!;
    affine(w.fc3W, w.fc3B, zRow, 0, hin, hs, nz);
    for (let j = 0; j < hs; j++) hin[j] = Math.tanh(hin[j]!);
    gru(startType, hin, hNew, 0);
    finalize(b, 0, hNew);
  }

  // per-graph new-vertex state while its edges are decided
  const NEW = new Float64Array(B * hs);
  const NEWHIN = new Float64Array(B * hs);
  const EB = new Float64Array(B * e4);
  const newType = new Int32Array(B);
  const deciding = new Uint8Array(B);

  for (let idx = 1; idx < maxN; idx++) {
    // 1. types
    for (let b = 0; b < B; b++) {
      if (finished[b]) continue;
      let t: number;
      if (idx === maxN - 1) t = endType;
      else {
        const base = (b * maxN + idx - 1) * hs;
        for (let o = 0; o < 2 * hs; o++) {
          let s = w.av0B[o]!;
          const r = o * hs;
          for (let i = 0; i < hs; i++) s += w.av0W[r + i]! * H[base + i]!;
          hidden2[o] = s > 0 ? s : 0;
        }
        affine(w.av2W, w.av2B, hidden2, 0, logits, nvt, 2 * hs);
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
      // 2. the new vertex, no predecessors yet (H_in = 0)
      hin.fill(0);
      gru(t, hin, hNew, 0);
      if (t === endType) {
        // 3a. END: every other vertex of out-degree 0 gets an edge to it; the graph is done
        for (let v = 0; v < idx; v++) {
          if (outDeg[b * maxN + v] === 0) {
            edges[b]!.push([v, idx]);
            outDeg[b * maxN + v]++;
          }
        }
        finished[b] = 1;
        deciding[b] = 0;
        continue;
      }
      deciding[b] = 1;
      NEW.set(hNew, b * hs);
      NEWHIN.fill(0, b * hs, (b + 1) * hs);
      edgeHalf();
      EB.set(eb, b * e4);
    }
    // 3b. edges vi → idx, vi = idx−1 … 0, all deciding graphs together
    for (let vi = idx - 1; vi >= 0; vi--) {
      for (let b = 0; b < B; b++) {
        if (!deciding[b]) continue;
        const ea = (b * maxN + vi) * e4;
        const ebo = b * e4;
        let s = w.ae2B[0]!;
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
        // re-encode the new vertex from scratch out of its type and current predecessors
        const mo = (b * maxN + vi) * hs;
        for (let j = 0; j < hs; j++) hin[j] = NEWHIN[b * hs + j]! + MSG[mo + j]!;
        NEWHIN.set(hin, b * hs);
        gru(newType[b]!, hin, hNew, 0);
        NEW.set(hNew, b * hs);
        edgeHalf();
        EB.set(eb, b * e4);
      }
    }
    for (let b = 0; b < B; b++) {
      if (!deciding[b]) continue;
      finalize(b, idx, NEW.subarray(b * hs, (b + 1) * hs));
      deciding[b] = 0;
    }
  }
  return { graphs: types.map((t, b) => ({ types: t, edges: edges[b]! })), typeLogits, edgeProbs };
}
