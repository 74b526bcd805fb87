import * as tf from '@tensorflow/tfjs-core';
import { Rng, copyFeatureRow, currentBackend, drawDatasetBatch, drawDatasetRows, fail, type FeatureSet, type SetEncoder, type SetLayout } from '@metad2a/core';
import { generateArchitectures, type GenerateProgress } from '@metad2a/graph-generator';
import { checkFeasible, constrainedSpace, describerFor, type CandidateCost, type CandidateFacts, type Constraints } from './candidate-info';
import type { SearchModel } from './model-dir';

export interface SearchOptions {
  /** Unique valid candidates to generate (official: 500; 50 for small datasets). */
  readonly candidates?: number;
  /** How many of the ranking to report in `top`. */
  readonly top?: number;
  /** Resampled datasets the predictor averages over (official: 10). */
  readonly resamples?: number;
  /** The one seed of the whole search (resampling, decoding). */
  readonly seed?: number;
  /** Feature rows drawn per class (official: 20). */
  readonly perClass?: number;
  /** Resampled datasets decoded per generator batch (official NB201: 100). */
  readonly batchSize?: number;
  /** Give up after decoding this many graphs (default 1,000 × candidates). */
  readonly maxAttempts?: number;
  readonly constraints?: Constraints;
  /** Called after each generator batch. */
  readonly onGenerate?: (p: GenerateProgress) => void;
}

export interface SearchCandidate {
  /** 1-based position in the ranking. */
  readonly rank: number;
  /** The architecture's string form (the space's `format`). */
  readonly arch: string;
  /** Mean normalised predictor score over the resamples. */
  readonly score: number;
  /** The score turned back into an accuracy (%) with the predictor's normalisation. */
  readonly predictedAccuracy: number;
  readonly cost?: CandidateCost;
  readonly facts: CandidateFacts;
  /** The predicted accuracy is outside [0, 100] % (a predictor whose normalisation does not fit the data). */
  readonly outOfRange: boolean;
}

/** Wall seconds of each phase. */
export interface SearchTimings {
  /** Generating the candidates (resampling, the generator's set encoding, decoding, validity, de-duplication). */
  readonly generation: number;
  /** The predictor's encoding of the resampled datasets (once per search). */
  readonly setEncoding: number;
  /** The predictor's graph encoding of every candidate (once per candidate, all batched). */
  readonly graphEncoding: number;
  /** The head on every (resample, candidate) pair and the mean. */
  readonly scoring: number;
  /** setEncoding + graphEncoding + scoring. */
  readonly ranking: number;
  /** generation + ranking: the paper's "search time". */
  readonly search: number;
}

export interface SearchResult {
  readonly space: string;
  readonly dataset: { readonly name: string; readonly classes: number; readonly dim: number };
  readonly seed: number;
  readonly backend: string;
  readonly settings: { readonly candidates: number; readonly resamples: number; readonly perClass: number; readonly batchSize: number; readonly constraints: Constraints };
  readonly generation: { readonly attempts: number; readonly valid: number; readonly unique: number; readonly batches: number };
  readonly timings: SearchTimings;
  /** Every candidate, best first. */
  readonly ranking: readonly SearchCandidate[];
  /** The first `top` of the ranking. */
  readonly top: readonly SearchCandidate[];
  /** Things the user should know about the result (e.g. predictions outside [0, 100] %). */
  readonly warnings: readonly string[];
}

const posInt = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) fail('ValidationError', { source: 'search options', field, expected: 'a positive integer', got: String(v) });
  return v;
};

/**
 * The MetaD2A search (meta-test, spec §3.6): generate `candidates` unique valid architectures for
 * the dataset, score each with the predictor averaged over `resamples` resampled datasets, and
 * rank them. Restructured for speed, with the same numbers as the official loop: the resampled
 * datasets are encoded once per search (not once per candidate), each candidate's graph is encoded
 * once (not once per resample), all candidates go through the graph encoder together, and the
 * head runs on all (resample, candidate) pairs at once.
 */
