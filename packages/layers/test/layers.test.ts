import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ADAM_UPDATE_KERNEL, Rng, SGD_UPDATE_IN_PLACE_KERNEL, SGD_UPDATE_KERNEL, initBackend, isMetaD2AException } from '@metad2a/core';
import { GoldenFixture, checkTensor } from '@metad2a/fixtures';
import { Adam, GRUCell, Linear, ParameterStore, SGD } from '../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('GRUCell', () => {
  it('reproduces the spec §2.3 golden value and the gru-golden fixture', () => {
    const fx = GoldenFixture.load('gru-golden');
    for (const p of ['toy', 'rand']) {
      const x = fx.tensor(`input.${p}.x`);
      const h = fx.tensor(`input.${p}.h`);
      const store = new ParameterStore();
      const cell = new GRUCell(store, '', x.shape[1]!, h.shape[1]!, new Rng(0));
      store.load(fx.params(`${p}.`));
      const out = tf.tidy(() => cell.apply(tf.tensor2d(x.data, x.shape as [number, number]), tf.tensor2d(h.data, h.shape as [number, number])));
      const c = checkTensor(fx, `expected.${p}.h_next`, out.dataSync());
      expect(c.message).toMatch(/<=/);
      if (p === 'toy') {
        const v = out.dataSync();
        expect(v[0]).toBeCloseTo(0.588733, 6);
        expect(v[1]).toBeCloseTo(-0.011016, 6);
      }
      out.dispose();
      store.dispose();
    }
  });
});

describe('Linear and ParameterStore', () => {
  it('uses PyTorch layout [out, in] and default init bounds', () => {
    const store = new ParameterStore();
    const lin = new Linear(store, 'fc', 4, 3, new Rng(1));
    expect(store.shapes()).toEqual({ 'fc.weight': [3, 4], 'fc.bias': [3] });
    const w = lin.weight.dataSync();
    expect(Math.max(...Array.from(w).map(Math.abs))).toBeLessThanOrEqual(0.5);
    store.load({ 'fc.weight': { shape: [3, 4], data: new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1]) }, 'fc.bias': { shape: [3], data: new Float32Array([0, 1, 2]) } });
    const y = tf.tidy(() => lin.apply(tf.tensor2d([[1, 2, 3, 4]])));
    expect(Array.from(y.dataSync())).toEqual([1, 3, 12]);
    const y3 = tf.tidy(() => lin.apply(tf.ones([2, 5, 4]) as tf.Tensor3D));
    expect(y3.shape).toEqual([2, 5, 3]);
    tf.dispose([y, y3]);
    store.dispose();
  });

  it('two stores with the same names coexist; load reports every mismatch and assigns nothing', () => {
    const a = new ParameterStore();
    const b = new ParameterStore();
    new Linear(a, 'fc', 2, 2, new Rng(1));
    new Linear(b, 'fc', 2, 2, new Rng(2));
    const before = a.get('fc.weight').dataSync().slice();
    let err: unknown;
    try {
      a.load({ 'fc.weight': { shape: [2, 2], data: new Float32Array(4) }, 'fc.extra': { shape: [1], data: new Float32Array(1) } }, { source: 'ckpt.pt' });
    } catch (e) {
      err = e;
    }
    expect(isMetaD2AException(err, 'CheckpointMismatch')).toBe(true);
    expect((err as Error).message).toContain('missing: fc.bias [2]');
    expect((err as Error).message).toContain('unexpected: fc.extra [1]');
    expect(Array.from(a.get('fc.weight').dataSync())).toEqual(Array.from(before));
    a.dispose();
    b.dispose();
  });

  it('valueAndGrads returns gradients by official name and leaks nothing', () => {
    const store = new ParameterStore();
    const lin = new Linear(store, 'fc', 3, 1, new Rng(3));
    const x = tf.tensor2d([[1, 2, 3]]);
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const { value, grads } = store.valueAndGrads(() => tf.sum(lin.apply(x)) as tf.Scalar);
      expect(Array.from(grads.get('fc.weight')!.dataSync())).toEqual([1, 2, 3]);
      expect(Array.from(grads.get('fc.bias')!.dataSync())).toEqual([1]);
      value.dispose();
      for (const g of grads.values()) g.dispose();
    }
    expect(tf.memory().numTensors).toBe(n0);
    x.dispose();
    store.dispose();
  });

  it('valueAndGradsOfSum: one tape per term gives the value and gradients of the summed loss, keeps nothing', () => {
    const store = new ParameterStore();
    const a = new Linear(store, 'a', 3, 2, new Rng(5));
    const b = new Linear(store, 'b', 2, 1, new Rng(6));
    const xs = [
      tf.tensor2d([[1, 2, 3]]),
      tf.tensor2d([
        [0.5, -1, 2],
        [3, 0, -2],
      ]),
      tf.tensor2d([[-1, 1, 1]]),
    ];
    const term = (x: tf.Tensor2D) => () => tf.sum(tf.square(b.apply(tf.tanh(a.apply(x))))) as tf.Scalar;
    const whole = store.valueAndGrads(() => tf.addN(xs.map((x) => term(x)())) as tf.Scalar);
    const n0 = tf.memory().numTensors;
    const split = store.valueAndGradsOfSum(xs.map(term));
    expect(tf.memory().numTensors).toBe(n0 + 1 + 4); // the value and the four gradients
    expect(split.value.dataSync()[0]!).toBeCloseTo(whole.value.dataSync()[0]!, 6);
    expect([...split.grads.keys()].sort()).toEqual(['a.bias', 'a.weight', 'b.bias', 'b.weight']);
    for (const [k, g] of whole.grads) {
      const want = Array.from(g.dataSync());
      Array.from(split.grads.get(k)!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    }
    // only the named parameters
    const some = store.valueAndGradsOfSum(xs.map(term), ['b.weight']);
    expect([...some.grads.keys()]).toEqual(['b.weight']);
    expect(() => store.valueAndGradsOfSum([])).toThrow(/no terms/);
    tf.dispose([whole.value, split.value, some.value, ...whole.grads.values(), ...split.grads.values(), ...some.grads.values(), ...xs]);
    store.dispose();
  });
});

