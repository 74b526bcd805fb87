import {
  NO_FACTS,
  Rng,
  checkLatencyBudget,
  constrainSearchSpace,
  describeConstraints,
  currentBackend,
  driveSteps,
  eitherOf,
  fail,
  percentileAmong,
  type MetaD2AError,
  type StepControl,
  type Steps,
  type AnySearchSpace,
  type BenchmarkFacts,
  type CandidateCost,
  type Constraints,
  type FeatureSet,
  type SearchSpace,
} from '@metad2a/core';
import * as tf from '@tensorflow/tfjs-core';
import type * as E from 'fp-ts/lib/Either.js';
import { generateSteps, type GenerateProgress, type ProjectionUse } from './generate';
import { predictionTarget, type SearchModel } from './model-dir';
import { candidatePool, rankSteps, type RankProgress, type RankedCandidate } from './rank';

/** Progress of scoring the reference cells of `predictedPercentile`: `done` of `total` graphs. */
export interface ReferenceProgress {
  readonly stage: 'reference';
  readonly done: number;
  readonly total: number;
}

/** Progress of a search: the stage (`generate`, then `rank`, then `reference`) and its `done` of `total`. */
export type SearchProgress = GenerateProgress | RankProgress | ReferenceProgress;

export interface SearchOptions extends StepControl<SearchProgress> {
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
  /**
   * Uniformly random architectures of the space (seeded draws, distinct ones kept), scored by the
   * predictor for the same data set, that each candidate's score is placed among
   * (`predictedPercentile`). Default 200; 0: none.
   */
  readonly referenceCells?: number;
  /**
   * Keep the reported top this far apart: walking down the ranking, a candidate joins `top` only if
   * it differs from every one already in it in at least this many choices (the space's
   * `distance`). 0: the ranking's first `top`, as the official search. Default: the model's
   * (model.json `search.topDistance`, the rule its evaluation measured), else 0.
   */
  readonly topDistance?: number;
}

export interface SearchCandidate {
  /** 1-based position in the ranking. */
  readonly rank: number;
  /** The architecture's string form (the space's `format`). */
  readonly arch: string;
  /** Mean normalised predictor score over the resamples. */
  readonly score: number;
  /** The score as an accuracy (%): calibrated where the model has a calibration (always within (0, 100)), else the linear denormalisation. */
  readonly predictedAccuracy: number;
  readonly cost?: CandidateCost;
  /** Latency in ms on the search's `constraints.device` (a measurement or the space's latency model; see `metad2a devices`). */
  readonly latencyMs?: number;
  /** The space's benchmark facts (`{kind: 'none'}` where it has none). */
  readonly facts: BenchmarkFacts;
  /** The predicted accuracy is outside [0, 100] % (a predictor whose normalisation does not fit the data). */
  readonly outOfRange: boolean;
  /**
   * Where the predictor puts it among uniformly random architectures of the space for this data
   * set (mid-rank percentile of its score among the search's `referenceCells`): 97 = the predictor
   * ranks it above 97 % of random cells. Absent without reference cells.
   */
  readonly predictedPercentile?: number;
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
  /** Scoring the reference cells of `predictedPercentile` (not part of `search`; 0 without them). */
  readonly reference: number;
}

export interface SearchResult {
  readonly space: string;
  /** What `predictedAccuracy` is (the model's `predicts`: metric and training recipe of its records). */
  readonly predicts: string;
  readonly dataset: { readonly name: string; readonly classes: number; readonly dim: number };
  readonly seed: number;
  readonly backend: string;
  readonly settings: {
    readonly candidates: number;
    readonly resamples: number;
    readonly perClass: number;
    readonly batchSize: number;
    readonly constraints: Constraints;
    /** Distinct random architectures scored for `predictedPercentile` (0: none). */
    readonly referenceCells: number;
    /** The reported top's minimum distance (0: the ranking's first). */
    readonly topDistance: number;
  };
  readonly generation: { readonly attempts: number; readonly valid: number; readonly unique: number; readonly batches: number };
  readonly timings: SearchTimings;
  /** Every candidate, best first. */
  readonly ranking: readonly SearchCandidate[];
  /** The first `top` of the ranking (with `topDistance`: the first ones that far apart; each keeps its `rank`). */
  readonly top: readonly SearchCandidate[];
  /** Present only where a stage could not use its set encoder's cached row projections: why (the search is slower, not different). */
  readonly fastPath?: { readonly generation?: string; readonly ranking?: string };
  /** Things the user should know about the result (e.g. predictions outside [0, 100] %). */
  readonly warnings: readonly string[];
}

