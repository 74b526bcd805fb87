import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@metad2a/core';
import { createExtractor } from '@metad2a/datasets';
import { loadSearchModel } from '@metad2a/search';
import { MetaDatabase, formatFeatureOrigin, metaTrainSearchModel, parseFeatureOrigin, splitFeatureOrigin } from '../src';
import { fillNoiseDb } from './helpers/noise-db';

// the native backend of @metad2a/tfjs-kernels when it is built, else cpu
beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

/** Two data sets `a` and `b` (features from the given origins), 3 tasks each. */
function tinyDb(from: { a?: string; b?: string }): MetaDatabase {
  const db = MetaDatabase.inMemory();
  fillNoiseDb(
    db,
    [
      { name: 'a', from: from.a },
      { name: 'b', from: from.b },
    ],
    3,
  );
  return db;
}

describe('feature origins', () => {
  it('`<id>, first <n> images per class` round-trips; free-form text names no extractor', () => {
    const from = formatFeatureOrigin('random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32', 20);
    expect(from).toBe('random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32, first 20 images per class');
    expect(parseFeatureOrigin(from)).toEqual({ name: 'random-conv', id: 'random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32', perClass: 20 });
    expect(parseFeatureOrigin('mobilenetv2:v1:nsfwjs@4.4.0:ab:pool:proj512:seed=0, first 5 images per class')).toMatchObject({ name: 'mobilenetv2', perClass: 5 });
    expect(parseFeatureOrigin('random-conv:abc')).toBeUndefined();
    expect(parseFeatureOrigin('x, first 0 images per class')).toBeUndefined();
  });

  it("a split's origin: the common one of its data sets, none when unnamed, an error when mixed", () => {
    const same = formatFeatureOrigin('random-conv:v1:x', 20);
    expect(splitFeatureOrigin(tinyDb({ a: same, b: same }), 's')).toEqual({ from: same, extractor: { name: 'random-conv', id: 'random-conv:v1:x', perClass: 20 } });
    expect(splitFeatureOrigin(tinyDb({}), 's')).toEqual({});
    expect(splitFeatureOrigin(tinyDb({ a: 'hand-made', b: 'hand-made' }), 's')).toEqual({ from: 'hand-made' });
    expect(() => splitFeatureOrigin(tinyDb({ a: same, b: formatFeatureOrigin('mobilenetv2:v1:y', 20) }), 's')).toThrow(
      ':memory:: split s features: expected features from one extractor for every data set of the training tasks, got a: random-conv:v1:x, first 20 images per class; b: mobilenetv2:v1:y, first 20 images per class',
    );
  });
});

describe('metaTrainSearchModel', () => {
  it("writes the database's extractor into model.json; a search model loads with it", async () => {
    const ex = await createExtractor('random-conv');
    const from = formatFeatureOrigin(ex.id, 20);
    ex.dispose();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-mt-model-'));
    const db = tinyDb({ a: from, b: from });
    const r = await metaTrainSearchModel(db, { out, space: 'nb201', split: 's', predictorEpochs: 1, generatorEpochs: 1, predictorHs: 8, seed: 1, options: { batchSize: 8 } });
    expect(r.featuresFrom).toBe(from);
    expect(r.manifest.extractor).toEqual({ name: 'random-conv', id: 'random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32', perClass: 20 });
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(json.extractor).toEqual(r.manifest.extractor);
    expect(json.predictor.config.hs).toBe(8);
    expect(json.provenance.metaTrained).toMatchObject({ split: 's', predictorEpochs: 1, generatorEpochs: 1, predictorHs: 8, seed: 1, featuresFrom: from });
    const model = await loadSearchModel(out);
    expect(model.manifest.extractor).toEqual(r.manifest.extractor);
    model.dispose();

    // features that name no extractor: the model records none (and says where they came from)
    const out2 = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-mt-model-'));
    const r2 = await metaTrainSearchModel(tinyDb({}), {
      out: out2,
      space: 'nb201',
      split: 's',
      predictorEpochs: 1,
      generatorEpochs: 1,
      predictorHs: 8,
      seed: 1,
      options: { batchSize: 8 },
    });
    expect(r2.manifest.extractor).toBeUndefined();
    expect(r2.featuresFrom).toBeUndefined();
    expect('extractor' in JSON.parse(fs.readFileSync(path.join(out2, 'model.json'), 'utf8'))).toBe(false);
  }, 120_000);
});
