/**
 * The native data-movement kernels (Slice, SplitV, Unpack, PadV2, Tile; `src/native/copy-kernels.ts`)
 * against the cpu backend, forward and gradient, on odd shapes, size-1 dims and every axis; and
 * checks that the strided path is taken (not the cpu fallback).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Rng } from '@metad2a/core';
import { NATIVE_BACKEND_NAME, loadAddon, registerNativeBackend } from '../src';
import { stridedGeometry } from '../src/native/copy-kernels';
import { onBackend, randn as randnFrom } from './backend-comparison';

const rng = new Rng(4321);
const randn = (n: number): Float32Array => randnFrom(rng, n);
const on = onBackend;

/** Same computation on cpu and native, forward outputs then gradients wrt every input; copies must agree exactly. */
function compare(what: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): void {
  const data = shapes.map((s) => randn(s.reduce((a, b) => a * b, 1)));
  const run = (backend: string): Float32Array[] =>
    on(backend, () => {
      const xs = shapes.map((s, i) => tf.tensor(data[i]!, s));
      const ys = [f(...xs)].flat();
      const rs = ys.map((y, i) => tf.randomUniform(y.shape, -1, 1, 'float32', 7 + i));
      const grads = tf.grads((...as: tf.Tensor[]) => tf.addN([f(...as)].flat().map((y, i) => tf.sum(tf.mul(y, rs[i]!)))))(xs);
      return [...ys, ...grads];
    });
  const a = run(NATIVE_BACKEND_NAME);
  const e = run('cpu');
  expect(a.length).toBe(e.length);
  a.forEach((x, i) => {
    expect(x.length).toBe(e[i]!.length);
    let worst = 0;
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - e[i]![j]!));
    if (worst > 1e-6) throw new Error(`${what} output ${i}: max |native - cpu| = ${worst}`);
  });
}

let strided: jest.SpyInstance;
beforeAll(() => {
  const r = registerNativeBackend();
  if (!r.ok) throw new Error(`native addon did not build or load — ${r.reason}`);
  const a = loadAddon();
  if (!a.ok) throw new Error(a.reason);
  strided = jest.spyOn(a.addon, 'stridedCopy');
});

describe('native copy kernels', () => {
  it('slice: contiguous and strided, every rank up to 5, size-1 dims', () => {
    strided.mockClear();
    compare('slice 2-D columns', [[7, 9]], (x) => tf.slice(x, [1, 2], [5, 4]));
    compare('slice 2-D rows', [[7, 9]], (x) => tf.slice(x, [3, 0], [2, 9]));
    compare('slice 3-D middle', [[5, 6, 7]], (x) => tf.slice(x, [0, 1, 0], [5, 3, 7]));
    compare('slice 3-D inner', [[5, 6, 7]], (x) => tf.slice(x, [1, 2, 3], [3, -1, 2]));
    compare('slice 4-D', [[3, 1, 4, 5]], (x) => tf.slice(x, [1, 0, 1, 2], [2, 1, 3, 3]));
    compare('slice 5-D', [[2, 3, 2, 3, 4]], (x) => tf.slice(x, [0, 1, 0, 1, 1], [2, 2, 2, 2, 3]));
    compare('slice empty', [[4, 5]], (x) => tf.slice(x, [1, 1], [0, 3]));
    expect(strided).toHaveBeenCalled();
  });

  it('split along every axis (equal parts and sizes with −1)', () => {
    strided.mockClear();
    for (const axis of [0, 1, 2]) {
      compare(`split 3 axis ${axis}`, [[6, 9, 3]], (x) => tf.split(x, 3, axis));
      compare(`split sizes axis ${axis}`, [[6, 9, 12]], (x) => tf.split(x, [1, -1, 2], axis));
    }
    expect(strided).toHaveBeenCalled();
  });

  it('unstack along every axis', () => {
    for (const axis of [0, 1, 2]) compare(`unstack axis ${axis}`, [[4, 5, 3]], (x) => tf.unstack(x, axis));
    compare('unstack 1-D', [[5]], (x) => tf.unstack(x));
  });

  it('pad with zeros and with a constant, every axis', () => {
    strided.mockClear();
    compare('pad 2-D', [[5, 7]], (x) =>
      tf.pad(x, [
        [1, 2],
        [0, 3],
      ]),
    );
    compare('pad 3-D const', [[3, 4, 5]], (x) =>
      tf.pad(
        x,
        [
          [0, 0],
          [2, 1],
          [1, 1],
        ],
        1.5,
      ),
    );
    compare('pad 1-D', [[9]], (x) => tf.pad(x, [[4, 0]]));
    compare('pad rows only', [[(512 % 13) + 3, 6]], (x) =>
      tf.pad(x, [
        [3, 2],
        [0, 0],
      ]),
    );
    expect(strided).toHaveBeenCalled();
  });

  it('tile: ranks 1–4, reps of 1, batch broadcast', () => {
    strided.mockClear();
    compare('tile 1-D', [[5]], (x) => tf.tile(x, [3]));
    compare('tile 2-D', [[3, 4]], (x) => tf.tile(x, [2, 3]));
    compare('tile seeds', [[1, 2, 6]], (x) => tf.tile(x, [7, 1, 1]));
    compare('tile 4-D', [[2, 1, 3, 2]], (x) => tf.tile(x, [1, 4, 2, 3]));
    expect(strided).toHaveBeenCalled();
  });

  it('geometry merges contiguous dims and drops size-1 dims', () => {
    // a whole-rows block of [4, 6] → one run of 24
    expect(Array.from(stridedGeometry([4, 6], [6, 1], [6, 1], 0, 0)!)).toEqual([1, 24, 1, 1, 0, 0]);
    expect(Array.from(stridedGeometry([1, 3, 1, 5], [40, 8, 8, 1], [15, 5, 5, 1], 2, 0)!)).toEqual([2, 3, 5, 8, 1, 5, 1, 2, 0]);
  });

  it('does not leak tensors', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([4, 6, 5]);
    const g = tf.grad((a: tf.Tensor) =>
      tf.addN([
        tf.sum(tf.slice(a, [1, 1, 1], [2, 3, 4])),
        ...tf.split(a, [2, 4], 1).map((t) => tf.sum(t)),
        tf.sum(
          tf.pad(a, [
            [1, 1],
            [0, 0],
            [2, 0],
          ]),
        ),
        tf.sum(tf.tile(a, [1, 2, 1])),
        ...tf.unstack(a, 2).map((t) => tf.sum(t)),
      ]),
    )(x);
    g.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects copies that would read or write out of bounds', () => {
    const a = loadAddon();
    if (!a.ok) throw new Error(a.reason);
    expect(() => a.addon.stridedCopy(new Float32Array(5), new Float32Array(10), Int32Array.from([1, 6, 1, 1, 0, 0]))).toThrow(/needs 6/);
    expect(() => a.addon.stridedCopy(new Float32Array(10), new Float32Array(5), Int32Array.from([1, 3, 1, 3, 0, 0]))).toThrow(/needs 7/);
  });
});
