import * as tf from '@tensorflow/tfjs-core';
import { Rng, drawDatasetBatch, graphConfig, graphKey, initBackend, isMetaD2AException, type ArchGraph, type FeatureSet } from '@metad2a/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PredictorModel, planDirection } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const NB201_EDGES: [number, number][] = [[1, 2], [0, 1], [2, 3], [3, 4], [1, 3], [4, 5], [5, 6], [1, 5], [2, 6], [3, 6], [6, 7]];
const nb201 = (ops: number[]): ArchGraph => ({ types: [0, ...ops.map((o) => o + 2), 1], edges: NB201_EDGES });

function candidates(): ArchGraph[] {
  const rng = new Rng(3);
  const out: ArchGraph[] = [];
  for (let i = 0; i < 14; i++) out.push(nb201(Array.from({ length: 6 }, () => rng.int(5))));
  out.push(out[2]!); // a duplicate
  out.push({ types: [0, 3, 4, 5, 1], edges: [[0, 1], [1, 2], [0, 3], [2, 4], [3, 4]] }); // fewer vertices, other edges
  out.push({ types: [0, 2, 6, 4, 5, 3, 2, 1], edges: [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [0, 7], [2, 5]] });
  return out;
}

function toyDataset(): FeatureSet {
  const rng = new Rng(9);
  return { name: 'toy', dim: 16, classes: Array.from({ length: 4 }, (_, c) => ({ label: `c${c}`, count: 25, data: rng.uniformArray(25 * 16, -1 + c * 0.2, 1) })) };
}

const smallModel = (): PredictorModel => new PredictorModel({ graphConfig: graphConfig(7, 8), hs: 24, nz: 8, inputDim: 16, heads: 2, rng: new Rng(21) });

