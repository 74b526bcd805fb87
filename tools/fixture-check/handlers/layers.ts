import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@metad2a/core';
import { checkTensor } from '@metad2a/fixtures';
import { GRUCell, ParameterStore } from '@metad2a/layers';
import type { FixtureHandler } from '../handler';
import { paramsFor } from '../weights';

/** gru-golden: PyTorch GRUCell semantics (spec §2.3), the toy case and a random GRUCell(7→56). */
export const handler: FixtureHandler = {
  fixtures: ['gru-golden'],
  packageName: '@metad2a/layers',
  async run(target, opts) {
    if (target.kind !== 'folder') throw new Error('gru-golden is a fixture folder');
    const fx = target.fixture;
    const cfg = fx.manifest.config as Record<string, { input_size: number; hidden_size: number }>;
    const checks = [];
    for (const p of ['toy', 'rand']) {
      const store = new ParameterStore();
      const cell = new GRUCell(store, '', cfg[p]!.input_size, cfg[p]!.hidden_size, new Rng(0));
      const params = await paramsFor(target, `${p}.`, opts);
      store.load(params, { source: `${fx.name} ${p}.*` });
      const x = fx.tensor(`input.${p}.x`);
      const h = fx.tensor(`input.${p}.h`);
      const out = tf.tidy(() => cell.apply(tf.tensor2d(x.data, x.shape as [number, number]), tf.tensor2d(h.data, h.shape as [number, number])));
      checks.push(checkTensor(fx, `expected.${p}.h_next`, out.dataSync()));
      out.dispose();
      store.dispose();
    }
    return checks;
  },
};