/**
 * A ranking with each candidate's cost (for `classes` classes), its latency on `device` (where
 * given), the space's benchmark facts and, given the scores of reference cells for the same data
 * set, its predicted percentile among them.
 */
export function describeCandidates<A>(
  space: SearchSpace<A>,
  ranking: readonly RankedCandidate<A>[],
  classes: number,
  device?: string,
  referenceScores?: readonly number[],
): SearchCandidate[] {
  return ranking.map((c) => ({
    rank: c.rank,
    arch: c.key,
    score: c.score,
    predictedAccuracy: c.predictedAccuracy,
    cost: space.cost?.(c.arch, { classes }),
    ...(device !== undefined && space.latency ? { latencyMs: space.latency.latencyMs(c.arch, device) } : {}),
    facts: space.facts?.(c.arch) ?? NO_FACTS,
    outOfRange: !(c.predictedAccuracy >= 0 && c.predictedAccuracy <= 100),
    ...(referenceScores !== undefined && referenceScores.length > 0 && Number.isFinite(c.score) ? { predictedPercentile: percentileAmong(c.score, referenceScores) } : {}),
  }));
}

const posInt = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) fail('ValidationError', { source: 'search options', field, expected: 'a positive integer', got: String(v) });
  return v;
};

/**
 * The MetaD2A search (meta-test, spec §3.6) on top of the two stages: {@link generateCandidates}
 * (`candidates` unique valid architectures for the dataset, in the space constrained by
 * `constraints`) and {@link rankCandidates} (each scored by the predictor, averaged over
 * `resamples` resampled datasets), then each candidate's cost and benchmark facts from the space.
 * Same numbers as the official loop, restructured for speed (see the stages).
 *
 * Hands the event loop back after every generator batch and ranking step, reporting
 * `onProgress({stage, done, total})`; rejects with a MetaD2AException (bad options or data, a
 * model that cannot produce the candidates, `Aborted` when `signal` is aborted — no tensors kept).
 */
export function runSearch(model: SearchModel, dataset: FeatureSet, opts: SearchOptions = {}): Promise<SearchResult> {
  return driveSteps(searchSteps(model, dataset, opts), 'search', opts);
}

/** {@link runSearch} with its expected failures as a Left (a bug still rejects). */
export function runSearchEither(model: SearchModel, dataset: FeatureSet, opts: SearchOptions = {}): Promise<E.Either<MetaD2AError, SearchResult>> {
  return eitherOf(runSearch(model, dataset, opts));
}

