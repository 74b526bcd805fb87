import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@metad2a/core';
import { nb201, nb201Table } from '@metad2a/search-spaces';
import { generateCandidates, scoreGraphs } from '@metad2a/search';
import { nb201ProtocolMarkdown, paperNb201Markdown, runNb201Protocol, type Nb201ProtocolResult } from '../src';
import { fixtureMbv3Models, fixtureNb201Models, syntheticFeatures } from './tiny-models';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('NB201 Table-1 protocol, tiny setting (fixture weights, synthetic features)', () => {
  let models: ReturnType<typeof fixtureNb201Models>;
  const dataset = syntheticFeatures(3);
  const table = nb201Table();
  beforeAll(async () => {
    models = fixtureNb201Models();
  });
  afterAll(() => {
    models.generator.dispose();
    models.predictor.dispose();
  });
  let result: Nb201ProtocolResult;

  it('CIFAR rule: best NB201 test accuracy among the top N, mean ± CI over runs, time = generation + ranking', async () => {
    // warm-up: the models build cached weight layouts on first use (kept on purpose)
    await runNb201Protocol({ ...models, dataset, datasetName: 'cifar10', weights: 'warm-up', candidates: 1, runs: 1, resamples: 1, batchSize: 4 });
    const before = tf.memory().numTensors;
    result = await runNb201Protocol({
      ...models,
      dataset,
      datasetName: 'cifar10',
      weights: 'fixture (untrained)',
      candidates: 12,
      runs: 3,
      resamples: 2,
      topN: 4,
      batchSize: 20,
      seed: 5,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.settings).toMatchObject({ candidates: 12, runs: 3, resamples: 2, topN: 4, lookup: 'cifar10', predictorHs: 64 });
    expect(result.runs).toHaveLength(3);
    for (const run of result.runs) {
      expect(run.topArchs).toHaveLength(4);
      expect(new Set(run.topArchs).size).toBe(4);
      const accs = run.topArchs.map((a) => table.accuracy(a, 'cifar10', 'test'));
      expect(run.selected.accuracy).toBe(Math.max(...accs));
      expect(run.top1.arch).toBe(run.topArchs[0]);
      expect(run.top1.accuracy).toBe(accs[0]);
      expect(run.searchS).toBeCloseTo(run.generationS + run.rankingS, 12);
      expect(run.valid).toBeGreaterThanOrEqual(12);
      run.topArchs.forEach((a) => expect(nb201.parse(a)._tag).toBe('Right'));
    }
    const accs = result.runs.map((r) => r.selected.accuracy!);
    expect(result.summary.accuracy!.mean).toBeCloseTo(accs.reduce((a, b) => a + b) / 3, 10);
    expect(result.summary.accuracy!.n).toBe(3);
    expect(result.summary.optimum).toBeCloseTo(94.37, 2);
    expect(result.paper).toMatchObject({ accuracy: { mean: 94.37, halfWidth: 0.03 }, searchGpuSeconds: 69 });
    // runs differ (different seeds), but the benchmark is reproducible
    expect(result.runs[0]!.topArchs).not.toEqual(result.runs[1]!.topArchs);
    const again = await runNb201Protocol({
      ...models,
      dataset,
      datasetName: 'cifar10',
      weights: 'fixture (untrained)',
      candidates: 12,
      runs: 1,
      resamples: 2,
      topN: 4,
      batchSize: 20,
      seed: 5,
    });
    expect(again.runs[0]!.topArchs).toEqual(result.runs[0]!.topArchs);
    expect(JSON.parse(JSON.stringify(result)).summary.accuracy.mean).toBe(result.summary.accuracy!.mean);
  });

  it('the ranking is the predictor ranking of the canonical graphs, averaged over the resamples', async () => {
    const run = result.runs[0]!;
    const gen = await generateCandidates(models.generator, dataset, 12, { space: nb201, seed: run.seeds.generate, batchSize: 20 });
    // canonical graphs, every resample encoded from its raw rows (the official order of computation)
    const { scores } = await scoreGraphs(
      models.predictor,
      dataset,
      gen.architectures.map((c) => nb201.encode(c)),
      { resamples: 2, seed: run.seeds.rank, projectionCache: false },
    );
    const ranked = gen.strings.map((key, i) => ({ key, score: scores[i]! })).sort((a, b) => b.score - a.score);
    expect(ranked.slice(0, 4).map((c) => c.key)).toEqual(run.topArchs);
    expect(run.top1.predictedAccuracy).toBeCloseTo(models.predictor.denormalise(ranked[0]!.score), 4);
  });

  it('other datasets: top-1, no lookup, accuracy reported as not measured beside the paper row', async () => {
    const r = await runNb201Protocol({ ...models, dataset, datasetName: 'mnist', weights: 'fixture (untrained)', candidates: 5, runs: 1, resamples: 2, batchSize: 20 });
    expect(r.settings).toMatchObject({ candidates: 5, topN: 1, lookup: null });
    expect(r.summary.accuracy).toBeNull();
    expect(r.runs[0]!.selected.accuracy).toBeNull();
    expect(r.runs[0]!.topArchs).toHaveLength(1);
    const md = nb201ProtocolMarkdown([result, r]);
    expect(md).toContain('| cifar10 (3 classes) |');
    expect(md).toContain('94.37±0.03');
    expect(md).toContain('| 69 |');
    expect(md).toContain('99.71±0.08');
    expect(md).toContain('not measured (the paper trains the top-1 from scratch');
    expect(md).toContain('fixture (untrained)');
    expect(md).toContain(`${result.summary.accuracy!.mean.toFixed(2)}±${result.summary.accuracy!.halfWidth.toFixed(2)}`);
    expect(paperNb201Markdown()).toContain('| MetaD2A search time (GPU-s) | 69 | 96 | 7 | 7 | 10 | 8 |');
  });

  it('rejects bad options and MBv3 models with clear errors', async () => {
    await expect(runNb201Protocol({ ...models, dataset, datasetName: 'cifar10', weights: 'x', runs: 0 })).rejects.toThrow(/runs.*positive integer/);
    const mbv3Models = fixtureMbv3Models();
    await expect(runNb201Protocol({ ...mbv3Models, dataset, datasetName: 'cifar10', weights: 'x' })).rejects.toThrow(/NB201 models/);
    mbv3Models.generator.dispose();
    mbv3Models.predictor.dispose();
  });
});