export function runSearch(model: SearchModel, dataset: FeatureSet, opts: SearchOptions = {}): SearchResult {
  const candidates = posInt('candidates', opts.candidates ?? 500);
  const top = posInt('top', opts.top ?? 5);
  const resamples = posInt('resamples', opts.resamples ?? 10);
  const perClass = posInt('perClass', opts.perClass ?? 20);
  const batchSize = posInt('batchSize', opts.batchSize ?? 100);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) fail('ValidationError', { source: 'search options', field: 'seed', expected: 'an integer', got: String(seed) });
  const constraints = opts.constraints ?? {};
  const { space, generator, predictor } = model;
  const classes = dataset.classes.length;
  checkDataset(dataset);
  const describer = describerFor(space);
  checkFeasible(space.name, describer, constraints, classes, candidates);
  const genSpace = constrainedSpace(space, describer, constraints, classes);

  const t0 = performance.now();
  const gen = generateArchitectures(generator, dataset, candidates, { space: genSpace, seed, batchSize, perClass, maxAttempts: opts.maxAttempts, onBatch: opts.onGenerate });
  const t1 = performance.now();

  // Ranking (spec §3.6 step 2), each piece computed once.
  const scored = gen.architectures.map((a, i) => describer.scoredGraph(a, gen.graphs[i]!));
  const D = encodeResamples(predictor, dataset, perClass, resamples, new Rng(`${seed}/rank`));
  D.dataSync();
  const t2 = performance.now();
  const G = predictor.encodeGraphs(scored);
  G.dataSync();
  const t3 = performance.now();
  const meanT = tf.tidy(() => tf.mean(predictor.scorePairs(D, G), 0));
  const scores = meanT.dataSync() as Float32Array;
  tf.dispose([D, G, meanT]);
  const t4 = performance.now();

  const order = gen.architectures.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]! || i - j);
  const ranking: SearchCandidate[] = order.map((i, r) => ({
    rank: r + 1,
    arch: gen.strings[i]!,
    score: scores[i]!,
    predictedAccuracy: predictor.denormalise(scores[i]!),
    cost: describer.cost(gen.architectures[i], classes),
    facts: describer.facts(gen.architectures[i]),
    outOfRange: !(predictor.denormalise(scores[i]!) >= 0 && predictor.denormalise(scores[i]!) <= 100),
  }));
  const outside = ranking.filter((c) => c.outOfRange).length;
  const warnings = outside > 0 ? [`${outside} of ${ranking.length} predicted accuracies are outside [0, 100] % (the predictor's normalisation, mean ${predictor.normalisation.mean} std ${predictor.normalisation.std}, does not fit this data set); the ranking is kept, the values are not accuracies`] : [];
  const s = (a: number, b: number): number => (b - a) / 1000;
  return {
    space: space.name,
    dataset: { name: dataset.name, classes, dim: dataset.dim },
    seed,
    backend: currentBackend()?.name ?? tf.getBackend(),
    settings: { candidates, resamples, perClass, batchSize, constraints },
    generation: { attempts: gen.attempts, valid: gen.valid, unique: gen.unique, batches: gen.batches },
    timings: { generation: s(t0, t1), setEncoding: s(t1, t2), graphEncoding: s(t2, t3), scoring: s(t3, t4), ranking: s(t1, t4), search: s(t0, t4) },
    ranking,
    top: ranking.slice(0, top),
    warnings,
  };
}

/** A data set a search can rank for: at least 2 classes (a 1-class "classification" has no meaning for the predictor), finite values. */
function checkDataset(dataset: FeatureSet): void {
  if (dataset.classes.length < 2) fail('ValidationError', { source: dataset.name, field: 'classes', expected: 'at least 2 classes', got: String(dataset.classes.length) });
  dataset.classes.forEach((c, ci) => {
    const d = c.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) fail('ValidationError', { source: dataset.name, field: `class ${ci} (${c.label}) row ${Math.floor(i / dataset.dim)}`, expected: 'finite feature values', got: String(d[i]) });
    }
  });
}

/** What `SetTransformerEncoder` of @metad2a/set-encoder offers beyond core's `SetEncoder`: the first-SAB row-projection cache. */
interface RowProjectingEncoder extends SetEncoder {
  rowProjections(initialCapacity?: number): { readonly rows: number; append(data: Float32Array, count: number): number } | undefined;
  encodeProjected(proj: NonNullable<ReturnType<RowProjectingEncoder['rowProjections']>>, slots: Int32Array, batch: number, layout: SetLayout): tf.Tensor2D;
}

const projecting = (e: SetEncoder): e is RowProjectingEncoder =>
  typeof (e as Partial<RowProjectingEncoder>).rowProjections === 'function' && typeof (e as Partial<RowProjectingEncoder>).encodeProjected === 'function';

/**
 * The predictor's D `[resamples, nz]` of `resamples` resampled datasets (one draw, as
 * `drawDatasetBatch`). With a Set Transformer encoder, each distinct drawn feature row goes through
 * the first SAB's projections once (resamples share most rows; spec §7.2), equal up to float32 rounding.
 */
function encodeResamples(predictor: SearchModel['predictor'], dataset: FeatureSet, perClass: number, resamples: number, rng: Rng): tf.Tensor2D {
  const enc = predictor.setEncoder;
  const proj = projecting(enc) ? enc.rowProjections() : undefined;
  if (!proj || !projecting(enc)) {
    const draw = drawDatasetBatch(dataset, perClass, resamples, rng);
    return tf.tidy(() => predictor.encodeDataset(tf.tensor3d(draw.data, draw.shape), draw.layout));
  }
  const draw = drawDatasetRows(dataset, perClass, resamples, rng);
  const slotOf = new Map<number, number>();
  for (const r of draw.rows) if (!slotOf.has(r)) slotOf.set(r, slotOf.size);
  const rows = new Float32Array(slotOf.size * dataset.dim);
  for (const [r, slot] of slotOf) copyFeatureRow(dataset, r, rows, slot * dataset.dim);
  proj.append(rows, slotOf.size);
  const slots = draw.rows.map((r) => slotOf.get(r)!);
  return enc.encodeProjected(proj, slots, resamples, draw.layout);
}
