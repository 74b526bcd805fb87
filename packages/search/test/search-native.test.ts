import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend } from '@metad2a/core';
import { nb201, parseNb201 } from '@metad2a/search-spaces';
import { runSearch, scoreGraphs } from '../src';
import { fixtureNb201Model, syntheticFeatures } from './fixture-model';

// The default backend: generation and ranking through the native fused kernels (SetPool, graph decoding).
beforeAll(async () => {
  const b = await initBackend({ prefer: 'native' });
  expect(b.name).toBe('native');
});

describe('runSearch on the native backend (fused kernels)', () => {
  let model: ReturnType<typeof fixtureNb201Model>;
  const data = syntheticFeatures(7, 30, 2);
  beforeAll(async () => {
    model = fixtureNb201Model();
  });
  afterAll(() => model.dispose());

  it('is deterministic for a seed, leak-free, and ranks as the naive predictor computation', async () => {
    await runSearch(model, data, { candidates: 5, resamples: 1, seed: 1 });
    const n0 = tf.memory().numTensors;
    const a = await runSearch(model, data, { candidates: 60, resamples: 4, seed: 21, batchSize: 40 });
    expect(tf.memory().numTensors).toBe(n0);
    expect(a.backend).toBe('native');
    expect(new Set(a.ranking.map((c) => c.arch)).size).toBe(60);
    const b = await runSearch(model, data, { candidates: 60, resamples: 4, seed: 21, batchSize: 40 });
    expect(b.ranking.map((c) => [c.arch, c.score])).toEqual(a.ranking.map((c) => [c.arch, c.score]));
    expect(b.generation).toEqual(a.generation);
    const archs = a.ranking.map((c) => c.arch);
    const graphs = archs.map((s) =>
      nb201.encode(
        E.getOrElseW(() => {
          throw new Error(s);
        })(parseNb201(s)),
      ),
    );
    // the official order of computation: every resample encoded from its raw rows
    const plain = await scoreGraphs(model.predictor, data, graphs, { resamples: 4, rng: new Rng('21/rank'), projectionCache: false });
    expect(plain.projection).toEqual({ used: false, reason: 'projectionCache: false' });
    const order = archs.map((_, i) => i).sort((i, j) => plain.scores[j]! - plain.scores[i]! || i - j);
    expect(order).toEqual(archs.map((_, i) => i));
    plain.scores.forEach((x, i) => expect(a.ranking[i]!.score).toBeCloseTo(x, 5));
  });
});
