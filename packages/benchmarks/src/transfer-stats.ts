/**
 * The statistics of the transfer evaluation: where a cell's accuracy sits among a task's random
 * cells (percentile), a seeded bootstrap interval of a mean over tasks, how much the top-k
 * picks of different sources overlap, and how much the predictor's ranking agrees between tasks.
 */
import { Rng, fail, spearman } from '@metad2a/core';

export { percentileAmong } from '@metad2a/core';

/** Linear-interpolation quantile (R's type 7, numpy's default) of ascending `sorted`, p in [0, 1]. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) fail('ValidationError', { source: 'quantileSorted', field: 'values', expected: 'at least one value', got: 'none' });
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** A mean over tasks with its percentile-bootstrap interval. */
export interface BootstrapCI {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly level: number;
  readonly resamples: number;
  readonly seed: string;
}

/**
 * Percentile bootstrap of the mean: `resamples` times draw n of the values with replacement
 * (`Rng(seed)`, one `int(n)` per draw), take the mean; the interval is the (1 ∓ level)/2
 * quantiles (type 7) of those means. The same seed for several metrics of the same tasks makes a
 * paired bootstrap (every metric sees the same resampled tasks).
 */
export function bootstrapMeanCI(values: readonly number[], opts: { resamples?: number; seed: number | string; level?: number }): BootstrapCI {
  const n = values.length;
  const level = opts.level ?? 0.95;
  const resamples = opts.resamples ?? 10_000;
  if (n === 0) fail('ValidationError', { source: 'bootstrapMeanCI', field: 'values', expected: 'at least one value', got: 'none' });
  if (values.some((v) => !Number.isFinite(v))) fail('ValidationError', { source: 'bootstrapMeanCI', field: 'values', expected: 'finite numbers', got: values.join(', ') });
  if (!(level > 0 && level < 1)) fail('ValidationError', { source: 'bootstrapMeanCI', field: 'level', expected: 'a level in (0, 1)', got: String(level) });
  if (!Number.isInteger(resamples) || resamples < 1)
    fail('ValidationError', { source: 'bootstrapMeanCI', field: 'resamples', expected: 'a positive integer', got: String(resamples) });
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const rng = new Rng(opts.seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!;
    means[b] = s / n;
  }
  means.sort();
  return { mean, lo: quantileSorted(means, (1 - level) / 2), hi: quantileSorted(means, (1 + level) / 2), n, level, resamples, seed: String(opts.seed) };
}

/** Size of the intersection of two top-k lists (compared by key, each list's keys counted once). */
export function overlapCount(a: readonly string[], b: readonly string[]): number {
  const sa = new Set(a);
  let k = 0;
  for (const x of new Set(b)) if (sa.has(x)) k++;
  return k;
}

/** Mean overlap of the top-k picks between two groups of tasks. */
export interface GroupOverlap {
  readonly a: string;
  readonly b: string;
  /** Mean |topA ∩ topB| over the task pairs (a task is never paired with itself) and seeds; null without a pair. */
  readonly mean: number | null;
  readonly pairs: number;
}

/**
 * Overlap of top-k lists between groups (e.g. the held-out sources): for every ordered group pair
 * (A, B) with A ≤ B in `groups` order, the mean of |top(a, s) ∩ top(b, s)| over the tasks a ∈ A,
 * b ∈ B with a ≠ b and over the seeds s both were searched with.
 */
export function groupOverlaps(
  tasks: readonly { readonly name: string; readonly group: string; readonly tops: ReadonlyMap<number, readonly string[]> }[],
  groups: readonly string[],
): GroupOverlap[] {
  const out: GroupOverlap[] = [];
  groups.forEach((ga, i) => {
    for (const gb of groups.slice(i)) {
      let sum = 0;
      let pairs = 0;
      const as = tasks.filter((t) => t.group === ga);
      const bs = tasks.filter((t) => t.group === gb);
      as.forEach((ta, ia) => {
        bs.forEach((tb, ib) => {
          // within a group, each unordered pair once
          if (ta.name === tb.name || (ga === gb && ib <= ia)) return;
          for (const [seed, topA] of ta.tops) {
            const topB = tb.tops.get(seed);
            if (!topB) continue;
            sum += overlapCount(topA, topB);
            pairs++;
          }
        });
      });
      out.push({ a: ga, b: gb, mean: pairs > 0 ? sum / pairs : null, pairs });
    }
  });
  return out;
}

