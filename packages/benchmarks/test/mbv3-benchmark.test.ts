import { Rng, initBackend, isMetaD2AException } from '@metad2a/core';
import { formatMbv3, mbv3, mbv3AccuracyOracle, mbv3Cost } from '@metad2a/search-spaces';
import { scoreGraphs } from '@metad2a/search';
import { mbv3Markdown, runMbv3Benchmark } from '../src';
import { fixtureMbv3Models, syntheticFeatures } from './tiny-models';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('MBv3 benchmark, tiny setting (fixture predictor hs 64)', () => {
  let models: ReturnType<typeof fixtureMbv3Models>;
  const dataset = syntheticFeatures(3);
  beforeAll(async () => {
    models = fixtureMbv3Models();
  });
  afterAll(() => {
    models.generator.dispose();
    models.predictor.dispose();
  });

  it('selects the best-predicted subnet under the FLOPs bound and compares the oracle with random subnets at that budget', async () => {
    const rng = new Rng(11);
    const configs = Array.from({ length: 10 }, () => mbv3.sample(rng));
    const bound = [...configs.map((c) => mbv3Cost(c).mflops)].sort((a, b) => a - b)[5]!; // about half the candidates meet it
    const r = await runMbv3Benchmark({
      predictor: models.predictor,
      dataset,
      datasetName: 'cifar10',
      weights: 'fixture (untrained)',
      candidateConfigs: configs,
      flopsBound: bound,
      resamples: 2,
      randomSubnets: 20,
      seed: 4,
    });
    expect(r.candidateSource).toBe('given');
    const run = r.runs[0]!;
    // the official order of computation (raw rows per resample) on the encoded configs
    const { scores } = await scoreGraphs(
      models.predictor,
      dataset,
      configs.map((c) => mbv3.encode(c)),
      { resamples: 2, seed: '4/run0/rank', projectionCache: false },
    );
    const ranked = configs.map((_, index) => ({ index })).sort((a, b) => scores[b.index]! - scores[a.index]! || a.index - b.index);
    const firstOk = ranked.findIndex((c) => mbv3Cost(configs[c.index]!).mflops <= bound);
    expect(run.selected.rank).toBe(firstOk + 1);
    const chosen = configs[ranked[firstOk]!.index]!;
    expect(run.selected.arch).toBe(formatMbv3(chosen));
    expect(run.selected.mflops).toBeLessThanOrEqual(bound);
    expect(run.selected.oracleAccuracy).toBeCloseTo(100 * mbv3AccuracyOracle().predict(chosen, 224), 10);
    expect(run.random.budgetMflops).toBe(bound);
    expect(run.random.mflops.max).toBeLessThanOrEqual(bound);
    expect(run.random.accuracy.n).toBe(20);
    expect(r.summary.randomAccuracy).toEqual(run.random.accuracy); // one run: pooled = that run's subnets
    expect(run.random.drawn).toBeGreaterThanOrEqual(20);
    expect(run.random.beatenFraction).toBeGreaterThanOrEqual(0);
    expect(run.random.beatenFraction).toBeLessThanOrEqual(1);
    const md = mbv3Markdown(r);
    expect(md).toContain('| cifar10 (3 classes) | 10 (given) |');
    expect(md).toContain(run.selected.oracleAccuracy.toFixed(2));
    expect(md).toContain('not a trained-and-measured accuracy');
  });

  it('without a bound the budget is the selected subnet’s FLOPs; an impossible bound is a clear error', async () => {
    const configs = Array.from({ length: 4 }, (_, i) => mbv3.sample(new Rng(100 + i)));
    const r = await runMbv3Benchmark({ predictor: models.predictor, dataset, datasetName: 'pets', weights: 'fixture', candidateConfigs: configs, resamples: 1, randomSubnets: 5 });
    expect(r.runs[0]!.random.budgetMflops).toBe(r.runs[0]!.selected.mflops);
    expect(r.runs[0]!.selected.rank).toBe(1);
    await expect(
      runMbv3Benchmark({ predictor: models.predictor, dataset, datasetName: 'pets', weights: 'fixture', candidateConfigs: configs, flopsBound: 10, resamples: 1 }),
    ).rejects.toThrow(/the smallest has/);
  });

  it('generator route: an untrained generator that produces no valid subnet ends with a ValidationError, not a hang', async () => {
    try {
      await runMbv3Benchmark({
        predictor: models.predictor,
        generator: models.generator,
        dataset,
        datasetName: 'cifar10',
        weights: 'fixture',
        candidates: 2,
        maxAttempts: 40,
        batchSize: 20,
        resamples: 1,
      });
      throw new Error('no throw');
    } catch (e) {
      expect(isMetaD2AException(e, 'ValidationError')).toBe(true);
      expect(String(e)).toMatch(/unique valid mbv3/);
    }
    await expect(runMbv3Benchmark({ predictor: models.predictor, dataset, datasetName: 'x', weights: 'x' })).rejects.toThrow(/exactly one/);
  });
});
