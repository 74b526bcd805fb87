/**
 * `npm run bench:kernels -- [--json] [--backends native,wasm,cpu] [--quick]`: GFLOP/s of the hot
 * kernels per tfjs backend: GEMM (square 256/512/1024, and the meta-training shapes), conv2d 3×3
 * forward and both gradients at NB201 shapes (batch 64). Each figure is the median of several
 * timed runs after a warm-up; outputs are read outside tidy and disposed. The machine may be
 * shared: treat figures as ±30% and compare ratios from one run. Never a test.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { initBackend } from '@metad2a/core';
import { nativeInfo, registerNativeBackend, registerTrainingKernels } from '@metad2a/tfjs-kernels';

interface Row {
  backend: string;
  kernel: string;
  shape: string;
  ms: number;
  gflops: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Time `fn` (returns a tensor that is read and disposed): median ms over runs within a budget. */
function time(fn: () => tf.Tensor, budgetMs: number, maxRuns: number): number {
  const warm = fn();
  warm.dataSync();
  warm.dispose();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < 2 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    const y = fn();
    y.dataSync();
    times.push(performance.now() - t0);
    y.dispose();
  }
  return median(times);
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const backends = (arg(args, 'backends') ?? 'native,wasm,cpu').split(',');
  const native = registerNativeBackend();
  await initBackend({ prefer: 'wasm' }); // loads wasm + its training kernels
  registerTrainingKernels('wasm');
  const rows: Row[] = [];
  const log = (r: Row): void => {
    rows.push(r);
    if (!json) console.log(`${r.backend.padEnd(7)} ${r.kernel.padEnd(22)} ${r.shape.padEnd(28)} ${r.ms.toFixed(2).padStart(9)} ms ${r.gflops.toFixed(1).padStart(7)} GFLOP/s`);
  };
  if (!json) console.log(`native: ${native.ok ? JSON.stringify(nativeInfo()) : native.reason}`);
  for (const backend of backends) {
    if (backend === 'native' && !native.ok) continue;
    await tf.setBackend(backend);
    const slow = backend === 'cpu';
    const budget = slow ? 300 : quick ? 300 : 1000;
    const maxRuns = slow ? 3 : 50;
    const gemms: [number, number, number][] = slow
      ? [
          [256, 256, 256],
          [512, 512, 512],
        ]
      : [
          [256, 256, 256],
          [512, 512, 512],
          [1024, 1024, 1024],
          [200, 56, 512],
          [100, 168, 56],
        ];
    for (const [m, n, k] of gemms) {
      const a = tf.randomNormal([m, k]);
      const b = tf.randomNormal([k, n]);
      const ms = time(() => tf.matMul(a, b), budget, maxRuns);
      log({ backend, kernel: 'matMul', shape: `${m}x${k} · ${k}x${n}`, ms, gflops: (2 * m * n * k) / ms / 1e6 });
      tf.dispose([a, b]);
    }
    // NB201 conv shapes at batch 64: (H, C) = (32, 16), (16, 32), (8, 64)
    const convs: [number, number][] = slow
      ? [[16, 32]]
      : [
          [32, 16],
          [16, 32],
          [8, 64],
        ];
    for (const [h, c] of convs) {
      const batch = slow ? 8 : 64;
      const x = tf.randomNormal([batch, h, h, c]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, c, c]) as tf.Tensor4D;
      const dy = tf.randomNormal([batch, h, h, c]) as tf.Tensor4D;
      const flops = 2 * batch * h * h * c * c * 9;
      const shape = `${batch}x${h}x${h}x${c} k3 ${c}→${c}`;
      const fwd = time(() => tf.conv2d(x, w, 1, 'same'), budget, maxRuns);
      log({ backend, kernel: 'conv2d', shape, ms: fwd, gflops: flops / fwd / 1e6 });
      const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string };
      const bi = time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor, budget, maxRuns);
      log({ backend, kernel: 'conv2dBackpropInput', shape, ms: bi, gflops: flops / bi / 1e6 });
      if (!slow) {
        // (tfjs-cpu's filter gradient takes tens of seconds here)
        const bf = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor, budget, maxRuns);
        log({ backend, kernel: 'conv2dBackpropFilter', shape, ms: bf, gflops: flops / bf / 1e6 });
      }
      tf.dispose([x, w, dy]);
    }
  }
  const pick = (backend: string, kernel: string, shape: string): number | null =>
    rows.find((r) => r.backend === backend && r.kernel === kernel && r.shape === shape)?.gflops ?? null;
  const summary = {
    benchmark: 'kernels',
    native: native.ok ? nativeInfo() : { unavailable: native.reason },
    note: 'median of timed runs; shared 2-core machine, figures ±30%',
    gemm512_gflops: Object.fromEntries(backends.map((b) => [b, pick(b, 'matMul', '512x512 · 512x512')])),
    conv3x3_32x32x16_gflops: Object.fromEntries(backends.map((b) => [b, pick(b, 'conv2d', '64x32x32x16 k3 16→16')])),
    rows,
  };
  if (json) console.log(JSON.stringify(summary));
  else console.log(`GEMM 512 GFLOP/s: ${JSON.stringify(summary.gemm512_gflops)}`);
}
