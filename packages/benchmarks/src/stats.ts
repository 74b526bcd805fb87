/**
 * Summary statistics of repeated runs: mean, sample standard deviation and the Student-t 95%
 * confidence half-width the paper reports (spec §3.6 step 5, §9 item 19). The t quantile is
 * computed here (regularised incomplete beta + bisection), no statistics library.
 */
import { fail } from '@metad2a/core';

/** mean ± half-width of a confidence interval over `n` values. */
export interface MeanCI {
  readonly mean: number;
  /** t_{(1+level)/2, n−1} · s/√n; 0 when all values are equal or n = 1. */
  readonly halfWidth: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for n = 1. */
  readonly std: number;
  readonly n: number;
  readonly min: number;
  readonly max: number;
  /** Confidence level of the half-width (0.95 unless asked otherwise). */
  readonly level: number;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error < 1e-14). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  return x < (a + 1) / (a + b + 2) ? (Math.exp(lbt) * betaContinuedFraction(a, b, x)) / a : 1 - (Math.exp(lbt) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` (> 0) degrees of freedom, p in (0, 1); |error| < 1e-10. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) fail('ValidationError', { source: 'studentTQuantile', field: 'p', expected: 'a probability in (0, 1)', got: String(p) });
  if (!(df > 0)) fail('ValidationError', { source: 'studentTQuantile', field: 'df', expected: 'a positive number of degrees of freedom', got: String(df) });
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Mean and Student-t confidence half-width (default 95%) of the values, as the official
 * `mean_confidence_interval` (scipy `t.ppf((1+level)/2, n−1) · sem`). All values equal → 0.
 */
export function meanCI(values: readonly number[], level = 0.95): MeanCI {
  const n = values.length;
  if (n === 0) fail('ValidationError', { source: 'meanCI', field: 'values', expected: 'at least one value', got: 'none' });
  if (values.some((v) => !Number.isFinite(v))) fail('ValidationError', { source: 'meanCI', field: 'values', expected: 'finite numbers', got: values.join(', ') });
  if (!(level > 0 && level < 1)) fail('ValidationError', { source: 'meanCI', field: 'level', expected: 'a level in (0, 1)', got: String(level) });
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (n === 1 || min === max) return { mean: min === max ? min : mean, halfWidth: 0, std: 0, n, min, max, level };
  const ss = values.reduce((a, v) => a + (v - mean) * (v - mean), 0);
  const std = Math.sqrt(ss / (n - 1));
  return { mean, halfWidth: (studentTQuantile((1 + level) / 2, n - 1) * std) / Math.sqrt(n), std, n, min, max, level };
}

/** `94.37±0.03`: mean and half-width with `digits` decimals. */
export function formatMeanCI(ci: MeanCI, digits = 2): string {
  return `${ci.mean.toFixed(digits)}±${ci.halfWidth.toFixed(digits)}`;
}
