import * as tf from '@tensorflow/tfjs-core';
import {
  Rng,
  anchorOffsets,
  copyFeatureRow,
  driveSteps,
  drawDatasetBatch,
  drawDatasetRows,
  fail,
  graphToRank,
  predictedAccuracy,
  rowProjectionsOf,
  type ArchGraph,
  type FeatureSet,
  type PerfPredictor,
  type SearchSpace,
  type StepControl,
  type Steps,
} from '@metad2a/core';
import type { ProjectionUse } from './generate';

/** Progress of the ranking stage: `done` of `total` graphs encoded (reported after the resampled datasets' encoding and after each graph batch). */
export interface RankProgress {
  readonly stage: 'rank';
  readonly done: number;
  readonly total: number;
}

/** Architectures to rank: generated ones (a `GenerateResult` is one) or a given list (see {@link candidatePool}). */
export interface CandidatePool<A> {
  readonly space: SearchSpace<A>;
  readonly architectures: readonly A[];
  /** Their `space.format` strings, same order. */
  readonly strings: readonly string[];
  /** The decoded graphs they came from, same order; absent for given architectures (then `space.encode`). */
  readonly graphs?: readonly ArchGraph[];
}

/** A pool of given architectures (no decoded graphs). */
export function candidatePool<A>(space: SearchSpace<A>, architectures: readonly A[]): CandidatePool<A> {
  return { space, architectures, strings: architectures.map((a) => space.format(a)) };
}

/**
 * Graph embeddings G kept across rankings with the same predictor weights, by candidate string
 * (e.g. the exhaustive ranking of all 15,625 NB201 cells, run after run). Make a new one, or
 * `clear` it, after the predictor's parameters change.
 */
export class GraphEmbeddingCache {
  private readonly rows = new Map<string, Float32Array>();

  get size(): number {
    return this.rows.size;
  }

  clear(): void {
    this.rows.clear();
  }

  /** G `[N, nz]` of `graphs` keyed by `keys`, encoding only the keys not yet cached, `chunk` graphs per batch (one step each). */
  *embed(predictor: PerfPredictor, graphs: readonly ArchGraph[], keys: readonly string[], chunk: number): Steps<number, tf.Tensor2D> {
    const missing: number[] = [];
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      if (!this.rows.has(k) && !seen.has(k)) {
        seen.add(k);
        missing.push(i);
      }
    });
    const nz = predictor.nz;
    if (missing.length > 0) {
      const rows = yield* encodeGraphRows(
        predictor,
        missing.map((i) => graphs[i]!),
        chunk,
      );
      missing.forEach((i, r) => this.rows.set(keys[i]!, rows.slice(r * nz, (r + 1) * nz)));
    }
    const all = new Float32Array(graphs.length * nz);
    keys.forEach((k, i) => all.set(this.rows.get(k)!, i * nz));
    return tf.tensor2d(all, [graphs.length, nz]);
  }
}

/** The predictor's graph embeddings, `chunk` graphs per step (each step yields the graphs done so far). */
function* encodeGraphRows(predictor: PerfPredictor, graphs: readonly ArchGraph[], chunk: number): Steps<number, Float32Array> {
  const out = new Float32Array(graphs.length * predictor.nz);
  for (let s = 0; s < graphs.length; s += chunk) {
    const t = predictor.encodeGraphs(graphs.slice(s, s + chunk));
    out.set(t.dataSync() as Float32Array, s * predictor.nz);
    t.dispose();
    yield Math.min(s + chunk, graphs.length);
  }
  return out;
}

export interface RankOptions {
  /** Resampled datasets each candidate is scored on; the scores are averaged (spec §3.6: 10). */
  readonly resamples?: number;
  /** Seed of the resampling (or pass `rng`). */
  readonly seed?: number | string;
  readonly rng?: Rng;
  /** Feature rows drawn per class (spec: 20). */
  readonly perClass?: number;
  /** Graphs per graph-encoder batch (memory bound; default 2048). */
  readonly graphBatch?: number;
  /** Reuse graph embeddings of earlier rankings (same predictor weights). */
  readonly graphCache?: GraphEmbeddingCache;
  /**
   * Encode the resampled datasets through the set encoder's cached row projections where it has
   * them (default true; equal up to float32 rounding). `false`: from raw rows, as the official code.
   */
  readonly projectionCache?: boolean;
}

