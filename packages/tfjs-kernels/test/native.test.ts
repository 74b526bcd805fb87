/**
 * The native backend against the cpu backend: every replaced kernel, forward and gradient, on
 * random shapes (odd sizes, batch 1, transposes, strides 1/2, same/valid, 1×1…7×7, dilation).
 * The addon must build on any machine with g++ (CI has one): a missing addon FAILS this suite.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { spawnSync } from 'node:child_process';
import { Rng, initBackend } from '@metad2a/core';
import { NATIVE_BACKEND_NAME, addonPath, loadAddon, nativeInfo, registerNativeBackend } from '../src';
import { onBackend, randn as randnFrom } from './backend-comparison';

const rng = new Rng(1234);
const randn = (n: number): Float32Array => randnFrom(rng, n);
const on = onBackend;

function expectClose(actual: Float32Array[], expected: Float32Array[], what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect(a.length).toBe(e.length);
    let scale = 1e-6;
    for (let j = 0; j < e.length; j++) scale = Math.max(scale, Math.abs(e[j]!));
    let worst = 0;
    for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!));
    if (worst > 1e-5 * scale + 1e-6) throw new Error(`${what} output ${i}: max |native - cpu| = ${worst} (scale ${scale})`);
  });
}

/** Same computation on cpu and native (forward value(s) then gradients wrt every input). */
function compare(what: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): void {
  const data = shapes.map((s) => randn(s.reduce((a, b) => a * b, 1)));
  const run = (backend: string): Float32Array[] =>
    on(backend, () => {
      const xs = shapes.map((s, i) => tf.tensor(data[i]!, s));
      const y = f(...xs);
      const r = tf.randomUniform(y.shape, -1, 1, 'float32', 7); // same seed on both backends
      const grads = tf.grads((...as: tf.Tensor[]) => tf.sum(tf.mul(f(...as), r)))(xs);
      return [y, ...grads];
    });
  expectClose(run(NATIVE_BACKEND_NAME), run('cpu'), what);
}

beforeAll(() => {
  const r = registerNativeBackend();
  if (!r.ok) throw new Error(`native addon did not build or load — ${r.reason}`);
});

