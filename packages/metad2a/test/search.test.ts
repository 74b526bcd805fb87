import { Rng, type FeatureSet } from '@metad2a/core';
import { defaultModelDir, describeModelExtractor, loadFeatureSet, loadSearchModel, modelExtractorName, search } from '../src';

describe('metad2a: one-call search with the embedded default model', () => {
  it('searches builtin:digits like the CLI: 100 unique candidates, the top 5 with NB201 facts, a report', async () => {
    const r = await search('builtin:digits', { candidates: 100, top: 5, seed: 0 });
    expect(r.model).toBe(defaultModelDir('nb201'));
    expect(r.generation.unique).toBe(100);
    expect(r.ranking).toHaveLength(100);
    expect(r.top).toHaveLength(5);
    expect(r.top.map((c) => c.rank)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < r.top.length; i++) expect(r.top[i]!.predictedAccuracy).toBeLessThanOrEqual(r.top[i - 1]!.predictedAccuracy);
    expect(r.top[0]!.facts.kind).toBe('nb201');
    expect(r.report).toContain('C10 test');
    expect(r.report.split('\n').filter((l) => /^\d+\s/.test(l))).toHaveLength(5);
    expect(r.dataset).toEqual({ name: 'builtin:digits', classes: 10, dim: 512 });
    // the same seed gives the same ranking on a FeatureSet passed directly
    const features = await loadFeatureSet('builtin:digits');
    const again = await search(features, { candidates: 100, top: 5, seed: 0 });
    expect(again.top.map((c) => c.arch)).toEqual(r.top.map((c) => c.arch));
  });

  it('searches mbv3 with its embedded model (issue #23) and refuses a model of another space, naming the fix', async () => {
    const rng = new Rng(0);
    const fsx: FeatureSet = { name: 'toy', dim: 512, classes: Array.from({ length: 3 }, (_, c) => ({ label: String(c), count: 30, data: rng.normalArray(30 * 512, 0, 1) })) };
    const r = await search(fsx, { space: 'mbv3', candidates: 20, top: 3, resamples: 2, seed: 0 });
    expect(r.model).toBe(defaultModelDir('mbv3'));
    expect(r.top).toHaveLength(3);
    expect(r.top[0]!.facts.kind).toBe('mbv3');
    await expect(search(fsx, { space: 'mbv3', model: defaultModelDir('nb201') })).rejects.toThrow(/space: expected a model for space 'mbv3', got nb201/);
  });

  it("takes the model's extractor and refuses another, naming the option, the model's extractor and the request", async () => {
    const model = defaultModelDir('nb201')!;
    // whichever extractor the shipped model names (random-conv when it names none), another one is refused
    const loaded = await loadSearchModel(model);
    const own = modelExtractorName(loaded.manifest);
    const described = describeModelExtractor(loaded.manifest);
    loaded.dispose();
    const other = own === 'mobilenetv2' ? 'random-conv' : 'mobilenetv2';
    await expect(search('builtin:digits', { extractor: other })).rejects.toThrow(`${model}: extractor: expected the model's extractor, ${described}`);
    const rng = new Rng(0);
    const fsx: FeatureSet = { name: 'toy', dim: 512, classes: Array.from({ length: 3 }, (_, c) => ({ label: String(c), count: 30, data: rng.normalArray(30 * 512, 0, 1) })) };
    await expect(search(fsx, { extractor: 'random-conv' })).rejects.toThrow(`${model}: extractor: expected 'identity' or none: the data set holds precomputed features`);
  });
});
