import * as tf from '@tensorflow/tfjs-core';
import type { ArchGraph, GraphConfig, Rng } from '@metad2a/core';
import { GRUCell, GatedSum, Linear, type ParameterStore } from '@metad2a/layers';
import { checkGraphs, planDirection, type DirectionPlan } from './graph-plan';

/** Output of {@link BidirectionalGraphEncoder.encode}. */
export interface GraphEncoding {
  /** `hg_unify([H_forward(last vertex); H_backward(vertex 0)])`, `[N, hs]`. */
  readonly hg: tf.Tensor2D;
  /** Per-vertex states `[N, maxN, hs]` (zeros for absent vertices); only with `states: true`. */
  readonly hForward?: tf.Tensor3D;
  readonly hBackward?: tf.Tensor3D;
}

/** x·Wᵀ with an explicit transpose (tfjs wasm's transposeB matMul is slow on large inputs). */
const t = (w: tf.Tensor): tf.Tensor2D => tf.transpose(w) as tf.Tensor2D;

/**
 * The predictor's bidirectional D-VAE graph encoder (spec §2.3): a forward pass over vertices in
 * index order (`grue_forward`, `gate_forward`/`mapper_forward`, messages from predecessors) and a
 * backward pass in reverse order (`grue_backward`, `gate_backward`/`mapper_backward`, messages
 * from successors); messages are `[h_u; onehot(u, maxN)]`, aggregated by the gated sum; then
 * `hg_unify = Linear(2hs → hs)`.
 *
 * Batched: vertex v is computed for all graphs at once (the vertex ids are a topological order),
 * with each neighbour's message gathered by index and masked where a graph lacks that edge; states
 * shared by several graphs are computed once (see {@link planDirection}). Each vertex's gated
 * message is computed once, right after its state: the gated sum is linear in the messages.
 */
export class BidirectionalGraphEncoder {
  readonly gruForward: GRUCell;
  readonly gruBackward: GRUCell;
  readonly aggForward: GatedSum;
  readonly aggBackward: GatedSum;
  readonly hgUnify: Linear;

  constructor(
    store: ParameterStore,
    readonly config: GraphConfig,
    readonly hs: number,
    rng: Rng,
  ) {
    const vs = hs + config.maxN;
    this.gruForward = new GRUCell(store, 'grue_forward', config.nvt, hs, rng);
    this.gruBackward = new GRUCell(store, 'grue_backward', config.nvt, hs, rng);
    this.aggForward = new GatedSum(store, 'gate_forward.0', 'mapper_forward.0', vs, hs, rng);
    this.aggBackward = new GatedSum(store, 'gate_backward.0', 'mapper_backward.0', vs, hs, rng);
    this.hgUnify = new Linear(store, 'hg_unify.0', 2 * hs, hs, rng);
  }

  /** Graphs → hg `[N, hs]` (and the per-vertex states with `states: true`). */
  encode(graphs: readonly ArchGraph[], opts: { states?: boolean } = {}): GraphEncoding {
    checkGraphs(graphs, this.config);
    const N = graphs.length;
    const maxN = this.config.maxN;
    const fwd = planDirection(graphs, maxN, 'forward');
    const bwd = planDirection(graphs, maxN, 'backward');
    const lastRows = Int32Array.from(graphs, (g, i) => fwd.stateRow[i * maxN + g.types.length - 1]!);
    const firstRows = Int32Array.from(graphs, (_, i) => bwd.stateRow[i * maxN]!);
    return tf.tidy(() => {
      const sf = this.run(fwd, this.gruForward, this.aggForward);
      const sb = this.run(bwd, this.gruBackward, this.aggBackward);
      const cat = tf.concat([tf.gather(sf, lastRows), tf.gather(sb, firstRows)], 1) as tf.Tensor2D;
      const hg = tf.add(tf.matMul(cat, t(this.hgUnify.weight)), this.hgUnify.bias!) as tf.Tensor2D;
      if (!opts.states) return { hg };
      const perVertex = (s: tf.Tensor2D, plan: DirectionPlan): tf.Tensor3D => {
        // row totalStates of the padded matrix is zeros (absent vertices)
        const padded = tf.concat([s, tf.zeros([1, this.hs])], 0);
        const rows = Int32Array.from(plan.stateRow, (r) => (r < 0 ? plan.totalStates : r));
        return tf.reshape(tf.gather(padded, rows), [N, maxN, this.hs]) as tf.Tensor3D;
      };
      return { hg, hForward: perVertex(sf, fwd), hBackward: perVertex(sb, bwd) };
    });
  }

