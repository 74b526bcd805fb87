/**
 * TRAIN_STEP_KERNEL on the native backend against the same step written with tfjs ops on the cpu
 * backend (tf.variableGrads, BatchNorm from tf.moments, SGD with Nesterov momentum in float64):
 * loss, BatchNorm statistics and their counts, every parameter and momentum buffer after the
 * in-place update; and the refusals and errors of bad calls.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Rng, TRAIN_STEP_KERNEL, initBackend, type TrainProgram } from '@metad2a/core';
import { registerNativeBackend } from '../src';
import { shareGradientBuffers } from '../src/native/train-step';
import { randn } from './backend-comparison';

const EPS = 1e-5;
const SHAPES: Record<string, number[]> = { c1: [4, 3, 3, 3], g1: [4], b1: [4], c2: [4, 4, 3, 3], g2: [4], b2: [4], w: [3, 4], b: [3] };
const NAMES = Object.keys(SHAPES);
const SGD = { lr: 0.1, momentum: 0.9, nesterov: true };
const DECAY = NAMES.map((n) => (n === 'b' ? 0 : 5e-4));

// conv → BN → ReLU, a pooled branch added back, a stride-2 fused ReLU-conv-BN, spatial mean, linear
const PROGRAM: TrainProgram = {
  ops: [
    { op: 'conv', x: 0, y: 1, filter: 'c1', stride: 1, pad: 1 },
    { op: 'batchNorm', x: 1, y: 2, gamma: 'g1', beta: 'b1' },
    { op: 'relu', x: 2, y: 3 },
    { op: 'avgPool', x: 3, y: 4, size: 3, stride: 1, padding: 'same' },
    { op: 'add', a: 3, b: 4, y: 5 },
    { op: 'reluConvBn', x: 5, y: 6, filter: 'c2', gamma: 'g2', beta: 'b2', stride: 2, pad: 1, relu: true, inputGradient: true },
    { op: 'spatialMean', x: 6, y: 7 },
    { op: 'linear', x: 7, y: 8, weight: 'w', bias: 'b' },
  ],
  slots: 9,
  logits: 8,
  epsilon: EPS,
};

const rng = new Rng(77);
const X = randn(rng, 2 * 6 * 6 * 3);
const LABELS = Int32Array.from([2, 0]);
const PARAMS = NAMES.map((n) =>
  randn(
    rng,
    SHAPES[n]!.reduce((a, b) => a * b, 1),
  ).map((v) => (n.startsWith('g') ? 1 + 0.2 * v : 0.3 * v)),
);
const BUFS = NAMES.map((n) =>
  randn(
    rng,
    SHAPES[n]!.reduce((a, b) => a * b, 1),
  ).map((v) => 0.01 * v),
);

beforeAll(async () => {
  registerNativeBackend();
  await initBackend({ prefer: 'native' });
});
afterAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** The step with tfjs ops on cpu: loss, statistics, and parameters / buffers after SGD. */
function reference(): { loss: number; stats: Float32Array; params: Float64Array[]; bufs: Float64Array[] } {
  const active = tf.getBackend();
  tf.setBackend('cpu');
  try {
    const vars = NAMES.map((n, i) => tf.variable(tf.tensor(PARAMS[i]!, SHAPES[n]), true));
    const p = Object.fromEntries(NAMES.map((n, i) => [n, vars[i]!])) as Record<string, tf.Variable>;
    const stats: tf.Tensor[] = [];
    const bn = (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor): tf.Tensor4D => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      stats.push(tf.keep(mean), tf.keep(variance));
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), g), b) as tf.Tensor4D;
    };
    const conv = (x: tf.Tensor4D, f: tf.Tensor, stride: number): tf.Tensor4D =>
      tf.conv2d(x, tf.transpose(f, [2, 3, 1, 0]) as tf.Tensor4D, stride, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
    const { value, grads } = tf.variableGrads(() => {
      const x = tf.tensor4d(X, [2, 6, 6, 3]);
      const h3 = tf.relu(bn(conv(x, p.c1!, 1), p.g1!, p.b1!));
      // 'same' average pooling over the pixels inside the image, written with a 'valid' pool of the
      // zero-padded input so that its gradient is that of the forward (tfjs-cpu's own AvgPoolGrad
      // divides by 9 at the border too; this package's exact one is not set up on cpu here)
      const padded = (t: tf.Tensor4D): tf.Tensor4D =>
        tf.pad(t, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
      const inside = tf.mul(tf.avgPool(padded(tf.ones([1, 6, 6, 1])), 3, 1, 'valid'), 9);
      const h5 = tf.add(h3, tf.div(tf.mul(tf.avgPool(padded(h3), 3, 1, 'valid'), 9), inside)) as tf.Tensor4D;
      const h6 = bn(conv(tf.relu(h5), p.c2!, 2), p.g2!, p.b2!);
      const logits = tf.add(tf.matMul(tf.mean(h6, [1, 2]) as tf.Tensor2D, p.w as tf.Tensor2D, false, true), p.b!) as tf.Tensor2D;
      const onehot = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3);
      return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    }, vars);
    const params: Float64Array[] = [];
    const bufs: Float64Array[] = [];
    NAMES.forEach((_, i) => {
      const g = grads[vars[i]!.name]!.dataSync();
      const pv = Float64Array.from(PARAMS[i]!);
      const bv = Float64Array.from(BUFS[i]!);
      for (let k = 0; k < pv.length; k++) {
        const gd = g[k]! + DECAY[i]! * pv[k]!;
        bv[k] = SGD.momentum * bv[k]! + gd;
        pv[k] = pv[k]! - SGD.lr * (gd + SGD.momentum * bv[k]!);
      }
      params.push(pv);
      bufs.push(bv);
    });
    const flat = Float32Array.from(stats.flatMap((t) => Array.from(t.dataSync())));
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads), ...vars, ...stats]);
    return { loss, stats: flat, params, bufs };
  } finally {
    tf.setBackend(active);
  }
}