function* searchSteps(model: SearchModel, dataset: FeatureSet, opts: SearchOptions): Steps<SearchProgress, SearchResult> {
  const candidates = posInt('candidates', opts.candidates ?? 500);
  const top = posInt('top', opts.top ?? 5);
  const resamples = posInt('resamples', opts.resamples ?? 10);
  const perClass = posInt('perClass', opts.perClass ?? 20);
  const batchSize = posInt('batchSize', opts.batchSize ?? 100);
  const referenceCells = opts.referenceCells ?? 200;
  if (!Number.isInteger(referenceCells) || referenceCells < 0)
    fail('ValidationError', { source: 'search options', field: 'referenceCells', expected: 'an integer ≥ 0', got: String(referenceCells) });
  const topDistance = opts.topDistance ?? model.manifest.search?.topDistance ?? 0;
  if (!Number.isInteger(topDistance) || topDistance < 0)
    fail('ValidationError', { source: 'search options', field: 'topDistance', expected: 'an integer ≥ 0', got: String(topDistance) });
  if (topDistance > 0) distanceOf(model.space, topDistance); // a space without one fails before any work
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) fail('ValidationError', { source: 'search options', field: 'seed', expected: 'an integer', got: String(seed) });
  const constraints = opts.constraints ?? {};
  const { space, generator, predictor } = model;
  const classes = dataset.classes.length;
  checkDataset(dataset);
  checkLatencyBudget(space, constraints);
  checkFeasible(space, constraints, classes, candidates);
  // candidates over a bound are dropped as they are decoded (the view's `admits`): they never reach ranking
  const genSpace = constrainSearchSpace(space, constraints, classes);

  const gen = yield* generateSteps(generator, dataset, candidates, { space: genSpace, seed, batchSize, perClass, maxAttempts: opts.maxAttempts });
  const generation = gen.elapsedMs / 1000;
  const ranked = yield* rankSteps(predictor, dataset, gen, { resamples, perClass, seed: `${seed}/rank` });
  const nonFinite = ranked.ranking.filter((c) => !Number.isFinite(c.score)).length;
  if (nonFinite > 0) {
    fail('ValidationError', {
      source: 'search',
      field: 'predictor scores',
      expected: 'finite scores',
      got: `${nonFinite} of ${ranked.ranking.length} candidates NaN or infinite (the predictor's weights or the features hold NaN/Inf)`,
    });
  }
  const reference = yield* referenceSteps(model, dataset, referenceCells, { resamples, perClass, seed });
  const ranking = describeCandidates(space, ranked.ranking, classes, constraints.device, reference.scores);
  const outside = ranking.filter((c) => c.outOfRange).length;
  const norm = predictor.normalisation;
  const warnings =
    outside > 0
      ? [
          `${outside} of ${ranking.length} predicted accuracies are outside [0, 100] % (the predictor's normalisation, mean ${norm.mean} std ${norm.std}, does not fit this data set); the ranking is kept, the values are not accuracies`,
        ]
      : [];
  const t = ranked.timings;
  const rankingS = t.setEncoding + t.graphEncoding + t.scoring;
  const slow = (p: ProjectionUse): string | undefined => (p.used ? undefined : p.reason);
  const fastPath = gen.projection.used && ranked.projection.used ? undefined : { generation: slow(gen.projection), ranking: slow(ranked.projection) };
  return {
    space: space.name,
    predicts: predictionTarget(model.manifest),
    dataset: { name: dataset.name, classes, dim: dataset.dim },
    seed,
    backend: currentBackend()?.name ?? tf.getBackend(),
    settings: { candidates, resamples, perClass, batchSize, constraints, referenceCells: reference.scores.length, topDistance },
    generation: { attempts: gen.attempts, valid: gen.valid, unique: gen.unique, batches: gen.batches },
    timings: {
      generation,
      setEncoding: t.setEncoding,
      graphEncoding: t.graphEncoding,
      scoring: t.scoring,
      ranking: rankingS,
      search: generation + rankingS,
      reference: reference.seconds,
    },
    ranking,
    top: selectTop(space, ranking, top, topDistance),
    ...(fastPath ? { fastPath } : {}),
    warnings,
  };
}

/**
 * The reported top of a ranking (best first): its first `top` candidates, or with `minDistance` > 0
 * the first ones that differ from every better one kept in at least `minDistance` choices (the
 * space's `distance`; greedy down the ranking), so that a shortlist does not bet everything on one
 * pattern. Fewer than `top` only when the ranking holds no more such candidates.
 */
export function selectTop<C extends { readonly arch: string }>(space: AnySearchSpace, ranking: readonly C[], top: number, minDistance = 0): C[] {
  if (minDistance === 0) return ranking.slice(0, top);
  const s = space as SearchSpace<unknown>;
  const distance = distanceOf(s, minDistance);
  const archOf = (c: C): unknown => {
    const a = s.parse(c.arch);
    if (a._tag === 'Left') fail('ValidationError', { source: 'ranking', field: 'arch', expected: `a ${s.name} architecture`, got: c.arch });
    return a.right;
  };
  const kept: { c: C; arch: unknown }[] = [];
  for (const c of ranking) {
    if (kept.length === top) break;
    const arch = archOf(c);
    if (kept.every((k) => distance(arch, k.arch) >= minDistance)) kept.push({ c, arch });
  }
  return kept.map((k) => k.c);
}

