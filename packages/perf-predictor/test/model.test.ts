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

/** The same parameter names, and every gradient within 1e-4 of the reference's largest entry. */
function expectSameGrads(got: Map<string, tf.Tensor>, want: Map<string, tf.Tensor>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, g] of want) {
    const a = g.dataSync();
    const b = got.get(k)!.dataSync();
    const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThan(1e-4 * scale);
  }
}

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

  it('lossOfGroups (datasets of several class counts, graphs encoded in one pass) equals the sum of per-group losses, with the same gradients', () => {
    const model = smallModel();
    const rng = new Rng(8);
    const graphs = rankingTestGraphs().slice(0, 6);
    // three groups: 2 datasets of 3 classes, 3 of 5 classes, 1 of 2 classes (4 rows per class, 16-d rows)
    const shapes: [number, number][] = [
      [2, 3],
      [3, 5],
      [1, 2],
    ];
    const groups = shapes.map(([b, c]) => ({ x: tf.tensor3d(rng.normalArray(b * c * 4 * 16), [b, c * 4, 16]), layout: { classes: c, perClass: 4 } }));
    const targets = tf.tensor2d(
      rng.normalArray(6).map((v) => 0.01 * v),
      [6, 1],
    );
    const names = model.store.names();
    const grouped = model.store.valueAndGrads(() => model.lossOfGroups(groups, graphs, targets), names);
    let row = 0;
    const perGroup = model.store.valueAndGrads(() => {
      let total: tf.Scalar | undefined;
      for (const g of groups) {
        const b = g.x.shape[0];
        const l = model.loss(g.x, g.layout, graphs.slice(row, row + b), tf.slice(targets, [row, 0], [b, 1]));
        row += b;
        total = total ? (tf.add(total, l) as tf.Scalar) : l;
      }
      return total!;
    }, names);
    const v1 = grouped.value.dataSync()[0]!;
    const v0 = perGroup.value.dataSync()[0]!;
    expect(v0).toBeGreaterThan(0);
    expect(Math.abs(v1 - v0)).toBeLessThan(1e-6 * Math.max(1, v0));
    expectSameGrads(grouped.grads, perGroup.grads);
    // the same loss and gradients group by group, in one tape per group (what meta-training uses)
    const warm = model.valueAndGradsOfGroups(groups, graphs, targets, names); // fills the graph encoder's weight-layout cache
    tf.dispose([warm.value, ...warm.grads.values()]);
    const before = tf.memory().numTensors;
    const lean = model.valueAndGradsOfGroups(groups, graphs, targets, names);
    expect(Math.abs(lean.value.dataSync()[0]! - v0)).toBeLessThan(1e-6 * Math.max(1, v0));
    expectSameGrads(lean.grads, perGroup.grads);
    tf.dispose([lean.value, ...lean.grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
    // a subset of the parameters: only those get gradients
    const some = model.valueAndGradsOfGroups(groups, graphs, targets, ['pred_fc.0.weight', 'grue_forward.weight_hh', 'intra_setpool.enc.0.mab.fc_q.weight']);
    expect([...some.grads.keys()].sort()).toEqual(['grue_forward.weight_hh', 'intra_setpool.enc.0.mab.fc_q.weight', 'pred_fc.0.weight']);
    tf.dispose([some.value, ...some.grads.values()]);
    expect(() => model.valueAndGradsOfGroups(groups, graphs.slice(1), targets)).toThrow(/one graph and one target per dataset row \(6\)/);
    // the predictions themselves, and the one-group case through predict
    const p = model.predictGroups(groups, graphs).dataSync();
    const p0 = model.predict(groups[1]!.x, groups[1]!.layout, graphs.slice(2, 5)).dataSync();
    for (let i = 0; i < 3; i++) expect(Math.abs(p[2 + i]! - p0[i]!)).toBeLessThan(1e-6);
    expect(() => model.predictGroups(groups, graphs.slice(0, 5))).toThrow(/one graph per dataset row \(6\)/);
    tf.dispose([grouped.value, perGroup.value, ...grouped.grads.values(), ...perGroup.grads.values(), targets, ...groups.map((g) => g.x)]);
    model.dispose();
  });
});
