/**
 * Impossible or careless requests (issue #19): they fail at once with the achievable number, or
 * are refused / flagged, instead of decoding for hours or printing silent garbage.
 */
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, initBackend } from '@metad2a/core';
import { buildSearchModel, formatSearchReport, parseModelManifest, runSearch } from '../src';
import { fixtureNb201Model, syntheticFeatures } from './fixture-model';
import { GoldenFixture } from '@metad2a/fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

async function errorOf(f: () => Promise<unknown>): Promise<MetaD2AException> {
  try {
    await f();
  } catch (e) {
    if (e instanceof MetaD2AException) return e;
    throw new Error(`expected a MetaD2AException, got ${String((e as Error)?.stack ?? e)}`);
  }
  throw new Error('expected an error, got a value');
}

describe('feasibility before work', () => {
  let model: ReturnType<typeof fixtureNb201Model>;
  const data = syntheticFeatures(5, 30, 1);
  beforeAll(async () => {
    model = fixtureNb201Model();
  });
  afterAll(() => model.dispose());

  test.each([
    [{ candidates: 20000 }, /candidates: expected at most 15625 \(exactly 15625 distinct nb201 architectures/, 'ValidationError'],
    [
      { candidates: 10, constraints: { flopsMaxM: 0.5 } },
      /expected at most 0 \(exactly 0 distinct nb201 architectures satisfy ≤ 0\.5 MFLOPs; the cheapest has 7\.78 MFLOPs/,
      'ValidationError',
    ],
    [{ candidates: 15000, constraints: { flopsMaxM: 100 } }, /expected at most 14080 \(exactly 14080 distinct nb201 architectures satisfy ≤ 100 MFLOPs/, 'ValidationError'],
  ])('%j fails at once with the achievable number', async (opts, message, tag) => {
    const t0 = performance.now();
    const e = await errorOf(() => runSearch(model, data, { resamples: 1, ...opts }));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(e.error._tag).toBe(tag);
    expect(e.message).toMatch(message);
  });
});

describe('data sets and predictions', () => {
  let model: ReturnType<typeof fixtureNb201Model>;
  beforeAll(() => {
    model = fixtureNb201Model();
  });
  afterAll(() => model.dispose());

  test('a data set of one class is refused', async () => {
    const e = await errorOf(() => runSearch(model, syntheticFeatures(1, 30, 1), { candidates: 5, resamples: 1 }));
    expect(e.error._tag).toBe('ValidationError');
    expect(e.message).toMatch(/synthetic-1x30: classes: expected at least 2 classes/);
  });

  test('NaN or Inf in the features is refused, naming the class and row', async () => {
    const d = syntheticFeatures(3, 30, 1);
    d.classes[1]!.data[512 * 7 + 3] = NaN;
    expect((await errorOf(() => runSearch(model, d, { candidates: 5, resamples: 1 }))).message).toMatch(/class 1 \(class1\) row 7: expected finite feature values, got NaN/);
    const i = syntheticFeatures(3, 30, 1);
    i.classes[2]!.data[0] = -Infinity;
    expect((await errorOf(() => runSearch(model, i, { candidates: 5, resamples: 1 }))).message).toMatch(/class 2 \(class2\) row 0: expected finite feature values, got -Infinity/);
  });

  test('a predictor whose weights hold NaN fails the search by name instead of ranking with null scores', async () => {
    const params = GoldenFixture.load('pred-nb201').params();
    const name = 'pred_fc.2.bias'; // the head's output bias: every score goes through it
    const poisoned = { ...params, [name]: { ...params[name]!, data: new Float32Array(params[name]!.data.length).fill(NaN) } };
    const bad = buildSearchModel(model.manifest, { generator: GoldenFixture.load('gen-nb201').params(), predictor: poisoned });
    try {
      const e = await errorOf(() => runSearch(bad, syntheticFeatures(3, 30, 1), { candidates: 5, resamples: 1 }));
      expect(e.error._tag).toBe('ValidationError');
      expect(e.message).toMatch(
        /search: predictor scores: expected finite scores, got 5 of 5 candidates NaN or infinite \(the predictor's weights or the features hold NaN\/Inf\)/,
      );
    } finally {
      bad.dispose();
    }
  });

  test('predicted accuracies outside [0, 100] are flagged in the result and the report', async () => {
    // a predictor normalisation far off the data makes every prediction negative
    const bad = buildSearchModel(
      { ...model.manifest, predictor: { ...model.manifest.predictor, normalisation: { mean: -500, std: 1 } } },
      { generator: GoldenFixture.load('gen-nb201').params(), predictor: GoldenFixture.load('pred-nb201').params() },
    );
    try {
      const r = await runSearch(bad, syntheticFeatures(3, 30, 1), { candidates: 5, resamples: 1 });
      expect(r.ranking.every((c) => c.predictedAccuracy < 0)).toBe(true);
      expect(r.ranking.every((c) => c.outOfRange)).toBe(true);
      expect(r.warnings).toEqual([expect.stringMatching(/5 of 5 predicted accuracies are outside \[0, 100\] %/)]);
      expect(formatSearchReport(r)).toMatch(/warning: 5 of 5 predicted accuracies are outside \[0, 100\] %/);
      const ok = await runSearch(model, syntheticFeatures(3, 30, 1), { candidates: 5, resamples: 1 });
      expect(ok.warnings).toEqual([]);
      expect(ok.ranking.some((c) => c.outOfRange)).toBe(false);
    } finally {
      bad.dispose();
    }
  });
});

describe('model.json bounds', () => {
  const good = {
    format: 'metad2a-model/1',
    space: 'nb201',
    generator: { checkpoint: 'generator.ckpt', config: { hs: 56, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' } },
    predictor: { checkpoint: 'predictor.ckpt', config: { hs: 512, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' }, normalisation: { mean: 71.5, std: 6.7 } },
  };
  const withField = (path: string[], v: unknown): unknown => {
    const j = JSON.parse(JSON.stringify(good));
    let o = j;
    for (const k of path.slice(0, -1)) o = o[k];
    o[path[path.length - 1]!] = v;
    return j;
  };
  test.each([
    [['generator', 'config', 'hs'], 2e9, /generator\.config\.hs: expected an integer in \[1, 65536\], got 2000000000/],
    [['predictor', 'config', 'inputDim'], 1e7, /predictor\.config\.inputDim: expected an integer in \[1, 65536\], got 10000000/],
    [['predictor', 'config', 'heads'], 1000, /predictor\.config\.heads: expected an integer in \[1, 64\], got 1000/],
    [['predictor', 'normalisation', 'mean'], 1e300, /predictor\.normalisation: expected \{mean: a finite number, std: a finite number > 0\}/],
    [['space'], 'nb999', /space: expected a registered search space \(mbv3, nb201\), got "nb999"/],
    [['generator', 'checkpoint'], '../../etc/passwd', /generator\.checkpoint: expected a file name inside the model directory/],
  ])('%j = %j is a named error with the bound', async (p, v, message) => {
    const r = parseModelManifest(withField(p as string[], v), 'm/model.json');
    expect(E.isLeft(r) && r.left.message).toMatch(message);
    expect(E.isLeft(r) && r.left.message).toMatch(/^m\/model\.json: /);
  });
  test('the shipped-style manifest passes', () => {
    expect(E.isRight(parseModelManifest(good, 'm/model.json'))).toBe(true);
  });
});
