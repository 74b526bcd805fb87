import * as tf from '@tensorflow/tfjs-core';
import { Rng, graphConfig, initBackend, type ArchGraph } from '@metad2a/core';
import { GoldenFixture, checkTensor } from '@metad2a/fixtures';
import * as path from 'node:path';
import { readStateDictSync } from '@metad2a/torch-io';
import { PREDICTOR_DEAD_PARAMS, PredictorModel } from '../src';

/** Golden values are normalised scores: the normalisation does not enter them. */
const ANY_NORMALISATION = { mean: 70, std: 5 };

// wasm: 5x faster here than tfjs-cpu for these sizes; rank.test.ts covers the cpu backend (gather and its gradient)
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

interface FixtureGraph {
  types: number[];
  edges: [number, number][];
}

function fixtureModel(fx: GoldenFixture): PredictorModel {
  const cfg = fx.manifest.config as { hs: number; nz: number; nvt: number; max_n: number; heads: number; acc_normalisation: { mean: number; std: number } };
  const model = new PredictorModel({
    graphConfig: graphConfig(cfg.nvt, cfg.max_n),
    hs: cfg.hs,
    nz: cfg.nz,
    heads: cfg.heads,
    rng: new Rng(1),
    normalisation: cfg.acc_normalisation,
  });
  model.loadParameters(fx.params());
  return model;
}

const graphsOf = (list: unknown): ArchGraph[] => (list as FixtureGraph[]).map((g) => ({ types: g.types, edges: g.edges.map(([s, t]) => [s, t] as const) }));
const ok = (c: { message: string }): void => expect(c.message).toMatch(/<=/);

describe.each(['pred-nb201', 'pred-mbv3'])('%s golden', (name) => {
  const fx = GoldenFixture.load(name);
  const cfg = fx.manifest.config as { classes: number; num_sample: number };
  const layout = { classes: cfg.classes, perClass: cfg.num_sample };
  const graphs = graphsOf(fx.manifest.graphs);

  it('D, G, hg, per-vertex states H_forward/H_backward, yhat and loss', () => {
    const model = fixtureModel(fx);
    const X = fx.tensor('input.X');
    const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
    const y = tf.tensor2d(fx.tensor('input.y').data, [graphs.length, 1]);
    const d = model.encodeDataset(x, layout);
    const e = model.encodeGraphsDetailed(graphs);
    const yhat = model.head(d, e.G);
    const loss = model.loss(x, layout, graphs, y);
    ok(checkTensor(fx, 'expected.D', d.dataSync()));
    ok(checkTensor(fx, 'expected.G', e.G.dataSync()));
    ok(checkTensor(fx, 'expected.hg', e.hg.dataSync()));
    ok(checkTensor(fx, 'expected.H_forward', e.hForward!.dataSync()));
    ok(checkTensor(fx, 'expected.H_backward', e.hBackward!.dataSync()));
    ok(checkTensor(fx, 'expected.yhat', yhat.dataSync()));
    ok(checkTensor(fx, 'expected.loss', loss.dataSync()));
    if (fx.has('expected.G_extra')) {
      const gx = model.encodeGraphs(graphsOf(fx.manifest.graphs_extra));
      ok(checkTensor(fx, 'expected.G_extra', gx.dataSync()));
      gx.dispose();
    }
    tf.dispose([x, y, d, e.G, e.hg, e.hForward!, e.hBackward!, yhat, loss]);
    model.dispose();
  });

  it('every gradient of the summed squared error, and none for the dead parameters', () => {
    const model = fixtureModel(fx);
    const X = fx.tensor('input.X');
    const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
    const y = tf.tensor2d(fx.tensor('input.y').data, [graphs.length, 1]);
    const { value, grads } = model.store.valueAndGrads(() => model.loss(x, layout, graphs, y));
    ok(checkTensor(fx, 'expected.loss', value.dataSync()));
    const expectedGrads = fx.namesWithPrefix('grad.');
    expect(expectedGrads.length).toBe(76);
    expect([...grads.keys()].sort()).toEqual(expectedGrads.map((n) => n.slice(5)).sort());
    const failures: string[] = [];
    for (const n of expectedGrads) {
      const c = checkTensor(fx, n, grads.get(n.slice(5))!.dataSync());
      if (!c.ok) failures.push(c.message);
    }
    expect(failures).toEqual([]);
    expect(fx.manifest.dead_params).toEqual([...PREDICTOR_DEAD_PARAMS]);
    tf.dispose([x, y, value, ...grads.values()]);
    model.dispose();
  });
});

describe('pred-nb201-full (official size, hs 512; weights from state_dict.pt through @metad2a/torch-io)', () => {
  it('D, G and yhat match', () => {
    const fx = GoldenFixture.load('pred-nb201-full');
    const params = readStateDictSync(path.join(fx.dir, 'state_dict.pt'));
    const model = new PredictorModel({ graphConfig: graphConfig(7, 8), rng: new Rng(1), normalisation: ANY_NORMALISATION });
    model.loadParameters(params);
    expect([...model.parameters().values()].reduce((a, v) => a + v.size, 0)).toBe(3438105);
    const graphs = (fx.manifest.graphs as { types: number[]; edges: [number, number][] }[]).map((g) => ({ types: g.types, edges: g.edges }));
    const X = fx.tensor('input.X');
    const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
    const d = model.encodeDataset(x, { classes: 3, perClass: 20 });
    const g = model.encodeGraphs(graphs);
    const y = model.head(d, g);
    expect(checkTensor(fx, 'expected.D', d.dataSync()).message).toMatch(/<=/);
    expect(checkTensor(fx, 'expected.G', g.dataSync()).message).toMatch(/<=/);
    expect(checkTensor(fx, 'expected.yhat', y.dataSync()).message).toMatch(/<=/);
    tf.dispose([x, d, g, y]);
    model.dispose();
    // with the dead parameters created, the model holds exactly the official 4,020,361
    const full = new PredictorModel({ graphConfig: graphConfig(7, 8), rng: new Rng(1), normalisation: ANY_NORMALISATION, includeDeadParameters: true });
    expect([...full.parameters().values()].reduce((a, v) => a + v.size, 0)).toBe(4020361);
    full.loadParameters(params);
    full.dispose();
  });
});
