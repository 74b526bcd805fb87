/**
 * `npm run bench:meta-train -- [--steps N] [--backend cpu|wasm|native] [--model generator|predictor|both] [--json]`
 *
 * Seconds per meta-training step at the official NB201 shapes (spec §3.4–3.5): batch 32, each
 * item 20 classes × 20 samples × 512 features; generator hs = nz = 56, predictor hs = 512, nz = 56.
 * The step is the whole loop of `@metad2a/meta-trainer` (feature draws, forward, backward, Adam)
 * on an in-memory database with random features (timing does not depend on the values).
 * The first step (warm-up: kernel set-up, Adam slots) is reported separately.
 */
import { Rng, describeBackend, initBackend, modelSpecs, type BackendName } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { NB201_GRAPH_CONFIG, nb201 } from '@metad2a/search-spaces';
import { MetaDatabase, metaTrainGenerator, metaTrainPredictor, splitNormalisation, type TrainingEvent } from '@metad2a/meta-trainer';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export function benchDb(rng: Rng): MetaDatabase {
  const db = MetaDatabase.inMemory();
  db.addDataset({ name: 'random', source: 'random features (benchmark)', numClasses: 40, featureDim: 512 });
  db.addFeatureSet('random', { name: 'random', dim: 512, classes: Array.from({ length: 40 }, (_, c) => ({ label: `c${c}`, count: 25, data: rng.normalArray(25 * 512) })) });
  const ids: number[] = [];
  for (let t = 0; t < 64; t++) {
    const name = `task-${t}`;
    db.addTask({ name, dataset: 'random', classIds: rng.sampleIndices(40, 20) });
    ids.push(db.addRecord({ task: name, space: 'nb201', arch: nb201.format(nb201.sample(rng)), accuracy: 60 + 20 * rng.uniform(), metric: 'random', how: 'bench' }));
  }
  db.setSplit('bench', { train: ids.slice(0, 32 * 8), valid: [] });
  return db;
}

function stepTimes(events: TrainingEvent[]): number[] {
  const t = events.filter((e) => e.event === 'step' || e.event === 'start').map((e) => Date.parse(e.time));
  return t.slice(1).map((x, i) => (x - t[i]!) / 1000);
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const steps = Number(arg(args, 'steps') ?? 4);
  const backend = arg(args, 'backend') as BackendName | undefined;
  const which = arg(args, 'model') ?? 'both';
  const choice = await initBackend(backend ? { prefer: backend } : {});
  console.log(describeBackend(choice));
  const rng = new Rng(1);
  const db = benchDb(rng);
  const opts = { split: 'bench', epochs: 100, maxSteps: steps + 1, validate: false, progress: 'never' as const };
  const out: Record<string, unknown> = { backend: choice.name, batch: 32, classes: 20, perClass: 20, dim: 512 };
  if (which !== 'predictor') {
    const m = new GeneratorModel({ graphConfig: NB201_GRAPH_CONFIG, ...modelSpecs.get('nb201-official').generator, seed: 1 });
    const ev: TrainingEvent[] = [];
    metaTrainGenerator(db, m, { ...opts, pairs: { kind: 'all' }, onEvent: (e) => ev.push(e) });
    const t = stepTimes(ev);
    out.generator = { warmupS: t[0], stepS: t.slice(1), medianStepS: median(t.slice(1)) };
    console.log(
      `generator (hs 56): warm-up ${t[0]!.toFixed(2)} s, then ${t
        .slice(1)
        .map((x) => x.toFixed(2))
        .join(', ')} s/step (median ${median(t.slice(1)).toFixed(2)} s)`,
    );
    m.dispose();
  }
  if (which !== 'generator') {
    const m = new PredictorModel({
      graphConfig: NB201_GRAPH_CONFIG,
      ...modelSpecs.get('nb201-official').predictor,
      rng: new Rng(1),
      normalisation: splitNormalisation(db, 'bench'),
    });
    const ev: TrainingEvent[] = [];
    metaTrainPredictor(db, m, { ...opts, onEvent: (e) => ev.push(e) });
    const t = stepTimes(ev);
    out.predictor = { warmupS: t[0], stepS: t.slice(1), medianStepS: median(t.slice(1)) };
    console.log(
      `predictor (hs 512): warm-up ${t[0]!.toFixed(2)} s, then ${t
        .slice(1)
        .map((x) => x.toFixed(2))
        .join(', ')} s/step (median ${median(t.slice(1)).toFixed(2)} s)`,
    );
    m.dispose();
  }
  console.log('official PyTorch on this kind of CPU (docs/official-cpu-anchors.md): 0.63 s/step for each');
  if (args.includes('--json')) console.log(JSON.stringify(out));
  db.close();
}
