/**
 * Baselines on the NB201 table (issue 13): random search, regularised evolution (REA) and
 * exhaustive predictor ranking, optionally beside MetaD2A's generate-then-rank, each with a
 * query budget. An "evaluation" is one NB201 table query (= training the cell, in the real
 * setting); after k evaluations a method reports the test accuracy of the best cell it has
 * evaluated, best by the selection split (default: NB201 validation accuracy, as in the NB201
 * paper's protocol; `select: 'test'` is the oracle rule of MetaD2A's CIFAR numbers).
 */
import { Rng, fail, type FeatureSet, type GraphGenerator, type PerfPredictor } from '@metad2a/core';
import { GraphEmbeddingCache, candidatePool, generateCandidates, rankCandidates, type CandidatePool } from '@metad2a/search';
import { nb201, nb201Table, type Nb201Cell, type Nb201Dataset, type Nb201OpId, type Nb201Split, type Nb201Table } from '@metad2a/search-spaces';
import { machineInfo, type MachineInfo } from './environment';
import { meanCI, type MeanCI } from './stats';

export type Nb201BaselineMethod = 'random' | 'rea' | 'predictor-exhaustive' | 'metad2a';

export interface ReaSettings {
  /** Population size (NB201 authors' REA: 10). */
  readonly population: number;
  /** Tournament sample size (NB201 authors' REA: 3). */
  readonly sampleSize: number;
}

/** `--ea_population 10 --ea_sample_size 3`, the NB201 authors' REA settings (AutoDL-Projects `R-EA.sh` / `REA.py`). */
export const NB201_REA_SETTINGS: ReaSettings = { population: 10, sampleSize: 3 };

export interface Nb201BaselineOptions {
  /** NB201 column to evaluate on. */
  readonly lookup: Nb201Dataset;
  readonly methods?: readonly Nb201BaselineMethod[];
  /** Evaluations (table queries) per run (default 100). */
  readonly budget?: number;
  /** Independent runs per method (default 10). */
  readonly runs?: number;
  readonly seed?: number;
  /** Split that decides which evaluated cell is "best" (default `valid`); the reported accuracy is always `test`. */
  readonly select?: Nb201Split;
  readonly rea?: ReaSettings;
  /** Predictor and target features: needed by `predictor-exhaustive` and `metad2a`. */
  readonly predictor?: PerfPredictor;
  readonly dataset?: FeatureSet;
  /** Resampled datasets the predictor averages over (default 10). */
  readonly resamples?: number;
  /** NB201 indices ranked by `predictor-exhaustive` (default: all 15,625). */
  readonly cells?: readonly number[];
  /** Graphs per graph-encoder batch in the exhaustive ranking (default 2048). */
  readonly graphBatch?: number;
  /** Generator for `metad2a` and its candidates per run (default 500). */
  readonly generator?: GraphGenerator;
  readonly candidates?: number;
  readonly batchSize?: number;
  readonly table?: Nb201Table;
  /** What the predictor / generator weights are; printed with the result. */
  readonly weights?: string;
  readonly onRun?: (method: Nb201BaselineMethod, run: number, curve: Float64Array) => void;
}

export interface Nb201MethodResult {
  readonly method: Nb201BaselineMethod;
  /** Per evaluation count k = 1..budget (index k−1): mean ± CI over runs of the reported test accuracy. */
  readonly curve: readonly MeanCI[];
  /** The per-run curves, `[runs][budget]`. */
  readonly runs: readonly (readonly number[])[];
  /** At k = budget. */
  readonly final: MeanCI;
  /** Wall seconds per run spent by the method itself (sampling, evolution, generation, ranking); table queries are array look-ups (excluded for the predictor methods, negligible for the others). */
  readonly overheadS: MeanCI;
  /** Candidates available to the method per run (`metad2a`: the generated ones; its curve is flat past them). */
  readonly pool: number;
}

