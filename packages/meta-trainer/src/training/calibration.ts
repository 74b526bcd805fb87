/**
 * The accuracy calibration of a meta-trained predictor (core `ScoreCalibration`): a logistic map
 * from its normalised scores to accuracies, fitted on the validation split — tasks it never trained
 * on — so that a search prints accuracies within (0, 100) % with a measured error, in the same
 * order as the raw scores.
 */
import { Rng, calibratedAccuracy, type PerfPredictor, type ScoreCalibration, type AnySearchSpace } from '@metad2a/core';
import * as E from 'fp-ts/lib/Either.js';
import type { MetaDatabase } from '../database/meta-database';
import { splitNormalisation } from '../data/normalisation';
import { GraphResolver, trainingItems, type ReplicateUse } from '../data/pipeline';
import { META_TRAIN_DEFAULTS } from './loop';
import { predictItems, splitParts } from './trainers';

/** Fewer validation records than this give no calibration (two parameters, but a fit worth printing needs more). */
export const MIN_CALIBRATION_RECORDS = 20;

const sigmoid = (u: number): number => 1 / (1 + Math.exp(-u));

/**
 * Least-squares fit (accuracy points) of `accuracy ≈ 100 · σ(intercept + slope · 100 · score)`:
 * ordinary least squares on the logits of the accuracies to start, then Levenberg–Marquardt.
 * Deterministic. Left (why) when there are too few records, the scores are constant, or the fitted
 * slope is not positive (a predictor whose scores fall as accuracy rises has nothing to calibrate).
 */
export function fitScoreCalibration(
  scores: ArrayLike<number>,
  accuracies: ArrayLike<number>,
  linearAccuracy: (score: number) => number,
  fittedOn: string,
): E.Either<string, ScoreCalibration> {
  const n = scores.length;
  if (n !== accuracies.length) return E.left(`${n} scores for ${accuracies.length} accuracies`);
  if (n < MIN_CALIBRATION_RECORDS) return E.left(`${n} records (at least ${MIN_CALIBRATION_RECORDS} are needed)`);
  const z = Float64Array.from(scores, (s) => 100 * s);
  const y = Float64Array.from(accuracies);
  if (!z.every(Number.isFinite) || !y.every(Number.isFinite)) return E.left('scores or accuracies that are not finite');
  let zm = 0;
  let tm = 0;
  const t = Float64Array.from(y, (a) => {
    const p = Math.min(0.995, Math.max(0.005, a / 100));
    return Math.log(p / (1 - p));
  });
  for (let i = 0; i < n; i++) (zm += z[i]!), (tm += t[i]!);
  zm /= n;
  tm /= n;
  let szz = 0;
  let szt = 0;
  for (let i = 0; i < n; i++) (szz += (z[i]! - zm) ** 2), (szt += (z[i]! - zm) * (t[i]! - tm));
  if (!(szz > 1e-12 * n)) return E.left('constant scores');
  let b = szt / szz;
  let a = tm - b * zm;
  const sse = (a0: number, b0: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (y[i]! - 100 * sigmoid(a0 + b0 * z[i]!)) ** 2;
    return s;
  };
  let cur = sse(a, b);
  let lambda = 1e-3;
  for (let it = 0; it < 500 && lambda < 1e12; it++) {
    // normal equations of the residuals y − 100σ(a + b z) in (a, b)
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    let ga = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a + b * z[i]!);
      const d = 100 * p * (1 - p);
      const r = y[i]! - 100 * p;
      haa += d * d;
      hab += d * d * z[i]!;
      hbb += d * d * z[i]! * z[i]!;
      ga += d * r;
      gb += d * r * z[i]!;
    }
    const A = haa * (1 + lambda);
    const D = hbb * (1 + lambda);
    const det = A * D - hab * hab;
    if (!(Math.abs(det) > 0)) break;
    const da = (D * ga - hab * gb) / det;
    const db = (A * gb - hab * ga) / det;
    const next = sse(a + da, b + db);
    if (next < cur) {
      const gain = cur - next;
      a += da;
      b += db;
      cur = next;
      lambda /= 3;
      if (gain <= 1e-12 * cur) break;
    } else lambda *= 3;
  }
  if (!(b > 0) || !Number.isFinite(a)) return E.left(`a fitted slope of ${b} (the scores do not rise with accuracy)`);
  const c: ScoreCalibration = { kind: 'logistic', intercept: a, slope: b, fittedOn, mae: { calibrated: 0, linear: 0 } };
  let calibrated = 0;
  let linear = 0;
  for (let i = 0; i < n; i++) {
    calibrated += Math.abs(calibratedAccuracy(c, scores[i]!) - y[i]!);
    linear += Math.abs(linearAccuracy(scores[i]!) - y[i]!);
  }
  return E.right({ ...c, mae: { calibrated: calibrated / n, linear: linear / n } });
}

/**
 * The calibration of a meta-trained `predictor` on the validation records of `split` (its scores
 * with validation's draw of images, `<seed>/valid`, so they equal the selected epoch's validation
 * scores). Left (why) where there is none to fit (see {@link fitScoreCalibration}).
 */
export function fitSplitCalibration(
  db: MetaDatabase,
  predictor: PerfPredictor,
  o: { split: string; seed: number; perClass?: number; batchSize?: number; spaces?: Readonly<Record<string, AnySearchSpace>>; replicates?: ReplicateUse },
): E.Either<string, ScoreCalibration> {
  // the validation items as meta-training saw them (one per record, or one per pair with `mean`)
  const parts = splitParts(db, o.split, o.replicates);
  const perClass = o.perClass ?? META_TRAIN_DEFAULTS.perClass;
  const items = trainingItems(db, parts.valid, {
    normalisation: splitNormalisation(db, o.split),
    resolver: new GraphResolver(o.spaces),
    perClass,
    anchor: predictor.anchor,
  });
  if (items.length === 0) return E.left(`split ${o.split} has no validation records`);
  const scores = predictItems(predictor, items, { perClass, batchSize: o.batchSize ?? META_TRAIN_DEFAULTS.batchSize, rng: new Rng(`${o.seed}/valid`) });
  const tasks = new Set(items.map((it) => it.task.id)).size;
  return fitScoreCalibration(
    scores,
    items.map((it) => it.record.accuracy),
    (s) => predictor.denormalise(s),
    `${items.length} validation records (${tasks} tasks) of split ${o.split}`,
  );
}