describe('optimizers (torch.optim semantics)', () => {
  it('Adam: two steps match the closed form; state round-trips', () => {
    const store = new ParameterStore();
    store.add('p', [2], new Float32Array([1, -1]));
    const opt = new Adam(store.entries(), { lr: 0.1 });
    const g1 = tf.tensor1d([0.5, -2]);
    const g2 = tf.tensor1d([1, 1]);
    opt.apply(new Map([['p', g1]]));
    // step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) ≈ lr·sign(g)
    expect(store.get('p').dataSync()[0]).toBeCloseTo(1 - 0.1, 6);
    expect(store.get('p').dataSync()[1]).toBeCloseTo(-1 + 0.1, 6);
    const saved = opt.state();
    opt.apply(new Map([['p', g2]]));
    const m = [0.9 * 0.1 * 0.5 + 0.1 * 1, 0.9 * 0.1 * -2 + 0.1 * 1];
    const v = [0.999 * 0.001 * 0.25 + 0.001 * 1, 0.999 * 0.001 * 4 + 0.001 * 1];
    const bc1 = 1 - 0.81;
    const bc2 = 1 - 0.999 ** 2;
    const expected = [0.9, -0.9].map((p, i) => p - (0.1 * (m[i]! / bc1)) / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + 1e-8));
    expect(store.get('p').dataSync()[0]).toBeCloseTo(expected[0]!, 5);
    expect(store.get('p').dataSync()[1]).toBeCloseTo(expected[1]!, 5);
    // resume from the saved state gives the same second step
    store.get('p').assign(tf.tensor1d([0.9, -0.9]));
    const opt2 = new Adam(store.entries(), { lr: 0.1 });
    opt2.loadState(saved);
    opt2.apply(new Map([['p', g2]]));
    expect(store.get('p').dataSync()[0]).toBeCloseTo(expected[0]!, 5);
    tf.dispose([g1, g2]);
    opt.dispose();
    opt2.dispose();
    store.dispose();
  });

  it('Adam: the native fused kernel matches the composite ops on cpu, step by step, without leaks', async () => {
    await initBackend({ prefer: 'native' }); // the addon must build wherever the tests run (see tfjs-kernels)
    expect(tf.getKernel(ADAM_UPDATE_KERNEL, 'native')).toBeDefined();
    const rng = new Rng(11);
    const shapes: number[][] = [[7, 13], [1], [3, 1, 5], [40000]];
    const init = shapes.map((s) => rng.normalArray(s.reduce((a, b) => a * b, 1)));
    const grads = [0, 1, 2].map((step) =>
      shapes.map((s) => {
        const g = rng.normalArray(s.reduce((a, b) => a * b, 1)).map((x, i) => (i % 5 === 0 ? 0 : x * 10 ** (step - 2)));
        return Float32Array.from(g);
      }),
    );
    const run = async (backend: string): Promise<Float32Array[][]> => {
      await tf.setBackend(backend);
      const store = new ParameterStore();
      shapes.forEach((s, i) => store.add(`p${i}`, s, Float32Array.from(init[i]!)));
      const opt = new Adam(store.entries(), { lr: 0.003, betas: [0.8, 0.99] });
      const before = tf.memory().numTensors;
      const out: Float32Array[][] = [];
      for (const gs of grads) {
        const gmap = new Map(gs.map((g, i) => [`p${i}`, tf.tensor(g, shapes[i]!)] as const));
        opt.apply(gmap);
        gmap.forEach((t) => t.dispose());
        out.push(shapes.map((_, i) => store.get(`p${i}`).dataSync() as Float32Array));
      }
      const st = opt.state();
      out.push(
        Object.keys(st.tensors)
          .sort()
          .map((k) => st.tensors[k]!.data as Float32Array),
      );
      expect(tf.memory().numTensors).toBe(before + 2 * shapes.length); // the m and v slots only
      opt.dispose();
      store.dispose();
      return out;
    };
    const native = await run('native');
    const cpu = await run('cpu');
    native.forEach((step, s) =>
      step.forEach((a, i) => {
        const e = cpu[s]![i]!;
        let worst = 0;
        for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!) / Math.max(1e-6, Math.abs(e[j]!)));
        if (worst > 1e-6) throw new Error(`step ${s} tensor ${i}: relative difference ${worst}`);
      }),
    );
    await tf.setBackend('cpu');
  });

  it('SGD: the native fused kernel matches the composite ops on cpu (Nesterov or not, decay skipped per name), without leaks', async () => {
    await initBackend({ prefer: 'native' });
    expect(tf.getKernel(SGD_UPDATE_KERNEL, 'native')).toBeDefined();
    const rng = new Rng(12);
    const shapes: number[][] = [[7, 13], [1], [3, 1, 5], [40000]];
    const init = shapes.map((s) => rng.normalArray(s.reduce((a, b) => a * b, 1)));
    const grads = [0, 1, 2, 3].map(() => shapes.map((s) => Float32Array.from(rng.normalArray(s.reduce((a, b) => a * b, 1)))));
    const run = async (backend: string, nesterov: boolean): Promise<Float32Array[][]> => {
      await tf.setBackend(backend);
      const store = new ParameterStore();
      shapes.forEach((s, i) => store.add(`p${i}`, s, Float32Array.from(init[i]!)));
      const opt = new SGD(store.entries(), { lr: 0.07, momentum: 0.9, nesterov, weightDecay: 5e-4 });
      const before = tf.memory().numTensors;
      const out: Float32Array[][] = [];
      for (const gs of grads) {
        const gmap = new Map(gs.map((g, i) => [`p${i}`, tf.tensor(g, shapes[i]!)] as const));
        opt.apply(gmap, { noDecay: new Set(['p1']) });
        gmap.forEach((t) => t.dispose());
        out.push(shapes.map((_, i) => store.get(`p${i}`).dataSync() as Float32Array));
      }
      const st = opt.state();
      out.push(
        Object.keys(st.tensors)
          .sort()
          .map((k) => st.tensors[k]!.data as Float32Array),
      );
      expect(tf.memory().numTensors).toBe(before + shapes.length); // the momentum buffers only
      opt.dispose();
      store.dispose();
      return out;
    };
    for (const nesterov of [true, false]) {
      const native = await run('native', nesterov);
      const cpu = await run('cpu', nesterov);
      native.forEach((step, s) =>
        step.forEach((a, i) => {
          const e = cpu[s]![i]!;
          let worst = 0;
          for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!) / Math.max(1e-6, Math.abs(e[j]!)));
          if (worst > 1e-6) throw new Error(`nesterov ${nesterov} step ${s} tensor ${i}: relative difference ${worst}`);
        }),
      );
    }
    await tf.setBackend('cpu');
  });

  it('SGD: the in-place kernel (native) updates every parameter in one call with the same bytes, and never writes over storage others can see', async () => {
    await initBackend({ prefer: 'native' });
    expect(tf.getKernel(SGD_UPDATE_IN_PLACE_KERNEL, 'native')).toBeDefined();
    const rng = new Rng(13);
    const shapes: number[][] = [[8, 8, 3, 3], [8], [5000], [40000]];
    const init = shapes.map((s) => Float32Array.from(rng.normalArray(s.reduce((a, b) => a * b, 1))));
    const grads = [0, 1, 2, 3, 4].map(() => shapes.map((s) => Float32Array.from(rng.normalArray(s.reduce((a, b) => a * b, 1)))));
    // readEveryStep: dataSync hands the storage to user code, so every step takes the per-parameter kernel
    const run = async (readEveryStep: boolean): Promise<{ values: Float32Array[]; kernels: string[][] }> => {
      const store = new ParameterStore();
      shapes.forEach((s, i) => store.add(`p${i}`, s, Float32Array.from(init[i]!)));
      const opt = new SGD(store.entries(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
      const kernels: string[][] = [];
      for (const gs of grads) {
        const gmap = new Map(gs.map((g, i) => [`p${i}`, tf.tensor(g, shapes[i]!)] as const));
        const info = await tf.profile(() => opt.apply(gmap, { noDecay: new Set(['p1']) }));
        kernels.push(info.kernels.map((k) => k.name).filter((n) => n.startsWith('MetaD2ASgd')));
        gmap.forEach((t) => t.dispose());
        if (readEveryStep) store.get('p0').dataSync();
      }
      const values = shapes.map((_, i) => Float32Array.from(store.get(`p${i}`).dataSync()));
      opt.dispose();
      store.dispose();
      return { values, kernels };
    };
    const inPlace = await run(false);
    const perParameter = await run(true);
    // step 1 makes the buffers; step 2 still updates the initial (user-written) storage out of place
    expect(inPlace.kernels.slice(2)).toEqual([[SGD_UPDATE_IN_PLACE_KERNEL], [SGD_UPDATE_IN_PLACE_KERNEL], [SGD_UPDATE_IN_PLACE_KERNEL]]);
    expect(perParameter.kernels.slice(2).map((k) => k.filter((n) => n === SGD_UPDATE_KERNEL).length)).toEqual([4, 4, 4]);
    inPlace.values.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(perParameter.values[i]!.buffer))).toBe(true));

    // storage seen elsewhere is never overwritten: an array from dataSync, a clone sharing the data
    const store = new ParameterStore();
    store.add('w', [6000], Float32Array.from(init[3]!.subarray(0, 6000)));
    const opt = new SGD(store.entries(), { lr: 0.05, momentum: 0.9 });
    const g = tf.fill([6000], 0.5);
    for (let s = 0; s < 3; s++) opt.apply(new Map([['w', g]])); // now in place
    const clone = tf.clone(store.get('w')); // shares the storage (refCount 2)
    opt.apply(new Map([['w', g]]));
    const w1 = Float32Array.from(store.get('w').dataSync());
    const c = clone.dataSync();
    expect(c[0]).not.toBe(w1[0]); // the clone kept the values before the step
    for (let s = 0; s < 2; s++) opt.apply(new Map([['w', g]])); // in place again
    const snapshot = store.get('w').dataSync() as Float32Array; // handed to user code
    const copy = Float32Array.from(snapshot);
    opt.apply(new Map([['w', g]]));
    expect(Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength).equals(Buffer.from(copy.buffer))).toBe(true);
    expect(store.get('w').dataSync()[0]).not.toBe(copy[0]);
    tf.dispose([g, clone]);
    opt.dispose();
    store.dispose();
    await tf.setBackend('cpu');
  });

  it('SGD: Nesterov momentum with weight decay', () => {
    const store = new ParameterStore();
    store.add('p', [1], new Float32Array([1]));
    const opt = new SGD(store.entries(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.5 });
    const g = tf.tensor1d([2]);
    opt.apply(new Map([['p', g]]));
    // g' = 2 + 0.5·1 = 2.5; b = 2.5; step = g' + 0.9 b = 4.75; p = 1 − 0.475
    expect(store.get('p').dataSync()[0]).toBeCloseTo(0.525, 6);
    opt.apply(new Map([['p', g]]));
    // g' = 2 + 0.2625 = 2.2625; b = 0.9·2.5 + 2.2625 = 4.5125; step = 2.2625 + 4.06125 = 6.32375
    expect(store.get('p').dataSync()[0]).toBeCloseTo(0.525 - 0.632375, 5);
    g.dispose();
    opt.dispose();
    store.dispose();
  });
});

