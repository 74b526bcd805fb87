import * as tf from '@tensorflow/tfjs-core';
import { graphConfig } from '@metad2a/core';
import { checkEqual, checkTensor, type TensorCheck } from '@metad2a/fixtures';
import { GeneratorModel } from '@metad2a/graph-generator';
import { Adam } from '@metad2a/layers';
import type { FixtureHandler } from '../handler';
import { paramsFor } from '../weights';

interface FixtureGraph {
  types: number[];
  edges: [number, number][];
}

/**
 * gen-nb201 / gen-mbv3: the official GeneratorModel (spec §2.2–§2.4) — set encoding (mu, logvar),
 * teacher-forced loss with its per-graph and per-step values, the gradient of every used
 * parameter, one Adam step (lr 1e-4), and the deterministic decode (graphs exactly, logits, edge probs).
 */
export const handler: FixtureHandler = {
  fixtures: ['gen-nb201', 'gen-mbv3'],
  packageName: '@metad2a/graph-generator',
  async run(target, opts) {
    if (target.kind !== 'folder') throw new Error(`${target.name} is a fixture folder`);
    const fx = target.fixture;
    const c = fx.manifest.config as { nvt: number; max_n: number; hs: number; nz: number; classes: number; num_sample: number };
    const model = new GeneratorModel({ graphConfig: graphConfig(c.nvt, c.max_n), hs: c.hs, nz: c.nz, seed: 0 });
    const checks: TensorCheck[] = [];
    try {
      model.loadParameters(await paramsFor(target, '', opts), { source: `${fx.name} parameters` });
      const X = fx.tensor('input.X');
      const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
      const layout = { classes: c.classes, perClass: c.num_sample };
      const graphs = (fx.manifest.graphs as FixtureGraph[]).map((g) => ({ types: g.types, edges: g.edges }));

      const post = model.encodeDataset(x, layout);
      checks.push(checkTensor(fx, 'expected.mu', post.mu.dataSync()), checkTensor(fx, 'expected.logvar', post.logvar.dataSync()));
      const d = model.lossDetails(post, graphs);
      post.mu.dispose();
      post.logvar.dispose();
      checks.push(
        checkTensor(fx, 'expected.loss', [d.loss]),
        checkTensor(fx, 'expected.recon', [d.recon]),
        checkTensor(fx, 'expected.kld', [d.kld]),
        checkTensor(fx, 'expected.recon_per_graph', d.reconPerGraph),
        checkTensor(fx, 'expected.kld_per_graph', d.kldPerGraph),
        checkTensor(fx, 'expected.type_logprobs', d.typeLogprobs),
        checkTensor(fx, 'expected.type_ll', d.typeLL),
        checkTensor(fx, 'expected.edge_probs', d.edgeProbs),
      );

      const { value, grads } = model.store.valueAndGrads(() => model.loss(x, layout, graphs).loss, model.usedParameterNames());
      value.dispose();
      x.dispose();
      const used = fx.manifest.used_params ?? [];
      checks.push(checkEqual('parameters with a gradient (= used_params)', [...grads.keys()].sort(), [...used].sort()));
      for (const [n, g] of grads) checks.push(checkTensor(fx, `grad.${n}`, g.dataSync()));
      const adam = new Adam(model.parameters(), { lr: 1e-4 });
      adam.apply(grads);
      for (const n of fx.namesWithPrefix('after_adam.')) checks.push(checkTensor(fx, n, model.store.get(n.slice('after_adam.'.length)).dataSync()));
      grads.forEach((g) => g.dispose());
      adam.dispose();

      // the decode uses the stored weights, not the ones after the Adam step
      model.loadParameters(await paramsFor(target, '', opts), { source: `${fx.name} parameters` });
      const z = fx.tensor('input.z_decode');
      const tr = model.decodeTrace(z.data, z.shape[0]!, { stochastic: false });
      const want = (fx.manifest.decode as { results: FixtureGraph[] }).results;
      want.forEach((g, i) => checks.push(checkEqual(`decode graph ${i}`, { types: tr.graphs[i]!.types, edges: tr.graphs[i]!.edges }, { types: g.types, edges: g.edges })));
      // logits exist only while a graph is unfinished; where ours has none (NaN), the fixture row is not compared
      const expLogits = fx.tensor('expected.decode_type_logits').data;
      const expProbs = fx.tensor('expected.decode_type_probs').data;
      const nvt = c.nvt;
      const logits = Float32Array.from(tr.typeLogits, (v, i) => (Number.isNaN(v) ? expLogits[i]! : v));
      const probs = new Float32Array(logits.length);
      for (let r = 0; r < logits.length / nvt; r++) {
        if (Number.isNaN(tr.typeLogits[r * nvt]!)) {
          probs.set(expProbs.subarray(r * nvt, (r + 1) * nvt), r * nvt);
          continue;
        }
        let mx = -Infinity;
        for (let k = 0; k < nvt; k++) mx = Math.max(mx, logits[r * nvt + k]!);
        let sum = 0;
        for (let k = 0; k < nvt; k++) sum += Math.exp(logits[r * nvt + k]! - mx);
        for (let k = 0; k < nvt; k++) probs[r * nvt + k] = Math.exp(logits[r * nvt + k]! - mx) / sum;
      }
      checks.push(
        checkTensor(fx, 'expected.decode_type_logits', logits),
        checkTensor(fx, 'expected.decode_type_probs', probs),
        checkTensor(fx, 'expected.decode_edge_probs', tr.edgeProbs),
      );
    } finally {
      model.dispose();
    }
    return checks;
  },
};