describe('native backend', () => {
  it('kernel threads that poll between calls (METAD2A_SPIN_US) give every call complete, identical results', () => {
    // A child process, so that the pool's threads and spin setting are its own. 400 back-to-back
    // convolutions (the pattern of a training step) on 2 threads: each result must equal the
    // 1-thread result bit for bit (each output is one thread's sum in a fixed order), so a chunk
    // skipped or run twice by a racing worker would show.
    const script = `
      const addon = require(${JSON.stringify(addonPath())});
      const geom = Int32Array.from([8, 16, 16, 8, 16, 16, 8, 3, 3, 1, 1, 1, 1, 1, 1]);
      const x = new Float32Array(8 * 16 * 16 * 8).map((_, i) => Math.sin(i * 0.37));
      const w = new Float32Array(3 * 3 * 8 * 8).map((_, i) => Math.cos(i * 0.11));
      const run = () => { const y = new Float32Array(x.length); addon.conv2d(x, w, y, geom); return y; };
      addon.setThreads(1);
      const ref = Buffer.from(run().buffer);
      addon.setThreads(2);
      let differ = 0;
      for (let i = 0; i < 400; i++) if (!Buffer.from(run().buffer).equals(ref)) differ++;
      console.log(JSON.stringify({ differ, info: addon.info() }));`;
    for (const spin of ['200', '0']) {
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, METAD2A_SPIN_US: spin } });
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout.trim()) as { differ: number; info: { threads: number; spinMicroseconds: number } };
      expect(out).toEqual({ differ: 0, info: expect.objectContaining({ threads: 2, spinMicroseconds: Number(spin) }) });
    }
  });

  it('is built and registered, and core initBackend picks it', async () => {
    expect(loadAddon().ok).toBe(true);
    expect(nativeInfo()!.threads).toBeGreaterThanOrEqual(1);
    // jest.preset.js turns the kernel threads' polling off for the test runs (see there)
    expect(nativeInfo()!.spinMicroseconds).toBe(Number(process.env.METAD2A_SPIN_US ?? 100));
    expect(nativeInfo()!.mallocTuned).toBe(process.platform === 'linux' && process.env.METAD2A_MALLOC_TUNE !== 'off');
    expect(nativeInfo()!.gemm).toMatch(/^(openblas|builtin-(avx512|avx2|generic))$/);
    const choice = await initBackend({ prefer: 'native' }); // importing the package registered it
    expect(choice.tfName).toBe('native');
    expect(tf.getBackend()).toBe('native');
    // every cpu kernel is available on native
    const cpu = tf
      .getKernelsForBackend('cpu')
      .map((k) => k.kernelName)
      .sort();
    const nat = new Set(tf.getKernelsForBackend(NATIVE_BACKEND_NAME).map((k) => k.kernelName));
    expect(cpu.filter((k) => !nat.has(k))).toEqual([]);
  });

  it('matMul / batchMatMul: transposes, odd sizes, batch broadcast', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[1, 1], [1, 1], false, false],
      [[7, 13], [13, 5], false, false],
      [[13, 7], [13, 5], true, false],
      [[7, 13], [5, 13], false, true],
      [[13, 7], [5, 13], true, true],
      [[70, 129], [129, 33], false, false],
      [[3, 17, 9], [3, 9, 31], false, false],
      [[2, 3, 5, 4], [2, 3, 4, 6], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      compare(`matMul ${sa}×${sb} tA=${ta} tB=${tb}`, [sa, sb], (a, b) => tf.matMul(a!, b!, ta, tb));
    }
    // batch broadcast (forward only: tfjs's own BatchMatMul gradient rejects broadcast batches)
    const [a, b] = [randn(3 * 9 * 17), randn(31 * 9)];
    const f = (): tf.Tensor => tf.matMul(tf.tensor3d(a, [3, 9, 17]), tf.tensor3d(b, [1, 31, 9]), true, true);
    expectClose(on(NATIVE_BACKEND_NAME, f), on('cpu', f), 'matMul broadcast batch');
    const [c, d] = [randn(200 * 64), randn(64 * 56)];
    const g = (): tf.Tensor => tf.matMul(tf.tensor3d(c, [1, 200, 64]), tf.tensor2d(d, [64, 56]));
    expectClose(on(NATIVE_BACKEND_NAME, g), on('cpu', g), 'matMul rank 3 × rank 2');
  });

  it('matMul on a large problem (multi-threaded path) matches cpu', () => {
    compare(
      'matMul 300×257×190',
      [
        [300, 257],
        [257, 190],
      ],
      (a, b) => tf.matMul(a!, b!),
    );
  });

  it('fused matMul with bias and activations', () => {
    for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const) {
      const data = [randn(9 * 11), randn(11 * 6), randn(6)];
      const f = (): tf.Tensor =>
        tf.fused.matMul({ a: tf.tensor(data[0]!, [9, 11]), b: tf.tensor(data[1]!, [11, 6]), bias: tf.tensor(data[2]!, [6]), activation, leakyreluAlpha: 0.3 });
      expectClose(on(NATIVE_BACKEND_NAME, f), on('cpu', f), `fused matMul ${activation}`);
    }
  });

  it('conv2d forward and both gradients: kernel sizes, strides, padding, odd shapes, batch 1', () => {
    const cases: { x: number[]; k: number; co: number; s: number | [number, number]; pad: 'same' | 'valid' }[] = [
      { x: [1, 5, 5, 1], k: 1, co: 1, s: 1, pad: 'valid' },
      { x: [2, 7, 6, 3], k: 1, co: 5, s: 1, pad: 'same' },
      { x: [2, 7, 6, 3], k: 1, co: 5, s: 2, pad: 'valid' },
      { x: [1, 9, 8, 4], k: 3, co: 6, s: 1, pad: 'same' },
      { x: [3, 9, 11, 5], k: 3, co: 7, s: 2, pad: 'same' },
      { x: [2, 10, 9, 3], k: 3, co: 4, s: 2, pad: 'valid' },
      { x: [2, 11, 11, 3], k: 5, co: 17, s: 1, pad: 'same' },
      { x: [1, 12, 13, 2], k: 5, co: 3, s: 2, pad: 'valid' },
      { x: [2, 15, 14, 3], k: 7, co: 8, s: 2, pad: 'same' },
      { x: [3, 8, 8, 16], k: 3, co: 33, s: 1, pad: 'same' },
      // direct convolution (Co, and for the input gradient C, multiples of the vector width): full
      // and partial pixel tiles, valid / same, stride 2, 1×1 stride 2, 5×5
      { x: [2, 9, 13, 16], k: 3, co: 16, s: 1, pad: 'same' },
      { x: [1, 7, 30, 32], k: 3, co: 32, s: 1, pad: 'valid' },
      { x: [3, 9, 11, 5], k: 3, co: 16, s: 2, pad: 'same' },
      { x: [1, 5, 25, 3], k: 1, co: 16, s: 2, pad: 'valid' },
      { x: [2, 6, 7, 16], k: 5, co: 48, s: 1, pad: 'same' },
      // half-width vectors (Co or C a multiple of 8 but not 16 on AVX-512: NB201's 8-channel stage,
      // tiles of up to 14 pixels, a row split evenly), mixed with full-width Co
      { x: [2, 16, 16, 8], k: 3, co: 8, s: 1, pad: 'same' },
      { x: [3, 16, 17, 3], k: 3, co: 8, s: 1, pad: 'same' },
      { x: [2, 9, 31, 8], k: 1, co: 24, s: 1, pad: 'valid' },
      { x: [2, 16, 16, 8], k: 3, co: 16, s: 2, pad: 'same' },
      { x: [1, 8, 8, 24], k: 3, co: 8, s: 1, pad: 'same' },
      // 1×1 stride 1 with ≤ 32 channels runs the direct kernel (NB201's nor_conv_1x1 and shortcut
      // convolutions); 40 channels the GEMM
      { x: [2, 16, 16, 8], k: 1, co: 8, s: 1, pad: 'same' },
      { x: [2, 8, 8, 8], k: 1, co: 16, s: 1, pad: 'valid' },
      // 8 → 8 channels, stride 1 (AVX-512: its own kernel, the input gradient too): odd widths (a
      // lone last pixel), valid padding, 5×5 (filter size at run time), a 1-pixel row
      { x: [2, 5, 13, 8], k: 3, co: 8, s: 1, pad: 'same' },
      { x: [1, 6, 9, 8], k: 3, co: 8, s: 1, pad: 'valid' },
      { x: [2, 7, 11, 8], k: 5, co: 8, s: 1, pad: 'same' },
      { x: [3, 4, 1, 8], k: 3, co: 8, s: 1, pad: 'same' },
      { x: [1, 3, 7, 8], k: 1, co: 8, s: 1, pad: 'valid' },
      { x: [2, 9, 12, 8], k: 3, co: 8, s: [2, 1], pad: 'same' },
      // rows of ≤ 8 pixels with 32 / 64 output channels (AVX-512: 2 vectors per tile)
      { x: [2, 4, 4, 32], k: 3, co: 32, s: 1, pad: 'same' },
      { x: [1, 6, 5, 16], k: 3, co: 64, s: 2, pad: 'same' },
      { x: [2, 3, 7, 32], k: 1, co: 32, s: 1, pad: 'valid' },
      { x: [3, 5, 7, 32], k: 1, co: 32, s: 1, pad: 'same' },
      { x: [2, 5, 7, 40], k: 1, co: 16, s: 1, pad: 'same' },
    ];
    for (const c of cases) {
      compare(`conv2d x=${c.x} k=${c.k} s=${c.s} ${c.pad}`, [c.x, [c.k, c.k, c.x[3]!, c.co]], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad));
    }
  });

  it('direct convolution: every sum is the same whatever the register tile (bit-identical; #24)', () => {
    // The direct kernels tile pixels × vectors of output channels (× input channels for the filter
    // gradient) by the channel counts and row widths; each output's sum must run over the same
    // terms in the same order in every tile, or trained bytes would depend on the shapes around
    // them. Here the same outputs come out of different tiles: channel slices (two vectors per
    // tile vs one), a cropped row (8 + 8 + 8 vs 7 + 6 pixels), 8 input channels (compile-time
    // count) vs the same plus a zero channel (run-time count). One exception: with AVX-512, 8 → 8
    // channels have their own kernels (pixel pairs × input-channel lanes; the forward sums over the
    // input channels in a tree, the filter gradient over the two pixels of a pair at the end): the
    // forward's sums are the same in every tile and in both halves of a pair (tested below), and
    // both equal the other kernels' to rounding only.
    const loaded = loadAddon();
    if (!loaded.ok) throw new Error(loaded.reason);
    const addon = loaded.addon;
    const own8x8 = addon.info().conv8x8;
    const geom = (n: number, h: number, w: number, c: number, co: number, k: number): Int32Array =>
      Int32Array.from([n, h, w, c, h, w, co, k, k, 1, 1, 1, 1, (k - 1) / 2, (k - 1) / 2]);
    const conv = (x: Float32Array, w: Float32Array, g: Int32Array): Float32Array => {
      const y = new Float32Array(g[0]! * g[4]! * g[5]! * g[6]!);
      addon.conv2d(x, w, y, g);
      return y;
    };
    const inputGrad = (dy: Float32Array, w: Float32Array, g: Int32Array): Float32Array => {
      const dx = new Float32Array(g[0]! * g[1]! * g[2]! * g[3]!);
      addon.conv2dBackpropInput(dy, w, dx, g);
      return dx;
    };
    const filterGrad = (x: Float32Array, dy: Float32Array, g: Int32Array): Float32Array => {
      const dw = new Float32Array(g[7]! * g[8]! * g[3]! * g[6]!);
      addon.conv2dBackpropFilter(x, dy, dw, g);
      return dw;
    };
    /** a[..., lo:hi) of an array whose last axis has `last` entries */
    const lastSlice = (a: Float32Array, last: number, lo: number, hi: number): Float32Array => {
      const out = new Float32Array((a.length / last) * (hi - lo));
      for (let i = 0, o = 0; i < a.length; i += last) for (let j = lo; j < hi; j++) out[o++] = a[i + j]!;
      return out;
    };
    /** x[:, :, 0:w1, :] of an NHWC array of width w */
    const crop = (a: Float32Array, rows: number, w: number, c: number, w1: number): Float32Array => {
      const out = new Float32Array(rows * w1 * c);
      for (let r = 0; r < rows; r++) out.set(a.subarray(r * w * c, (r * w + w1) * c), r * w1 * c);
      return out;
    };
    const same = (a: Float32Array, b: Float32Array, what: string): void => {
      if (!Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) throw new Error(`${what}: bytes differ`);
    };
    /** `same`, or equal to float rounding where one side ran the 8 → 8 kernel and the other did not */
    const sameUnless8x8 = (a: Float32Array, b: Float32Array, what: string, oneIs8x8: boolean): void => {
      if (!(own8x8 && oneIs8x8)) {
        same(a, b, what);
        return;
      }
      expectClose([a], [b], what);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(false); // the other kernel really ran
    };
    const [N, H, W, k] = [2, 9, 16, 3];
    for (const [c, co] of [
      [8, 32],
      [16, 16],
      [8, 16],
    ] as const) {
      const x = randn(N * H * W * c);
      const w = randn(k * k * c * co);
      const dy = randn(N * H * W * co);
      const g = geom(N, H, W, c, co, k);
      const y = conv(x, w, g);
      const dx = inputGrad(dy, w, g);
      const dw = filterGrad(x, dy, g);
      for (let lo = 0; lo < co; lo += 8) {
        const g8 = geom(N, H, W, c, 8, k);
        const w8 = lastSlice(w, co, lo, lo + 8);
        const dy8 = lastSlice(dy, co, lo, lo + 8);
        sameUnless8x8(conv(x, w8, g8), lastSlice(y, co, lo, lo + 8), `forward C ${c} Co ${co}, channels ${lo}+8 alone`, c === 8);
        sameUnless8x8(filterGrad(x, dy8, g8), lastSlice(dw, co, lo, lo + 8), `filter gradient C ${c} Co ${co}, channels ${lo}+8 alone`, c === 8);
      }
      for (let lo = 0; lo < c; lo += 8) {
        // input gradient: dx[..., lo:lo+8) from the filter's input channels lo..lo+8 alone
        const wIn = new Float32Array(k * k * 8 * co);
        for (let t = 0; t < k * k; t++) wIn.set(w.subarray((t * c + lo) * co, (t * c + lo + 8) * co), t * 8 * co);
        same(inputGrad(dy, wIn, geom(N, H, W, 8, co, k)), lastSlice(dx, c, lo, lo + 8), `input gradient C ${c} Co ${co}, channels ${lo}+8 alone`);
      }
      // a cropped row: output columns 0..11 of width 13 (tiles 7 + 6) as of width 16 (8 + 8)
      const x13 = crop(x, N * H, W, c, 13);
      same(crop(conv(x13, w, geom(N, H, 13, c, co, k)), N * H, 13, co, 12), crop(y, N * H, W, co, 12), `forward C ${c} Co ${co}, cropped row`);
    }
    // rows of ≤ 8 pixels (AVX-512: 2 vectors of output channels per tile when Co is a multiple of
    // 32) vs 16-channel slices (one vector per tile), forward and input gradient
    for (const co of [32, 64]) {
      const [n4, h4, w4, c4] = [3, 5, 4, 16];
      const x = randn(n4 * h4 * w4 * c4);
      const w = randn(k * k * c4 * co);
      const dy = randn(n4 * h4 * w4 * co);
      const y = conv(x, w, geom(n4, h4, w4, c4, co, k));
      for (let lo = 0; lo < co; lo += 16)
        same(conv(x, lastSlice(w, co, lo, lo + 16), geom(n4, h4, w4, c4, 16, k)), lastSlice(y, co, lo, lo + 16), `forward 4-pixel rows, Co ${co}, channels ${lo}+16 alone`);
      // input gradient with 32 input channels (its convolution has 32 outputs) vs 16 at a time
      const wIn = randn(k * k * 32 * co);
      const dx = inputGrad(dy, wIn, geom(n4, h4, w4, 32, co, k));
      for (let lo = 0; lo < 32; lo += 16) {
        const part = new Float32Array(k * k * 16 * co);
        for (let t = 0; t < k * k; t++) part.set(wIn.subarray((t * 32 + lo) * co, (t * 32 + lo + 16) * co), t * 16 * co);
        same(inputGrad(dy, part, geom(n4, h4, w4, 16, co, k)), lastSlice(dx, 32, lo, lo + 16), `input gradient 4-pixel rows, Co ${co}, channels ${lo}+16 alone`);
      }
    }
    // 8 input channels (compile-time count, one base pointer) vs the same plus a zero 9th channel
    const x8 = randn(N * H * W * 8);
    const w8 = randn(k * k * 8 * 8);
    const x9 = new Float32Array(N * H * W * 9);
    for (let p = 0; p < N * H * W; p++) x9.set(x8.subarray(p * 8, p * 8 + 8), p * 9);
    const w9 = new Float32Array(k * k * 9 * 8);
    for (let t = 0; t < k * k; t++) w9.set(w8.subarray(t * 64, t * 64 + 64), t * 72);
    sameUnless8x8(conv(x9, w9, geom(N, H, W, 9, 8, k)), conv(x8, w8, geom(N, H, W, 8, 8, k)), 'forward with a zero 9th input channel', true);
    // the 8 → 8 kernel: a cropped row (pairs 2+2+2+2 per tile vs 2+2+2 and a lone pixel) and every
    // pixel in the other half of its pair (the row shifted right by one column of zeros)
    const y8 = conv(x8, w8, geom(N, H, W, 8, 8, k));
    const x13 = crop(x8, N * H, W, 8, 13);
    same(crop(conv(x13, w8, geom(N, H, 13, 8, 8, k)), N * H, 13, 8, 12), crop(y8, N * H, W, 8, 12), 'forward 8 → 8, cropped row');
    const xShift = new Float32Array(N * H * (W + 1) * 8);
    for (let r = 0; r < N * H; r++) xShift.set(x8.subarray(r * W * 8, (r + 1) * W * 8), (r * (W + 1) + 1) * 8);
    const yShift = conv(xShift, w8, geom(N, H, W + 1, 8, 8, k));
    // output column j + 1 of the shifted row sums the taps of column j (its zero column adds 0 · w,
    // as the masked-off border pixel does), but in the other half of a pair
    const yBack = new Float32Array(y8.length);
    for (let r = 0; r < N * H; r++) yBack.set(yShift.subarray((r * (W + 1) + 1) * 8, (r + 1) * (W + 1) * 8), r * W * 8);
    same(yBack, y8, 'forward 8 → 8, every pixel in the other half of its pair');
  });

  it('conv2d with dilation and explicit padding (forward)', () => {
    const data = [randn(2 * 11 * 10 * 3), randn(3 * 3 * 3 * 4)];
    const f = (dil: number, pad: 'same' | [[0, 0], [1, 2], [0, 1], [0, 0]]) => (): tf.Tensor =>
      tf.conv2d(tf.tensor4d(data[0]!, [2, 11, 10, 3]), tf.tensor4d(data[1]!, [3, 3, 3, 4]), 1, pad, 'NHWC', dil);
    expectClose(on(NATIVE_BACKEND_NAME, f(2, 'same')), on('cpu', f(2, 'same')), 'conv2d dilation 2');
    const explicit: [[0, 0], [1, 2], [0, 1], [0, 0]] = [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ];
    expectClose(on(NATIVE_BACKEND_NAME, f(1, explicit)), on('cpu', f(1, explicit)), 'conv2d explicit pad');
    // asymmetric explicit padding through the direct convolution and its input gradient
    compare(
      'conv2d explicit pad, 16 channels',
      [
        [2, 11, 10, 16],
        [3, 3, 16, 16],
      ],
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, explicit),
    );
  });

  it('fused conv2d with bias and relu', () => {
    const data = [randn(2 * 8 * 8 * 3), randn(3 * 3 * 3 * 5), randn(5)];
    const f = (): tf.Tensor =>
      tf.fused.conv2d({
        x: tf.tensor4d(data[0]!, [2, 8, 8, 3]),
        filter: tf.tensor4d(data[1]!, [3, 3, 3, 5]),
        strides: 1,
        pad: 'same',
        bias: tf.tensor1d(data[2]!),
        activation: 'relu',
      });
    expectClose(on(NATIVE_BACKEND_NAME, f), on('cpu', f), 'fused conv2d relu');
  });

  it('depthwise conv2d forward and gradients (multiplier 1 and 2, strides, padding)', () => {
    const cases: { x: number[]; k: number; m: number; s: number; pad: 'same' | 'valid' }[] = [
      { x: [1, 7, 7, 3], k: 3, m: 1, s: 1, pad: 'same' },
      { x: [2, 9, 8, 4], k: 3, m: 2, s: 2, pad: 'same' },
      { x: [2, 11, 10, 5], k: 5, m: 1, s: 2, pad: 'valid' },
      { x: [1, 13, 13, 2], k: 7, m: 1, s: 1, pad: 'same' },
      { x: [2, 6, 6, 3], k: 1, m: 3, s: 1, pad: 'valid' },
    ];
    for (const c of cases) {
      compare(`depthwise x=${c.x} k=${c.k} m=${c.m} s=${c.s} ${c.pad}`, [c.x, [c.k, c.k, c.x[3]!, c.m]], (x, w) =>
        tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad),
      );
    }
  });

  // channel counts: scalar loops (3, 4, 12 is 8 + a rest) and the 8-lane blocks (8, 16: NB201's stages)
  it.each([3, 8, 12, 16])('avgPool forward (same/valid) and gradient (valid) match cpu, %i channels', (c) => {
    compare('avgPool 3x3 s1 valid', [[2, 7, 8, c]], (x) => tf.avgPool(x as tf.Tensor4D, 3, 1, 'valid'));
    compare('avgPool 2x2 s2 valid', [[1, 8, 9, c === 3 ? 4 : c]], (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'));
    for (const s of [1, 2]) {
      const data = randn(2 * 7 * 9 * c);
      const f = (): tf.Tensor => tf.avgPool(tf.tensor4d(data, [2, 7, 9, c]), 3, s as 1, 'same');
      expectClose(on(NATIVE_BACKEND_NAME, f), on('cpu', f), `avgPool 3x3 s${s} same`);
    }
  });

  it.each([3, 8, 12])('avgPool gradient with same padding is the exact adjoint of the forward (count excludes padding), %i channels', (c) => {
    // <avgPool(x), r> = <x, grad> for every x, r since avgPool is linear. tfjs-cpu's AvgPoolGrad
    // divides by the full window size instead, which is not the gradient of its own forward.
    for (const s of [1, 2]) {
      const [x, r] = [randn(2 * 7 * 9 * c), randn(2 * 7 * 9 * c)];
      const [y, g] = on(NATIVE_BACKEND_NAME, () => {
        const xt = tf.tensor4d(x, [2, 7, 9, c]);
        const pooled = tf.avgPool(xt, 3, s as 1, 'same');
        const rt = tf.tensor(r.subarray(0, pooled.size), pooled.shape);
        const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, 3, s as 1, 'same'), rt)))(xt);
        return [tf.sum(tf.mul(pooled, rt)), tf.sum(tf.mul(xt, grad))];
      });
      expect(Math.abs(y![0]! - g![0]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(y![0]!)));
    }
  });

  it('broadcasting binary ops (same shape, scalar, channel, outer, both sides) forward and gradient', () => {
    const pairs: [number[], number[]][] = [
      [
        [3, 5, 7],
        [3, 5, 7],
      ],
      [[4, 6, 5, 3], [3]],
      [[3], [4, 6, 5, 3]],
      [
        [4, 6, 5, 3],
        [1, 1, 1, 3],
      ],
      [
        [2, 3, 4],
        [2, 1, 4],
      ],
      [
        [2, 1, 4],
        [1, 3, 1],
      ],
      [[5, 4], []],
      [[], [5, 4]],
      [[1], [1]],
    ];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add],
      ['sub', tf.sub],
      ['mul', tf.mul],
      ['div', (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))],
      ['maximum', tf.maximum],
      ['minimum', tf.minimum],
      ['squaredDifference', tf.squaredDifference],
    ];
    for (const [sa, sb] of pairs) {
      for (const [name, op] of ops) {
        // tfjs's own Maximum/Minimum/SquaredDifference gradients do not reduce broadcast dims: forward only there
        if (['maximum', 'minimum', 'squaredDifference'].includes(name) && sa.join() !== sb.join()) {
          const [a, b] = [randn(sa.reduce((x, y) => x * y, 1)), randn(sb.reduce((x, y) => x * y, 1))];
          const f = (): tf.Tensor => op(tf.tensor(a, sa), tf.tensor(b, sb));
          expectClose(on(NATIVE_BACKEND_NAME, f), on('cpu', f), `${name} ${sa} ${sb}`);
        } else {
          compare(`${name} ${sa} ${sb}`, [sa, sb], op);
        }
      }
    }
  });

  it('unary ops forward and gradient', () => {
    const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['relu', tf.relu],
      ['relu6', (x) => tf.relu6(tf.mul(x, 4))],
      ['neg', tf.neg],
      ['square', tf.square],
      ['sqrt', (x) => tf.sqrt(tf.add(tf.abs(x), 0.1))],
      ['rsqrt', (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1))],
      ['exp', tf.exp],
      ['log', (x) => tf.log(tf.add(tf.abs(x), 0.1))],
      ['step', (x) => tf.step(x, 0.3)],
      ['sigmoid', tf.sigmoid],
      ['tanh', tf.tanh],
      ['softmax', (x) => tf.softmax(x)],
      ['transpose 201', (x) => tf.transpose(x, [2, 0, 1])],
      ['transpose 021', (x) => tf.transpose(x, [0, 2, 1])],
    ];
    for (const [name, op] of ops) compare(`${name}`, [[7, 33, 5]], op);
  });

  it("tfjs' FusedBatchNorm (inference) and ClipByValue run natively, bit-identical to cpu (a loaded Keras MobileNetV2's BN and ReLU6)", () => {
    const a = loadAddon();
    if (!a.ok) throw new Error(a.reason);
    const bn = jest.spyOn(a.addon, 'batchNormInfer');
    const clip = jest.spyOn(a.addon, 'clip');
    try {
      const C = 13;
      const x = randn(3 * 5 * 7 * C).map((v, i) => (i === 17 ? Number.NaN : v * 3));
      const [mean, offset, scale] = [randn(C), randn(C), randn(C)];
      const variance = randn(C).map((v) => v * v + 0.01);
      const cases: [string, () => tf.Tensor][] = [
        [
          'batchNorm (offset, scale, eps 1e-3)',
          () => tf.batchNorm(tf.tensor4d(x, [3, 5, 7, C]), tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(offset), tf.tensor1d(scale), 1e-3),
        ],
        ['batchNorm (no offset / scale, eps 0.1)', () => tf.batchNorm(tf.tensor2d(x, [105, C]), tf.tensor1d(mean), tf.tensor1d(variance), undefined, undefined, 0.1)],
        ['clipByValue (0, 6)', () => tf.clipByValue(tf.tensor1d(x), 0, 6)],
        ['clipByValue (-0.3, 0.7)', () => tf.clipByValue(tf.tensor2d(x, [105, C]), -0.3, 0.7)],
      ];
      for (const [what, f] of cases) {
        const [native] = on(NATIVE_BACKEND_NAME, f);
        const [cpu] = on('cpu', f);
        // bit-identical, NaN included (the case named in a failure)
        expect({ what, identical: Buffer.from(native!.buffer).equals(Buffer.from(cpu!.buffer)) }).toEqual({ what, identical: true });
        expect(Number.isNaN(native![17]!)).toBe(true);
      }
      expect(bn).toHaveBeenCalledTimes(2);
      expect(clip).toHaveBeenCalledTimes(2);
      // a per-element mean (not per channel) is left to the cpu kernel
      const whole = () => tf.batchNorm(tf.tensor2d(x, [105, C]), tf.tile(tf.tensor2d(mean, [1, C]), [105, 1]), tf.tile(tf.tensor2d(variance, [1, C]), [105, 1]));
      expect(on(NATIVE_BACKEND_NAME, whole)[0]).toEqual(on('cpu', whole)[0]);
      expect(bn).toHaveBeenCalledTimes(2);
    } finally {
      bn.mockRestore();
      clip.mockRestore();
    }
  });

  it('concat along every axis, several inputs, forward and gradient', () => {
    for (const axis of [0, 1, 2]) {
      const shapes = [
        [3, 4, 5],
        [3, 4, 5],
        [3, 4, 5],
      ].map((s, i) => s.map((n, d) => (d === axis ? n + i : n)));
      compare(`concat axis ${axis}`, shapes, (a, b, c) => tf.concat([a!, b!, c!], axis));
    }
    compare('concat 1-D', [[7], [1], [4]], (a, b, c) => tf.concat([a!, b!, c!]));
  });

  it('sum / mean / max over axes (contiguous and scattered, keepDims) forward and gradient', () => {
    const cases: [number[], number | number[], boolean][] = [
      [[6, 7, 5, 3], [0, 1, 2], false],
      [[6, 7, 5, 3], [1, 2], true],
      [[6, 7, 5, 3], 3, false],
      [[6, 7, 5, 3], [0, 2], false],
      [[6, 1, 5], [1], false],
      [[40000], 0, false],
      [[9, 11], [0, 1], true],
    ];
    for (const [shape, axis, keepDims] of cases) {
      compare(`sum ${shape} ${axis}`, [shape], (x) => tf.sum(x, axis, keepDims));
      compare(`mean ${shape} ${axis}`, [shape], (x) => tf.mean(x, axis, keepDims));
      compare(`max ${shape} ${axis}`, [shape], (x) => tf.max(x, axis, keepDims));
    }
  });

  it('does not leak tensors', () => {
    tf.setBackend(NATIVE_BACKEND_NAME);
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 8, 8, 3]);
    const w = tf.randomNormal([3, 3, 3, 4]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, w]);
    g.forEach((t) => t.dispose());
    tf.dispose([x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects wrong-sized arrays instead of reading out of bounds', () => {
    const addon = loadAddon();
    if (!addon.ok) throw new Error(addon.reason);
    expect(() => addon.addon.matmul(new Float32Array(3), new Float32Array(4), new Float32Array(4), 1, 0, 0, 2, 2, 2, false, false)).toThrow(/needs 4/);
    expect(() => addon.addon.conv2d(new Float32Array(3), new Float32Array(4), new Float32Array(4), new Int32Array(3))).toThrow(/15 integers/);
  });
});
