/**
 * batchNormTrain: the composite gradient formula against tfjs autodiff (cpu), and the fused
 * native kernels (forward and gradient, through all three outputs) against the cpu composite on
 * random shapes. The native addon must be built (it is at `npm install`; CI has g++).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng, initBackend } from '@metad2a/core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, batchNormTrain, batchNormTrainComposite, batchNormTrainGradComposite } from '../src';

const EPS = 1e-5;

interface Case {
  readonly shape: number[];
  readonly x: Float32Array;
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly dy: Float32Array;
  readonly dmean: Float32Array;
  readonly dvariance: Float32Array;
}

function makeCase(rng: Rng, shape: number[], offset = 0): Case {
  const size = shape.reduce((a, b) => a * b, 1);
  const c = shape[shape.length - 1]!;
  const randn = (n: number, scale = 1, shift = 0): Float32Array => Float32Array.from({ length: n }, () => shift + scale * rng.normal());
  return { shape, x: randn(size, 2, offset), gamma: randn(c, 0.5, 1), beta: randn(c), dy: randn(size), dmean: randn(c), dvariance: randn(c) };
}

/** y, mean, variance and the gradients w.r.t. x, γ, β of Σ y·dy + Σ mean·dmean + Σ variance·dvariance. */
function run(k: Case, op: typeof batchNormTrain): Float32Array[] {
  const c = k.shape[k.shape.length - 1]!;
  const out = tf.tidy(() => {
    const x = tf.tensor(k.x, k.shape);
    const gamma = tf.tensor1d(k.gamma);
    const beta = tf.tensor1d(k.beta);
    const dy = tf.tensor(k.dy, k.shape);
    const dmean = tf.tensor1d(k.dmean);
    const dvariance = tf.tensor1d(k.dvariance);
    const { y, mean, variance } = op(x, gamma, beta, EPS);
    const loss = (a: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D): tf.Scalar => {
      const r = op(a, g, b, EPS);
      return tf.addN([tf.sum(tf.mul(r.y, dy)), tf.sum(tf.mul(r.mean, dmean)), tf.sum(tf.mul(r.variance, dvariance))]) as tf.Scalar;
    };
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => loss(a, g as tf.Tensor1D, b as tf.Tensor1D))([x, gamma, beta]);
    expect(mean.shape).toEqual([c]);
    expect(variance.shape).toEqual([c]);
    expect(y.shape).toEqual(k.shape);
    return [y, mean, variance, ...grads];
  });
  const vals = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return vals;
}

function maxRelError(a: Float32Array, e: Float32Array): number {
  expect(a.length).toBe(e.length);
  let scale = 1e-6;
  for (let j = 0; j < e.length; j++) scale = Math.max(scale, Math.abs(e[j]!));
  let worst = 0;
  for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!));
  return worst / scale;
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
function expectClose(actual: Float32Array[], expected: Float32Array[], what: string, tol = 2e-5): void {
  actual.forEach((a, i) => {
    const err = maxRelError(a, expected[i]!);
    if (!(err <= tol)) throw new Error(`${what} ${NAMES[i]}: max relative error ${err}`);
  });
}

// odd sizes, batch 1, one pixel, rank 2 and 4, several row blocks (more than 512 rows), an offset mean
const SHAPES: [number[], number][] = [
  [[1, 1, 1, 3], 0],
  [[1, 3, 5, 1], 0],
  [[2, 5, 3, 7], 0],
  [[3, 4, 4, 16], 5],
  [[9, 5], 0],
  [[7, 11, 9, 6], -3],
  [[16, 8, 8, 32], 0],
];

describe('batchNormTrain composite (cpu)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it('its gradient formula matches tfjs autodiff of the composite forward', () => {
    const rng = new Rng(7);
    for (const [shape, offset] of SHAPES) {
      const k = makeCase(rng, shape, offset);
      const auto = run(k, batchNormTrainComposite).slice(3);
      const formula = tf.tidy(() => {
        const { mean, variance } = batchNormTrainComposite(tf.tensor(k.x, shape), tf.tensor1d(k.gamma), tf.tensor1d(k.beta), EPS);
        return batchNormTrainGradComposite(
          tf.tensor(k.dy, shape),
          tf.tensor(k.x, shape),
          tf.tensor1d(k.gamma),
          mean,
          variance,
          tf.tensor1d(k.dmean),
          tf.tensor1d(k.dvariance),
          EPS,
        );
      });
      const vals = formula.map((t) => t.dataSync() as Float32Array);
      tf.dispose(formula);
      expectClose(vals, auto, `composite formula ${shape}`, 1e-4);
    }
  });

  it('is the composite graph on a backend without the fused kernel', () => {
    expect(tf.getKernel(BATCH_NORM_TRAIN, 'cpu')).toBeUndefined();
    const k = makeCase(new Rng(3), [2, 3, 3, 4]);
    expect(run(k, batchNormTrain)).toEqual(run(k, batchNormTrainComposite));
  });
});

describe('batchNormTrain fused native kernels', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'native' });
  });
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it('the native backend registers both kernels', () => {
    expect(tf.getKernel(BATCH_NORM_TRAIN, 'native')).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAIN_GRAD, 'native')).toBeDefined();
  });

  it('matches the cpu composite forward and gradient on random shapes', () => {
    const rng = new Rng(11);
    for (const [shape, offset] of SHAPES) {
      const k = makeCase(rng, shape, offset);
      tf.setBackend('cpu');
      const expected = run(k, batchNormTrainComposite);
      tf.setBackend('native');
      const actual = run(k, batchNormTrain);
      expectClose(actual, expected, `native ${shape}`);
    }
  });

  it('runs the fused kernels (one forward, one gradient) and leaks no tensors', async () => {
    tf.setBackend('native');
    const k = makeCase(new Rng(5), [4, 6, 6, 8]);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      run(k, batchNormTrain);
    });
    expect(tf.memory().numTensors).toBe(before);
    const names = info.kernels.map((e) => e.name);
    // `run` calls the op twice (outputs, and inside the gradient's loss) and differentiates once
    expect(names.filter((n) => n === BATCH_NORM_TRAIN)).toHaveLength(2);
    expect(names.filter((n) => n === BATCH_NORM_TRAIN_GRAD)).toHaveLength(1);
    expect(names).not.toContain('Mean');
  });
});
