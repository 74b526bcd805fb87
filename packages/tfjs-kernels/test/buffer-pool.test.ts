/**
 * Reuse of native kernel output buffers (src/native/buffer-pool.ts): buffers come back after
 * dispose, are zeroed where a kernel relies on it, and never while user code or another tensor
 * can still see them.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { NATIVE_BACKEND_NAME, registerNativeBackend } from '../src';
import { BufferPool, outputBuffers } from '../src/native/buffer-pool';

beforeAll(async () => {
  const r = registerNativeBackend();
  if (!r.ok) throw new Error(`native addon did not build or load — ${r.reason}`);
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

describe('BufferPool', () => {
  it('recycles a released buffer of the same length, zeroed on request, and leaves small ones to V8', () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.take(5000);
    pool.written(a);
    a.fill(3);
    pool.released(a);
    expect(pool.bytes).toBe(20000);
    const b = pool.take(5000);
    expect(b).toBe(a);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(pool.take(5001)).not.toBe(a);
    const small = pool.take(100);
    pool.written(small);
    pool.released(small);
    expect(pool.bytes).toBe(0);
  });

  it('keeps a buffer while another data id holds it, never recycles an escaped one, and respects the cap', () => {
    const pool = new BufferPool(30000);
    const a = pool.take(5000);
    pool.written(a);
    pool.written(a); // two data ids share the array
    pool.released(a);
    expect(pool.bytes).toBe(0);
    pool.released(a);
    expect(pool.bytes).toBe(20000);
    const e = pool.take(6000);
    pool.written(e);
    pool.escape(e);
    pool.released(e);
    expect(pool.bytes).toBe(20000);
    const c = pool.take(6000);
    pool.written(c);
    pool.released(c); // 20000 + 24000 > 30000: dropped
    expect(pool.bytes).toBe(20000);
    const foreign = new Float32Array(8000); // not allocated by the pool
    pool.written(foreign);
    pool.released(foreign);
    expect(pool.bytes).toBe(20000);
  });
});

describe('native backend with pooled outputs', () => {
  it('reuses kernel outputs after dispose', () => {
    const x = tf.randomNormal([100, 100]);
    tf.dispose(tf.add(x, 1));
    const before = outputBuffers.reused;
    tf.dispose(tf.add(x, 2));
    expect(outputBuffers.reused).toBeGreaterThan(before);
    x.dispose();
  });

  it('values read by dataSync stay intact after their tensor is disposed and more kernels run', () => {
    const x = tf.randomNormal([64, 100]);
    const y = tf.mul(x, 2);
    const seen = y.dataSync();
    const copy = Float32Array.from(seen);
    y.dispose();
    for (let i = 0; i < 5; i++) tf.dispose(tf.mul(x, 3 + i));
    expect(Array.from(seen)).toEqual(Array.from(copy));
    x.dispose();
  });

  it('pad outputs are zero around the copied block even from a recycled buffer', () => {
    const x = tf.ones([50, 90]);
    tf.dispose(tf.mul(tf.ones([60, 100]), 7)); // a 6000-float buffer full of 7s goes back to the pool
    const p = tf.pad(x, [
      [5, 5],
      [5, 5],
    ]);
    const v = p.dataSync();
    let sum = 0;
    for (const a of v) sum += a;
    expect(sum).toBe(50 * 90);
    tf.dispose([x, p]);
  });

  it('a training step gives the same gradients with and without recycled buffers', () => {
    const w = tf.variable(tf.randomNormal([70, 80], 0, 1, 'float32', 3));
    const xs = tf.randomNormal([90, 70], 0, 1, 'float32', 4);
    const step = (): Float32Array => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.matMul(xs, v)))))(w);
      const a = Float32Array.from(g.dataSync());
      g.dispose();
      return a;
    };
    const first = step();
    const second = step(); // now from recycled buffers
    expect(Array.from(second)).toEqual(Array.from(first));
    tf.dispose([w, xs]);
  });
});
