import { MetaD2AException, validationError, type AccuracyNormalisation } from '@metad2a/core';
import type { MetaDatabase } from '../database/meta-database';

/** Mean and *unbiased* standard deviation (n − 1) of accuracies, as the official loader computes them (spec §3.5). */
export function accuracyNormalisation(accuracies: readonly number[]): AccuracyNormalisation {
  const n = accuracies.length;
  if (n < 2) throw new MetaD2AException(validationError({ source: 'accuracyNormalisation', field: 'accuracies', expected: 'at least 2 values', got: String(n) }));
  let mean = 0;
  for (const a of accuracies) mean += a;
  mean /= n;
  let ss = 0;
  for (const a of accuracies) ss += (a - mean) * (a - mean);
  const std = Math.sqrt(ss / (n - 1));
  if (!(std > 0))
    throw new MetaD2AException(validationError({ source: 'accuracyNormalisation', field: 'accuracies', expected: 'values that are not all equal', got: `all ${mean}` }));
  return { mean, std };
}

/** The normalisation of a split: over its **training** records only. */
export function splitNormalisation(db: MetaDatabase, split: string): AccuracyNormalisation {
  return accuracyNormalisation(db.recordsById(db.split(split).train).map((r) => r.accuracy));
}

/** ((acc − mean)/std)/100: the predictor's regression target (spec §8 item 18). */
export function normaliseAccuracy(acc: number, n: AccuracyNormalisation): number {
  return (acc - n.mean) / n.std / 100;
}

/** Inverse of {@link normaliseAccuracy}. */
export function denormaliseAccuracy(y: number, n: AccuracyNormalisation): number {
  return y * 100 * n.std + n.mean;
}

/**
 * What a predictor trained on a split predicts, in words: the metric(s) and training recipe(s) of
 * the split's training records, e.g. `top1-test@tiny (%) after training with {"name":"tiny","C":4,…}`.
 * A model directory stores it so that reports can say what "predicted accuracy" means.
 */
export function splitPredictionTarget(db: MetaDatabase, split: string): string {
  const recs = db.recordsById(db.split(split).train);
  const metrics = [...new Set(recs.map((r) => r.metric))].sort();
  const recipes = [...new Set(recs.map((r) => (r.recipe === undefined ? 'an unrecorded recipe' : JSON.stringify(r.recipe))))].sort();
  const list = (xs: string[]): string => (xs.length <= 3 ? xs.join('; ') : `${xs.slice(0, 3).join('; ')}; and ${xs.length - 3} more`);
  return `${list(metrics)} (%) after training with ${list(recipes)} (the ${recs.length} training records of split ${split})`;
}
