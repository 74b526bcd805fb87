import * as tf from '@tensorflow/tfjs-core';
import { Rng, drawDatasetBatch, graphConfig, graphKey, initBackend, isMetaD2AException, type FeatureSet } from '@metad2a/core';
import { PredictorModel } from '@metad2a/perf-predictor';
import { GraphEmbeddingCache, scoreGraphs } from '../src';
import { nb201CellGraph, rankingTestGraphs } from '@metad2a/fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

function toyDataset(): FeatureSet {
  const rng = new Rng(9);
  return { name: 'toy', dim: 16, classes: Array.from({ length: 4 }, (_, c) => ({ label: `c${c}`, count: 25, data: rng.uniformArray(25 * 16, -1 + c * 0.2, 1) })) };
}

const smallModel = (): PredictorModel =>
  new PredictorModel({ graphConfig: graphConfig(7, 8), hs: 24, nz: 8, inputDim: 16, heads: 2, rng: new Rng(21), normalisation: { mean: 70, std: 5 } });

describe('scoreGraphs', () => {
  it('scoreGraphs equals the naive per-candidate computation (predict on K copies of the graph, mean) for the same resamples', async () => {
    const model = smallModel();
    const dataset = toyDataset();
    const cands = rankingTestGraphs();
    const { scores } = await scoreGraphs(model, dataset, cands, { resamples: 5, seed: 77 });
    expect(scores.length).toBe(cands.length);
    const batch = drawDatasetBatch(dataset, 20, 5, new Rng(77));
    const x = tf.tensor3d(batch.data, batch.shape);
    const naive = cands.map((g) => {
      const y = model.predict(x, batch.layout, Array(5).fill(g));
      const m = tf.mean(y);
      const v = m.dataSync()[0]!;
      tf.dispose([y, m]);
      return v;
    });
    scores.forEach((s, i) => expect(Math.abs(s - naive[i]!)).toBeLessThan(1e-6));
    // the duplicate scores exactly like its original
    expect(scores[14]).toBe(scores[2]);
    // the same seed gives the same scores; another seed other scores; the plain path the same up to rounding
    expect(Array.from((await scoreGraphs(model, dataset, cands, { resamples: 5, seed: 77 })).scores)).toEqual(Array.from(scores));
    expect((await scoreGraphs(model, dataset, cands, { resamples: 5, seed: 78 })).scores[0]).not.toBe(scores[0]);
    const plain = (await scoreGraphs(model, dataset, cands, { resamples: 5, seed: 77, projectionCache: false })).scores;
    plain.forEach((s, i) => expect(Math.abs(s - scores[i]!)).toBeLessThan(1e-6));
    x.dispose();
    model.dispose();
  });

  it('a GraphEmbeddingCache encodes each key once, keeps scores, and nothing leaks tensors', async () => {
    const model = smallModel();
    const dataset = toyDataset();
    const cands = rankingTestGraphs();
    const cache = new GraphEmbeddingCache();
    const keys = cands.map(graphKey);
    const first = await scoreGraphs(model, dataset, cands, { resamples: 3, seed: 1, graphCache: cache, keys });
    expect(cache.size).toBe(new Set(keys).size);
    expect(Array.from((await scoreGraphs(model, dataset, cands, { resamples: 3, seed: 1 })).scores)).toEqual(Array.from(first.scores));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const again = await scoreGraphs(model, dataset, cands, { resamples: 3, seed: 1, graphCache: cache, keys });
      expect(Array.from(again.scores)).toEqual(Array.from(first.scores));
      await scoreGraphs(model, dataset, cands.slice(0, 5), { resamples: 2, seed: 2 });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(cache.size).toBe(new Set(keys).size);
    cache.clear();
    expect(cache.size).toBe(0);
    await expect(scoreGraphs(model, dataset, cands, { graphCache: cache, keys: keys.slice(1) })).rejects.toThrow(/one graph-cache key per graph \(17\)/);
    model.dispose();
  });

  it('rejects bad candidates and options with clear errors', async () => {
    const model = smallModel();
    const dataset = toyDataset();
    await expect(
      scoreGraphs(model, dataset, [
        {
          types: [0, 9, 1],
          edges: [
            [0, 1],
            [1, 2],
          ],
        },
      ]),
    ).rejects.toThrow(/graph 0 vertex 1 type: expected an integer in \[0, 7\), got 9/);
    await expect(scoreGraphs(model, dataset, [{ types: [0, 2, 1], edges: [[1, 0]] }])).rejects.toThrow(/topological/);
    await expect(scoreGraphs(model, dataset, [nb201CellGraph([1, 1, 1, 1, 1, 1])], { resamples: 0 })).rejects.toThrow(/resamples/);
    let err: unknown;
    try {
      await scoreGraphs(model, { ...dataset, dim: 8, classes: dataset.classes.map((c) => ({ ...c, data: c.data.subarray(0, c.count * 8) })) }, [
        nb201CellGraph([0, 0, 0, 0, 0, 0]),
      ]);
    } catch (e) {
      err = e;
    }
    expect(isMetaD2AException(err, 'ValidationError')).toBe(true);
    expect(String(err)).toContain('rank: dataset toy: dim: expected 16, got 8');
    model.dispose();
  });
});
