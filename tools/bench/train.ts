/**
 * `npm run bench:train -- [--json] [--backends native,wasm] [--steps N] [--skip-full] [--repeats 3]
 * [--torch-threads n] [--no-pytorch] [--configs full,reduced,nb201-db]`: training images/s of the
 * NB201 network (`TinyNetwork` of @metad2a/arch-trainer: SGD with Nesterov momentum 0.9, weight
 * decay 5e-4, BatchNorm in training mode, cross-entropy; random data):
 * - full: C=16, N=5, 32×32, batch 256, every edge nor_conv_3x3
 * - reduced: C=8, N=1, 16×16, batch 64, every edge nor_conv_3x3
 * - nb201-db: the meta-database recipe's network (C=8, N=2, 16×16, batch 32, one input channel),
 *   every edge nor_conv_3x3 (the costliest cell of its space)
 * per backend, two warm-up steps then timed steps (the database builder's `trainStep`: one
 * fused kernel per step on native). Then, when PyTorch is installed, the official
 * TinyNetwork (`reference/pytorch-tinynet.py`, its default threading unless `--torch-threads`)
 * and our default backend alternately `--repeats` times on both configs, in this run: medians,
 * ratios and the load average. Without PyTorch the `docs/official-cpu-anchors.md` figures are
 * printed instead (and said to be). The last `--json` line is one object with `backend`,
 * `full_img_s`, `reduced_img_s`, `pytorch` and `per_backend`. The machine may be shared: compare
 * only figures of one run. Never a test.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Rng, initBackend } from '@metad2a/core';
import { SGD } from '@metad2a/layers';
import { TinyNetwork, trainStep } from '@metad2a/arch-trainer';
import { anchorImgPerSec, machineLoad, median, runTorch, torchPython } from './reference/pytorch';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

interface Config {
  name: 'full' | 'reduced' | 'nb201-db';
  C: number;
  N: number;
  hw: number;
  inChannels: number;
  batch: number;
  steps: number;
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Images per second of `steps` timed SGD steps after two warm-up steps. */
function trainImgPerSec(cfg: Config): number {
  const rng = new Rng(0);
  const net = new TinyNetwork({ arch: ALL_CONV, C: cfg.C, N: cfg.N, numClasses: 10, inChannels: cfg.inChannels }, rng);
  const sgd = new SGD(net.store.entries(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const xData = new Float32Array(cfg.batch * cfg.hw * cfg.hw * cfg.inChannels);
  for (let i = 0; i < xData.length; i++) xData[i] = rng.normal();
  const labels = Int32Array.from({ length: cfg.batch }, () => rng.int(10));
  const x = tf.tensor4d(xData, [cfg.batch, cfg.hw, cfg.hw, cfg.inChannels]);
  const y = tf.tensor1d(labels, 'int32');
  // the database builder's step (one fused kernel on native after SGD's first step)
  const step = (): number => trainStep(net, sgd, x, y);
  // warm-up: the first step creates SGD's momentum buffers (through the tape), the second makes the fused step's plan
  step();
  step();
  const t0 = performance.now();
  for (let s = 0; s < cfg.steps; s++) step();
  const secs = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  sgd.dispose();
  net.dispose();
  return (cfg.batch * cfg.steps) / secs;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const steps = Number(arg(args, 'steps') ?? 3);
  const def = await initBackend({}); // the default backend (also registers training kernels)
  const backends = (arg(args, 'backends') ?? [def.tfName, ...['native', 'wasm'].filter((b) => b !== def.tfName)].join(',')).split(',');
  const wanted = (arg(args, 'configs') ?? 'full,reduced,nb201-db').split(',');
  const configs: Config[] = (
    [
      { name: 'full', C: 16, N: 5, hw: 32, inChannels: 3, batch: 256, steps: Math.max(1, Math.ceil(steps / 2)) },
      { name: 'reduced', C: 8, N: 1, hw: 16, inChannels: 3, batch: 64, steps: steps * 4 },
      { name: 'nb201-db', C: 8, N: 2, hw: 16, inChannels: 1, batch: 32, steps: steps * 8 },
    ] satisfies Config[]
  ).filter((c) => wanted.includes(c.name));
  const unknown = wanted.filter((w) => !['full', 'reduced', 'nb201-db'].includes(w));
  if (unknown.length > 0) throw new Error(`--configs: expected names among full, reduced, nb201-db, got ${unknown.join(', ')}`);
  const perBackend: Record<string, Record<string, number | string>> = {};
  for (const backend of backends) {
    try {
      await initBackend({ prefer: backend as 'native' });
    } catch (err) {
      perBackend[backend] = { error: (err as Error).message.split('\n')[0]! };
      continue;
    }
    perBackend[backend] = {};
    for (const cfg of configs) {
      if (cfg.name === 'full' && (args.includes('--skip-full') || backend === 'cpu')) continue;
      try {
        const ips = trainImgPerSec(cfg);
        perBackend[backend]![`${cfg.name}_img_s`] = Math.round(ips * 10) / 10;
        (json ? console.error : console.log)(
          `${backend.padEnd(7)} ${cfg.name.padEnd(8)} C=${cfg.C} N=${cfg.N} ${cfg.hw}x${cfg.hw} batch ${cfg.batch}: ${ips.toFixed(1)} img/s (${cfg.steps} steps)`,
        );
      } catch (err) {
        perBackend[backend]![`${cfg.name}_error`] = (err as Error).message.split('\n')[0]!;
        if (!json) console.log(`${backend.padEnd(7)} ${cfg.name.padEnd(8)} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  // side by side with the official PyTorch code, alternately, on our default backend
  const pytorch: Record<string, unknown> = {};
  const torchThreads = arg(args, 'torch-threads') === undefined ? undefined : Number(arg(args, 'torch-threads'));
  const repeats = Number(arg(args, 'repeats') ?? 3);
  if (!args.includes('--no-pytorch') && torchPython() !== null) {
    await initBackend({ prefer: def.tfName as 'native' });
    for (const cfg of configs) {
      if (cfg.name === 'full' && args.includes('--skip-full')) continue;
      const ours: number[] = [];
      const torch: number[] = [];
      const loads: number[][] = [];
      let threads = 0;
      for (let r = 0; r < repeats; r++) {
        loads.push(machineLoad().loadavg);
        const t = runTorch({
          mode: 'imgs',
          C: cfg.C,
          N: cfg.N,
          hw: cfg.hw,
          batch: cfg.batch,
          steps: cfg.steps,
          arch: ALL_CONV,
          classes: 10,
          repeats: 1,
          inChannels: cfg.inChannels,
          threads: torchThreads,
        });
        torch.push(t.img_s![0]!);
        threads = t.threads;
        ours.push(trainImgPerSec(cfg));
      }
      loads.push(machineLoad().loadavg);
      const row = {
        ours_img_s: Math.round(median(ours) * 10) / 10,
        pytorch_img_s: Math.round(median(torch) * 10) / 10,
        ratio: Math.round((median(ours) / median(torch)) * 100) / 100,
        pytorch_threads: threads,
        repeats,
        per_repeat: { ours: ours.map((v) => Math.round(v)), pytorch: torch.map((v) => Math.round(v)) },
        loadavg: loads,
      };
      pytorch[cfg.name] = row;
      (json ? console.error : console.log)(
        `${cfg.name.padEnd(8)} side by side (medians of ${repeats}): ours (${def.tfName}) ${row.ours_img_s} img/s, official PyTorch (${threads} thread(s)) ${row.pytorch_img_s} img/s: ${row.ratio}× (load ${JSON.stringify(loads.map((l) => l[0]))})`,
      );
    }
  } else {
    pytorch.note = 'PyTorch not installed: figures from docs/official-cpu-anchors.md (another run: compare with care)';
    pytorch.full = anchorImgPerSec('C=16, N=5, 32×32, batch 256, all-conv3×3 cell, training');
    pytorch.reduced = anchorImgPerSec('C=8, N=1, 16×16, batch 64, all-conv3×3 cell, training');
    pytorch['nb201-db'] = anchorImgPerSec('C=8, N=2, 16×16, batch 32, all-conv3×3 cell, training');
    (json ? console.error : console.log)(`official PyTorch (${pytorch.note}): full ${JSON.stringify(pytorch.full)}, reduced ${JSON.stringify(pytorch.reduced)}`);
  }
  const main = perBackend[def.tfName] ?? {};
  const summary = {
    benchmark: 'train',
    network: 'NB201 TinyNetwork, all nor_conv_3x3 cell, SGD nesterov, random data',
    backend: def.tfName,
    full_img_s: main.full_img_s ?? null,
    reduced_img_s: main.reduced_img_s ?? null,
    nb201_db_img_s: main['nb201-db_img_s'] ?? null,
    pytorch,
    loadavg: machineLoad().loadavg,
    note: 'shared machine: compare only figures of one run',
    per_backend: perBackend,
  };
  console.log(json ? JSON.stringify(summary) : `summary: ${JSON.stringify(summary)}`);
}
