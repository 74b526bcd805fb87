/**
 * reluConvBnTrain: the fused native kernels (forward outputs and the gradients w.r.t. x, filter,
 * γ, β, including gradients reaching the mean / variance outputs) against the composite tfjs graph
 * on the cpu backend, over NB201's shapes (3×3 and 1×1, stride 1 and 2, the stem without ReLU,
 * 3/8/16/32 channels) and odd ones. The native addon must be built (it is at `npm install`).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { RELU_CONV_BN_TRAIN_GRAD_KERNEL, RELU_CONV_BN_TRAIN_KERNEL, Rng, initBackend } from '@metad2a/core';
import { reluConvBnTrain, reluConvBnTrainComposite, type ReluConvBnOptions } from '../src';

interface Case {
  readonly x: [number, number, number, number];
  readonly co: number;
  readonly k: number;
  readonly opts: ReluConvBnOptions;
}

const CASES: Case[] = [
  { x: [4, 16, 16, 8], co: 8, k: 3, opts: { stride: 1, pad: 1, relu: true, epsilon: 1e-5 } },
  { x: [3, 16, 16, 3], co: 8, k: 3, opts: { stride: 1, pad: 1, relu: false, epsilon: 1e-5 } },
  { x: [2, 16, 16, 8], co: 16, k: 3, opts: { stride: 2, pad: 1, relu: true, epsilon: 1e-5 } },
  { x: [2, 8, 8, 16], co: 16, k: 1, opts: { stride: 1, pad: 0, relu: true, epsilon: 1e-5 } },
  { x: [2, 4, 4, 32], co: 32, k: 3, opts: { stride: 1, pad: 1, relu: true, epsilon: 1e-5 } },
  { x: [1, 7, 5, 5], co: 7, k: 3, opts: { stride: 2, pad: 1, relu: true, epsilon: 1e-3 } },
];

/** y, mean, variance and the gradients w.r.t. x, filter, γ, β of Σ y·dy + Σ mean·dmean + Σ variance·dvariance. */
function run(c: Case, seed: number, op: typeof reluConvBnTrain): Float32Array[] {
  const rng = new Rng(seed);
  const randn = (n: number, scale = 1, shift = 0): Float32Array => Float32Array.from({ length: n }, () => shift + scale * rng.normal());
  const ci = c.x[3];
  const out = tf.tidy(() => {
    const x = tf.tensor4d(randn(c.x.reduce((a, b) => a * b, 1)), c.x);
    const filter = tf.tensor4d(randn(c.co * ci * c.k * c.k, 0.3), [c.co, ci, c.k, c.k]);
    const gamma = tf.tensor1d(randn(c.co, 0.5, 1));
    const beta = tf.tensor1d(randn(c.co));
    const first = op(x, filter, gamma, beta, c.opts);
    const dy = tf.tensor(randn(first.y.size), first.y.shape);
    const dmean = tf.tensor1d(randn(c.co));
    const dvariance = tf.tensor1d(randn(c.co));
    const grads = tf.grads((a: tf.Tensor, f: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const r = op(a as tf.Tensor4D, f as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, c.opts);
      return tf.addN([tf.sum(tf.mul(r.y, dy)), tf.sum(tf.mul(r.mean, dmean)), tf.sum(tf.mul(r.variance, dvariance))]) as tf.Scalar;
    })([x, filter, gamma, beta]);
    return [first.y, first.mean, first.variance, ...grads];
  });
  const vals = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return vals;
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dfilter', 'dgamma', 'dbeta'];

function expectClose(actual: Float32Array[], expected: Float32Array[], what: string, tol = 5e-5): void {
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect(a.length).toBe(e.length);
    let scale = 1e-6;
    let worst = 0;
    for (let j = 0; j < e.length; j++) scale = Math.max(scale, Math.abs(e[j]!));
    for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!));
    if (!(worst / scale <= tol)) throw new Error(`${what} ${NAMES[i]}: max relative error ${worst / scale}`);
  });
}

