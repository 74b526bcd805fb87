/**
 * Rebuilds the embedded default model of `@metad2a/default-model` from scratch, offline:
 *
 *   npx tsx tools/default-model/build.ts [--work .tmp/default-model] [phase...]
 *
 * Phases (each resumable; with no phase argument all run in order):
 *   db        train NB201 cells on class-subset tasks of MNIST / Fashion-MNIST / digits with the
 *             reduced recipe below and record the test accuracies (arch-trainer's database builder)
 *   features  store the random-conv features of every class of those data sets in the database
 *   split     hold out every digits task (a whole data set) for evaluation; of the rest, 1 task in
 *             6 validates
 *   train     meta-train the predictor (keeps the best validation Pearson) and the generator
 *   eval      on each held-out task: MetaD2A's top-1 / best-of-top-5 (trained with the recipe),
 *             5 random cells, the best cell of the database; predictor Spearman on held-out records
 *   ship      write the model directory and evaluation into packages/default-model/
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, initBackend, describeBackend, modelSpecs, writeFileAtomicSync } from '@metad2a/core';
import { buildDatabase, getRecipe, recipeMetric, sampleArchitectures } from '@metad2a/arch-trainer';
import { loadFeatureSet } from '@metad2a/datasets';
import { GeneratorModel } from '@metad2a/graph-generator';
import { MetaDatabase, RUN_FILES, loadTrainedParameters, metaTrainGenerator, metaTrainPredictor, splitNormalisation, splitPredictionTarget } from '@metad2a/meta-trainer';
import { PredictorModel } from '@metad2a/perf-predictor';
import { saveSearchModel } from '@metad2a/search';
import { nb201 } from '@metad2a/search-spaces';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

export const DATASETS = ['builtin:mnist', 'builtin:fashion-mnist', 'builtin:digits'] as const;
export const HELD_OUT_DATASET = 'builtin:digits';
export const RECIPE = getRecipe('tiny', { epochs: 4, inputSize: 16 });
export const DB_PLAN = { numTasks: 24, classesPerTask: [4, 6] as [number, number], trainPerClass: 40, testPerClass: 40, seed: 2026 };
/** The cells trained on every task: the first 10 of a 16-stratum size-stratified sample (the sample order interleaves sizes). */
export const ARCHS = sampleArchitectures(16, RECIPE, DB_PLAN.seed).slice(0, 10);
/** The embedded default model's setting (sizes) in core's model-spec registry. */
export const DEFAULT_MODEL_SPEC = 'nb201-default';
const SEED = 2026;

const args = process.argv.slice(2);
const workIdx = args.indexOf('--work');
const WORK = path.resolve(workIdx >= 0 ? args[workIdx + 1]! : '.tmp/default-model');
const phases = args.filter((a, i) => !a.startsWith('--') && (workIdx < 0 || i !== workIdx + 1));
const want = (p: string): boolean => phases.length === 0 || phases.includes(p);
const DB = path.join(WORK, 'db.sqlite');
const OUT = path.resolve(__dirname, '../../packages/default-model/models/nb201');
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

async function phaseDb(): Promise<void> {
  log(`db: ${DB_PLAN.numTasks} tasks × ${ARCHS.length} cells, recipe ${JSON.stringify(RECIPE)}`);
  const s = await buildDatabase({
    db: DB,
    datasets: DATASETS,
    ...DB_PLAN,
    archs: ARCHS,
    recipe: RECIPE,
    onProgress: (p) => {
      if (p.done % 20 === 0 || p.done === p.total) log(`db ${p.done}/${p.total} trained ${p.trained} skipped ${p.skipped} eta ${(p.etaMs / 60000).toFixed(1)} min`);
    },
  });
  log(`db: trained ${s.trained}, skipped ${s.skipped}, wall ${(s.wallMs / 1000).toFixed(0)} s`);
  writeFileAtomicSync(
    path.join(WORK, 'db-summary.json'),
    JSON.stringify({ trained: s.trained, skipped: s.skipped, wallSeconds: s.wallMs / 1000, metric: s.metric, recipe: RECIPE, plan: DB_PLAN, archs: ARCHS }, null, 2),
  );
}