describe('rank', () => {
  it('equals the naive per-candidate computation (predict on K copies of the graph, mean) for the same resamples', () => {
    const model = smallModel();
    const dataset = toyDataset();
    const cands = candidates();
    const ranked = model.rank(dataset, cands, { resamples: 5, seed: 77 });
    expect(ranked.length).toBe(cands.length);
    const batch = drawDatasetBatch(dataset, 20, 5, new Rng(77));
    const x = tf.tensor3d(batch.data, batch.shape);
    const naive = cands.map((g) => {
      const y = model.predict(x, batch.layout, Array(5).fill(g));
      const m = tf.mean(y);
      const v = m.dataSync()[0]!;
      tf.dispose([y, m]);
      return v;
    });
    for (const r of ranked) {
      expect(Math.abs(r.score - naive[r.index]!)).toBeLessThan(1e-6);
      expect(r.accuracy).toBeCloseTo(r.score * 100 * 6.6932 + 71.5715, 4);
      expect(r.key).toBe(graphKey(cands[r.index]!));
    }
    for (let i = 1; i < ranked.length; i++) expect(ranked[i - 1]!.score).toBeGreaterThanOrEqual(ranked[i]!.score);
    // the duplicate scores exactly like its original
    const byIndex = new Map(ranked.map((r) => [r.index, r.score]));
    expect(byIndex.get(14)).toBe(byIndex.get(2));
    // the same seed gives the same ranking; another seed other scores
    expect(model.rank(dataset, cands, { resamples: 5, seed: 77 }).map((r) => r.score)).toEqual(ranked.map((r) => r.score));
    expect(model.rank(dataset, cands, { resamples: 5, seed: 78 })[0]!.score).not.toBe(ranked[0]!.score);
    x.dispose();
    model.dispose();
  });

  it('batched, de-duplicated graph encoding equals encoding each graph alone', () => {
    const model = smallModel();
    const cands = candidates();
    const all = model.encodeGraphs(cands).arraySync();
    cands.forEach((g, i) => {
      const one = model.encodeGraphs([g]);
      const v = one.dataSync();
      for (let k = 0; k < 8; k++) expect(Math.abs(v[k]! - all[i]![k]!)).toBeLessThan(1e-6);
      one.dispose();
    });
    // the plan shares states: all 14+1 NB201 graphs have the same START state, so step 0 has one state
    const fwd = planDirection(cands, 8, 'forward');
    expect(fwd.steps[0]!.size).toBe(1);
    expect(fwd.steps[1]!.size).toBeLessThanOrEqual(5);
    model.dispose();
  });

  it('caches graph embeddings by key, clears the cache on load, and does not leak tensors', () => {
    const model = smallModel();
    const dataset = toyDataset();
    const cands = candidates();
    const first = model.rank(dataset, cands, { resamples: 3, seed: 1, cache: true });
    expect(model.graphCacheSize).toBe(new Set(cands.map(graphKey)).size);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const again = model.rank(dataset, cands, { resamples: 3, seed: 1, cache: true });
      expect(again.map((r) => r.index)).toEqual(first.map((r) => r.index));
      model.rank(dataset, cands.slice(0, 5), { resamples: 2, seed: 2 });
    }
    expect(tf.memory().numTensors).toBe(before);
    const values: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of model.parameters()) values[k] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
    model.loadParameters(values);
    expect(model.graphCacheSize).toBe(0);
    model.dispose();
  });

  it('rebuilds its cached weight layouts when parameters change, and still differentiates through them', () => {
    const a = smallModel();
    const b = new PredictorModel({ graphConfig: graphConfig(7, 8), hs: 24, nz: 8, inputDim: 16, heads: 2, rng: new Rng(99) });
    const cands = candidates();
    const before = a.encodeGraphs(cands); // fills a's cache
    const values: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of b.parameters()) values[k] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
    a.loadParameters(values);
    const after = a.encodeGraphs(cands);
    const expected = b.encodeGraphs(cands);
    const d1 = tf.max(tf.abs(tf.sub(after, expected))).dataSync()[0]!;
    const d0 = tf.max(tf.abs(tf.sub(before, expected))).dataSync()[0]!;
    expect(d1).toBeLessThan(1e-6);
    expect(d0).toBeGreaterThan(1e-3);
    const { value, grads } = a.store.valueAndGrads(() => tf.sum(tf.square(a.encodeGraphs(cands))) as tf.Scalar, ['grue_forward.weight_hh', 'gate_backward.0.weight', 'hg_unify.0.weight']);
    expect(grads.size).toBe(3);
    for (const g of grads.values()) expect(tf.max(tf.abs(g)).dataSync()[0]!).toBeGreaterThan(0);
    tf.dispose([before, after, expected, value, ...grads.values()]);
    a.dispose();
    b.dispose();
  });

  it('saves and restores the model with its normalisation through a core checkpoint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-ckpt-'));
    const file = path.join(dir, 'predictor.ckpt');
    const model = new PredictorModel({ graphConfig: graphConfig(7, 8), hs: 24, nz: 8, inputDim: 16, heads: 2, rng: new Rng(5), normalisation: { mean: 80, std: 2.5 }, setEncoder: 'deepsets' });
    model.saveCheckpoint(file, { epoch: 3 });
    const back = PredictorModel.loadCheckpoint(file);
    expect(back.normalisation).toEqual({ mean: 80, std: 2.5 });
    expect(back.config()).toEqual(model.config());
    expect(back.setEncoder.kind).toBe('deepsets');
    const cands = candidates();
    const a = model.encodeGraphs(cands).dataSync();
    const b = back.encodeGraphs(cands).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(back.denormalise(0.01)).toBeCloseTo(82.5, 10);
    fs.writeFileSync(file, Buffer.from('not a checkpoint'));
    expect(() => PredictorModel.loadCheckpoint(file)).toThrow();
    model.dispose();
    back.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects bad candidates and options with clear errors', () => {
    const model = smallModel();
    const dataset = toyDataset();
    expect(() => model.rank(dataset, [{ types: [0, 9, 1], edges: [[0, 1], [1, 2]] }])).toThrow(/graph 0 vertex 1 type: expected an integer in \[0, 7\), got 9/);
    expect(() => model.rank(dataset, [{ types: [0, 2, 1], edges: [[1, 0]] }])).toThrow(/topological/);
    expect(() => model.rank(dataset, [nb201([1, 1, 1, 1, 1, 1])], { resamples: 0 })).toThrow(/resamples/);
    try {
      model.rank({ ...dataset, dim: 8, classes: dataset.classes.map((c) => ({ ...c, data: c.data.subarray(0, c.count * 8) })) }, [nb201([0, 0, 0, 0, 0, 0])]);
    } catch (e) {
      expect(isMetaD2AException(e, 'ValidationError')).toBe(true);
    }
    model.dispose();
  });
});
