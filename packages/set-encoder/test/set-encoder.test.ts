import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend, isMetaD2AException, setEncoders } from '@metad2a/core';
import { GoldenFixture, checkTensor } from '@metad2a/fixtures';
import { Linear, ParameterStore } from '@metad2a/layers';
import { DeepSetsEncoder, MultiheadAttentionBlock, SetTransformerEncoder, createSetEncoder } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const t3 = (a: { data: Float32Array; shape: number[] }): tf.Tensor3D => tf.tensor3d(a.data, a.shape as [number, number, number]);

describe('MultiheadAttentionBlock', () => {
  it('matches mab-golden (spec §2.1 toy case, square and rectangular MABs)', () => {
    const fx = GoldenFixture.load('mab-golden');
    const cfg = fx.manifest.config as Record<string, { dim_Q: number; dim_K: number; dim_V: number; num_heads: number }>;
    for (const p of ['toy', 'rand', 'rect']) {
      const c = cfg[p]!;
      const store = new ParameterStore();
      const mab = new MultiheadAttentionBlock(store, '', c.dim_Q, c.dim_K, c.dim_V, c.num_heads, new Rng(0));
      store.load(fx.params(`${p}.`));
      const out = tf.tidy(() => mab.apply(t3(fx.tensor(`input.${p}.Q`)), t3(fx.tensor(`input.${p}.K`))));
      const values = out.dataSync();
      const check = checkTensor(fx, `expected.${p}.out`, values);
      expect(check.message).toMatch(/<=/);
      if (p === 'toy') {
        [1.377541, 3.229901, 4.546212, 0.537883].forEach((v, i) => expect(values[i]).toBeCloseTo(v, 5));
      }
      out.dispose();
      store.dispose();
    }
  });

  it('uses the full-width scale: per-head scaling gives other numbers', () => {
    const fx = GoldenFixture.load('mab-golden');
    const store = new ParameterStore();
    // d_V = 4 with 4 heads of width 1 is not the toy model: the toy output must change with the head count
    const mab = new MultiheadAttentionBlock(store, '', 2, 2, 4, 4, new Rng(0));
    store.load(fx.params('toy.'));
    const out = tf.tidy(() => mab.apply(t3(fx.tensor('input.toy.Q')), t3(fx.tensor('input.toy.K'))));
    expect(Math.abs(out.dataSync()[0]! - 1.377541)).toBeGreaterThan(1e-3);
    out.dispose();
    store.dispose();
  });
});

