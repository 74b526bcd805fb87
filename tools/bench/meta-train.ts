/**
 * `npm run bench:meta-train -- [--steps N] [--backend cpu|wasm|native] [--model generator|predictor|both] [--space nb201|mbv3|both] [--json]`
 *
 * Seconds per meta-training step at the official shapes, generator hs = nz = 56, predictor
 * hs = 512, nz = 56:
 * - NB201 (spec §3.4–3.5): batch 32, each item 20 classes × 20 samples × 512 features.
 * - MBv3 (spec §4.4–4.5): each item an episode of way = 10·(U+1) classes, U uniform on 0..98
 *   (10..990 classes, mean 500) × 20 samples × 512 features, 22-vertex OFA graphs; the predictor
 *   takes one Adam step per 32 records (items of different way encoded separately), the
 *   generator one step per record (the official loop: batch 1).
 * The step is the whole loop of `@metad2a/meta-trainer` (feature draws, forward, backward, Adam)
 * on an in-memory database with random features (timing does not depend on the values).
 * The first step (warm-up: kernel set-up, Adam slots) is reported separately. `--space` defaults
 * to nb201 (the MBv3 predictor step takes tens of seconds).
 */
import { Rng, describeBackend, initBackend, modelSpecs, type BackendName, type GraphConfig } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { MBV3_GRAPH_CONFIG, NB201_GRAPH_CONFIG, mbv3, nb201 } from '@metad2a/search-spaces';
import { MetaDatabase, metaTrainGenerator, metaTrainPredictor, splitNormalisation, type TrainingEvent } from '@metad2a/meta-trainer';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export function benchDb(rng: Rng): MetaDatabase {
  const db = MetaDatabase.inMemory();
  const dim = modelSpecs.get('nb201-official').generator.inputDim;
  db.addDataset({ name: 'random', source: 'random features (benchmark)', numClasses: 40, featureDim: dim });
  db.addFeatureSet('random', { name: 'random', dim, classes: Array.from({ length: 40 }, (_, c) => ({ label: `c${c}`, count: 25, data: rng.normalArray(25 * dim) })) });
  const ids: number[] = [];
  for (let t = 0; t < 64; t++) {
    const name = `task-${t}`;
    db.addTask({ name, dataset: 'random', classIds: rng.sampleIndices(40, 20) });
    ids.push(db.addRecord({ task: name, space: 'nb201', arch: nb201.format(nb201.sample(rng)), accuracy: 60 + 20 * rng.uniform(), metric: 'random', how: 'bench' }));
  }
  db.setSplit('bench', { train: ids.slice(0, 32 * 8), valid: [] });
  return db;
}

/** 64 MBv3 episodes over 1,000 random classes (20 rows each), way = 10·(U+1) as the official database (spec §4.3). */
export function benchMbv3Db(rng: Rng): MetaDatabase {
  const db = MetaDatabase.inMemory();
  const dim = modelSpecs.get('mbv3-official').generator.inputDim;
  db.addDataset({ name: 'random-1000', source: 'random features (benchmark)', numClasses: 1000, featureDim: dim });
  db.addFeatureSet('random-1000', {
    name: 'random-1000',
    dim,
    classes: Array.from({ length: 1000 }, (_, c) => ({ label: `c${c}`, count: 20, data: rng.normalArray(20 * dim) })),
  });
  const ids: number[] = [];
  for (let t = 0; t < 64; t++) {
    const name = `episode-${t}`;
    const way = 10 * (rng.int(99) + 1);
    db.addTask({ name, dataset: 'random-1000', classIds: rng.sampleIndices(1000, way).sort((a, b) => a - b) });
    ids.push(db.addRecord({ task: name, space: 'mbv3', arch: mbv3.format(mbv3.sample(rng)), accuracy: 60 + 20 * rng.uniform(), metric: 'random', how: 'bench' }));
  }
  db.setSplit('bench', { train: ids, valid: [] });
  return db;
}