export interface Nb201BaselineResult {
  readonly benchmark: 'nb201-baselines';
  readonly lookup: Nb201Dataset;
  readonly select: Nb201Split;
  readonly budget: number;
  readonly runsPerMethod: number;
  readonly seed: number;
  readonly rea: ReaSettings;
  readonly weights: string | null;
  readonly dataset: string | null;
  /** The best test accuracy in the column (the ceiling of every curve). */
  readonly optimum: number;
  readonly methods: readonly Nb201MethodResult[];
  readonly machine: MachineInfo;
}

const posInt = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) fail('ValidationError', { source: 'nb201 baselines options', field, expected: 'a positive integer', got: String(v) });
  return v;
};

/** Best-so-far bookkeeping: the reported (test) accuracy of the best cell by the selection metric. */
class Tracker {
  private bestSelect = -Infinity;
  private bestReport = NaN;
  readonly curve: Float64Array;
  private k = 0;
  constructor(
    readonly budget: number,
    private readonly selectCol: Float64Array,
    private readonly testCol: Float64Array,
  ) {
    this.curve = new Float64Array(budget);
  }
  get done(): boolean {
    return this.k >= this.budget;
  }
  get count(): number {
    return this.k;
  }
  /** One table query; returns the selection value (the fitness). */
  evaluate(index: number): number {
    const s = this.selectCol[index]!;
    if (this.k < this.budget) {
      if (s > this.bestSelect) {
        this.bestSelect = s;
        this.bestReport = this.testCol[index]!;
      }
      this.curve[this.k++] = this.bestReport;
    }
    return s;
  }
  /** A method that ran out of candidates keeps its last value. */
  padToBudget(): void {
    for (; this.k < this.budget; this.k++) this.curve[this.k] = this.k > 0 ? this.curve[this.k - 1]! : NaN;
  }
}

function mutate(cell: Nb201Cell, rng: Rng): Nb201Cell {
  const edge = rng.int(6);
  const others = [0, 1, 2, 3, 4].filter((o) => o !== cell[edge]);
  const next = cell.slice() as Nb201OpId[];
  next[edge] = others[rng.int(others.length)] as Nb201OpId;
  return Object.freeze(next) as unknown as Nb201Cell;
}

/** Random search without repetition: uniformly random distinct cells. */
function randomSearch(t: Tracker, table: Nb201Table, rng: Rng): void {
  const order = rng.sampleIndices(table.size, Math.min(t.budget, table.size));
  for (const i of order) t.evaluate(i);
}

/** Regularised evolution (Real et al. 2019) as the NB201 authors run it: age-based removal, tournament of `sampleSize`, one-edge mutation. */
function regularisedEvolution(t: Tracker, table: Nb201Table, rng: Rng, s: ReaSettings): void {
  const population: { index: number; fitness: number }[] = [];
  while (population.length < s.population && !t.done) {
    const index = table.indexOf(nb201.sample(rng));
    population.push({ index, fitness: t.evaluate(index) });
  }
  while (!t.done) {
    let parent = population[rng.int(population.length)]!;
    for (let i = 1; i < s.sampleSize; i++) {
      const c = population[rng.int(population.length)]!;
      if (c.fitness > parent.fitness) parent = c;
    }
    const index = table.indexOf(mutate(table.cellAt(parent.index), rng));
    population.push({ index, fitness: t.evaluate(index) });
    population.shift();
  }
}