describe('reluConvBnTrain', () => {
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it('is the composite graph where the backend has no fused kernel (cpu)', async () => {
    await initBackend({ prefer: 'cpu' });
    expect(tf.getKernel(RELU_CONV_BN_TRAIN_KERNEL, 'cpu')).toBeUndefined();
    expect(run(CASES[0]!, 1, reluConvBnTrain)).toEqual(run(CASES[0]!, 1, reluConvBnTrainComposite));
  });

  it('native fused kernels match the cpu composite forward and gradients', async () => {
    await initBackend({ prefer: 'native' });
    expect(tf.getKernel(RELU_CONV_BN_TRAIN_KERNEL, 'native')).toBeDefined();
    expect(tf.getKernel(RELU_CONV_BN_TRAIN_GRAD_KERNEL, 'native')).toBeDefined();
    CASES.forEach((c, i) => {
      tf.setBackend('cpu');
      const expected = run(c, 10 + i, reluConvBnTrainComposite);
      tf.setBackend('native');
      const actual = run(c, 10 + i, reluConvBnTrain);
      expectClose(actual, expected, `x=${c.x} co=${c.co} k=${c.k} ${JSON.stringify(c.opts)}`);
    });
  });

  it('runs one forward and one gradient kernel and leaks no tensors', async () => {
    await initBackend({ prefer: 'native' });
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      run(CASES[0]!, 3, reluConvBnTrain);
    });
    expect(tf.memory().numTensors).toBe(before);
    const names = info.kernels.map((e) => e.name);
    expect(names.filter((n) => n === RELU_CONV_BN_TRAIN_KERNEL)).toHaveLength(2);
    expect(names.filter((n) => n === RELU_CONV_BN_TRAIN_GRAD_KERNEL)).toHaveLength(1);
    expect(names).not.toContain('Conv2D');
    expect(names).not.toContain('Transpose');
  });

  it('inputGradient: false gives the same filter / γ / β gradients without computing dx, and refuses a gradient w.r.t. x', async () => {
    await initBackend({ prefer: 'native' });
    // the stem case (relu false, 3 input channels) and an 8-channel ReLU case
    for (const c of [CASES[1]!, CASES[0]!]) {
      const rng = new Rng(21);
      const randn = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => scale * rng.normal());
      const [x, filter, gamma, beta, dy] = [
        tf.tensor4d(randn(c.x.reduce((a, b) => a * b, 1)), c.x),
        tf.tensor4d(randn(c.co * c.x[3] * c.k * c.k, 0.3), [c.co, c.x[3], c.k, c.k]),
        tf.tensor1d(randn(c.co, 0.5)),
        tf.tensor1d(randn(c.co)),
        tf.tensor4d(randn(c.x[0] * c.x[1] * c.x[2] * c.co), [c.x[0], c.x[1], c.x[2], c.co]),
      ];
      const gradsOf = (inputGradient: boolean): Float32Array[] => {
        const g = tf.grads((f: tf.Tensor, ga: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(reluConvBnTrain(x, f as tf.Tensor4D, ga as tf.Tensor1D, b as tf.Tensor1D, { ...c.opts, inputGradient }).y, dy)),
        )([filter, gamma, beta]);
        const vals = g.map((t) => t.dataSync().slice() as Float32Array);
        tf.dispose(g);
        return vals;
      };
      const before = tf.memory().numTensors;
      const info = await tf.profile(() => {
        gradsOf(false);
      });
      expect(tf.memory().numTensors).toBe(before);
      const grad = info.kernels.find((k) => k.name === RELU_CONV_BN_TRAIN_GRAD_KERNEL)!;
      expect(grad.outputShapes).toEqual([[c.co, c.x[3], c.k, c.k], [c.co], [c.co]]); // no dx
      const [without, withDx] = [gradsOf(false), gradsOf(true)];
      without.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(withDx[i]!.buffer))).toBe(true));
      expect(withDx[0]!.some((v) => v !== 0)).toBe(true);
      expect(() => tf.grads((a: tf.Tensor) => tf.sum(reluConvBnTrain(a as tf.Tensor4D, filter, gamma, beta, { ...c.opts, inputGradient: false }).y))([x])).toThrow(
        /inputGradient: false, so its input x has no gradient/,
      );
      tf.dispose([x, filter, gamma, beta, dy]);
    }
  });

  it("allocates no activation-sized zero gradients in the backward pass (the kernel's saved activations are not op outputs)", async () => {
    await initBackend({ prefer: 'native' });
    const c = CASES[0]!;
    const engine = tf.engine() as unknown as { makeTensor: (...a: unknown[]) => tf.Tensor };
    const zeroFilled: number[] = []; // sizes of the all-zero tensors made from host arrays
    const original = engine.makeTensor;
    engine.makeTensor = function (this: unknown, ...a: unknown[]) {
      const values = a[0];
      if (values instanceof Float32Array && values.every((v) => v === 0)) zeroFilled.push(values.length);
      return original.apply(this, a);
    };
    try {
      tf.tidy(() => {
        const x = tf.randomNormal(c.x) as tf.Tensor4D;
        const filter = tf.randomNormal([c.co, c.x[3], c.k, c.k]) as tf.Tensor4D;
        const [gamma, beta] = [tf.ones([c.co]) as tf.Tensor1D, tf.zeros([c.co]) as tf.Tensor1D];
        zeroFilled.length = 0;
        // only y reaches the loss: mean and variance get (8-element) zero gradients, nothing larger
        const [dx] = tf.grads((a: tf.Tensor) => tf.sum(reluConvBnTrain(a as tf.Tensor4D, filter, gamma, beta, c.opts).y))([x]);
        expect(dx!.shape).toEqual(c.x);
      });
    } finally {
      engine.makeTensor = original;
    }
    expect(zeroFilled.filter((n) => n > c.co)).toEqual([]);
  });
});
