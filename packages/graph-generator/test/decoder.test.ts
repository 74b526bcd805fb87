import * as tf from '@tensorflow/tfjs-core';
import { Rng, graphConfig, initBackend, type ArchGraph } from '@metad2a/core';
import { GoldenFixture, checkTensor, type TensorCheck } from '@metad2a/fixtures';
import { ParameterStore } from '@metad2a/layers';
import { GraphDecoder, decodeBatch, toGraphBatch } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

interface FixtureGraph {
  types: number[];
  edges: [number, number][];
}
interface DecodeResult extends FixtureGraph {
  valid: boolean;
}

function setup(name: string): { fx: GoldenFixture; store: ParameterStore; decoder: GraphDecoder; graphs: ArchGraph[] } {
  const fx = GoldenFixture.load(name);
  const c = fx.manifest.config as { nvt: number; max_n: number; hs: number; nz: number };
  const store = new ParameterStore();
  const decoder = new GraphDecoder(store, { hs: c.hs, nz: c.nz, graphConfig: graphConfig(c.nvt, c.max_n) }, new Rng(0));
  const all = fx.params();
  const mine: Record<string, (typeof all)[string]> = {};
  for (const n of GraphDecoder.parameterNames()) mine[n] = all[n]!;
  store.load(mine);
  const graphs = (fx.manifest.graphs as FixtureGraph[]).map((g) => ({ types: g.types, edges: g.edges }));
  return { fx, store, decoder, graphs };
}

const expectPass = (c: TensorCheck): void => {
  if (!c.ok) throw new Error(c.message);
  expect(c.ok).toBe(true);
};

describe.each(['gen-nb201', 'gen-mbv3'])('GraphDecoder on %s', (name) => {
  it('teacher-forced pass from expected.mu matches type log-probs, edge probs and recon', () => {
    const { fx, store, decoder, graphs } = setup(name);
    const mu = fx.tensor('expected.mu');
    const before = tf.memory().numTensors;
    const pass = tf.tidy(() => {
      const p = decoder.teacherForced(tf.tensor2d(mu.data, mu.shape as [number, number]), toGraphBatch(graphs, decoder.graphConfig));
      return { ...p, recon: tf.sub(p.edgeBce, p.typeLogLik) };
    });
    expectPass(checkTensor(fx, 'expected.type_logprobs', pass.typeLogprobs.dataSync()));
    expectPass(checkTensor(fx, 'expected.type_ll', pass.typeLL.dataSync()));
    expectPass(checkTensor(fx, 'expected.edge_probs', pass.edgeProbs.dataSync()));
    expectPass(checkTensor(fx, 'expected.recon_per_graph', pass.reconPerGraph.dataSync()));
    expectPass(checkTensor(fx, 'expected.recon', pass.recon.dataSync()));
    Object.values(pass).forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
    store.dispose();
  });

  it('gradients of the decoder parameters match grad.*', () => {
    const { fx, store, decoder, graphs } = setup(name);
    const mu = fx.tensor('expected.mu');
    const lv = fx.tensor('expected.logvar');
    const batch = toGraphBatch(graphs, decoder.graphConfig);
    const { value, grads } = store.valueAndGrads(() =>
      tf.tidy(() => {
        const m = tf.tensor2d(mu.data, mu.shape as [number, number]);
        const l = tf.tensor2d(lv.data, lv.shape as [number, number]);
        const p = decoder.teacherForced(m, batch);
        const kld = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, l), tf.square(m)), tf.exp(l))));
        return tf.add(tf.sub(p.edgeBce, p.typeLogLik), tf.mul(0.005, kld)) as tf.Scalar;
      }),
    );
    expectPass(checkTensor(fx, 'expected.loss', value.dataSync()));
    expect([...grads.keys()].sort()).toEqual(GraphDecoder.parameterNames().sort());
    for (const [n, g] of grads) expectPass(checkTensor(fx, `grad.${n}`, g.dataSync()));
    value.dispose();
    grads.forEach((g) => g.dispose());
    store.dispose();
  });

  it('deterministic decode of input.z_decode gives the official graphs, logits and edge probs', () => {
    const { fx, store, decoder } = setup(name);
    const z = fx.tensor('input.z_decode');
    const tr = decodeBatch(decoder.weights(), decoder.graphConfig, z.data, z.shape[0]!, { stochastic: false });
    const want = (fx.manifest.decode as { results: DecodeResult[] }).results;
    expect(tr.graphs.map((g) => ({ types: g.types, edges: g.edges }))).toEqual(want.map((g) => ({ types: g.types, edges: g.edges })));
    // logits exist only while a graph is unfinished; the fixture holds values for every row, so compare where we decided
    const exp = fx.tensor('expected.decode_type_logits');
    const got = Float32Array.from(tr.typeLogits, (v, i) => (Number.isNaN(v) ? exp.data[i]! : v));
    expectPass(checkTensor(fx, 'expected.decode_type_logits', got));
    expectPass(checkTensor(fx, 'expected.decode_edge_probs', tr.edgeProbs));
    store.dispose();
  });
});