/** Run the baselines (see the module comment); the MetaD2A methods hand the event loop back between the search's batches. */
export async function runNb201Baselines(opts: Nb201BaselineOptions): Promise<Nb201BaselineResult> {
  const table = opts.table ?? nb201Table();
  // default: every method the given models allow (the MetaD2A curve whenever a generator, predictor and dataset are given)
  const methods: readonly Nb201BaselineMethod[] = opts.methods ?? [
    'random',
    'rea',
    ...(opts.predictor && opts.dataset ? (['predictor-exhaustive'] as const) : []),
    ...(opts.generator && opts.predictor && opts.dataset ? (['metad2a'] as const) : []),
  ];
  const budget = posInt('budget', opts.budget ?? 100);
  const runs = posInt('runs', opts.runs ?? 10);
  const resamples = posInt('resamples', opts.resamples ?? 10);
  const seed = opts.seed ?? 0;
  const select = opts.select ?? 'valid';
  const rea = opts.rea ?? NB201_REA_SETTINGS;
  posInt('rea.population', rea.population);
  posInt('rea.sampleSize', rea.sampleSize);
  const selectCol = table.column(opts.lookup, select === 'valid' ? 'validAccuracy' : 'testAccuracy');
  const testCol = table.column(opts.lookup, 'testAccuracy');
  const needsPredictor = methods.some((m) => m === 'predictor-exhaustive' || m === 'metad2a');
  if (needsPredictor && (!opts.predictor || !opts.dataset))
    fail('ValidationError', {
      source: 'nb201 baselines options',
      field: 'predictor/dataset',
      expected: 'a predictor and the target features for predictor-exhaustive / metad2a',
      got: 'missing',
    });
  if (methods.includes('metad2a') && !opts.generator)
    fail('ValidationError', { source: 'nb201 baselines options', field: 'generator', expected: 'a generator for the metad2a curve', got: 'missing' });
  const cells = opts.cells ?? Array.from({ length: table.size }, (_, i) => i);
  cells.forEach((i) => table.indexOf(i));

  const results: Nb201MethodResult[] = [];
  for (const method of methods) {
    const curves: number[][] = [];
    const overhead: number[] = [];
    let pool = table.size;
    let exhaustive: CandidatePool<Nb201Cell> | undefined;
    // graph embeddings are kept across runs (the weights do not change); runs differ by the resampled datasets
    const graphCache = new GraphEmbeddingCache();
    if (method === 'predictor-exhaustive') {
      exhaustive = candidatePool(
        nb201,
        cells.map((i) => table.cellAt(i)),
      );
      pool = cells.length;
    }
    for (let r = 0; r < runs; r++) {
      const rng = new Rng(`${seed}/${method}/run${r}`);
      const t = new Tracker(budget, selectCol, testCol);
      const t0 = performance.now();
      let queryMs = 0;
      const timedEvaluate = (indices: readonly number[]): void => {
        const q0 = performance.now();
        for (const i of indices) {
          if (t.done) break;
          t.evaluate(i);
        }
        queryMs += performance.now() - q0;
      };
      if (method === 'random') {
        randomSearch(t, table, rng);
      } else if (method === 'rea') {
        regularisedEvolution(t, table, rng, rea);
      } else if (method === 'predictor-exhaustive') {
        const ranked = await rankCandidates(opts.predictor!, opts.dataset!, exhaustive!, { resamples, seed: `${seed}/${method}/run${r}`, graphCache, graphBatch: opts.graphBatch });
        timedEvaluate(ranked.ranking.map((c) => cells[c.index]!));
      } else {
        const gen = await generateCandidates(opts.generator!, opts.dataset!, opts.candidates ?? 500, {
          space: nb201,
          seed: `${seed}/${method}/run${r}/generate`,
          batchSize: opts.batchSize,
        });
        const ranked = await rankCandidates(opts.predictor!, opts.dataset!, gen, { resamples, seed: `${seed}/${method}/run${r}/rank` });
        pool = gen.strings.length;
        timedEvaluate(ranked.ranking.map((c) => table.indexOf(c.key)));
      }
      const totalMs = performance.now() - t0;
      t.padToBudget();
      curves.push(Array.from(t.curve));
      overhead.push((totalMs - queryMs) / 1000);
      opts.onRun?.(method, r, t.curve);
    }
    const curve = Array.from({ length: budget }, (_, k) => meanCI(curves.map((c) => c[k]!)));
    results.push({ method, curve, runs: curves, final: curve[budget - 1]!, overheadS: meanCI(overhead), pool });
  }
  return {
    benchmark: 'nb201-baselines',
    lookup: opts.lookup,
    select,
    budget,
    runsPerMethod: runs,
    seed,
    rea,
    weights: needsPredictor ? (opts.weights ?? 'unspecified') : null,
    dataset: opts.dataset ? `${opts.dataset.name} (${opts.dataset.classes.length} classes)` : null,
    optimum: table.best(opts.lookup, 'test').accuracy,
    methods: results,
    machine: machineInfo(),
  };
}
