import * as tf from '@tensorflow/tfjs-core';
import { backendTraits, type ArchGraph, type GraphConfig, type Rng } from '@metad2a/core';
import { GRUCell, GatedSum, Linear, type ParameterStore } from '@metad2a/layers';
import { checkGraphs, planDirection, type Direction, type DirectionPlan } from './graph-plan';

/** Weight layouts of one direction (see {@link BidirectionalGraphEncoder}). */
interface DerivedWeights {
  readonly inRZ: tf.Tensor2D[];
  readonly fullRZ: tf.Tensor2D[];
  readonly inN: tf.Tensor2D;
  readonly hidN: tf.Tensor2D;
  readonly hidNEmpty: tf.Tensor2D;
  readonly gateW: tf.Tensor2D;
  readonly mapW: tf.Tensor2D;
}

function disposeDerived(w: DerivedWeights): void {
  tf.dispose([w.inN, w.hidN, w.hidNEmpty, w.gateW, w.mapW, ...w.inRZ, ...w.fullRZ]);
}

/** Output of {@link BidirectionalGraphEncoder.encode}. */
export interface GraphEncoding {
  /** `hg_unify([H_forward(last vertex); H_backward(vertex 0)])`, `[N, hs]`. */
  readonly hg: tf.Tensor2D;
  /** Per-vertex states `[N, maxN, hs]` (zeros for absent vertices); only with `states: true`. */
  readonly hForward?: tf.Tensor3D;
  readonly hBackward?: tf.Tensor3D;
}

/** True while a gradient tape records (inside `tf.grad`, `tf.variableGrads`, ...). */
function recordingGradients(): boolean {
  return ((tf.engine() as unknown as { state?: { gradientDepth?: number } }).state?.gradientDepth ?? 0) > 0;
}

/**
 * `tf.gather(x, rows)` along axis 0, or the same rows selected by a one-hot matMul: where the
 * backend's traits say gather is slow beside its GEMM (`native`: tfjs-cpu's generic gather), and under a gradient tape on
 * backends without the kernel of gather's gradient (`UnsortedSegmentSum`, missing in
 * tfjs-backend-wasm 4.22), where the matMul's gradient is used instead.
 */