export interface RankedCandidate<A> {
  /** 1-based position in the ranking. */
  readonly rank: number;
  /** Position in the pool. */
  readonly index: number;
  readonly arch: A;
  /** The architecture's string form. */
  readonly key: string;
  /** Mean normalised predictor score over the resamples (plus the anchor's term where the predictor has one). */
  readonly score: number;
  /** The score as an accuracy (%): the predictor's calibration where it has one, else its normalisation (core `predictedAccuracy`). */
  readonly predictedAccuracy: number;
}

export interface RankResult<A> extends Omit<GraphScores, 'scores'> {
  /** Every candidate, best first (ties keep the pool order). */
  readonly ranking: readonly RankedCandidate<A>[];
}

const positive = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) fail('ValidationError', { source: 'rank options', field, expected: 'a positive integer', got: String(v) });
  return v;
};

export interface GraphScores {
  /** Mean normalised score of each graph over the resamples, in input order. */
  readonly scores: Float32Array;
  /** Wall seconds: the resampled datasets' encoding, the graph encoding, the head on all pairs and the mean. */
  readonly timings: { readonly setEncoding: number; readonly graphEncoding: number; readonly scoring: number };
  readonly projection: ProjectionUse;
}

/**
 * The predictor's mean score of each graph for a dataset (spec §3.6 step 2), each piece computed
 * once: `resamples` resampled datasets encoded together (each distinct feature row projected once
 * where the set encoder can), every graph encoded once, all graphs batched (`keys`: the graph
 * cache's keys), the head on all (resample, graph) pairs at once, then the mean per graph. Hands
 * the event loop back between the pieces and graph batches (`onProgress`); an aborted `signal`
 * stops it there, its tensors released.
 */
export function scoreGraphs(
  predictor: PerfPredictor,
  dataset: FeatureSet,
  graphs: readonly ArchGraph[],
  opts: RankOptions & StepControl<RankProgress> & { readonly keys?: readonly string[] } = {},
): Promise<GraphScores> {
  return driveSteps(scoreSteps(predictor, dataset, graphs, opts), 'rank', opts);
}

/** {@link scoreGraphs} as steps. Timings leave out the pauses between steps. */
export function* scoreSteps(
  predictor: PerfPredictor,
  dataset: FeatureSet,
  graphs: readonly ArchGraph[],
  opts: RankOptions & { readonly keys?: readonly string[] } = {},
): Steps<RankProgress, GraphScores> {
  const resamples = positive('resamples', opts.resamples ?? 10);
  const perClass = positive('perClass', opts.perClass ?? 20);
  const chunk = positive('graphBatch', opts.graphBatch ?? 2048);
  if (dataset.dim !== predictor.inputDim)
    fail('ValidationError', { source: `rank: dataset ${dataset.name}`, field: 'dim', expected: String(predictor.inputDim), got: String(dataset.dim) });
  if (opts.graphCache && opts.keys?.length !== graphs.length)
    fail('ValidationError', { source: 'rank', field: 'keys', expected: `one graph-cache key per graph (${graphs.length})`, got: String(opts.keys?.length ?? 'none') });
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const total = graphs.length;
  const seconds = { setEncoding: 0, graphEncoding: 0, scoring: 0 };
  let t = performance.now();
  const lap = (phase: keyof typeof seconds): void => {
    const now = performance.now();
    seconds[phase] += (now - t) / 1000;
    t = now;
  };
  /** Yield each graph batch's progress from `inner`, its time counted as graph encoding. */
  function* graphSteps<R>(inner: Steps<number, R>): Steps<RankProgress, R> {
    for (;;) {
      const step = inner.next();
      lap('graphEncoding');
      if (step.done) return step.value;
      yield { stage: 'rank', done: step.value, total };
      t = performance.now();
    }
  }
  const enc = encodeResamples(predictor, dataset, perClass, resamples, rng, opts.projectionCache !== false);
  const D = enc.embeddings;
  let G: tf.Tensor2D | undefined;
  try {
    D.dataSync();
    lap('setEncoding');
    yield { stage: 'rank', done: 0, total };
    t = performance.now();
    let scores: Float32Array = new Float32Array(0);
    if (total > 0) {
      G = opts.graphCache
        ? yield* graphSteps(opts.graphCache.embed(predictor, graphs, opts.keys!, chunk))
        : total <= chunk
          ? predictor.encodeGraphs(graphs)
          : tf.tensor2d(yield* graphSteps(encodeGraphRows(predictor, graphs, chunk)), [total, predictor.nz]);
      G.dataSync();
      lap('graphEncoding');
      const meanT = tf.tidy(() => tf.mean(predictor.scorePairs(D, G!), 0));
      scores = meanT.dataSync() as Float32Array;
      meanT.dispose();
      lap('scoring');
    }
    return { scores, timings: seconds, projection: enc.projection };
  } finally {
    D.dispose();
    G?.dispose();
  }
}

