import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, validationError, type ArchGraph, type GraphConfig, type Rng } from '@metad2a/core';
import { GatedSum, GRUCell, Linear, type ParameterStore } from '@metad2a/layers';
import type { DecoderWeights } from './sampling';

/** e^−100: torch's binary_cross_entropy clamps its logs at −100. */
const BCE_MIN_PROB = Math.exp(-100);

/** Sizes of the D-VAE decoder: GRU hidden size, latent size and the graph config of the space. */
export interface DecoderDims {
  readonly hs: number;
  readonly nz: number;
  readonly graphConfig: GraphConfig;
}

/** Tensors of one teacher-forced pass (spec §2.4), everything summed over the batch where scalar. */
export interface TeacherForcedPass {
  /** Σ over graphs and steps of log p(true type). */
  readonly typeLogLik: tf.Scalar;
  /** Σ over graphs and decisions of the edge BCE. */
  readonly edgeBce: tf.Scalar;
  /** Per graph: −Σ type log-likelihood + Σ edge BCE, `[B]`. */
  readonly reconPerGraph: tf.Tensor1D;
  /** log-softmax of add_vertex at steps t = 1..maxN−1: `[B, maxN−1, nvt]`. */
  readonly typeLogprobs: tf.Tensor3D;
  /** log p(true type) at steps t = 1..maxN−1: `[B, maxN−1]`. */
  readonly typeLL: tf.Tensor2D;
  /** p(vi→t) `[B, maxN, maxN]` (0 where vi ≥ t). */
  readonly edgeProbs: tf.Tensor3D;
}

/** Padded integer view of a batch of true graphs: types `[B, maxN]` (START pads), adjacency `[B, maxN, maxN]`. */
export interface GraphBatch {
  readonly types: Int32Array;
  readonly adj: Uint8Array;
}

/** Check graphs against the config and pad them (types with START, spec §2.4 step 2.1). */
export function toGraphBatch(graphs: readonly ArchGraph[], cfg: GraphConfig, source = 'graphs'): GraphBatch {
  const n = cfg.maxN;
  const types = new Int32Array(graphs.length * n).fill(cfg.startType);
  const adj = new Uint8Array(graphs.length * n * n);
  graphs.forEach((g, b) => {
    if (g.types.length > n || g.types.length === 0) {
      throw new MetaD2AException(validationError({ source, field: `graph ${b}`, expected: `1..${n} vertices (maxN)`, got: String(g.types.length) }));
    }
    g.types.forEach((t, v) => {
      if (!Number.isInteger(t) || t < 0 || t >= cfg.nvt)
        throw new MetaD2AException(validationError({ source, field: `graph ${b} vertex ${v} type`, expected: `an integer in [0, ${cfg.nvt})`, got: String(t) }));
      types[b * n + v] = t;
    });
    for (const [s, t] of g.edges) {
      if (!(Number.isInteger(s) && Number.isInteger(t) && s >= 0 && s < t && t < g.types.length)) {
        throw new MetaD2AException(
          validationError({ source, field: `graph ${b} edge ${s}->${t}`, expected: 'source < target < vertex count (vertex ids are a topological order)', got: `${s}->${t}` }),
        );
      }
      adj[(b * n + s) * n + t] = 1;
    }
  });
  return { types, adj };
}

/**
 * The generator's D-VAE decoder (spec §2.4): `fc3`, GRU `grud`, `add_vertex` and `add_edge`
 * MLPs and the `decoding_gate`/`decoding_mapper` gated sum, registered in a ParameterStore under
 * their official names. The teacher-forced pass here is the differentiable (tfjs) path; fast
 * sampling lives in `sampling.ts` and reads these same parameters.
 */
export class GraphDecoder {
  readonly grud: GRUCell;
  readonly fc3: Linear;
  readonly addVertex0: Linear;
  readonly addVertex2: Linear;
  readonly addEdge0: Linear;
  readonly addEdge2: Linear;
  readonly gatedSum: GatedSum;
  readonly hs: number;
  readonly nz: number;
  readonly graphConfig: GraphConfig;

