import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, calibratedAccuracy, initBackend, predictedAccuracy, type FeatureSet } from '@metad2a/core';
import { candidatePool, loadSearchModel, parseModelManifest, predictionTarget, rankCandidates } from '@metad2a/search';
import { nb201 } from '@metad2a/search-spaces';
import * as E from 'fp-ts/lib/Either.js';
import { MIN_CALIBRATION_RECORDS, MetaDatabase, fitScoreCalibration, fitSplitCalibration, metaTrainSearchModel } from '../src';
import { fillNoiseDb } from './helpers/noise-db';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

const linear = (s: number) => 70 + 100 * 10 * s; // a normalisation of mean 70, std 10
const right = <A>(e: E.Either<string, A>): A => {
  if (E.isLeft(e)) throw new Error(e.left);
  return e.right;
};

describe('fitScoreCalibration', () => {
  it('recovers the logistic map that made the accuracies, and keeps their order within (0, 100)', () => {
    const scores = Array.from({ length: 41 }, (_, i) => (i - 20) / 1000); // -2 … 2 standard deviations
    const accs = scores.map((s) => 100 / (1 + Math.exp(-(0.3 + 0.9 * 100 * s))));
    const c = right(fitScoreCalibration(scores, accs, linear, 'test'));
    expect(c.kind).toBe('logistic');
    expect(c.intercept).toBeCloseTo(0.3, 6);
    expect(c.slope).toBeCloseTo(0.9, 6);
    expect(c.mae.calibrated).toBeLessThan(1e-6);
    // the linear map's error on the same records, computed by hand
    expect(c.mae.linear).toBeCloseTo(scores.reduce((a, s, i) => a + Math.abs(linear(s) - accs[i]!), 0) / scores.length, 9);
    // a score far past the training range stays below 100 % and above its neighbours
    expect(calibratedAccuracy(c, 0.1)).toBeLessThan(100);
    expect(calibratedAccuracy(c, 0.1)).toBeGreaterThan(calibratedAccuracy(c, 0.05));
    expect(linear(0.1)).toBeGreaterThan(100);
  });

  it('fits noisy accuracies by least squares (seeded): the slope within 10 %, the error near the noise', () => {
    const rng = new Rng(3);
    const scores = Array.from({ length: 400 }, () => rng.normal() / 100);
    const accs = scores.map((s) => 100 / (1 + Math.exp(-(1.2 + 0.6 * 100 * s))) + 2 * rng.normal());
    const c = right(fitScoreCalibration(scores, accs, linear, 'noisy'));
    expect(Math.abs(c.slope - 0.6) / 0.6).toBeLessThan(0.1);
    expect(Math.abs(c.intercept - 1.2)).toBeLessThan(0.1);
    // mean absolute error of N(0, 2) noise is 2·√(2/π) ≈ 1.60
    expect(c.mae.calibrated).toBeGreaterThan(1.4);
    expect(c.mae.calibrated).toBeLessThan(1.8);
  });

  it('refuses too few records, constant scores, and scores that fall as accuracy rises, saying why', () => {
    const few = Array.from({ length: MIN_CALIBRATION_RECORDS - 1 }, (_, i) => i / 100);
    expect(fitScoreCalibration(few, few, linear, 'x')).toEqual(E.left(`${MIN_CALIBRATION_RECORDS - 1} records (at least ${MIN_CALIBRATION_RECORDS} are needed)`));
    const n = 30;
    expect(
      fitScoreCalibration(
        Array(n).fill(0.01),
        Array.from({ length: n }, (_, i) => 50 + i),
        linear,
        'x',
      ),
    ).toEqual(E.left('constant scores'));
    const falling = fitScoreCalibration(
      Array.from({ length: n }, (_, i) => i / 1000),
      Array.from({ length: n }, (_, i) => 90 - i),
      linear,
      'x',
    );
    expect(E.isLeft(falling) && falling.left).toMatch(/^a fitted slope of -[0-9.e-]+ \(the scores do not rise with accuracy\)$/);
    expect(fitScoreCalibration([0.1, Number.NaN, ...few], [1, 2, ...few], linear, 'x')).toEqual(E.left('scores or accuracies that are not finite'));
  });
});

