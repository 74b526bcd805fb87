import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, initBackend, loadCheckpointSync, modelSpecs, unwrap } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { nb201, nb201Prior } from '@metad2a/search-spaces';
import * as E from 'fp-ts/lib/Either.js';
import { loadSearchModel } from '@metad2a/search';
import { MetaDatabase, fitSplitCalibration, metaTrainModels, metaTrainSearchModel, splitAnchor, splitNormalisation, trainingItems } from '../src';
import { fillNoiseDb } from './helpers/noise-db';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

describe('a predictor meta-trained on scaled targets (targetScale)', () => {
  const oneEpoch = { space: 'nb201', split: 's', predictorEpochs: 1, generatorEpochs: 1, predictorHs: 8, seed: 1, anchor: true } as const;

  it('multiplies every target and anchor offset by the scale', () => {
    const db = MetaDatabase.inMemory();
    fillNoiseDb(db, [{ name: 'a' }, { name: 'b' }], 3);
    const anchor = splitAnchor(db, 's', nb201Prior.id);
    const normalisation = splitNormalisation(db, 's');
    const records = db.recordsById(db.split('s').train);
    const official = trainingItems(db, records, { normalisation, anchor });
    const scaled = trainingItems(db, records, { normalisation, anchor, targetScale: 100 });
    expect(scaled).toHaveLength(official.length);
    scaled.forEach((it, i) => {
      expect(it.target).toBeCloseTo(100 * official[i]!.target, 10);
      expect(it.offset).toBeCloseTo(100 * official[i]!.offset, 10);
    });
    db.close();
  });

  it('saves the model on the official scale (the kept network with its last layer divided by the scale), says so in model.json, and refuses to resume on another scale', async () => {
    const db = MetaDatabase.inMemory();
    fillNoiseDb(db, [{ name: 'a' }, { name: 'b' }], 4, 24); // 24 validation records: enough to calibrate
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-target-scale-'));
    const r = await metaTrainSearchModel(db, { out, ...oneEpoch, options: { batchSize: 8, targetScale: 100 } });
    const kept = unwrap(loadCheckpointSync(path.join(out, 'runs', 'predictor', 'ckpt_max_corr.ckpt')));
    expect(kept.meta.targetScale).toBe(100);
    const saved = unwrap(loadCheckpointSync(path.join(out, r.manifest.predictor.checkpoint)));
    const names = Object.keys(saved.tensors);
    expect(names).toEqual(expect.arrayContaining(['pred_fc.0.weight', 'pred_fc.2.weight', 'pred_fc.2.bias']));
    for (const name of names) {
      const a = saved.tensors[name]!.data;
      const b = kept.tensors[name]!.data;
      const factor = name.startsWith('pred_fc.2.') ? 1 / 100 : 1;
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]! * factor, 7);
    }
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(json.provenance.metaTrained.targetScale).toBe(100);
    // the calibration is fitted on the saved (official-scale) scores: refitting it on the loaded model gives it again
    const model = await loadSearchModel(out);
    const refit = fitSplitCalibration(db, model.predictor, { split: 's', seed: 1 });
    model.dispose();
    expect(E.isRight(refit)).toBe(true);
    expect(r.manifest.predictor.calibration).toEqual(E.isRight(refit) ? refit.right : undefined);

    // resuming the run on the official scale would mix two scales: refused, naming both
    await expect(metaTrainSearchModel(db, { out, ...oneEpoch, resume: true, options: { batchSize: 8 } })).rejects.toThrow(
      'meta.targetScale: expected 1 (the target scale asked for), got 100 (the run was trained on it: resume with it, or start a new run)',
    );
    // a scale that is not a positive number is refused before any training
    const out2 = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-target-scale-'));
    await expect(metaTrainSearchModel(db, { out: out2, ...oneEpoch, options: { batchSize: 8, targetScale: 0 } })).rejects.toThrow(
      'metaTrainPredictor: targetScale: expected a finite number > 0, got 0',
    );
    // a predictor that cannot scale its scores is refused before any training
    const plain = new PredictorModel({ graphConfig: nb201.graphConfig, hs: 8, rng: new Rng(1), normalisation: splitNormalisation(db, 's') });
    const noScale = Object.assign(Object.create(plain) as PredictorModel, { scaleScores: undefined });
    const generator = new GeneratorModel({ graphConfig: nb201.graphConfig, ...modelSpecs.get('nb201-official').generator, seed: 1 });
    const out3 = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-target-scale-'));
    await expect(
      metaTrainModels(db, {
        predictor: noScale,
        generator,
        runsDir: path.join(out3, 'runs'),
        predictorEpochs: 1,
        generatorEpochs: 1,
        options: { split: 's', seed: 1, targetScale: 100 },
      }),
    ).rejects.toThrow('meta-training: options.targetScale: expected a predictor that can scale its scores (scaleScores), got 100 for one that cannot');
    expect(fs.readdirSync(out3)).toEqual([]);
    plain.dispose();
    generator.dispose();
    db.close();
  });
});