/**
 * Task by task, how often `a[i]` is more accurate than `b[i]`, as accurate, or less. A mean over
 * seeds of one and the same accuracy can differ from it in the last bit (`(45.33 · 3) / 3 >
 * 45.33`), so differences within `tolerance` are ties, not wins or losses.
 */
export function winsTiesLosses(a: readonly number[], b: readonly number[], tolerance = 1e-9): { wins: number; ties: number; losses: number } {
  if (a.length !== b.length) throw new RangeError(`winsTiesLosses: ${a.length} against ${b.length} values`);
  let wins = 0;
  let ties = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d > tolerance) wins++;
    else if (d >= -tolerance) ties++;
  }
  return { wins, ties, losses: a.length - wins - ties };
}

/** One comparison's outcome: more accurate, as accurate (within float rounding), less accurate. */
export type Outcome = 'above' | 'equal' | 'below';

/**
 * Random search that trains every candidate once, judged without the winner's curse: for each
 * training k in turn, the cell best by its training k, judged by the mean of its other trainings
 * against the reference's mean of the same other trainings (its own training k would flatter the
 * pick). `cells[i][k]` is cell i's training k; every cell and the reference have the same n ≥ 2
 * trainings. One outcome per training.
 */
export function oneTrainingSearchOutcomes(cells: readonly (readonly number[])[], reference: readonly number[], tolerance = 1e-9): Outcome[] {
  const n = reference.length;
  if (n < 2 || cells.length === 0 || cells.some((c) => c.length !== n))
    throw new RangeError(`oneTrainingSearchOutcomes: expected cells and a reference of the same ≥ 2 trainings, got ${cells.length} cells, ${n} trainings`);
  const others = (v: readonly number[], k: number) => v.reduce((s, x, j) => (j === k ? s : s + x), 0) / (n - 1);
  return Array.from({ length: n }, (_, k) => {
    const pick = cells.reduce((best, c) => (c[k]! > best[k]! ? c : best));
    const d = others(pick, k) - others(reference, k);
    return d > tolerance ? 'above' : d >= -tolerance ? 'equal' : 'below';
  });
}

/**
 * How much the predictor's ranking depends on the data set: the Spearman between two tasks' scores
 * of the same cells (every task's random cells, pooled), over every pair of tasks. 1: the same
 * ranking whatever the data set (the data set then moves only the level of the scores, and which
 * cells are searched comes from the generator alone).
 */
export interface RankingAgreement {
  /** The cells every task scored (the tasks' random cells, one per computation). */
  readonly cells: number;
  /** Task pairs. */
  readonly pairs: number;
  readonly mean: number;
  readonly min: number;
  /** Over the pairs of tasks from different sources (null with one source). */
  readonly betweenSources: number | null;
}

/** The {@link RankingAgreement} of the tasks' scores of the same cells, in the same order (`sources[i]`: task i's source). */
export function agreementOf(scores: readonly ArrayLike<number>[], sources: readonly string[]): RankingAgreement {
  if (scores.length !== sources.length) throw new RangeError(`agreementOf: ${scores.length} tasks' scores against ${sources.length} sources`);
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let pairs = 0;
  let between = 0;
  let betweenPairs = 0;
  for (let i = 0; i < scores.length; i++)
    for (let j = i + 1; j < scores.length; j++) {
      const rho = spearman(scores[i]!, scores[j]!);
      sum += rho;
      min = Math.min(min, rho);
      pairs++;
      if (sources[i] !== sources[j]) (between += rho), betweenPairs++;
    }
  return {
    cells: scores[0]?.length ?? 0,
    pairs,
    mean: pairs > 0 ? sum / pairs : Number.NaN,
    min: pairs > 0 ? min : Number.NaN,
    betweenSources: betweenPairs > 0 ? between / betweenPairs : null,
  };
}