export function gatherRows(x: tf.Tensor2D, rows: Int32Array): tf.Tensor2D {
  const backend = tf.getBackend();
  const viaMatMul = backendTraits(backend).gatherByMatMul || (recordingGradients() && tf.getKernel('UnsortedSegmentSum', backend) === undefined);
  if (!viaMatMul) return tf.gather(x, rows) as tf.Tensor2D;
  const n = x.shape[0];
  const sel = new Float32Array(rows.length * n);
  rows.forEach((r, i) => (sel[i * n + r] = 1));
  return tf.tidy(() => tf.matMul(tf.tensor2d(sel, [rows.length, n]), x) as tf.Tensor2D);
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
  private readonly cache = new Map<Direction, { sources: object[]; weights: DerivedWeights }>();
  private hgCache?: { source: object; value: tf.Tensor2D };

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
      const cat = tf.concat([gatherRows(sf, lastRows), gatherRows(sb, firstRows)], 1) as tf.Tensor2D;
      const hg = tf.add(tf.matMul(cat, this.hgUnifyT()), this.hgUnify.bias!) as tf.Tensor2D;
      if (!opts.states) return { hg };
      const perVertex = (s: tf.Tensor2D, plan: DirectionPlan): tf.Tensor3D => {
        // row totalStates of the padded matrix is zeros (absent vertices)
        const padded = tf.concat([s, tf.zeros([1, this.hs])], 0);
        const rows = Int32Array.from(plan.stateRow, (r) => (r < 0 ? plan.totalStates : r));
        return tf.reshape(gatherRows(padded as tf.Tensor2D, rows), [N, maxN, this.hs]) as tf.Tensor3D;
      };
      return { hg, hForward: perVertex(sf, fwd), hBackward: perVertex(sb, bwd) };
    });
  }

  /**
   * The weight layouts of one direction's recurrence, derived from the parameters. Outside a
   * gradient tape they are cached between calls and rebuilt when a parameter is reassigned
   * (`Variable.assign` gives it a new data id); under a tape they are built in the caller's scope.
   */
  private derivedWeights(direction: Direction, gru: GRUCell, agg: GatedSum): DerivedWeights {
    const H = this.hs;
    const { nvt } = this.config;
    const build = (): DerivedWeights => {
      const rows = (w: tf.Tensor, k: number): tf.Tensor2D => tf.slice(w, [k * H, 0], [H, w.shape[1]!]) as tf.Tensor2D;
      const bias = (b: tf.Tensor, k: number): tf.Tensor2D => tf.reshape(tf.slice(b, [k * H], [H]), [1, H]) as tf.Tensor2D;
      const whhT = [0, 1, 2].map((k) => t(rows(gru.weightHh, k))); // [H, H]
      const wihT = [0, 1, 2].map((k) => t(rows(gru.weightIh, k))); // [nvt, H]
      const bihk = [0, 1, 2].map((k) => bias(gru.biasIh, k));
      const bhhk = [0, 1, 2].map((k) => bias(gru.biasHh, k));
      // r, z: input and hidden parts add before the sigmoid, so both biases go in one row
      const inRZ = [0, 1].map((k) => tf.concat([wihT[k]!, tf.add(bihk[k]!, bhhk[k]!)], 0) as tf.Tensor2D); // [nvt+1, H]
      const fullRZ = [0, 1].map((k) => tf.concat([whhT[k]!, inRZ[k]!], 0) as tf.Tensor2D); // [H+nvt+1, H]
      // n: W_in x + b_in + r ⊙ (W_hn h + b_hn)
      const inN = tf.concat([wihT[2]!, bihk[2]!], 0) as tf.Tensor2D; // [nvt+1, H]
      const hidN = tf.concat([whhT[2]!, tf.zeros([nvt, H]), bhhk[2]!], 0) as tf.Tensor2D; // [H+nvt+1, H]
      const hidNEmpty = tf.concat([tf.zeros([nvt, H]), bhhk[2]!], 0) as tf.Tensor2D; // h_in = 0: only b_hn
      const gateW = tf.concat([t(agg.gate.weight), tf.reshape(agg.gate.bias!, [1, H])], 0) as tf.Tensor2D; // [H+maxN+1, H]
      const mapW = tf.concat([t(agg.mapper.weight), tf.zeros([1, H])], 0) as tf.Tensor2D;
      return { inRZ, fullRZ, inN, hidN, hidNEmpty, gateW, mapW };
    };
    if (recordingGradients()) return build();
    const sources = [gru.weightIh, gru.weightHh, gru.biasIh, gru.biasHh, agg.gate.weight, agg.gate.bias!, agg.mapper.weight].map(
      (v) => (v as unknown as { dataId: object }).dataId,
    );
    const cached = this.cache.get(direction);
    if (cached && cached.sources.every((d, i) => d === sources[i])) return cached.weights;
    if (cached) disposeDerived(cached.weights);
    const weights = tf.tidy(() => build() as unknown as tf.TensorContainer) as unknown as DerivedWeights;
    for (const x of [weights.inN, weights.hidN, weights.hidNEmpty, weights.gateW, weights.mapW, ...weights.inRZ, ...weights.fullRZ]) tf.keep(x);
    this.cache.set(direction, { sources, weights });
    return weights;
  }

  /** `hg_unify` weight transposed, cached like {@link derivedWeights}. */
  private hgUnifyT(): tf.Tensor2D {
    const w = this.hgUnify.weight;
    if (recordingGradients()) return t(w);
    const id = (w as unknown as { dataId: object }).dataId;
    if (this.hgCache?.source === id) return this.hgCache.value;
    this.hgCache?.value.dispose();
    const value = tf.keep(tf.tidy(() => t(w)));
    this.hgCache = { source: id, value };
    return value;
  }

  /** Release the cached weight layouts. */
  dispose(): void {
    for (const c of this.cache.values()) disposeDerived(c.weights);
    this.cache.clear();
    this.hgCache?.value.dispose();
    this.hgCache = undefined;
  }

  /** All distinct states of one direction, concatenated in visiting order: `[totalStates, hs]`. */
  private run(plan: DirectionPlan, gru: GRUCell, agg: GatedSum): tf.Tensor2D {
    const H = this.hs;
    const { nvt, maxN } = this.config;
    // Biases are folded into the matMuls through constant columns, so that no op broadcasts:
    //   GRU:      X = [h_in | onehot(type) | 1]  (width H + nvt + 1)
    //   messages: M = [h_u | onehot(u) | 1]      (width H + maxN + 1), i.e. the official [h_u; onehot(u)] plus a bias column
    const { inRZ, fullRZ, inN, hidN, hidNEmpty, gateW, mapW } = this.derivedWeights(plan.direction, gru, agg);

    const states: tf.Tensor2D[] = [];
    const messages = new Map<number, { rows: tf.Tensor2D; padded?: tf.Tensor2D }>();
    for (const step of plan.steps) {
      const U = step.size;
      // [onehot(type) | 1] and [onehot(v) | 1], built on the host
      const typeCols = new Float32Array(U * (nvt + 1));
      for (let i = 0; i < U; i++) {
        typeCols[i * (nvt + 1) + step.types[i]!] = 1;
        typeCols[i * (nvt + 1) + nvt] = 1;
      }
      // one tidy per step: only the state and the message outlive it (the gradient tape keeps what it needs)
      const kept = tf.tidy(() => {
        const c = tf.tensor2d(typeCols, [U, nvt + 1]);
        let hin: tf.Tensor2D | undefined;
        for (const nb of step.neighbours) {
          const src = messages.get(nb.u)!;
          const m = nb.identity ? src.rows : gatherRows(src.padded!, nb.index);
          hin = hin ? (tf.add(hin, m) as tf.Tensor2D) : m;
        }
        let hv: tf.Tensor2D;
        const gin = tf.matMul(c, inN);
        if (hin) {
          const x = tf.concat([hin, c], 1) as tf.Tensor2D;
          const r = tf.sigmoid(tf.matMul(x, fullRZ[0]!));
          const z = tf.sigmoid(tf.matMul(x, fullRZ[1]!));
          const n = tf.tanh(tf.add(gin, tf.mul(r, tf.matMul(x, hidN))));
          hv = tf.add(n, tf.mul(z, tf.sub(hin, n))) as tf.Tensor2D; // (1 − z) ⊙ n + z ⊙ h_in
        } else {
          const r = tf.sigmoid(tf.matMul(c, inRZ[0]!));
          const z = tf.sigmoid(tf.matMul(c, inRZ[1]!));
          const n = tf.tanh(tf.add(gin, tf.mul(r, tf.matMul(c, hidNEmpty))));
          hv = tf.sub(n, tf.mul(z, n)) as tf.Tensor2D;
        }
        if (!step.sendsMessage) return { h: hv };
        const vCols = new Float32Array(U * (maxN + 1));
        for (let i = 0; i < U; i++) {
          vCols[i * (maxN + 1) + step.v] = 1;
          vCols[i * (maxN + 1) + maxN] = 1;
        }
        const mIn = tf.concat([hv, tf.tensor2d(vCols, [U, maxN + 1])], 1) as tf.Tensor2D;
        const msg = tf.mul(tf.sigmoid(tf.matMul(mIn, gateW)), tf.matMul(mIn, mapW)) as tf.Tensor2D;
        const padded = step.messageGathered ? (tf.concat([msg, tf.zeros([1, H])], 0) as tf.Tensor2D) : undefined;
        return padded ? { h: hv, msg, padded } : { h: hv, msg };
      });
      states.push(kept.h);
      if (kept.msg) messages.set(step.v, { rows: kept.msg, padded: kept.padded });
    }
    return (states.length === 1 ? states[0]! : tf.concat(states, 0)) as tf.Tensor2D;
  }
}
