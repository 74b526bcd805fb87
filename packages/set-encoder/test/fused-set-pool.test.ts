import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng, SET_POOL_PROJECTED_KERNEL } from '@metad2a/core';
import { ParameterStore } from '@metad2a/layers';
import { registerNativeBackend } from '@metad2a/tfjs-kernels';
import { SetPool, SetTransformerEncoder } from '../src';

// The native backend's fused SetPool kernel (core contract `SET_POOL_PROJECTED_KERNEL`) against the composite
// tfjs ops on the cpu backend, on the same parameters and rows.
const native = registerNativeBackend();

afterAll(async () => {
  await tf.setBackend('cpu');
});

function onBackend<T>(name: string, f: () => T): T {
  tf.setBackend(name);
  return f();
}

describe('fused SET_POOL_PROJECTED_KERNEL kernel (native backend)', () => {
  it('the native backend is available (the addon is built at npm install)', () => {
    expect(native).toEqual({ ok: true, tfName: 'native' });
    expect(tf.getKernel(SET_POOL_PROJECTED_KERNEL, 'native')).toBeDefined();
    expect(tf.getKernel(SET_POOL_PROJECTED_KERNEL, 'cpu')).toBeUndefined();
  });

  const cases = [
    { name: 'MetaD2A intra-class sizes (512 → 56, 4 heads, 20 rows)', din: 512, hidden: 56, out: 56, heads: 4, k: 1, n: 20, sets: 37, pool: 300 },
    { name: 'odd sizes, 2 seeds, 1 head', din: 7, hidden: 6, out: 5, heads: 1, k: 2, n: 3, sets: 5, pool: 9 },
    { name: 'one row per set, 3 heads', din: 10, hidden: 9, out: 4, heads: 3, k: 3, n: 1, sets: 11, pool: 4 },
  ];
  for (const c of cases) {
    it(`equals SetPool.apply on the cpu backend: ${c.name}`, () => {
      const rng = new Rng(c.sets);
      const store = new ParameterStore();
      const pool = onBackend('cpu', () => new SetPool(store, 'p', { dimInput: c.din, dimHidden: c.hidden, dimOutput: c.out, heads: c.heads, numOutputs: c.k }, rng));
      const rows = Float32Array.from(rng.normalArray(c.pool * c.din));
      const slots = Int32Array.from({ length: c.sets * c.n }, () => rng.int(c.pool));
      const x = new Float32Array(slots.length * c.din);
      slots.forEach((s, i) => x.set(rows.subarray(s * c.din, (s + 1) * c.din), i * c.din));
      const expected = onBackend('cpu', () => tf.tidy(() => pool.apply(tf.tensor3d(x, [c.sets, c.n, c.din])).dataSync()));
      const got = onBackend('native', () => {
        const proj = pool.rowProjections(2)!;
        proj.append(rows, c.pool);
        const before = tf.memory().numTensors;
        const y = pool.applyProjected(proj, slots, c.sets, c.n);
        expect(y.shape).toEqual([c.sets, c.k, c.out]);
        const v = y.dataSync().slice();
        y.dispose();
        expect(tf.memory().numTensors).toBe(before);
        return v;
      });
      expect(got).toHaveLength(c.sets * c.k * c.out);
      let worst = 0;
      expected.forEach((e, i) => (worst = Math.max(worst, Math.abs(e - got[i]!) / (1 + Math.abs(e)))));
      expect(worst).toBeLessThan(2e-5);
      store.dispose();
    });
  }

  it('gives each set the same bits wherever it sits in the batch (its lane, a part-filled last group, alone)', () => {
    // the kernel vectorises across sets, a hardware vector's width of sets per group (4, 8 or 16 lanes
    // by instruction set): a set's result must not depend on its group, lane or neighbours
    const rng = new Rng(11);
    const store = new ParameterStore();
    const pool = onBackend('native', () => new SetPool(store, 'p', { dimInput: 24, dimHidden: 16, dimOutput: 8, heads: 4 }, rng));
    const n = 6;
    const sets = 37; // > 2 groups of 16, with a part-filled last group for 4, 8 and 16 lanes
    const rows = Float32Array.from(rng.normalArray(50 * 24));
    const slots = Int32Array.from({ length: sets * n }, () => rng.int(50));
    onBackend('native', () => {
      const proj = pool.rowProjections()!;
      proj.append(rows, 50);
      const run = (s: Int32Array, count: number): Float32Array => {
        const y = pool.applyProjected(proj, s, count, n);
        const v = y.dataSync().slice() as Float32Array;
        y.dispose();
        return v;
      };
      const all = run(slots, sets);
      expect(all.every(Number.isFinite)).toBe(true);
      // every set alone
      for (let i = 0; i < sets; i++) expect(run(slots.subarray(i * n, (i + 1) * n), 1)).toEqual(all.subarray(i * 8, (i + 1) * 8));
      // shifted by 3 sets: every set in another lane, 34 sets (another part-filled last group)
      expect(run(slots.subarray(3 * n), sets - 3)).toEqual(all.subarray(3 * 8));
    });
    store.dispose();
  });

  it('is used by SetTransformerEncoder.encodeProjected and encode (inference) and rejects slots outside the cache', () => {
    const rng = new Rng(5);
    const enc = onBackend('native', () => new SetTransformerEncoder({ inputDim: 12, hiddenDim: 8, outputDim: 8, heads: 4, rng }));
    const pool = Float32Array.from(rng.normalArray(30 * 12));
    const layout = { classes: 3, perClass: 5 };
    const slots = Int32Array.from({ length: 2 * 15 }, () => rng.int(30));
    const x = new Float32Array(slots.length * 12);
    slots.forEach((s, i) => x.set(pool.subarray(s * 12, (s + 1) * 12), i * 12));
    const expected = onBackend('cpu', () => tf.tidy(() => enc.encode(tf.tensor3d(x, [2, 15, 12]), layout).dataSync()));
    const got = onBackend('native', () => {
      const proj = enc.rowProjections()!;
      proj.append(pool, 30);
      const spy = jest.spyOn(tf.engine(), 'runKernel');
      const y = enc.encodeProjected(proj, slots, 2, layout);
      // intra-class pool on the cached rows, inter-class pool on freshly projected prototypes
      expect(spy.mock.calls.filter(([name]) => name === SET_POOL_PROJECTED_KERNEL)).toHaveLength(2);
      spy.mockRestore();
      const v = y.dataSync().slice();
      y.dispose();
      // the plain path (no cache) takes the fused kernel too in inference, with the same numbers
      const before = tf.memory().numTensors;
      const plain = tf.tidy(() => enc.encode(tf.tensor3d(x, [2, 15, 12]), layout).dataSync());
      expect(tf.memory().numTensors).toBe(before);
      plain.forEach((p, i) => expect(Math.abs(p - v[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(p))));
      const bad = Int32Array.from(slots);
      bad[7] = 30;
      expect(() => enc.encodeProjected(proj, bad, 2, layout)).toThrow(/slots\[7\] = 30: not in \[0, 30\)/);
      return v;
    });
    expected.forEach((e, i) => expect(Math.abs(e - got[i]!)).toBeLessThan(2e-5 * (1 + Math.abs(e))));
    enc.dispose();
  });
});