describe('GatedSum', () => {
  it('sums σ(gate(m)) ⊙ mapper(m) over real neighbours only', async () => {
    const { GatedSum } = await import('../src');
    const store = new ParameterStore();
    const gs = new GatedSum(store, 'decoding_gate.0', 'decoding_mapper.0', 2, 1, new Rng(0));
    expect(store.shapes()).toEqual({ 'decoding_gate.0.weight': [1, 2], 'decoding_gate.0.bias': [1], 'decoding_mapper.0.weight': [1, 2] });
    store.load({
      'decoding_gate.0.weight': { shape: [1, 2], data: new Float32Array([0, 0]) },
      'decoding_gate.0.bias': { shape: [1], data: new Float32Array([0]) },
      'decoding_mapper.0.weight': { shape: [1, 2], data: new Float32Array([1, 2]) },
    });
    const m = tf.tensor3d([
      [
        [1, 1],
        [2, 0],
        [5, 5],
      ],
    ]);
    const mask = tf.tensor2d([[1, 1, 0]]);
    const out = gs.apply(m, mask);
    // σ(0) = 0.5: 0.5·3 + 0.5·2 = 2.5 (third message masked out)
    expect(out.dataSync()[0]).toBeCloseTo(2.5, 6);
    tf.dispose([m, mask, out]);
    store.dispose();
  });
});

describe('no tensor leaks', () => {
  it('creating, loading, training and disposing a model leaves no tensor behind', () => {
    const n0 = tf.memory().numTensors;
    const store = new ParameterStore();
    const rng = new Rng(1);
    const cell = new GRUCell(store, 'g', 3, 4, rng);
    const lin = new Linear(store, 'fc', 4, 1, rng);
    expect(tf.memory().numTensors).toBe(n0 + store.names().length);
    store.load(store.toNamedArrays());
    const opt = new Adam(store.entries(), { lr: 0.01 });
    const sgd = new SGD(store.entries(), { lr: 0.01, momentum: 0.9 });
    const x = tf.ones([2, 3]) as tf.Tensor2D;
    const h = tf.zeros([2, 4]) as tf.Tensor2D;
    for (let i = 0; i < 3; i++) {
      const { value, grads } = store.valueAndGrads(() => tf.sum(lin.apply(cell.apply(x, h))) as tf.Scalar);
      opt.apply(grads);
      sgd.apply(grads);
      value.dispose();
      for (const g of grads.values()) g.dispose();
    }
    const st = opt.state();
    opt.loadState(st);
    tf.dispose([x, h]);
    opt.dispose();
    sgd.dispose();
    store.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });
});