/** Tensors whose storage a native kernel made and no one else sees (what an in-place update needs). */
const kernelMade = (data: Float32Array, shape: number[]): tf.Tensor => tf.tidy(() => tf.mul(tf.tensor(data, shape), 1));

function runStep(program: TrainProgram, opts: { withoutBuf?: string } = {}): { out: tf.Tensor[]; params: tf.Tensor[]; bufs: (tf.Tensor | undefined)[] } {
  const params = NAMES.map((n, i) => kernelMade(PARAMS[i]!, SHAPES[n]!));
  const bufs = NAMES.map((n, i) => (n === opts.withoutBuf ? undefined : kernelMade(BUFS[i]!, SHAPES[n]!)));
  const inputs: Record<string, tf.Tensor> = { x: tf.tensor4d(X, [2, 6, 6, 3]), labels: tf.tensor1d(LABELS, 'int32') };
  NAMES.forEach((_, i) => {
    inputs[`param${i}`] = params[i]!;
    if (bufs[i]) inputs[`buf${i}`] = bufs[i]!;
  });
  const attrs = { program, params: NAMES, ...SGD, weightDecay: DECAY } as unknown as tf.NamedAttrMap;
  try {
    const out = tf.engine().runKernel(TRAIN_STEP_KERNEL, inputs, attrs) as tf.Tensor[];
    return { out, params, bufs };
  } finally {
    tf.dispose([inputs.x!, inputs.labels!]);
  }
}