describe('a meta-trained model carries its calibration', () => {
  // one epoch of each phase at hidden size 8: enough to write a model
  const oneEpoch = { space: 'nb201', split: 's', predictorEpochs: 1, generatorEpochs: 1, predictorHs: 8, seed: 1, options: { batchSize: 8 } } as const;
  it('metaTrainSearchModel fits it on the validation split, writes it to model.json, and a search prints calibrated accuracies', async () => {
    const db = MetaDatabase.inMemory();
    // 2 data sets × 4 tasks × 4 cells; the first 24 records validate
    fillNoiseDb(db, [{ name: 'a' }, { name: 'b' }], 4, 24);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-calibration-'));
    const r = await metaTrainSearchModel(db, { out, ...oneEpoch, anchor: true });
    const c = right(r.calibration);
    expect(c.fittedOn).toBe('24 validation records (6 tasks) of split s');
    expect(c.slope).toBeGreaterThan(0);
    expect(r.manifest.predictor.calibration).toEqual(c);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(json.predictor.calibration).toEqual(c);
    expect(json.provenance.metaTrained.calibration).toBe('fitted on the validation split (predictor.calibration)');

    const model = await loadSearchModel(out);
    expect(model.predictor.calibration).toEqual(c);
    // the same fit from the loaded model (the validation draw is seeded)
    expect(right(fitSplitCalibration(db, model.predictor, { split: 's', seed: 1, batchSize: 8 }))).toEqual(c);
    expect(predictionTarget(model.manifest)).toMatch(
      /^top1-test.*, calibrated on 24 validation records \(6 tasks\) of split s \(mean absolute error there [0-9]+\.[0-9] points; uncalibrated [0-9]+\.[0-9]\)$/,
    );
    const rng = new Rng(5);
    const cells = Array.from({ length: 30 }, () => nb201.sample(rng));
    const features: FeatureSet = db.taskFeatureSet(db.task(db.records()[0]!.taskId));
    const ranked = await rankCandidates(model.predictor, features, candidatePool(nb201, cells), { resamples: 3, seed: 9 });
    for (const cand of ranked.ranking) {
      expect(cand.predictedAccuracy).toBeCloseTo(calibratedAccuracy(c, cand.score), 9);
      expect(cand.predictedAccuracy).toBe(predictedAccuracy(model.predictor, cand.score));
      expect(cand.predictedAccuracy).toBeGreaterThan(0);
      expect(cand.predictedAccuracy).toBeLessThan(100);
    }
    // best first by score, and so by calibrated accuracy
    const accs = ranked.ranking.map((x) => x.predictedAccuracy);
    expect([...accs].sort((a, b) => b - a)).toEqual(accs);
    model.dispose();

    // a calibration that would reverse the ranking, or lacks a field, is refused naming the field
    for (const bad of [{ ...c, slope: -0.5 }, { ...c, fittedOn: '' }, { kind: 'isotonic' }, null]) {
      const parsed = parseModelManifest({ ...json, predictor: { ...json.predictor, calibration: bad } }, 'm/model.json');
      expect(E.isLeft(parsed) && parsed.left.message).toMatch(/^m\/model\.json: predictor\.calibration: expected \{kind: 'logistic'/);
    }
  });

  it('the default four validation records give no calibration, and say so in the provenance', async () => {
    const db = MetaDatabase.inMemory();
    fillNoiseDb(db, [{ name: 'a' }], 3);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-calibration-'));
    const r = await metaTrainSearchModel(db, { out, ...oneEpoch });
    expect(r.calibration).toEqual(E.left(`4 records (at least ${MIN_CALIBRATION_RECORDS} are needed)`));
    expect(r.manifest.predictor.calibration).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).provenance.metaTrained.calibration).toBe(
      `none: 4 records (at least ${MIN_CALIBRATION_RECORDS} are needed)`,
    );
  });
});