describe('SetTransformerEncoder', () => {
  const fx = GoldenFixture.load('setenc-nb201');
  const layout = { classes: 3, perClass: 20 };

  function fixtureEncoder(): SetTransformerEncoder {
    const enc = new SetTransformerEncoder({ inputDim: 512, hiddenDim: 56, outputDim: 56, heads: 4, rng: new Rng(7) });
    const params = fx.params();
    enc.loadParameters(params, { allowExtra: ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] });
    return enc;
  }

  it('has the official parameter names, shapes and counts (intra 118,160; inter 41,552)', () => {
    const enc = new SetTransformerEncoder({ inputDim: 512, hiddenDim: 56, outputDim: 56, heads: 4, rng: new Rng(1) });
    const names = [...enc.parameters().keys()];
    expect(names.length).toBe(54);
    const count = (pre: string): number => [...enc.parameters()].filter(([k]) => k.startsWith(pre)).reduce((a, [, v]) => a + v.size, 0);
    expect(count('intra_setpool.')).toBe(118160);
    expect(count('inter_setpool.')).toBe(41552);
    for (const n of fx.manifest.params.filter((p) => p.includes('setpool'))) {
      expect(enc.parameters().get(n)?.shape).toEqual(fx.tensor(n).shape);
    }
    // PyTorch default init bounds: Linear U(±1/√fan_in), PMA seed Xavier U(±√(6/112))
    const q = enc.parameters().get('intra_setpool.enc.0.mab.fc_q.weight')!.dataSync();
    expect(Math.max(...Array.from(q).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(512));
    expect(Math.max(...Array.from(q).map(Math.abs))).toBeGreaterThan(0.9 / Math.sqrt(512));
    const s = enc.parameters().get('inter_setpool.dec.0.S')!.dataSync();
    expect(Math.max(...Array.from(s).map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 112));
    enc.dispose();
  });

  it('matches setenc-nb201: prototypes, D, and mu/logvar through fc1/fc2', () => {
    const enc = fixtureEncoder();
    const x = t3(fx.tensor('input.X'));
    const protos = enc.encodeClasses(x, layout);
    const d = enc.encode(x, layout);
    expect(protos.shape).toEqual([2, 3, 56]);
    expect(d.shape).toEqual([2, 56]);
    expect(checkTensor(fx, 'expected.protos', protos.dataSync()).message).toMatch(/<=/);
    expect(checkTensor(fx, 'expected.D', d.dataSync()).message).toMatch(/<=/);
    const heads = new ParameterStore();
    const fc1 = new Linear(heads, 'fc1', 56, 56, new Rng(0));
    const fc2 = new Linear(heads, 'fc2', 56, 56, new Rng(0));
    heads.load(fx.params(), { allowExtra: true });
    const mu = fc1.apply(d);
    const logvar = fc2.apply(d);
    expect(checkTensor(fx, 'expected.mu', mu.dataSync()).message).toMatch(/<=/);
    expect(checkTensor(fx, 'expected.logvar', logvar.dataSync()).message).toMatch(/<=/);
    tf.dispose([x, protos, d, mu, logvar]);
    heads.dispose();
    enc.dispose();
  });

  it('keeps the batch axis at B = 1 (no squeeze quirk), equal to row 0 of the batch', () => {
    const enc = fixtureEncoder();
    const x = t3(fx.tensor('input.X'));
    const x0 = tf.slice(x, [0, 0, 0], [1, 60, 512]) as tf.Tensor3D;
    const d0 = enc.encode(x0, layout);
    expect(d0.shape).toEqual([1, 56]);
    const exp = fx.tensor('expected.D').data.subarray(0, 56);
    const got = d0.dataSync();
    for (let i = 0; i < 56; i++) expect(Math.abs(got[i]! - exp[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, x0, d0]);
    enc.dispose();
  });

  it('rejects input that is not C classes of n rows, naming what it expected', () => {
    const enc = new SetTransformerEncoder({ inputDim: 512, hiddenDim: 56, outputDim: 56, heads: 4, rng: new Rng(1) });
    const x = tf.zeros([2, 59, 512]) as tf.Tensor3D;
    expect(() => enc.encode(x, layout)).toThrow(/3 classes × 20 samples = 60 rows.*got 59 rows/);
    try {
      enc.encode(x, layout);
    } catch (e) {
      expect(isMetaD2AException(e, 'ShapeMismatch')).toBe(true);
    }
    const y = tf.zeros([1, 60, 500]) as tf.Tensor3D;
    expect(() => enc.encode(y, layout)).toThrow(/feature width 512, got 500/);
    expect(() => enc.encode(y, { classes: 0, perClass: 20 })).toThrow(/positive integer classes/);
    tf.dispose([x, y]);
    enc.dispose();
  });

  it('puts its parameters into a containing model store under a prefix, and reports missing names on load', () => {
    const store = new ParameterStore();
    const enc = new SetTransformerEncoder({ inputDim: 512, hiddenDim: 56, outputDim: 56, heads: 4, rng: new Rng(3), store, prefix: 'pred.' });
    expect(store.names().length).toBe(54);
    expect(store.has('pred.intra_setpool.enc.0.mab.fc_q.weight')).toBe(true);
    expect(store.has('pred.inter_setpool.dec.1.bias')).toBe(true);
    expect(() => enc.loadParameters({})).toThrow(/missing: pred\.intra_setpool\.enc\.0\.mab\.fc_q\.weight \[56, 512\]/);
    enc.dispose(); // the store owns the tensors
    expect(store.get('pred.inter_setpool.dec.1.bias').isDisposed).toBe(false);
    store.dispose();
  });

  it('does not leak tensors over many encodes', () => {
    const enc = fixtureEncoder();
    const x = t3(fx.tensor('input.X'));
    const warm = enc.encode(x, layout);
    warm.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const d = enc.encode(x, layout);
      const p = enc.encodeClasses(x, layout);
      d.dispose();
      p.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    enc.dispose();
  });
});

describe('swappable encoders', () => {
  it('registers set-transformer, isab and deepsets; all map [B, C·n, d] to [B, out]', () => {
    expect(setEncoders.names()).toEqual(expect.arrayContaining(['deepsets', 'isab', 'set-transformer']));
    const rng = new Rng(11);
    const x = tf.randomNormal([3, 4 * 5, 16], 0, 1, 'float32', 5) as tf.Tensor3D;
    const counts: Record<string, number> = {};
    for (const name of ['set-transformer', 'isab', 'deepsets']) {
      const enc = createSetEncoder(name, { inputDim: 16, hiddenDim: 8, outputDim: 6, heads: 2, rng });
      expect(enc.kind).toBe(name);
      const d = enc.encode(x, { classes: 4, perClass: 5 });
      expect(d.shape).toEqual([3, 6]);
      expect(Array.from(d.dataSync()).every(Number.isFinite)).toBe(true);
      counts[name] = [...enc.parameters().values()].reduce((a, v) => a + v.size, 0);
      d.dispose();
      enc.dispose();
    }
    // deepsets: 16·8+8 + 8·8+8 + 2·(8·8+8) + 8·6+6
    expect(counts.deepsets).toBe(136 + 72 + 144 + 54);
    expect(() => createSetEncoder('nope', { inputDim: 1, hiddenDim: 1, outputDim: 1, rng })).toThrow(/one of: deepsets, isab, set-transformer/);
    x.dispose();
  });

  it('encodes permutation-invariantly within a class and class-order-invariantly (set-transformer and deepsets)', () => {
    const rng = new Rng(5);
    const x = tf.randomNormal([1, 3 * 4, 8], 0, 1, 'float32', 9) as tf.Tensor3D;
    // shuffle rows inside class 1 and swap classes 0 and 2
    const idx = [8, 9, 10, 11, 6, 4, 7, 5, 0, 1, 2, 3];
    const y = tf.gather(x, idx, 1) as tf.Tensor3D;
    for (const enc of [
      new SetTransformerEncoder({ inputDim: 8, hiddenDim: 8, outputDim: 4, heads: 2, rng }),
      new DeepSetsEncoder({ inputDim: 8, hiddenDim: 8, outputDim: 4, rng }),
    ]) {
      const a = enc.encode(x, { classes: 3, perClass: 4 }).dataSync();
      const b = enc.encode(y, { classes: 3, perClass: 4 }).dataSync();
      for (let i = 0; i < 4; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
      enc.dispose();
    }
    tf.dispose([x, y]);
  });
});

describe('SetTransformerEncoder.encodeProjected (first-SAB projection cache)', () => {
  it('equals encode(x) up to float32 rounding, rows gathered from a shared pool', () => {
    const rng = new Rng(3);
    const enc = new SetTransformerEncoder({ inputDim: 12, hiddenDim: 8, outputDim: 8, heads: 4, rng });
    const pool = Float32Array.from(rng.normalArray(30 * 12));
    const proj = enc.rowProjections(4)!; // small capacity: exercises growth
    expect(proj.append(pool.subarray(0, 10 * 12), 10)).toBe(0);
    expect(proj.append(pool.subarray(10 * 12), 20)).toBe(10);
    const layout = { classes: 3, perClass: 5 };
    const slots = Int32Array.from({ length: 2 * 15 }, () => rng.int(30));
    const x = new Float32Array(slots.length * 12);
    slots.forEach((s, i) => x.set(pool.subarray(s * 12, (s + 1) * 12), i * 12));
    const before = tf.memory().numTensors;
    const a = tf.tidy(() => enc.encode(tf.tensor3d(x, [2, 15, 12]), layout));
    const b = enc.encodeProjected(proj, slots, 2, layout);
    const av = a.dataSync();
    const bv = b.dataSync();
    expect(bv).toHaveLength(16);
    av.forEach((v, i) => expect(Math.abs(v - bv[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(v))));
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => enc.encodeProjected(proj, slots.subarray(1), 2, layout)).toThrow(/30 rows/);
    expect(() => proj.gather(Int32Array.from([31]), 1, 1)).toThrow(/slot 31 not projected/);
    expect(new SetTransformerEncoder({ inputDim: 12, hiddenDim: 8, outputDim: 8, heads: 4, rng, blocks: 'isab' }).rowProjections()).toBeUndefined();
    enc.dispose();
  });
});