function stepTimes(events: TrainingEvent[]): number[] {
  const t = events.filter((e) => e.event === 'step' || e.event === 'start').map((e) => Date.parse(e.time));
  return t.slice(1).map((x, i) => (x - t[i]!) / 1000);
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

interface StepTiming {
  readonly warmupS: number;
  readonly stepS: number[];
  readonly medianStepS: number;
}

function timing(events: TrainingEvent[], label: string): StepTiming {
  const t = stepTimes(events);
  const steps = t.slice(1);
  console.log(`${label}: warm-up ${t[0]!.toFixed(2)} s, then ${steps.map((x) => x.toFixed(2)).join(', ')} s/step (median ${median(steps).toFixed(2)} s)`);
  return { warmupS: t[0]!, stepS: steps, medianStepS: median(steps) };
}

export async function run(args: string[]): Promise<void> {
  const steps = Number(arg(args, 'steps') ?? 4);
  const backend = arg(args, 'backend') as BackendName | undefined;
  const which = arg(args, 'model') ?? 'both';
  const spaces = (arg(args, 'space') ?? 'nb201') === 'both' ? ['nb201', 'mbv3'] : [arg(args, 'space') ?? 'nb201'];
  for (const sp of spaces) if (sp !== 'nb201' && sp !== 'mbv3') throw new Error(`--space: expected nb201, mbv3 or both, got ${sp}`);
  const choice = await initBackend(backend ? { prefer: backend } : {});
  console.log(describeBackend(choice));
  const rng = new Rng(1);
  const opts = { split: 'bench', epochs: 100, maxSteps: steps + 1, validate: false, progress: 'never' as const };
  const official = modelSpecs.get('nb201-official');
  const out: Record<string, unknown> = { backend: choice.name, batch: 32, classes: 20, perClass: 20, dim: official.generator.inputDim };
  // one space: its database, the official sizes, the generator's batch (MBv3: one Adam step per record)
  const timeSpace = async (db: MetaDatabase, graphConfig: GraphConfig, label: string, generatorBatch: number): Promise<Record<string, unknown>> => {
    const r: Record<string, unknown> = {};
    if (which !== 'predictor') {
      const m = new GeneratorModel({ graphConfig, ...official.generator, seed: 1 });
      const ev: TrainingEvent[] = [];
      const maxSteps = generatorBatch === 1 ? 4 * steps + 1 : steps + 1;
      await metaTrainGenerator(db, m, { ...opts, batchSize: generatorBatch, maxSteps, pairs: { kind: 'all' }, onEvent: (e) => ev.push(e) });
      r.generator = timing(ev, `${label} generator (hs ${official.generator.hs}), batch ${generatorBatch}`);
      m.dispose();
    }
    if (which !== 'generator') {
      const m = new PredictorModel({ graphConfig, ...official.predictor, rng: new Rng(1), normalisation: splitNormalisation(db, 'bench') });
      const ev: TrainingEvent[] = [];
      await metaTrainPredictor(db, m, { ...opts, onEvent: (e) => ev.push(e) });
      r.predictor = timing(ev, `${label} predictor (hs ${official.predictor.hs}), one step of 32`);
      m.dispose();
    }
    db.close();
    return r;
  };
  if (spaces.includes('nb201')) {
    Object.assign(out, await timeSpace(benchDb(rng), NB201_GRAPH_CONFIG, 'NB201', 32));
    console.log('official PyTorch on this kind of CPU (docs/official-cpu-anchors.md): NB201 0.63 s/step for each');
  }
  if (spaces.includes('mbv3')) {
    const db = benchMbv3Db(rng);
    const meanWay = db.tasks().reduce((a, t) => a + t.classIds.length, 0) / 64;
    out.mbv3 = { meanWay, ...(await timeSpace(db, MBV3_GRAPH_CONFIG, 'MBv3', 1)) };
    console.log('official PyTorch on this kind of CPU: MBv3 generator 0.33 s/step, predictor 15.7 s/step');
  }
  if (args.includes('--json')) console.log(JSON.stringify(out));
}