function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= 2e-5 * scale)) throw new Error(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (scale ${scale})`);
  }
}

describe('TRAIN_STEP_KERNEL (native)', () => {
  it('gives the tfjs-ops step on cpu: loss, BatchNorm statistics and counts, parameters and momentum after SGD in place', () => {
    const expected = reference();
    const before = tf.memory().numTensors;
    const { out, params, bufs } = runStep(PROGRAM);
    expect(out.length).toBe(3);
    const [loss, stats, counts] = out as [tf.Tensor, tf.Tensor, tf.Tensor];
    expect(loss.shape).toEqual([]);
    expect(Math.abs(loss.dataSync()[0]! - expected.loss)).toBeLessThan(1e-5);
    expectNear(stats.dataSync(), expected.stats, 'statistics');
    expect(counts.dtype).toBe('int32');
    expect(Array.from(counts.dataSync())).toEqual([2 * 6 * 6, 2 * 3 * 3]);
    NAMES.forEach((n, i) => {
      expectNear(params[i]!.dataSync(), expected.params[i]!, `param ${n}`);
      expectNear(bufs[i]!.dataSync(), expected.bufs[i]!, `buf ${n}`);
    });
    tf.dispose([...out, ...params, ...bufs.filter((b): b is tf.Tensor => b !== undefined)]);
    expect(tf.memory().numTensors).toBe(before); // the kernel keeps no tensor
  });

  it('changes nothing and returns no outputs when a parameter it would update has no momentum buffer', () => {
    const { out, params, bufs } = runStep(PROGRAM, { withoutBuf: 'g2' });
    expect(out).toEqual([]);
    PARAMS.forEach((p, i) => expect(Array.from(params[i]!.dataSync())).toEqual(Array.from(p)));
    tf.dispose([...params, ...bufs.filter((b): b is tf.Tensor => b !== undefined)]);
  });

  it('refuses a label outside the classes before any work', () => {
    const params = NAMES.map((n, i) => kernelMade(PARAMS[i]!, SHAPES[n]!));
    const bufs = NAMES.map((n, i) => kernelMade(BUFS[i]!, SHAPES[n]!));
    const inputs: Record<string, tf.Tensor> = { x: tf.tensor4d(X, [2, 6, 6, 3]), labels: tf.tensor1d([2, 3], 'int32') };
    NAMES.forEach((_, i) => {
      inputs[`param${i}`] = params[i]!;
      inputs[`buf${i}`] = bufs[i]!;
    });
    const attrs = { program: PROGRAM, params: NAMES, ...SGD, weightDecay: DECAY } as unknown as tf.NamedAttrMap;
    expect(() => tf.engine().runKernel(TRAIN_STEP_KERNEL, inputs, attrs)).toThrow(/label 3 of row 1 is outside 0 … 2/);
    PARAMS.forEach((p, i) => expect(Array.from(params[i]!.dataSync())).toEqual(Array.from(p)));
    tf.dispose([...params, ...bufs, inputs.x!, inputs.labels!]);
  });

  it('names the op and field of a program it cannot run', () => {
    const bad =
      (ops: TrainProgram['ops'], extra: Partial<TrainProgram> = {}): (() => void) =>
      () => {
        const before = tf.memory().numTensors;
        try {
          runStep({ ...PROGRAM, ops, ...extra });
        } finally {
          tf.disposeVariables();
          expect(tf.memory().numTensors - before).toBe(NAMES.length * 2); // runStep's params and bufs, left to the test's end
        }
      };
    const ops = PROGRAM.ops;
    expect(bad([{ ...ops[0]!, filter: 'nope' } as TrainProgram['ops'][number], ...ops.slice(1)])).toThrow(/op 0 filter: parameter 'nope' is not among the step's params/);
    expect(bad([ops[0]!, { op: 'batchNorm', x: 5, y: 2, gamma: 'g1', beta: 'b1' }, ...ops.slice(2)])).toThrow(/op 1 x: slot 5 is not written before it/);
    expect(bad([ops[0]!, { op: 'batchNorm', x: 1, y: 2, gamma: 'g2', beta: 'w' }, ...ops.slice(2)])).toThrow(/op 1 beta: 'w' has shape \[3,4\], expected \[4\]/);
    expect(bad([ops[0]!, { op: 'batchNorm', x: 1, y: 1, gamma: 'g1', beta: 'b1' }, ...ops.slice(2)])).toThrow(/op 1 y: slot 1 is not a new slot/);
    expect(bad(ops, { logits: 6 })).toThrow(/logits slot 6 is not a \[B, classes\] slot/);
    expect(bad([ops[0]!, ops[1]!, ops[2]!, ops[3]!, ops[4]!, { ...(ops[5] as object), gamma: 'g1' } as TrainProgram['ops'][number], ...ops.slice(6)])).toThrow(
      /op 5 gamma: parameter 'g1' is op 1's too \(one op per parameter\)/,
    );
    expect(bad([{ ...ops[0]!, stride: 0 } as TrainProgram['ops'][number], ...ops.slice(1)])).toThrow(/op 0 stride: expected an integer ≥ 1, got 0/);
  });

  it("shares gradient arrays between slots whose gradients are never alive at once, never between an op's output and input", () => {
    // x → relu ×6 (same shape) → spatialMean → linear: slot k's gradient is written by op k's backward step and read by op k−1's
    const chain: TrainProgram = {
      ops: [...Array.from({ length: 6 }, (_, i) => ({ op: 'relu' as const, x: i, y: i + 1 })), { op: 'spatialMean', x: 6, y: 7 }, { op: 'linear', x: 7, y: 8, weight: 'w' }],
      slots: 9,
      logits: 8,
      epsilon: EPS,
    };
    const needs = [false, true, true, true, true, true, true, true, true];
    const sizes = [0, 48, 48, 48, 48, 48, 48, 8, 6];
    const grads = shareGradientBuffers(chain, needs, sizes);
    expect(grads[0]).toBeNull();
    const relus = grads.slice(1, 7) as Float32Array[];
    expect(new Set(relus).size).toBe(2); // alternating: each op reads one and writes the other
    for (let k = 1; k < relus.length; k++) expect(relus[k]).not.toBe(relus[k - 1]);
    expect(relus.every((g) => g.length === 48)).toBe(true);
    expect([grads[7]!.length, grads[8]!.length]).toEqual([8, 6]);
    // slot 1, read by the second relu and again by the add, stays alive from the add's backward step to the first relu's
    const fork: TrainProgram = {
      ops: [
        { op: 'relu', x: 0, y: 1 },
        { op: 'relu', x: 1, y: 2 },
        { op: 'relu', x: 2, y: 3 },
        { op: 'add', a: 1, b: 3, y: 4 },
        { op: 'spatialMean', x: 4, y: 5 },
        { op: 'linear', x: 5, y: 6, weight: 'w' },
      ],
      slots: 7,
      logits: 6,
      epsilon: EPS,
    };
    const g = shareGradientBuffers(fork, [false, true, true, true, true, true, true], [0, 48, 48, 48, 48, 8, 6]);
    // so it overlaps slots 2, 3 and 4
    for (const other of [2, 3, 4]) expect(g[1]).not.toBe(g[other]);
  });
});
