import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend, modelSpecs, percentileAmong, unwrap } from '@metad2a/core';
import { nb201, nb201Cost, nb201Table, parseNb201, type Nb201Cell } from '@metad2a/search-spaces';
import { candidatePool, loadSearchModel, parseModelManifest, rankCandidates, runSearch, scoreGraphs, formatSearchReport, searchReportJson, selectTop } from '../src';
import { fixtureNb201Model, saveModelDir, syntheticFeatures } from './fixture-model';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('runSearch on the official fixture weights (NB201)', () => {
  let model: ReturnType<typeof fixtureNb201Model>;
  const data = syntheticFeatures(5, 30, 1);
  beforeAll(async () => {
    model = fixtureNb201Model();
  });
  afterAll(() => model.dispose());

  it('returns exactly N unique valid candidates, ranked, with NB201 facts, deterministically for a seed', async () => {
    // the first call fills the predictor's cache of derived weight layouts; measure leaks after it
    await runSearch(model, data, { candidates: 5, resamples: 1, seed: 1 });
    const n0 = tf.memory().numTensors;
    const a = await runSearch(model, data, { candidates: 40, top: 5, resamples: 4, seed: 7, batchSize: 50 });
    expect(tf.memory().numTensors).toBe(n0);
    expect(a.ranking).toHaveLength(40);
    expect(new Set(a.ranking.map((c) => c.arch)).size).toBe(40);
    for (const c of a.ranking) expect(E.isRight(parseNb201(c.arch))).toBe(true);
    expect(a.top.map((c) => c.rank)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < a.ranking.length; i++) expect(a.ranking[i - 1]!.score).toBeGreaterThanOrEqual(a.ranking[i]!.score);
    const best = a.top[0]!;
    const cell = E.getOrElseW(() => {
      throw new Error('bad arch');
    })(parseNb201(best.arch));
    const rec = nb201Table().record(cell);
    expect(best.facts).toEqual({
      kind: 'nb201',
      index: rec.index,
      cifar10: rec.datasets.cifar10.testAccuracy,
      cifar100: rec.datasets.cifar100.testAccuracy,
      imagenet16_120: rec.datasets['imagenet16-120'].testAccuracy,
    });
    expect(best.cost!.mparams).toBeCloseTo(nb201Cost(cell, { classes: 5 }).params / 1e6, 9);
    const { mean, std } = modelSpecs.get('nb201-official').normalisation!;
    expect([mean, std]).toEqual([71.5715, 6.6932]); // the official NB201 setting (spec §3.5)
    expect(best.predictedAccuracy).toBeCloseTo(mean + 100 * std * best.score, 3);
    const b = await runSearch(model, data, { candidates: 40, top: 5, resamples: 4, seed: 7, batchSize: 50 });
    expect(b.ranking.map((c) => [c.arch, c.score])).toEqual(a.ranking.map((c) => [c.arch, c.score]));
    const c = await runSearch(model, data, { candidates: 40, top: 5, resamples: 4, seed: 8, batchSize: 50 });
    expect(c.ranking.map((x) => x.arch)).not.toEqual(a.ranking.map((x) => x.arch));
  });

  it('places each candidate among seeded random cells scored for the same data set (predicted percentile)', async () => {
    const r = await runSearch(model, data, { candidates: 30, resamples: 3, seed: 4, batchSize: 30, referenceCells: 60 });
    // the same 60 draws, scored by the predictor on the same resamples
    const rng = new Rng('4/reference');
    const cells = new Map<string, Nb201Cell>();
    for (let i = 0; i < 60; i++) {
      const a = nb201.sample(rng);
      cells.set(nb201.format(a), a);
    }
    const ref = await rankCandidates(model.predictor, data, candidatePool(nb201, [...cells.values()]), { resamples: 3, seed: '4/rank' });
    const refScores = ref.ranking.map((c) => c.score);
    expect(r.settings.referenceCells).toBe(cells.size);
    for (const c of r.ranking) expect(c.predictedPercentile).toBe(percentileAmong(c.score, refScores));
    // best first, so the percentiles never rise down the ranking; all within [0, 100]
    for (let i = 1; i < r.ranking.length; i++) expect(r.ranking[i - 1]!.predictedPercentile!).toBeGreaterThanOrEqual(r.ranking[i]!.predictedPercentile!);
    expect(r.ranking.every((c) => c.predictedPercentile! >= 0 && c.predictedPercentile! <= 100)).toBe(true);
    // the search's own ranking is untouched by the reference cells
    const none = await runSearch(model, data, { candidates: 30, resamples: 3, seed: 4, batchSize: 30, referenceCells: 0 });
    expect(none.ranking.map((c) => [c.arch, c.score])).toEqual(r.ranking.map((c) => [c.arch, c.score]));
    expect(none.ranking.every((c) => c.predictedPercentile === undefined)).toBe(true);
    expect(none.settings.referenceCells).toBe(0);
    expect(none.timings.reference).toBe(0);
    expect(formatSearchReport(r)).toContain(`pred.pct = where the predictor puts the cell among ${cells.size} uniformly random architectures`);
    expect(formatSearchReport(none)).not.toContain('pred.pct');
    await expect(runSearch(model, data, { candidates: 5, referenceCells: -1 })).rejects.toThrow(/search options: referenceCells: expected an integer ≥ 0, got -1/);
  });

  it('with topDistance reports the best cells that far apart, greedily down the untouched ranking', async () => {
    const plain = await runSearch(model, data, { candidates: 60, top: 5, resamples: 2, seed: 5, batchSize: 60, referenceCells: 0 });
    const cellOf = (s: string) => unwrap(parseNb201(s));
    for (const d of [2, 3]) {
      const r = await runSearch(model, data, { candidates: 60, top: 5, resamples: 2, seed: 5, batchSize: 60, referenceCells: 0, topDistance: d });
      expect(r.ranking.map((c) => [c.arch, c.score])).toEqual(plain.ranking.map((c) => [c.arch, c.score]));
      expect(r.settings.topDistance).toBe(d);
      expect(r.top).toHaveLength(5);
      expect(r.top[0]).toEqual(r.ranking[0]);
      const ranks = r.top.map((c) => c.rank);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      // every pair at least d apart …
      for (const [i, a] of r.top.entries()) for (const b of r.top.slice(i + 1)) expect(nb201.distance!(cellOf(a.arch), cellOf(b.arch))).toBeGreaterThanOrEqual(d);
      // … and every skipped candidate above the last pick is closer than d to a better pick
      for (const c of r.ranking.slice(0, ranks.at(-1)!)) {
        if (ranks.includes(c.rank)) continue;
        expect(r.top.some((t) => t.rank < c.rank && nb201.distance!(cellOf(t.arch), cellOf(c.arch)) < d)).toBe(true);
      }
      expect(formatSearchReport(r)).toContain(`top: the best cells that differ from every better one shown in at least ${d} choices`);
      expect(selectTop(nb201, r.ranking, 5, d)).toEqual(r.top);
    }
    expect(plain.settings.topDistance).toBe(0);
    expect(formatSearchReport(plain)).not.toContain('top: the best cells');
    // 6 edges: no two cells are 7 apart, so only the best is left
    expect(selectTop(nb201, plain.ranking, 5, 7)).toEqual([plain.ranking[0]]);
    await expect(runSearch(model, data, { candidates: 5, topDistance: -1 })).rejects.toThrow(/search options: topDistance: expected an integer ≥ 0, got -1/);
  });

  it('ranks exactly as the predictor ranks the same resamples of the canonical graphs', async () => {
    const r = await runSearch(model, data, { candidates: 30, resamples: 3, seed: 3, batchSize: 30 });
    const archs = r.ranking.map((c) => c.arch);
    const graphs = archs.map((s) =>
      nb201.encode(
        E.getOrElseW(() => {
          throw new Error(s);
        })(parseNb201(s)),
      ),
    );
    // the official order of computation: every resample encoded from its raw rows
    const plain = await scoreGraphs(model.predictor, data, graphs, { resamples: 3, rng: new Rng('3/rank'), projectionCache: false });
    expect(plain.projection).toEqual({ used: false, reason: 'projectionCache: false' });
    const order = archs.map((_, i) => i).sort((i, j) => plain.scores[j]! - plain.scores[i]! || i - j);
    expect(order).toEqual(archs.map((_, i) => i));
    plain.scores.forEach((x, i) => expect(r.ranking[i]!.score).toBeCloseTo(x, 5));
  });

  it('constraints keep only candidates under the FLOPs / params budget', async () => {
    const r = await runSearch(model, data, { candidates: 20, resamples: 2, seed: 1, constraints: { flopsMaxM: 60 } });
    expect(r.ranking).toHaveLength(20);
    for (const c of r.ranking) expect(c.cost!.mflops).toBeLessThanOrEqual(60);
    const text = formatSearchReport(r);
    expect(text).toContain('constraints: ≤ 60 MFLOPs');
    expect(text).toMatch(/C10 test\s+C100 test/);
    const json = searchReportJson(r, { featuresSeconds: 0.5 }) as { schemaVersion: number; timings: Record<string, number>; top: unknown[]; ranking?: unknown[] };
    expect(json.schemaVersion).toBe(1);
    expect(json.timings).toEqual({
      featuresSeconds: 0.5,
      generationSeconds: r.timings.generation,
      setEncodingSeconds: r.timings.setEncoding,
      graphEncodingSeconds: r.timings.graphEncoding,
      scoringSeconds: r.timings.scoring,
      rankingSeconds: r.timings.ranking,
      searchSeconds: r.timings.search,
      referenceSeconds: r.timings.reference,
    });
    expect(json.top).toEqual(r.top);
    expect(json.ranking).toBeUndefined();
    expect((searchReportJson(r, { all: true }) as { ranking: unknown[] }).ranking).toEqual(r.ranking);
  });

  it('bad options get clear errors', async () => {
    await expect(runSearch(model, data, { candidates: 0 })).rejects.toThrow('search options: candidates: expected a positive integer, got 0');
    await expect(runSearch(model, syntheticFeatures(2, 10, 1), { candidates: 3 })).rejects.toThrow(/class 0 \(class0\): expected at least 20 samples, got 10/);
  });
});

