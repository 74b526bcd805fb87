/**
 * `npm run bench -- meta-train-profile [--model generator|predictor] [--backend native] [--steps N] [--top K] [--shapes]`
 *
 * Where a meta-training step's time goes (the same step as `bench:meta-train`): tfjs kernels
 * aggregated by name (or name and input shapes with `--shapes`), with calls per step and the
 * process CPU time spent inside each (CPU time, not wall time, so that a loaded machine inflates
 * it less; run with METAD2A_THREADS=1 for one thread's work), kernels and MB of kernel outputs per
 * step, then unprofiled steps: wall and CPU time per step and V8 garbage collections per step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PerformanceObserver } from 'node:perf_hooks';
import { Rng, initBackend, modelSpecs, type BackendName } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { NB201_GRAPH_CONFIG } from '@metad2a/search-spaces';
import { metaTrainGenerator, metaTrainPredictor, splitNormalisation } from '@metad2a/meta-trainer';
import { benchDb } from './meta-train';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const which = arg(args, 'model') ?? 'generator';
  const steps = Number(arg(args, 'steps') ?? 2);
  const top = Number(arg(args, 'top') ?? 25);
  await initBackend({ prefer: (arg(args, 'backend') ?? 'native') as BackendName });
  const backend = tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> };
  backend.time = async (f) => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return { kernelMs: (c.user + c.system) / 1000 };
  };
  const db = benchDb(new Rng(1));
  const opts = { split: 'bench', epochs: 100, validate: false, progress: 'never' as const };
  const model =
    which === 'generator'
      ? new GeneratorModel({ graphConfig: NB201_GRAPH_CONFIG, ...modelSpecs.get('nb201-official').generator, seed: 1 })
      : new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, ...modelSpecs.get('nb201-official').predictor, rng: new Rng(1), normalisation: splitNormalisation(db, 'bench') });
  const train = async (n: number): Promise<void> => {
    if (model instanceof GeneratorModel) await metaTrainGenerator(db, model, { ...opts, maxSteps: n, pairs: { kind: 'all' } });
    else await metaTrainPredictor(db, model, { ...opts, maxSteps: n });
  };
  await train(1); // warm-up: kernel set-up, Adam slots
  const info = await tf.profile(async () => {
    await train(steps);
  });
  const agg = new Map<string, { ms: number; n: number }>();
  let total = 0;
  let bytes = 0;
  for (const k of info.kernels) {
    const ms = (await k.kernelTimeMs) as number;
    const key = args.includes('--shapes') ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const a = agg.get(key) ?? { ms: 0, n: 0 };
    a.ms += ms;
    a.n += 1;
    agg.set(key, a);
    total += ms;
    bytes += (k.outputShapes ?? []).reduce((s: number, sh: number[]) => s + 4 * sh.reduce((x, y) => x * y, 1), 0);
  }
  console.log(
    `${which}: ${info.kernels.length / steps} kernels/step, ${(total / steps).toFixed(0)} ms CPU in kernels/step, ${(bytes / steps / 1e6).toFixed(0)} MB of kernel outputs/step (incl. reshapes and identities, which share data)`,
  );
  for (const [k, a] of [...agg.entries()].sort((x, y) => y[1].ms - x[1].ms).slice(0, top)) {
    console.log(`${(a.ms / steps).toFixed(1).padStart(8)} ms ${String(a.n / steps).padStart(7)} calls  ${k}`);
  }
  let gcMs = 0;
  let gcN = 0;
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gcMs += e.duration;
      gcN++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const n = 3;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await train(n); // n steps from a fresh run (includes its small set-up)
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  console.log(
    `unprofiled, ${n} steps: wall ${(wall / n).toFixed(0)} ms/step, CPU ${((c.user + c.system) / 1000 / n).toFixed(0)} ms/step, GC ${(gcMs / n).toFixed(0)} ms/step in ${(gcN / n).toFixed(1)} collections/step`,
  );
  model.dispose();
  db.close();
}
