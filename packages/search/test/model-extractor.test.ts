import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException } from '@metad2a/core';
import { createExtractor, loadFeatureSet } from '@metad2a/datasets';
import {
  LEGACY_MODEL_EXTRACTOR,
  createModelExtractor,
  loadSearchFeatures,
  loadSearchModel,
  modelExtractorName,
  parseModelManifest,
  searchExtractor,
  type ModelManifest,
  type SearchModel,
} from '../src';
import { fixtureNb201Model, saveModelDir } from './fixture-model';

const RANDOM_CONV_ID = 'random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32';

/** A model directory of the fixture weights, with `extractor` as given (absent: as older models were written). */
function modelDir(extractor?: ModelManifest['extractor']): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-model-ex-'));
  const model = fixtureNb201Model();
  saveModelDir(dir, model, extractor ? { extractor } : {});
  model.dispose();
  return dir;
}

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof MetaD2AException) return err.message;
    throw err;
  }
  throw new Error('expected a MetaD2AException');
};

describe("a model's feature extractor", () => {
  it('random-conv has the id this test writes (the default of every model without the field)', async () => {
    const ex = await createExtractor('random-conv');
    expect(ex.id).toBe(RANDOM_CONV_ID);
    ex.dispose();
  });

  it('model.json keeps name, id and images per class; an older model.json without the field loads as random-conv', async () => {
    const dir = modelDir({ name: 'random-conv', id: RANDOM_CONV_ID, perClass: 20 });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).extractor).toEqual({ name: 'random-conv', id: RANDOM_CONV_ID, perClass: 20 });
    const m = await loadSearchModel(dir);
    expect(m.manifest.extractor).toEqual({ name: 'random-conv', id: RANDOM_CONV_ID, perClass: 20 });
    m.dispose();

    const old = modelDir();
    expect('extractor' in JSON.parse(fs.readFileSync(path.join(old, 'model.json'), 'utf8'))).toBe(false);
    const o = await loadSearchModel(old);
    expect(o.manifest.extractor).toBeUndefined();
    expect(modelExtractorName(o.manifest)).toBe('random-conv');
    expect(LEGACY_MODEL_EXTRACTOR).toBe('random-conv');
    // and it extracts with random-conv: the same 512-d features as loadFeatureSet's default
    const f = await loadSearchFeatures(o, 'builtin:digits', { maxPerClass: 2, progress: false });
    const ref = await loadFeatureSet('builtin:digits', { maxPerClass: 2, progress: false });
    expect(f.dim).toBe(512);
    expect(Array.from(f.classes[3]!.data)).toEqual(Array.from(ref.classes[3]!.data));
    o.dispose();
  });

  it('a bad extractor field is named', () => {
    const base = JSON.parse(fs.readFileSync(path.join(modelDir(), 'model.json'), 'utf8'));
    const parse = (extractor: unknown): string => {
      const r = parseModelManifest({ ...base, extractor }, 'm/model.json');
      return E.isLeft(r) ? r.left.message : 'parsed';
    };
    expect(parse({ name: 'random-conv', id: RANDOM_CONV_ID, perClass: 20 })).toBe('parsed');
    expect(parse('random-conv')).toBe('m/model.json: extractor: expected {name, id, perClass} (the extractor of the meta-training features) or no field, got "random-conv"');
    expect(parse({ name: '', id: RANDOM_CONV_ID, perClass: 20 })).toBe('m/model.json: extractor.name: expected a non-empty string, got ""');
    expect(parse({ name: 'random-conv', perClass: 20 })).toBe('m/model.json: extractor.id: expected a non-empty string');
    expect(parse({ name: 'random-conv', id: RANDOM_CONV_ID, perClass: 0 })).toBe('m/model.json: extractor.perClass: expected an integer in [1, 1000000], got 0');
  });

  it("a search takes the model's extractor and refuses another, naming the flag, the model's extractor and the request", async () => {
    const withMobilenet = { ...JSON.parse(fs.readFileSync(path.join(modelDir(), 'model.json'), 'utf8')), extractor: { name: 'mobilenetv2', id: 'mobilenetv2:v1:x', perClass: 20 } };
    const manifest = (parseModelManifest(withMobilenet, 'm/model.json') as E.Right<ModelManifest>).right;
    const ask = (requested: string | undefined, precomputed = false) => searchExtractor(manifest, { requested, precomputed, flag: '--extractor', source: 'm' });
    expect(ask(undefined)).toBe('mobilenetv2');
    expect(ask('mobilenetv2')).toBe('mobilenetv2');
    expect(message(() => ask('random-conv'))).toBe(
      'm: --extractor: expected the model\'s extractor, mobilenetv2 (mobilenetv2:v1:x, 20 images per class in meta-training): a model ranks only features like those it was meta-trained on (leave --extractor out to use it, or meta-train a model on random-conv features), got "random-conv"',
    );
    // identity is how precomputed features are read; for images it is the raw-pixel extractor, a mismatch like any other
    expect(message(() => ask('identity'))).toMatch(/^m: --extractor: expected the model's extractor, mobilenetv2 .*got "identity"$/);
    expect(ask('identity', true)).toBeUndefined();
    expect(ask(undefined, true)).toBeUndefined();
    expect(message(() => ask('random-conv', true))).toMatch(/^m: --extractor: expected 'identity' or none: the data set holds precomputed features .*got "random-conv"$/);

    const legacy = (parseModelManifest(JSON.parse(fs.readFileSync(path.join(modelDir(), 'model.json'), 'utf8')), 'old/model.json') as E.Right<ModelManifest>).right;
    expect(message(() => searchExtractor(legacy, { requested: 'mobilenetv2', precomputed: false, flag: 'extractor', source: 'old' }))).toBe(
      'old: extractor: expected the model\'s extractor, random-conv (the model names no extractor: models without the field were meta-trained on random-conv features): a model ranks only features like those it was meta-trained on (leave extractor out to use it, or meta-train a model on mobilenetv2 features), got "mobilenetv2"',
    );
  });

  it('loadSearchFeatures extracts with the recorded extractor, refuses a request that differs and an id this installation does not make', async () => {
    const dir = modelDir({ name: 'identity', id: 'identity:in=32', perClass: 20 });
    const model: SearchModel = await loadSearchModel(dir);
    try {
      // the identity extractor on images: 32·32·3 raw values per image
      const f = await loadSearchFeatures(model, 'builtin:digits', { maxPerClass: 2, progress: false });
      expect(f.dim).toBe(3072);
      await expect(loadSearchFeatures(model, 'builtin:digits', { extractor: 'random-conv', flag: '--extractor', maxPerClass: 2 })).rejects.toThrow(
        `${dir}: --extractor: expected the model's extractor, identity (identity:in=32, 20 images per class in meta-training)`,
      );
    } finally {
      model.dispose();
    }
    const drifted = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const m = (parseModelManifest({ ...drifted, extractor: { name: 'random-conv', id: 'random-conv:v0:seed=0', perClass: 20 } }, 'd/model.json') as E.Right<ModelManifest>).right;
    await expect(createModelExtractor(m, 'd')).rejects.toThrow(
      `d: extractor.id: expected the id of extractor 'random-conv' as this installation creates it (${RANDOM_CONV_ID}): the model was meta-trained on features of another version or setting, got "random-conv:v0:seed=0"`,
    );
  });
});
