import * as tf from '@tensorflow/tfjs-core';
import { Rng, graphConfig, initBackend } from '@metad2a/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PredictorModel, planDirection } from '../src';
import { rankingTestGraphs } from '@metad2a/fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const smallModel = (): PredictorModel =>
  new PredictorModel({ graphConfig: graphConfig(7, 8), hs: 24, nz: 8, inputDim: 16, heads: 2, rng: new Rng(21), normalisation: { mean: 70, std: 5 } });

describe('PredictorModel graph encoding and checkpoints', () => {
  it('batched, de-duplicated graph encoding equals encoding each graph alone', () => {
    const model = smallModel();
    const cands = rankingTestGraphs();
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

  it('rebuilds its cached weight layouts when parameters change, and still differentiates through them', () => {
    const a = smallModel();
    const b = new PredictorModel({ graphConfig: graphConfig(7, 8), hs: 24, nz: 8, inputDim: 16, heads: 2, rng: new Rng(99), normalisation: { mean: 70, std: 5 } });
    const cands = rankingTestGraphs();
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
    const { value, grads } = a.store.valueAndGrads(
      () => tf.sum(tf.square(a.encodeGraphs(cands))) as tf.Scalar,
      ['grue_forward.weight_hh', 'gate_backward.0.weight', 'hg_unify.0.weight'],
    );
    expect(grads.size).toBe(3);
    for (const g of grads.values()) expect(tf.max(tf.abs(g)).dataSync()[0]!).toBeGreaterThan(0);
    tf.dispose([before, after, expected, value, ...grads.values()]);
    a.dispose();
    b.dispose();
  });

  it('saves and restores the model with its normalisation through a core checkpoint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-ckpt-'));
    const file = path.join(dir, 'predictor.ckpt');
    const model = new PredictorModel({
      graphConfig: graphConfig(7, 8),
      hs: 24,
      nz: 8,
      inputDim: 16,
      heads: 2,
      rng: new Rng(5),
      normalisation: { mean: 80, std: 2.5 },
      setEncoder: 'deepsets',
    });
    model.saveCheckpoint(file, { epoch: 3 });
    const back = PredictorModel.loadCheckpoint(file);
    expect(back.normalisation).toEqual({ mean: 80, std: 2.5 });
    expect(back.config()).toEqual(model.config());
    expect(back.setEncoder.kind).toBe('deepsets');
    const cands = rankingTestGraphs();
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
});
