/**
 * Reuse of native kernel output buffers (src/native/buffer-pool.ts): buffers come back after
 * dispose, are zeroed where a kernel relies on it, and never while user code or another tensor
 * can still see them.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { NATIVE_BACKEND_NAME, registerNativeBackend } from '../src';
import { BufferPool, outputBuffers, poolCapacity } from '../src/native/buffer-pool';

beforeAll(async () => {
  const r = registerNativeBackend();
  if (!r.ok) throw new Error(`native addon did not build or load — ${r.reason}`);
  await tf.setBackend(NATIVE_BACKEND_NAME);
});

describe('BufferPool', () => {
  it('recycles a released buffer for any request it holds up to twice over (views of exactly that length), zeroed on request, and leaves small ones to V8', () => {
    const pool = new BufferPool(1 << 20);
    expect(poolCapacity(5000)).toBe(5120); // 2^12 ≤ 5000 < 2^13: steps of 2^9
    expect(poolCapacity(5120)).toBe(5120);
    expect(poolCapacity(5121)).toBe(5632);
    expect(poolCapacity(4096)).toBe(4096);
    const a = pool.take(5000);
    expect(a.length).toBe(5000);
    pool.written(a);
    a.fill(3);
    pool.released(a);
    expect(pool.bytes).toBe(5120 * 4);
    const b = pool.take(5001); // same class: the same memory, a new view of 5001 floats
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(5001);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(pool.bytes).toBe(0);
    pool.written(b);
    pool.released(b);
    const c = pool.take(6000, false); // another class: fresh memory
    expect(c.buffer).not.toBe(a.buffer);
    pool.written(c);
    pool.released(c);
    const small = pool.take(100);
    pool.written(small);
    pool.released(small);
    expect(pool.bytes).toBe((5120 + 6144) * 4);
    expect(pool.reused).toBe(1);
    expect(pool.allocated).toBe(2);
    // the smallest free buffer that holds a request and is at most twice its size
    expect(pool.take(4500).buffer).toBe(a.buffer);
    expect(pool.take(4500).buffer).toBe(c.buffer);
    expect(pool.take(4500).buffer).not.toBe(a.buffer); // the pool is empty
    expect(pool.bytes).toBe(0);
    pool.released(c); // released before: not pooled a second time
    expect(pool.bytes).toBe(0);
  });

  it('keeps a buffer while another data id holds it, never recycles an escaped one, and makes room by dropping the oldest', () => {
    const pool = new BufferPool(48000);
    const a = pool.take(5000); // 20,480 bytes
    pool.written(a);
    pool.written(a); // two data ids share the array
    pool.released(a);
    expect(pool.bytes).toBe(0);
    pool.released(a);
    expect(pool.bytes).toBe(20480);
    pool.released(a); // a view released twice is not pooled twice
    expect(pool.bytes).toBe(20480);
    const e = pool.take(6000);
    pool.written(e);
    pool.escape(e);
    pool.released(e);
    expect(pool.bytes).toBe(20480);
    const c = pool.take(6000); // 24,576 bytes: 20,480 + 24,576 fits under 48,000
    pool.written(c);
    pool.released(c);
    expect(pool.bytes).toBe(20480 + 24576);
    const d = pool.take(7000); // 28,672 bytes: the oldest (a's) goes, then c's
    pool.written(d);
    pool.released(d);
    expect(pool.bytes).toBe(28672);
    const foreign = new Float32Array(8000); // not allocated by the pool
    pool.written(foreign);
    pool.released(foreign);
    expect(pool.bytes).toBe(28672);
    expect(pool.take(15000).buffer).not.toBe(d.buffer); // d's 7,168 floats cannot hold it
    expect(pool.take(5000).buffer).toBe(d.buffer); // 7,168 ≤ 2 × 5,000: reused
    expect(pool.bytes).toBe(0);
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

  it('kernels read and write views into larger recycled buffers correctly (shapes that vary between calls)', () => {
    const run = (rows: number): Float32Array => {
      const a = tf.randomNormal([rows, 64], 0, 1, 'float32', rows);
      const b = tf.randomNormal([64, 48], 0, 1, 'float32', 7);
      const y = tf.tidy(() => tf.sum(tf.relu(tf.matMul(tf.add(a, 1), b)), 1)); // every output from a pooled view
      const v = Float32Array.from(y.dataSync());
      tf.dispose([a, b, y]);
      return v;
    };
    const before = outputBuffers.reused;
    const got = [200, 190, 210, 185].map(run); // 200·64 = 12,800 floats and its neighbours share a size class
    expect(outputBuffers.reused).toBeGreaterThan(before);
    tf.setBackend('cpu');
    try {
      const want = [200, 190, 210, 185].map(run);
      got.forEach((g, i) => {
        expect(g.length).toBe(want[i]!.length);
        g.forEach((x, j) => expect(Math.abs(x - want[i]![j]!)).toBeLessThan(1e-3 * Math.max(1, Math.abs(want[i]![j]!))));
      });
    } finally {
      tf.setBackend(NATIVE_BACKEND_NAME);
    }
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
