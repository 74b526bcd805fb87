/**
 * The issue's end-to-end check: official checkpoints (the fixtures' `state_dict.pt` files, written by
 * torch.save from the official models) → named arrays → a working predictor / generator whose
 * outputs match the official ones (fixtures README §7 tolerance rule).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { graphConfig, initBackend, Rng, type ArchGraph } from '@metad2a/core';
import { GoldenFixture, checkTensor } from '@metad2a/fixtures';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { readStateDictSync } from '@metad2a/torch-io';
import { fixturesRoot } from '@metad2a/fixtures';

const FIXTURES = fixturesRoot();

type Cfg = { hs: number; nz: number; nvt: number; max_n: number; heads: number; classes: number; num_sample: number; acc_normalisation: { mean: number; std: number } };
const graphsOf = (list: unknown): ArchGraph[] => (list as { types: number[]; edges: [number, number][] }[]).map((g) => ({ types: g.types, edges: g.edges }));

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

function expectPass(checks: { ok: boolean; message: string }[]): void {
  expect(checks.filter((c) => !c.ok).map((c) => c.message)).toEqual([]);
}

test.each([
  ['pred-nb201-full', 'state_dict.pt'],
  ['pred-nb201', 'state_dict_legacy.pt'],
])('%s/%s → PredictorModel reproduces D, G and yhat', (name, file) => {
  const fx = GoldenFixture.load(path.join(FIXTURES, name));
  const cfg = fx.manifest.config as Cfg;
  const model = new PredictorModel({
    graphConfig: graphConfig(cfg.nvt, cfg.max_n),
    hs: cfg.hs,
    nz: cfg.nz,
    heads: cfg.heads,
    rng: new Rng(0),
    normalisation: cfg.acc_normalisation,
  });
  model.loadParameters(readStateDictSync(path.join(FIXTURES, name, file)));
  const X = fx.tensor('input.X');
  const layout = { classes: cfg.classes, perClass: cfg.num_sample };
  const forward = (): Float32Array[] => {
    const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
    const d = model.encodeDataset(x, layout);
    const g = model.encodeGraphs(graphsOf(fx.manifest.graphs));
    const yhat = model.head(d, g);
    const out = [d.dataSync() as Float32Array, g.dataSync() as Float32Array, yhat.dataSync() as Float32Array];
    tf.dispose([x, d, g, yhat]);
    return out;
  };
  const [d, g, yhat] = forward();
  expectPass([checkTensor(fx, 'expected.D', d!), checkTensor(fx, 'expected.G', g!), checkTensor(fx, 'expected.yhat', yhat!)]);
  if (name === 'pred-nb201') {
    // A second pass leaves nothing behind (the first may fill model-owned caches).
    const before = tf.memory().numTensors;
    forward();
    expect(tf.memory().numTensors).toBe(before);
  }
  model.dispose();
});

test.each(['gen-nb201'])('%s/state_dict.pt → GeneratorModel reproduces mu, logvar and the loss', (name) => {
  const fx = GoldenFixture.load(path.join(FIXTURES, name));
  const cfg = fx.manifest.config as Cfg;
  const model = new GeneratorModel({ graphConfig: graphConfig(cfg.nvt, cfg.max_n), hs: cfg.hs, nz: cfg.nz, heads: cfg.heads, rng: new Rng(0) });
  model.loadParameters(readStateDictSync(path.join(FIXTURES, name, 'state_dict.pt')), { source: `${name}/state_dict.pt` });
  const before = tf.memory().numTensors;
  const X = fx.tensor('input.X');
  const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
  const layout = { classes: cfg.classes, perClass: cfg.num_sample };
  const post = model.encodeDataset(x, layout);
  const loss = model.loss(x, layout, graphsOf(fx.manifest.graphs));
  expectPass([
    checkTensor(fx, 'expected.mu', post.mu.dataSync()),
    checkTensor(fx, 'expected.logvar', post.logvar.dataSync()),
    checkTensor(fx, 'expected.loss', loss.loss.dataSync()),
    checkTensor(fx, 'expected.recon', loss.recon.dataSync()),
    checkTensor(fx, 'expected.kld', loss.kld.dataSync()),
  ]);
  tf.dispose([x, post.mu, post.logvar, loss.loss, loss.recon, loss.kld]);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});
