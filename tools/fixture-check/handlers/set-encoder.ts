import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@metad2a/core';
import { checkTensor, type TensorCheck } from '@metad2a/fixtures';
import { Linear, ParameterStore } from '@metad2a/layers';
import { MultiheadAttentionBlock, SetTransformerEncoder } from '@metad2a/set-encoder';
import type { FixtureHandler } from '../handler';
import { paramsFor } from '../weights';

const t3 = (a: { data: Float32Array; shape: number[] }): tf.Tensor3D => tf.tensor3d(a.data, a.shape as [number, number, number]);

/** mab-golden (MAB, spec §2.1) and setenc-nb201 (two-level set encoder, spec §2.2). */
export const handler: FixtureHandler = {
  fixtures: ['mab-golden', 'setenc-nb201'],
  packageName: '@metad2a/set-encoder',
  async run(target, opts) {
    if (target.kind !== 'folder') throw new Error(`${target.name} is a fixture folder`);
    const fx = target.fixture;
    const checks: TensorCheck[] = [];
    if (target.name === 'mab-golden') {
      const cfg = fx.manifest.config as Record<string, { dim_Q: number; dim_K: number; dim_V: number; num_heads: number }>;
      for (const p of ['toy', 'rand', 'rect']) {
        const c = cfg[p]!;
        const store = new ParameterStore();
        const mab = new MultiheadAttentionBlock(store, '', c.dim_Q, c.dim_K, c.dim_V, c.num_heads, new Rng(0));
        store.load(await paramsFor(target, `${p}.`, opts), { source: `${fx.name} ${p}.*` });
        const out = tf.tidy(() => mab.apply(t3(fx.tensor(`input.${p}.Q`)), t3(fx.tensor(`input.${p}.K`))));
        checks.push(checkTensor(fx, `expected.${p}.out`, out.dataSync()));
        out.dispose();
        store.dispose();
      }
      return checks;
    }
    const cfg = fx.manifest.config as { nz: number; dim_input: number; heads: number; classes: number; num_sample: number };
    const layout = { classes: cfg.classes, perClass: cfg.num_sample };
    const params = await paramsFor(target, '', opts);
    const store = new ParameterStore();
    const enc = new SetTransformerEncoder({ inputDim: cfg.dim_input, hiddenDim: cfg.nz, outputDim: cfg.nz, heads: cfg.heads, rng: new Rng(0), store });
    const fc1 = new Linear(store, 'fc1', cfg.nz, cfg.nz, new Rng(0));
    const fc2 = new Linear(store, 'fc2', cfg.nz, cfg.nz, new Rng(0));
    store.load(params, { source: fx.name });
    const x = t3(fx.tensor('input.X'));
    const protos = enc.encodeClasses(x, layout);
    const d = enc.encode(x, layout);
    const mu = fc1.apply(d);
    const logvar = fc2.apply(d);
    checks.push(checkTensor(fx, 'expected.protos', protos.dataSync()));
    checks.push(checkTensor(fx, 'expected.D', d.dataSync()));
    checks.push(checkTensor(fx, 'expected.mu', mu.dataSync()));
    checks.push(checkTensor(fx, 'expected.logvar', logvar.dataSync()));
    tf.dispose([x, protos, d, mu, logvar]);
    store.dispose();
    return checks;
  },
};