/**
 * The ranking stage of the search: {@link scoreGraphs} on the graph the space chooses for each
 * candidate ({@link graphToRank}: NB201 the canonical graph, MBv3 the decoded one), plus the
 * space's prior term where the predictor is anchored on it (core `anchorOffsets`), best first
 * (ties keep the pool order).
 */
export function rankCandidates<A>(
  predictor: PerfPredictor,
  dataset: FeatureSet,
  pool: CandidatePool<A>,
  opts: RankOptions & StepControl<RankProgress> = {},
): Promise<RankResult<A>> {
  return driveSteps(rankSteps(predictor, dataset, pool, opts), 'rank', opts);
}

/** {@link rankCandidates} as steps. */
export function* rankSteps<A>(predictor: PerfPredictor, dataset: FeatureSet, pool: CandidatePool<A>, opts: RankOptions = {}): Steps<RankProgress, RankResult<A>> {
  const { space, architectures, strings } = pool;
  if (strings.length !== architectures.length || (pool.graphs && pool.graphs.length !== architectures.length)) {
    fail('ValidationError', {
      source: 'rank',
      field: 'pool',
      expected: `one string and graph per architecture (${architectures.length})`,
      got: `${strings.length} strings, ${pool.graphs?.length ?? 'no'} graphs`,
    });
  }
  const t0 = performance.now();
  const graphs = architectures.map((a, i) => graphToRank(space, a, pool.graphs?.[i] ?? space.encode(a)));
  // an anchor whose prior the space lacks fails here, before any encoding
  const offsets = anchorOffsets(predictor.anchor, space, architectures);
  const chosen = (performance.now() - t0) / 1000;
  const r = yield* scoreSteps(predictor, dataset, graphs, { ...opts, keys: strings });
  const scores = offsets ? Float32Array.from(r.scores, (x, i) => x + offsets[i]!) : r.scores;
  const order = architectures.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]! || i - j);
  const ranking = order.map((i, k) => ({
    rank: k + 1,
    index: i,
    arch: architectures[i]!,
    key: strings[i]!,
    score: scores[i]!,
    predictedAccuracy: predictedAccuracy(predictor, scores[i]!),
  }));
  return { ranking, timings: { ...r.timings, setEncoding: chosen + r.timings.setEncoding }, projection: r.projection };
}

/**
 * The predictor's D `[resamples, nz]` of `resamples` resampled datasets (one draw, as
 * `drawDatasetBatch`). Where the set encoder has row projections, each distinct drawn feature row
 * is projected once (resamples share most rows; spec §7.2), equal up to float32 rounding.
 */
function encodeResamples(
  predictor: PerfPredictor,
  dataset: FeatureSet,
  perClass: number,
  resamples: number,
  rng: Rng,
  useProjections: boolean,
): { embeddings: tf.Tensor2D; projection: ProjectionUse } {
  const projected = useProjections ? rowProjectionsOf(predictor.setEncoder) : ({ ok: false, reason: 'projectionCache: false' } as const);
  if (!projected.ok) {
    const draw = drawDatasetBatch(dataset, perClass, resamples, rng);
    return { embeddings: tf.tidy(() => predictor.encodeDataset(tf.tensor3d(draw.data, draw.shape), draw.layout)), projection: { used: false, reason: projected.reason } };
  }
  const draw = drawDatasetRows(dataset, perClass, resamples, rng);
  const slotOf = new Map<number, number>();
  for (const r of draw.rows) if (!slotOf.has(r)) slotOf.set(r, slotOf.size);
  const rows = new Float32Array(slotOf.size * dataset.dim);
  for (const [r, slot] of slotOf) copyFeatureRow(dataset, r, rows, slot * dataset.dim);
  projected.cache.append(rows, slotOf.size);
  const slots = draw.rows.map((r) => slotOf.get(r)!);
  const embeddings = tf.tidy(() => predictor.fromSetEncoding(projected.encoder.encodeProjected(projected.cache, slots, resamples, draw.layout)));
  return { embeddings, projection: { used: true } };
}
