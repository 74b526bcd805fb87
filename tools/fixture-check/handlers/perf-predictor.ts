import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, graphConfig, type ArchGraph } from '@metad2a/core';
import { checkTensor, type TensorCheck } from '@metad2a/fixtures';
import { PredictorModel } from '@metad2a/perf-predictor';
import { readStateDictSync } from '@metad2a/torch-io';
import type { FixtureHandler } from '../handler';
import { paramsFor } from '../weights';

type Cfg = { hs: number; nz: number; nvt: number; max_n: number; heads: number; classes: number; num_sample: number; acc_normalisation: { mean: number; std: number } };
const graphsOf = (list: unknown): ArchGraph[] => (list as { types: number[]; edges: [number, number][] }[]).map((g) => ({ types: g.types, edges: g.edges }));

/** pred-nb201, pred-mbv3 (hs 64: D, G, hg, per-vertex states, yhat, loss, every gradient) and pred-nb201-full (hs 512, weights from state_dict.pt). */
export const handler: FixtureHandler = {
  fixtures: ['pred-nb201', 'pred-mbv3', 'pred-nb201-full'],
  packageName: '@metad2a/perf-predictor',
  async run(target, opts) {
    if (target.kind !== 'folder') throw new Error(`${target.name} is a fixture folder`);
    const fx = target.fixture;
    const cfg = fx.manifest.config as Cfg;
    const layout = { classes: cfg.classes, perClass: cfg.num_sample };
    const graphs = graphsOf(fx.manifest.graphs);
    const model = new PredictorModel({
      graphConfig: graphConfig(cfg.nvt, cfg.max_n),
      hs: cfg.hs,
      nz: cfg.nz,
      heads: cfg.heads,
      rng: new Rng(0),
      normalisation: cfg.acc_normalisation,
    });
    const full = fx.manifest.params_in_tensors_bin === false;
    model.loadParameters(full ? readStateDictSync(path.join(fx.dir, 'state_dict.pt')) : await paramsFor(target, '', opts));
    const checks: TensorCheck[] = [];
    const X = fx.tensor('input.X');
    const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
    const d = model.encodeDataset(x, layout);
    const e = model.encodeGraphsDetailed(graphs);
    const yhat = model.head(d, e.G);
    checks.push(checkTensor(fx, 'expected.D', d.dataSync()), checkTensor(fx, 'expected.G', e.G.dataSync()), checkTensor(fx, 'expected.yhat', yhat.dataSync()));
    if (!full) {
      checks.push(
        checkTensor(fx, 'expected.hg', e.hg.dataSync()),
        checkTensor(fx, 'expected.H_forward', e.hForward!.dataSync()),
        checkTensor(fx, 'expected.H_backward', e.hBackward!.dataSync()),
      );
      if (fx.has('expected.G_extra')) {
        const gx = model.encodeGraphs(graphsOf(fx.manifest.graphs_extra));
        checks.push(checkTensor(fx, 'expected.G_extra', gx.dataSync()));
        gx.dispose();
      }
      const y = tf.tensor2d(fx.tensor('input.y').data, [graphs.length, 1]);
      const { value, grads } = model.store.valueAndGrads(() => model.loss(x, layout, graphs, y));
      checks.push(checkTensor(fx, 'expected.loss', value.dataSync()));
      for (const n of fx.namesWithPrefix('grad.')) {
        const g = grads.get(n.slice(5));
        checks.push(g ? checkTensor(fx, n, g.dataSync()) : { name: n, ok: false, maxAbsDiff: Infinity, tolerance: 0, message: `${n}: no gradient computed` });
      }
      tf.dispose([y, value, ...grads.values()]);
    }
    tf.dispose([x, d, e.G, e.hg, yhat, ...(e.hForward ? [e.hForward, e.hBackward!] : [])]);
    model.dispose();
    return checks;
  },
};
