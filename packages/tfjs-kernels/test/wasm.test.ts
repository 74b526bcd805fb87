/**
 * Training kernels for wasm (composed from wasm's own kernels) against the cpu backend's
 * reference kernels: conv2d filter gradient, depthwise input/filter gradients, exact AvgPoolGrad.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Rng, initBackend } from '@metad2a/core';
import { registerTrainingKernels } from '../src';

const rng = new Rng(99);
function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

async function on(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const vals = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return vals;
}

function maxRelErr(a: Float32Array, e: Float32Array): number {
  let scale = 1e-6;
  let worst = 0;
  for (let j = 0; j < e.length; j++) scale = Math.max(scale, Math.abs(e[j]!));
  for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!));
  return worst / scale;
}

async function compareGrads(what: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): Promise<void> {
  const data = shapes.map((s) => randn(s.reduce((a, b) => a * b, 1)));
  const run = (backend: string): Promise<Float32Array[]> =>
    on(backend, () => {
      const xs = shapes.map((s, i) => tf.tensor(data[i]!, s));
      const y = f(...xs);
      const r = tf.tensor(rdata(y.size), y.shape);
      return [y, ...tf.grads((...as: tf.Tensor[]) => tf.sum(tf.mul(f(...as), r)))(xs)];
    });
  const wasm = await run('wasm');
  const cpu = await run('cpu');
  wasm.forEach((w, i) => {
    expect(w.length).toBe(cpu[i]!.length);
    const err = maxRelErr(w, cpu[i]!);
    if (err > 2e-5) throw new Error(`${what} output ${i}: relative error ${err}`);
  });
}

// the same cotangent on both backends
const rcache = new Map<number, Float32Array>();
function rdata(n: number): Float32Array {
  if (!rcache.has(n)) rcache.set(n, randn(n));
  return rcache.get(n)!;
}

beforeAll(async () => {
  // initBackend registers the training kernels itself when @metad2a/tfjs-kernels is installed
  await initBackend({ prefer: 'wasm' });
  for (const k of ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'AvgPoolGrad']) {
    expect(tf.getKernel(k, 'wasm')).toBeDefined();
  }
  // idempotent: nothing registered twice
  expect(registerTrainingKernels('wasm').registered).toEqual([]);
});

describe('wasm training kernels', () => {
  it('conv2d gradients (both composed from wasm Conv2D) match cpu', async () => {
    const cases: { x: number[]; k: number; co: number; s: number; pad: 'same' | 'valid' }[] = [
      { x: [1, 5, 5, 1], k: 1, co: 2, s: 1, pad: 'valid' },
      { x: [2, 7, 6, 3], k: 1, co: 5, s: 2, pad: 'valid' },
      { x: [2, 9, 8, 4], k: 3, co: 6, s: 1, pad: 'same' },
      { x: [3, 9, 11, 5], k: 3, co: 7, s: 2, pad: 'same' },
      { x: [2, 10, 9, 3], k: 3, co: 4, s: 2, pad: 'valid' },
      { x: [1, 12, 13, 2], k: 5, co: 3, s: 2, pad: 'valid' },
      { x: [2, 15, 14, 3], k: 7, co: 8, s: 2, pad: 'same' },
    ];
    for (const c of cases) {
      await compareGrads(`conv2d x=${c.x} k=${c.k} s=${c.s} ${c.pad}`, [c.x, [c.k, c.k, c.x[3]!, c.co]], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad));
    }
  });

  it('depthwise conv2d gradients match cpu (multipliers, strides, padding)', async () => {
    const cases: { x: number[]; k: number; m: number; s: number; pad: 'same' | 'valid'; d?: number }[] = [
      { x: [1, 7, 7, 3], k: 3, m: 1, s: 1, pad: 'same' },
      { x: [2, 9, 8, 4], k: 3, m: 2, s: 2, pad: 'same' },
      { x: [2, 11, 10, 5], k: 5, m: 1, s: 2, pad: 'valid' },
      { x: [1, 13, 13, 2], k: 7, m: 1, s: 1, pad: 'same' },
      { x: [2, 6, 6, 3], k: 1, m: 3, s: 1, pad: 'valid' },
    ];
    for (const c of cases) {
      await compareGrads(`depthwise x=${c.x} k=${c.k} m=${c.m} s=${c.s} ${c.pad} d=${c.d ?? 1}`, [c.x, [c.k, c.k, c.x[3]!, c.m]], (x, w) =>
        tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d ?? 1),
      );
    }
  });

  it('avgPool gradient: matches cpu where windows are whole, is the exact adjoint with same padding', async () => {
    await compareGrads('avgPool 3x3 s1 valid', [[2, 7, 8, 3]], (x) => tf.avgPool(x as tf.Tensor4D, 3, 1, 'valid'));
    await tf.setBackend('wasm');
    for (const s of [1, 2] as const) {
      const [x, r] = [randn(2 * 7 * 9 * 3), randn(2 * 7 * 9 * 3)];
      const [y, g] = tf.tidy(() => {
        const xt = tf.tensor4d(x, [2, 7, 9, 3]);
        const pooled = tf.avgPool(xt, 3, s, 'same');
        const rt = tf.tensor(r.subarray(0, pooled.size), pooled.shape);
        const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, 3, s, 'same'), rt)))(xt);
        return [tf.sum(tf.mul(pooled, rt)).dataSync()[0]!, tf.sum(tf.mul(xt, grad)).dataSync()[0]!];
      }) as unknown as [number, number];
      expect(Math.abs(y - g)).toBeLessThan(1e-4 * Math.max(1, Math.abs(y)));
    }
  });

  it('a small CNN trains on wasm without leaking tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const variable = (init: tf.Tensor): tf.Variable => {
      const v = tf.variable(init);
      init.dispose();
      return v;
    };
    const w1 = variable(tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 1));
    const w2 = variable(tf.randomNormal([3, 3, 8, 1], 0, 0.3, 'float32', 2));
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 3);
    const target = tf.randomNormal([4, 4, 4, 8], 0, 1, 'float32', 4);
    const loss = (): tf.Scalar => {
      const h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'));
      const d = tf.depthwiseConv2d(h, w2 as tf.Tensor4D, 2, 'same');
      return tf.mean(tf.square(tf.sub(tf.avgPool(d, 3, 1, 'same'), target)));
    };
    const value = (): number => {
      const l = tf.tidy(loss);
      const v = l.dataSync()[0]!;
      l.dispose();
      return v;
    };
    const first = value();
    for (let i = 0; i < 20; i++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(loss);
        w1.assign(tf.sub(w1, tf.mul(grads[w1.name]!, 0.1)));
        w2.assign(tf.sub(w2, tf.mul(grads[w2.name]!, 0.1)));
      });
    }
    const last = value();
    expect(last).toBeLessThan(first * 0.95);
    tf.dispose([w1, w2, x, target]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
