import { MetaD2AException, validationError, type AccuracyNormalisation } from '@metad2a/core';

/** Mean and unbiased std of training accuracies (spec §3.5: computed on the training split only). */
export function normalisationFrom(accuracies: ArrayLike<number>): AccuracyNormalisation {
  const n = accuracies.length;
  if (n < 2) throw new MetaD2AException(validationError({ source: 'accuracy normalisation', field: 'accuracies', expected: 'at least 2 values', got: String(n) }));
  let mean = 0;
  for (let i = 0; i < n; i++) mean += accuracies[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (accuracies[i]! - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  if (!(std > 0))
    throw new MetaD2AException(validationError({ source: 'accuracy normalisation', field: 'accuracies', expected: 'values that are not all equal', got: `all ${mean}` }));
  return { mean, std };
}

/** acc (%) → target `((acc − mean)/std)/100` (spec §8 item 18: note the extra /100). */
export function normaliseAccuracy(acc: number, n: AccuracyNormalisation): number {
  return (acc - n.mean) / n.std / 100;
}

/** Inverse of {@link normaliseAccuracy}: score → accuracy in %. */
export function denormaliseScore(score: number, n: AccuracyNormalisation): number {
  return score * 100 * n.std + n.mean;
}