  constructor(store: ParameterStore, dims: DecoderDims, rng: Rng) {
    const { hs, nz, graphConfig } = dims;
    const { nvt, maxN } = graphConfig;
    this.hs = hs;
    this.nz = nz;
    this.graphConfig = graphConfig;
    // official state_dict order: grud, fc3, add_vertex, add_edge, decoding_gate, decoding_mapper
    this.grud = new GRUCell(store, 'grud', nvt, hs, rng);
    this.fc3 = new Linear(store, 'fc3', nz, hs, rng);
    this.addVertex0 = new Linear(store, 'add_vertex.0', hs, 2 * hs, rng);
    this.addVertex2 = new Linear(store, 'add_vertex.2', 2 * hs, nvt, rng);
    this.addEdge0 = new Linear(store, 'add_edge.0', 2 * hs, 4 * hs, rng);
    this.addEdge2 = new Linear(store, 'add_edge.2', 4 * hs, 1, rng);
    this.gatedSum = new GatedSum(store, 'decoding_gate.0', 'decoding_mapper.0', hs + maxN, hs, rng);
  }

  /** Official names of the decoder's parameters. */
  static parameterNames(): string[] {
    return [
      ...['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((l) => `grud.${l}`),
      'fc3.weight',
      'fc3.bias',
      'add_vertex.0.weight',
      'add_vertex.0.bias',
      'add_vertex.2.weight',
      'add_vertex.2.bias',
      'add_edge.0.weight',
      'add_edge.0.bias',
      'add_edge.2.weight',
      'add_edge.2.bias',
      'decoding_gate.0.weight',
      'decoding_gate.0.bias',
      'decoding_mapper.0.weight',
    ];
  }

  /**
   * Teacher-forced pass over true graphs given z `[B, nz]` (spec §2.4, §8 item 11). Batched over
   * graphs, and over the edge decisions of one new vertex: vertex states have no memory (§2.3),
   * so the state of vertex t after the decisions vi' > vi is the GRU of its type and the gated sum
   * over its true predecessors u > vi; all t + 1 such states come from one GRU call.
   */
  teacherForced(z: tf.Tensor2D, batch: GraphBatch): TeacherForcedPass {
    const { nvt, maxN, startType } = this.graphConfig;
    const B = z.shape[0];
    const hs = this.hs;
    return tf.tidy(() => {
      const H0 = tf.tanh(this.fc3.apply(z));
      const typeOneHot = (t: number): tf.Tensor2D => {
        const oh = new Float32Array(B * nvt);
        for (let b = 0; b < B; b++) oh[b * nvt + batch.types[b * maxN + t]!] = 1;
        return tf.tensor2d(oh, [B, nvt]);
      };
      const h0 = this.grud.apply(oneHotRows(B, nvt, startType), H0);
      const states: tf.Tensor2D[] = [h0];
      const messages: tf.Tensor2D[] = [this.message(h0, 0, B)];
      const logprobs: tf.Tensor2D[] = [];
      const lls: tf.Tensor1D[] = [];
      const probs: tf.Tensor2D[] = []; // probs[t-1]: [B, t]
      const bces: tf.Tensor2D[] = [];
      for (let t = 1; t < maxN; t++) {
        const logits = this.addVertex2.apply(tf.relu(this.addVertex0.apply(states[t - 1]!)));
        const lp = tf.logSoftmax(logits) as tf.Tensor2D;
        const x = typeOneHot(t);
        logprobs.push(lp);
        lls.push(tf.sum(tf.mul(lp, x), 1) as tf.Tensor1D);
        // Stage k (0..t) = state with true predecessors u >= k; stage t has none.
        const mask = new Float32Array(B * (t + 1) * t);
        const y = new Float32Array(B * t);
        for (let b = 0; b < B; b++) {
          for (let u = 0; u < t; u++) {
            if (!batch.adj[(b * maxN + u) * maxN + t]) continue;
            y[b * t + u] = 1;
            for (let k = 0; k <= u; k++) mask[(b * (t + 1) + k) * t + u] = 1;
          }
        }
        const msgStack = tf.stack(messages, 1) as tf.Tensor3D; // [B, t, hs]
        const hin = tf.matMul(tf.tensor3d(mask, [B, t + 1, t]), msgStack); // [B, t+1, hs]
        const xRep = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, t + 1, 1]), [B * (t + 1), nvt]) as tf.Tensor2D;
        const stages = tf.reshape(this.grud.apply(xRep, tf.reshape(hin, [B * (t + 1), hs]) as tf.Tensor2D), [B, t + 1, hs]);
        // decision vi uses stage vi + 1 (edges from vi' > vi already added)
        const hNew = tf.slice(stages, [0, 1, 0], [B, t, hs]);
        const hOld = tf.stack(states, 1) as tf.Tensor3D;
        const pair = tf.concat([hOld, hNew], 2) as tf.Tensor3D;
        const logit = tf.reshape(this.addEdge2.apply(tf.relu(this.addEdge0.apply(pair))), [B, t]);
        const p = tf.sigmoid(logit) as tf.Tensor2D;
        probs.push(p);
        // torch binary_cross_entropy: −(y·log p + (1−y)·log(1−p)) with the logs clamped at −100.
        // y is 0/1, so this is −log q with q = p or 1 − p; clamping q (not log q) keeps the
        // gradient finite where p saturates at 0 or 1 in float32, as torch's does.
        const yT = tf.tensor2d(y, [B, t]);
        const q = tf.add(tf.mul(yT, p), tf.mul(tf.sub(1, yT), tf.sub(1, p)));
        bces.push(tf.neg(tf.log(tf.maximum(q, BCE_MIN_PROB))) as tf.Tensor2D);
        const hT = tf.reshape(tf.slice(stages, [0, 0, 0], [B, 1, hs]), [B, hs]) as tf.Tensor2D;
        states.push(hT);
        messages.push(this.message(hT, t, B));
      }
      const typeLL = tf.stack(lls, 1) as tf.Tensor2D;
      const bcePerGraph = tf.addN(bces.map((c) => tf.sum(c, 1))) as tf.Tensor1D;
      const llPerGraph = tf.sum(typeLL, 1) as tf.Tensor1D;
      const edgeProbs = tf.stack(
        Array.from({ length: maxN }, (_, t) =>
          t === 0
            ? tf.zeros([B, maxN])
            : tf.pad(probs[t - 1]!, [
                [0, 0],
                [0, maxN - t],
              ]),
        ),
        2,
      ) as tf.Tensor3D;
      return {
        typeLogLik: tf.sum(llPerGraph) as tf.Scalar,
        edgeBce: tf.sum(bcePerGraph) as tf.Scalar,
        reconPerGraph: tf.sub(bcePerGraph, llPerGraph) as tf.Tensor1D,
        typeLogprobs: tf.stack(logprobs, 1) as tf.Tensor3D,
        typeLL,
        edgeProbs,
      };
    });
  }

  /** The parameters as plain float32 arrays, for the sampling path (`decodeBatch`). */
  weights(): DecoderWeights {
    const r = (v: tf.Variable | undefined): Float32Array => v!.dataSync() as Float32Array;
    return {
      hs: this.hs,
      nz: this.nz,
      fc3W: r(this.fc3.weight),
      fc3B: r(this.fc3.bias),
      wih: r(this.grud.weightIh),
      whh: r(this.grud.weightHh),
      bih: r(this.grud.biasIh),
      bhh: r(this.grud.biasHh),
      av0W: r(this.addVertex0.weight),
      av0B: r(this.addVertex0.bias),
      av2W: r(this.addVertex2.weight),
      av2B: r(this.addVertex2.bias),
      ae0W: r(this.addEdge0.weight),
      ae0B: r(this.addEdge0.bias),
      ae2W: r(this.addEdge2.weight),
      ae2B: r(this.addEdge2.bias),
      gateW: r(this.gatedSum.gate.weight),
      gateB: r(this.gatedSum.gate.bias),
      mapW: r(this.gatedSum.mapper.weight),
    };
  }

  /** Gated message of vertex `v` with state h `[B, hs]`: σ(W_g m + b_g) ⊙ W_m m, m = [h ; onehot(v)]. */
  private message(h: tf.Tensor2D, v: number, B: number): tf.Tensor2D {
    const vid = oneHotRows(B, this.graphConfig.maxN, v);
    return this.gatedSum.message(tf.concat([h, vid], 1) as tf.Tensor2D);
  }
}

/** `[rows, width]` with a 1 in column `col` of every row. */
function oneHotRows(rows: number, width: number, col: number): tf.Tensor2D {
  const a = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) a[r * width + col] = 1;
  return tf.tensor2d(a, [rows, width]);
}