function distanceOf<A>(space: SearchSpace<A>, minDistance: number): (a: A, b: A) => number {
  if (!space.distance)
    fail('Unsupported', {
      source: `search space ${space.name}`,
      field: 'topDistance',
      expected: 'a space with an architecture distance (SearchSpace.distance)',
      got: String(minDistance),
    });
  return space.distance.bind(space);
}

/**
 * The predictor's scores, for `dataset`, of `count` seeded uniform draws of the model's space
 * (distinct ones kept), with the same resampled datasets as the candidates' ranking (its seed), so
 * that a candidate's score can be placed among them.
 */
function* referenceSteps(
  model: SearchModel,
  dataset: FeatureSet,
  count: number,
  o: { resamples: number; perClass: number; seed: number },
): Steps<SearchProgress, { scores: number[]; seconds: number }> {
  if (count === 0) return { scores: [], seconds: 0 };
  const t0 = performance.now();
  const space = model.space as SearchSpace<unknown>;
  const rng = new Rng(`${o.seed}/reference`);
  const cells = new Map<string, unknown>();
  for (let i = 0; i < count; i++) {
    const a = space.sample(rng);
    const key = space.format(a);
    if (!cells.has(key)) cells.set(key, a);
  }
  const r = yield* asReference(
    rankSteps(model.predictor, dataset, candidatePool(space, [...cells.values()]), { resamples: o.resamples, perClass: o.perClass, seed: `${o.seed}/rank` }),
  );
  return { scores: r.ranking.map((c) => c.score), seconds: (performance.now() - t0) / 1000 };
}

/** A ranking's steps reported as the reference stage (the inner steps are closed with the outer ones). */
function* asReference<R>(inner: Steps<RankProgress, R>): Steps<ReferenceProgress, R> {
  try {
    for (;;) {
      const n = inner.next();
      if (n.done) return n.value;
      yield { stage: 'reference', done: n.value.done, total: n.value.total };
    }
  } finally {
    inner.return(undefined as never);
  }
}

/** A data set a search can rank for: at least 2 classes (a 1-class "classification" means nothing to the predictor), finite values. */
function checkDataset(dataset: FeatureSet): void {
  if (dataset.classes.length < 2) fail('ValidationError', { source: dataset.name, field: 'classes', expected: 'at least 2 classes', got: String(dataset.classes.length) });
  dataset.classes.forEach((c, ci) => {
    const d = c.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!))
        fail('ValidationError', {
          source: dataset.name,
          field: `class ${ci} (${c.label}) row ${Math.floor(i / dataset.dim)}`,
          expected: 'finite feature values',
          got: String(d[i]),
        });
    }
  });
}

/**
 * Fail at once when fewer than `candidates` distinct architectures can satisfy the constraints
 * (FLOPs, parameters, latency; a latency budget below the fastest architecture has already failed in `checkLatencyBudget`)
 * (rather than decoding for hours), with the achievable number from the space's `countFeasible`.
 */
function checkFeasible(space: AnySearchSpace, constraints: Constraints, classes: number, candidates: number): void {
  const f = space.countFeasible?.(constraints, { classes });
  if (f === undefined || f.count >= BigInt(candidates)) return;
  const limits = describeConstraints(constraints);
  const fastest = f.minLatencyMs !== undefined ? ` and the fastest ${f.minLatencyMs.toPrecision(6)} ms on ${constraints.device}` : '';
  const cheapest = f.count === 0n && limits !== '' ? `; the cheapest has ${f.minMflops.toFixed(2)} MFLOPs and ${f.minMparams.toFixed(3)} M params${fastest}` : '';
  fail('ValidationError', {
    source: 'search',
    field: 'candidates',
    expected: `at most ${f.count} (${f.exact ? 'exactly' : 'at most'} ${f.count} distinct ${space.name} architectures ${limits !== '' ? `satisfy ${limits}` : 'exist'}${cheapest})`,
    got: String(candidates),
  });
}
