import * as tf from '@tensorflow/tfjs-core';
import { graphConfig, initBackend, isMetaD2AException, type ArchGraph } from '@metad2a/core';
import { GoldenFixture, checkTensor, type TensorCheck } from '@metad2a/fixtures';
import { Adam } from '@metad2a/layers';
import { GeneratorModel, deadParameterNames } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' }); // the set encoder's gradients are several times faster than on cpu
});

const expectPass = (c: TensorCheck): void => {
  if (!c.ok) throw new Error(c.message);
  expect(c.ok).toBe(true);
};

function setup(name: string): { fx: GoldenFixture; model: GeneratorModel; x: tf.Tensor3D; layout: { classes: number; perClass: number }; graphs: ArchGraph[] } {
  const fx = GoldenFixture.load(name);
  const c = fx.manifest.config as { nvt: number; max_n: number; hs: number; nz: number; classes: number; num_sample: number };
  const model = new GeneratorModel({ graphConfig: graphConfig(c.nvt, c.max_n), hs: c.hs, nz: c.nz, seed: 1 });
  model.loadParameters(fx.params(), { source: name });
  const X = fx.tensor('input.X');
  const x = tf.tensor3d(X.data, X.shape as [number, number, number]);
  const graphs = (fx.manifest.graphs as { types: number[]; edges: [number, number][] }[]).map((g) => ({ types: g.types, edges: g.edges }));
  return { fx, model, x, layout: { classes: c.classes, perClass: c.num_sample }, graphs };
}

describe.each([
  ['gen-nb201', 304200, 220144],
  ['gen-mbv3', 322478, 0],
])('GeneratorModel on %s', (name, total, used) => {
  it('holds every official parameter under its official name (dead ones included)', () => {
    const { fx, model, x } = setup(name);
    expect(model.store.names()).toEqual(fx.manifest.params);
    expect(model.store.count()).toBe(total);
    expect(model.usedParameterNames()).toEqual(fx.manifest.used_params);
    if (used) expect(model.usedParameterNames().reduce((s, n) => s + model.store.get(n).size, 0)).toBe(used);
    x.dispose();
    model.dispose();
  });

  it('encodes the datasets, and the loss, per-graph values, every gradient and one Adam step match', () => {
    const { fx, model, x, layout, graphs } = setup(name);
    const post = model.encodeDataset(x, layout);
    expectPass(checkTensor(fx, 'expected.mu', post.mu.dataSync()));
    expectPass(checkTensor(fx, 'expected.logvar', post.logvar.dataSync()));
    const d = model.lossDetails(post, graphs);
    expectPass(checkTensor(fx, 'expected.loss', [d.loss]));
    expectPass(checkTensor(fx, 'expected.recon', [d.recon]));
    expectPass(checkTensor(fx, 'expected.kld', [d.kld]));
    expectPass(checkTensor(fx, 'expected.recon_per_graph', d.reconPerGraph));
    expectPass(checkTensor(fx, 'expected.kld_per_graph', d.kldPerGraph));
    expectPass(checkTensor(fx, 'expected.type_ll', d.typeLL));
    post.mu.dispose();
    post.logvar.dispose();

    const before = tf.memory().numTensors;
    const { value, grads } = model.store.valueAndGrads(() => model.loss(x, layout, graphs).loss, model.usedParameterNames());
    expectPass(checkTensor(fx, 'expected.loss', value.dataSync()));
    expect([...grads.keys()].sort()).toEqual([...(fx.manifest.used_params ?? [])].sort());
    expect(grads.size).toBe(75);
    for (const [n, g] of grads) expectPass(checkTensor(fx, `grad.${n}`, g.dataSync()));
    value.dispose();
    expect(tf.memory().numTensors).toBe(before + grads.size); // the loss pass leaks nothing
    const adam = new Adam(model.parameters(), { lr: 1e-4 });
    adam.apply(grads);
    for (const n of fx.namesWithPrefix('after_adam.')) expectPass(checkTensor(fx, n, model.store.get(n.slice('after_adam.'.length)).dataSync()));
    grads.forEach((g) => g.dispose());
    adam.dispose();
    x.dispose();
    model.dispose();
  });
});

describe('GeneratorModel.loadParameters', () => {
  it('accepts a state_dict without the dead parameters and names every missing used one', () => {
    const fx = GoldenFixture.load('gen-nb201');
    const model = new GeneratorModel({ graphConfig: graphConfig(7, 8), seed: 3 });
    const all = fx.params();
    const noDead = Object.fromEntries(Object.entries(all).filter(([k]) => !deadParameterNames().includes(k)));
    model.loadParameters(noDead);
    expect(Array.from(model.store.get('fc3.bias').dataSync())).toEqual(Array.from(all['fc3.bias']!.data));
    const { 'grud.weight_hh': _w, 'fc1.bias': _b, ...missing } = all;
    let err: unknown;
    try {
      model.loadParameters(missing);
    } catch (e) {
      err = e;
    }
    expect(isMetaD2AException(err, 'CheckpointMismatch')).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('missing: grud.weight_hh [168, 56]');
    expect(msg).toContain('missing: fc1.bias [56]');
    expect(() => model.loadParameters({ ...all, 'extra.weight': all['fc3.bias']! })).toThrow(/unexpected: extra\.weight/);
    model.dispose();
  });
});