describe('model directories', () => {
  it('save → load gives the same search', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-model-'));
    const model = fixtureNb201Model();
    saveModelDir(dir, model, { provenance: { test: true } });
    expect(fs.readdirSync(dir).sort()).toEqual(['generator.safetensors', 'model.json', 'predictor.safetensors']);
    const loaded = await loadSearchModel(dir);
    const data = syntheticFeatures(3, 25, 2);
    const a = await runSearch(model, data, { candidates: 10, resamples: 2, seed: 4 });
    const b = await runSearch(loaded, data, { candidates: 10, resamples: 2, seed: 4 });
    expect(b.ranking.map((c) => [c.arch, c.score])).toEqual(a.ranking.map((c) => [c.arch, c.score]));
    model.dispose();
    loaded.dispose();
  });

  it('a bad directory or manifest is named precisely', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-model-'));
    await expect(loadSearchModel(dir)).rejects.toThrow(/model\.json: expected a model directory/);
    const bad = parseModelManifest(
      { format: 'metad2a-model/1', space: 'nb201', generator: { checkpoint: 'g.ckpt', config: { hs: 56, nz: 56, inputDim: 512, heads: 0, setEncoder: 'set-transformer' } } },
      'x/model.json',
    );
    expect(E.isLeft(bad) && bad.left.message).toBe('x/model.json: generator.config.heads: expected an integer in [1, 64], got 0');
    fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "metad2a-model/1", "space": "nb201"');
    await expect(loadSearchModel(dir)).rejects.toThrow(/model\.json: expected JSON/);
  });

  it("model.json's search.topDistance is the search's default, checked when read", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-model-'));
    const model = fixtureNb201Model();
    saveModelDir(dir, model, { provenance: {} });
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const data = syntheticFeatures(3, 25, 2);
    const opts = { candidates: 30, resamples: 2, seed: 4, referenceCells: 0 };
    const explicit = await runSearch(model, data, { ...opts, topDistance: 3 });
    model.dispose();
    fs.writeFileSync(file, JSON.stringify({ ...json, search: { topDistance: 3 } }));
    const withDefault = await loadSearchModel(dir);
    try {
      expect(withDefault.manifest.search).toEqual({ topDistance: 3 });
      const r = await runSearch(withDefault, data, opts);
      expect(r.settings.topDistance).toBe(3);
      expect(r.top.map((c) => c.arch)).toEqual(explicit.top.map((c) => c.arch));
      // an explicit 0 is the official top-k
      const official = await runSearch(withDefault, data, { ...opts, topDistance: 0 });
      expect(official.top.map((c) => c.rank)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      withDefault.dispose();
    }
    for (const [search, msg] of [
      [{ topDistance: 0 }, 'search.topDistance: expected an integer in [1, 1000], got 0'],
      [{ topDistance: 2, top: 5 }, 'search: expected {topDistance: an integer ≥ 1} or no field, got {"topDistance":2,"top":5}'],
      [[2], 'search: expected {topDistance: an integer ≥ 1} or no field, got [2]'],
    ] as const) {
      const bad = parseModelManifest({ ...json, search }, 'x/model.json');
      expect(E.isLeft(bad) && bad.left.message).toBe(`x/model.json: ${msg}`);
    }
  });
});
