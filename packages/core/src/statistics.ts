/**
 * Correlation statistics of paired values (model selection, database statistics, the default
 * model's evaluation): one implementation for every package. Plain float64 code. Arrays of
 * different lengths are an error; a correlation of fewer than two pairs or of a constant side is
 * undefined and returned as NaN.
 */
import { fail } from './errors';

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: arrays differ in length (${a.length} vs ${b.length})`);
}

/** Pearson's r (NaN for fewer than 2 pairs or when either side is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, 'pearson');
  const n = a.length;
  if (n < 2) return Number.NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? Number.NaN : sab / Math.sqrt(saa * sbb);
}

/** Ranks 1..n, ties get the average of the ranks they span (as scipy.stats.rankdata). */
export function averageRanks(a: ArrayLike<number>): Float64Array {
  const n = a.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i]! - a[j]!);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && a[idx[j + 1]!] === a[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's ρ: Pearson's r of the average ranks (NaN for fewer than 2 pairs or a constant side). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, 'spearman');
  return pearson(averageRanks(a), averageRanks(b));
}

/** Kendall's τ-b (tie-corrected, as scipy.stats.kendalltau's default); O(n²); NaN for fewer than 2 pairs or a constant side. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, 'kendallTau');
  const n = a.length;
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  return denom === 0 ? Number.NaN : (concordant - discordant) / denom;
}

/**
 * Percentile of `value` among `population` (mid-rank): 100 · (#{p < value} + ½ · #{p = value}) / n.
 * A value above every random cell scores 100, below every one 0, equal to all of them 50.
 */
export function percentileAmong(value: number, population: readonly number[]): number {
  if (population.length === 0) fail('ValidationError', { source: 'percentileAmong', field: 'population', expected: 'at least one value', got: 'none' });
  if (!Number.isFinite(value) || population.some((p) => !Number.isFinite(p)))
    fail('ValidationError', { source: 'percentileAmong', field: 'values', expected: 'finite numbers', got: `${value} among ${population.join(', ')}` });
  let below = 0;
  let equal = 0;
  for (const p of population) {
    if (p < value) below++;
    else if (p === value) equal++;
  }
  return (100 * (below + 0.5 * equal)) / population.length;
}

/** Solve (A + λI) w = b for a symmetric positive definite A (`n × n`, row-major; Cholesky, float64): ridge regression's normal equations. */
export function ridgeSolve(ata: Float64Array, atb: Float64Array, n: number, lambda: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = ata[i * n + j]! + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) sum -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new Error('internal: ridge system not positive definite');
        L[i * n + i] = Math.sqrt(sum);
      } else L[i * n + j] = sum / L[j * n + j]!;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = atb[i]!;
    for (let k = 0; k < i; k++) sum -= L[i * n + k]! * y[k]!;
    y[i] = sum / L[i * n + i]!;
  }
  const w = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= L[k * n + i]! * w[k]!;
    w[i] = sum / L[i * n + i]!;
  }
  return w;
}