async function phaseFeatures(): Promise<void> {
  const db = MetaDatabase.open(DB);
  try {
    for (const ref of DATASETS) {
      if (db.classesWithFeatures(ref).length > 0) continue;
      const fs0 = await loadFeatureSet(ref);
      db.addFeatureSet(ref, fs0);
      log(`features: ${ref} ${fs0.classes.length} classes × ${fs0.dim}`);
    }
  } finally {
    db.close();
  }
}

function phaseSplit(): void {
  const db = MetaDatabase.open(DB);
  try {
    const recs = db.records({ space: 'nb201', metric: recipeMetric(RECIPE) });
    const tasks = db.tasks();
    const rng = new Rng(SEED);
    const trainTasks = tasks.filter((t) => t.dataset !== HELD_OUT_DATASET).map((t) => t.name);
    const validTasks = new Set(rng.shuffle([...trainTasks]).slice(0, Math.max(1, Math.round(trainTasks.length / 6))));
    const test = new Set(tasks.filter((t) => t.dataset === HELD_OUT_DATASET).map((t) => t.name));
    const split = { train: [] as number[], valid: [] as number[], test: [] as number[] };
    for (const r of recs) (test.has(r.task) ? split.test : validTasks.has(r.task) ? split.valid : split.train).push(r.id);
    db.setSplit('default', split);
    log(`split: ${split.train.length} train / ${split.valid.length} valid / ${split.test.length} test records`);
  } finally {
    db.close();
  }
}

async function phaseTrain(): Promise<void> {
  const db = MetaDatabase.open(DB);
  try {
    const norm = splitNormalisation(db, 'default');
    const spec = modelSpecs.get(DEFAULT_MODEL_SPEC);
    const predictor = new PredictorModel({ graphConfig: nb201.graphConfig, ...spec.predictor, rng: new Rng(SEED), normalisation: norm });
    const pr = await metaTrainPredictor(db, predictor, {
      split: 'default',
      epochs: 120,
      batchSize: 32,
      lr: 1e-3,
      plateau: { patience: 30 },
      seed: SEED,
      runDir: path.join(WORK, 'predictor-run'),
      checkpointEvery: 0,
      resume: fs.existsSync(path.join(WORK, 'predictor-run', 'last.ckpt')),
      progress: 'never',
      onEvent: (e) => {
        if ((e as { type?: string }).type === 'epoch') log(`predictor ${JSON.stringify(e)}`);
      },
    });
    log(`predictor: ${JSON.stringify({ best: pr.best, epochs: pr.epochs })}`);
    const best = path.join(WORK, 'predictor-run', RUN_FILES.maxCorr);
    if (fs.existsSync(best)) loadTrainedParameters(predictor, best);
    const generator = new GeneratorModel({ graphConfig: nb201.graphConfig, ...spec.generator, seed: SEED });
    const gr = await metaTrainGenerator(db, generator, {
      split: 'default',
      epochs: 400,
      batchSize: 32,
      lr: 1e-3,
      plateau: { patience: 30 },
      seed: SEED,
      runDir: path.join(WORK, 'generator-run'),
      checkpointEvery: 0,
      resume: fs.existsSync(path.join(WORK, 'generator-run', 'last.ckpt')),
      progress: 'never',
      validate: false,
    });
    log(`generator: ${JSON.stringify({ epochs: gr.epochs, last: gr.history[gr.history.length - 1] })}`);
    saveSearchModel(path.join(WORK, 'model'), {
      space: 'nb201',
      generator,
      generatorConfig: spec.generator,
      predictor,
      predictorConfig: spec.predictor,
      predicts: splitPredictionTarget(db, 'default'),
      provenance: { spec: DEFAULT_MODEL_SPEC, builtBy: 'tools/default-model/build.ts', recipe: RECIPE, plan: DB_PLAN, heldOut: HELD_OUT_DATASET },
    });
    generator.dispose();
    predictor.dispose();
  } finally {
    db.close();
  }
}

export { WORK, DB, OUT, log, phaseDb, phaseFeatures, phaseSplit, phaseTrain };

async function main(): Promise<void> {
  fs.mkdirSync(WORK, { recursive: true });
  log(describeBackend(await initBackend()));
  if (want('db')) await phaseDb();
  if (want('features')) await phaseFeatures();
  if (want('split')) phaseSplit();
  if (want('train')) await phaseTrain();
  if (want('eval') || want('ship')) {
    const { phaseEval } = await import('./evaluate');
    await phaseEval({ want });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
