/**
 * How diverse is a meta-trained generator? (#18 item 2: 500 distinct valid cells in ≤ 1,500 decodes.)
 *
 *   npx tsx tools/model-study/generator-diversity.ts [--epochs-best 200] [--epochs-top 30] [--fraction 0.2] [--out .tmp/generator-diversity.json]
 *
 * With only pseudo-tasks available (the new meta-database is still being built), it trains two
 * generators of the default model's size on the same pseudo-tasks and counts the decodes each
 * needs for 500 distinct valid NB201 cells on a held-out data set (`builtin:digits`, never in a
 * training task), through the search's own generation stage:
 * - pseudo-tasks: 24 seeded 5-class subsets of `builtin:mnist` / `builtin:fashion-mnist`
 *   (random-conv features, first 100 images per class); each task gets one NB201 source
 *   (CIFAR-10, CIFAR-100, ImageNet16-120, in turn) and 50 seeded random cells whose records are
 *   that source's 200-epoch test accuracies (a stand-in for measured records);
 * - `best-per-task` (the single best cell of each task, the old default) against
 *   `top-fraction-per-task` (the best `fraction` of each task's cells), with about the same number
 *   of optimizer steps (epochs chosen so: 20 items per epoch vs 200);
 * - and the shipped default model's generator as it is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, describeBackend, initBackend, writeFileAtomicSync, type FeatureSet, type GraphGenerator } from '@metad2a/core';
import { loadFeatureSet } from '@metad2a/datasets';
import { defaultModelDir } from '@metad2a/default-model';
import { GeneratorModel } from '@metad2a/graph-generator';
import { MetaDatabase, metaTrainGenerator, type GeneratorPairs } from '@metad2a/meta-trainer';
import { generateCandidates, loadSearchModel } from '@metad2a/search';
import { NB201_DATASETS, enumerateNb201, nb201, nb201Table } from '@metad2a/search-spaces';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const SEED = 2026;
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

/** Decodes needed for `n` distinct valid cells (or how many distinct cells `maxAttempts` decodes gave). */
export async function decodesFor(
  generator: GraphGenerator,
  features: FeatureSet,
  n: number,
  maxAttempts: number,
  seed: number,
): Promise<{ n: number; decodes: number; distinct: number; valid: number; reached: boolean }> {
  let last = { attempts: 0, valid: 0, unique: 0 };
  try {
    const r = await generateCandidates(generator, features, n, { space: nb201, seed, maxAttempts, onProgress: (p) => (last = p) });
    return { n, decodes: r.attempts, distinct: r.unique, valid: r.valid, reached: true };
  } catch {
    return { n, decodes: last.attempts, distinct: last.unique, valid: last.valid, reached: false };
  }
}

async function pseudoTaskDb(): Promise<MetaDatabase> {
  const db = MetaDatabase.inMemory();
  const rng = new Rng(SEED);
  const table = nb201Table();
  const all = [...enumerateNb201()];
  let t = 0;
  for (const ref of ['builtin:mnist', 'builtin:fashion-mnist']) {
    const f = await loadFeatureSet(ref, { maxPerClass: 100, progress: false });
    db.addDataset({ name: ref, source: 'builtin (random-conv features, first 100 images per class)', numClasses: f.classes.length, featureDim: f.dim });
    db.addFeatureSet(ref, f);
    for (let k = 0; k < 12; k++, t++) {
      const classIds = rng.sampleIndices(f.classes.length, 5).sort((a, b) => a - b);
      const name = `${ref}/${classIds.join('-')}#${k}`;
      db.addTask({ name, dataset: ref, classIds });
      const source = NB201_DATASETS[t % 3]!;
      const cells = rng.sampleIndices(all.length, 50).map((i) => nb201.format(all[i]!));
      db.addRecords(
        cells.map((arch) => ({ task: name, space: 'nb201', arch, accuracy: table.accuracy(arch, source), metric: `pseudo:nb201-${source}-test`, how: 'pseudo:nb201-table' })),
      );
    }
  }
  const recs = db.records({});
  const tasks = [...new Set(recs.map((r) => r.task))];
  const valid = new Set(tasks.filter((_, i) => i % 6 === 5));
  db.setSplit('pseudo', { train: recs.filter((r) => !valid.has(r.task)).map((r) => r.id), valid: recs.filter((r) => valid.has(r.task)).map((r) => r.id) });
  return db;
}

async function main(): Promise<void> {
  log(describeBackend(await initBackend()));
  const fraction = Number(arg('fraction', '0.2'));
  const out = path.resolve(arg('out', '.tmp/generator-diversity.json'));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const held = await loadFeatureSet('builtin:digits', { progress: false });
  const db = await pseudoTaskDb();
  const results: Record<string, unknown>[] = [];
  const measure = async (label: string, g: GraphGenerator, extra: Record<string, unknown>): Promise<void> => {
    const m = await decodesFor(g, held, 500, 5000, 0);
    log(`${label}: ${JSON.stringify(m)}`);
    results.push({ generator: label, ...extra, ...m });
    writeFileAtomicSync(out, JSON.stringify({ heldOut: 'builtin:digits', target: '500 distinct valid cells in ≤ 1,500 decodes', results }, null, 2));
  };
  const shipped = await loadSearchModel(defaultModelDir('nb201')!);
  await measure('shipped default model', shipped.generator, {});
  shipped.dispose();
  const rules: [string, GeneratorPairs, number][] = [
    ['best-per-task', { kind: 'best-per-task' }, Number(arg('epochs-best', '200'))],
    [`top-fraction-per-task ${fraction}`, { kind: 'top-fraction-per-task', fraction }, Number(arg('epochs-top', '30'))],
  ];
  for (const [label, pairs, epochs] of rules) {
    const g = new GeneratorModel({ graphConfig: nb201.graphConfig, seed: SEED });
    const t0 = Date.now();
    const r = await metaTrainGenerator(db, g, {
      split: 'pseudo',
      pairs,
      epochs,
      lr: 1e-3,
      plateau: { patience: 1000 },
      seed: SEED,
      validate: false,
      progress: 'never',
      checkpointEvery: 0,
    });
    const seconds = (Date.now() - t0) / 1000;
    log(`${label}: ${r.steps} steps, ${seconds.toFixed(0)} s, last train loss ${r.history[r.history.length - 1]!.trainLoss.toFixed(3)}`);
    await measure(label, g, { epochs, steps: r.steps, trainSeconds: seconds, lastTrainLoss: r.history[r.history.length - 1]!.trainLoss });
    g.dispose();
  }
  db.close();
  log(`written ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