  /** All distinct states of one direction, concatenated in visiting order: `[totalStates, hs]`. */
  private run(plan: DirectionPlan, gru: GRUCell, agg: GatedSum): tf.Tensor2D {
    const H = this.hs;
    const maxN = this.config.maxN;
    // Per-call weight views (inside the caller's tidy; gradients flow through them).
    const rows = (w: tf.Tensor, k: number): tf.Tensor => tf.slice(w, [k * H, 0], [H, w.shape[1]!]);
    const bias = (b: tf.Tensor, k: number): tf.Tensor => tf.slice(b, [k * H], [H]);
    // input part: onehot(type) · W_ihᵀ + b_ih = row `type` of (W_ihᵀ + b_ih), per gate
    const gi = [0, 1, 2].map((k) => tf.add(t(rows(gru.weightIh, k)), bias(gru.biasIh, k)));
    const whh = [0, 1, 2].map((k) => t(rows(gru.weightHh, k)));
    const bhh = [0, 1, 2].map((k) => bias(gru.biasHh, k));
    // message of vertex u: σ(h_u·Wg_hᵀ + b_g + Wg[:, H+u]) ⊙ (h_u·Wm_hᵀ + Wm[:, H+u])
    const wg = agg.gate.weight;
    const wm = agg.mapper.weight;
    const wgH = t(tf.slice(wg, [0, 0], [H, H]));
    const wmH = t(tf.slice(wm, [0, 0], [H, H]));
    const gateRows = tf.add(t(tf.slice(wg, [0, H], [H, maxN])), agg.gate.bias!); // [maxN, H]
    const mapRows = t(tf.slice(wm, [0, H], [H, maxN])); // [maxN, H]

    const states: tf.Tensor2D[] = [];
    const messages = new Map<number, tf.Tensor2D>();
    for (const step of plan.steps) {
      // one tidy per step: only the state and the message outlive it (the gradient tape keeps what it needs)
      const [h, msg] = tf.tidy(() => {
        const types = tf.tensor1d(step.types, 'int32');
        let hin: tf.Tensor2D | undefined;
        for (const nb of step.neighbours) {
          let m = messages.get(nb.u)!;
          if (!nb.identity) m = tf.gather(m, nb.index);
          if (nb.mask) m = tf.mul(m, tf.tensor2d(nb.mask, [step.size, 1]));
          hin = hin ? (tf.add(hin, m) as tf.Tensor2D) : m;
        }
        const g = (k: number): tf.Tensor => tf.gather(gi[k]!, types);
        const gh = (k: number): tf.Tensor => (hin ? tf.add(tf.matMul(hin, whh[k]!), bhh[k]!) : bhh[k]!);
        const r = tf.sigmoid(tf.add(g(0), gh(0)));
        const z = tf.sigmoid(tf.add(g(1), gh(1)));
        const n = tf.tanh(tf.add(g(2), tf.mul(r, gh(2))));
        const hv = (hin ? tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, hin)) : tf.mul(tf.sub(1, z), n)) as tf.Tensor2D;
        if (!step.sendsMessage) return [hv];
        const gate = tf.sigmoid(tf.add(tf.matMul(hv, wgH), tf.slice(gateRows, [step.v, 0], [1, H])));
        const mapped = tf.add(tf.matMul(hv, wmH), tf.slice(mapRows, [step.v, 0], [1, H]));
        return [hv, tf.mul(gate, mapped) as tf.Tensor2D];
      });
      states.push(h!);
      if (msg) messages.set(step.v, msg as tf.Tensor2D);
    }
    return (states.length === 1 ? states[0]! : tf.concat(states, 0)) as tf.Tensor2D;
  }
}
