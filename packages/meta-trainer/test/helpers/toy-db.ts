/**
 * A small meta-database with real image features, for the meta-training tests.
 *
 * Features: `test/data/mnist-fashion-pool7.u8.gz` (see test/data/SOURCE.md): 20 classes (MNIST
 * digits 0–9, Fashion-MNIST 10–19) × 60 training images × 49 values (4×4 average-pooled pixels) / 255.
 * Tasks: seeded random 5-class subsets. Architectures: seeded random NB201 cells.
 * Accuracy of (task, cell) = NB201 CIFAR-10 test accuracy of the cell (200-epoch table, a real
 * measurement) × (0.8 + 0.2 · the nearest-class-mean accuracy of the task on its own features:
 * first 40 images per class give the means, the last 20 are classified; a real measurement of
 * how hard the task is). Training each cell on each task is the database builder's job (issue #12); this product
 * of two measured numbers is a documented stand-in with a learnable dependence on both the
 * dataset and the architecture.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Rng } from '@metad2a/core';
import { mbv3, nb201Table } from '@metad2a/search-spaces';
import { MetaDatabase } from '../../src';

export const TOY = { dataset: 'mnist-fashion-pool7', classes: 20, perClassImages: 60, dim: 49, split: 'toy' } as const;

export function loadToyFeatures(): Float32Array[] {
  const bytes = zlib.gunzipSync(fs.readFileSync(path.join(__dirname, '../data/mnist-fashion-pool7.u8.gz')));
  const per = TOY.perClassImages * TOY.dim;
  return Array.from({ length: TOY.classes }, (_, c) => Float32Array.from(bytes.subarray(c * per, (c + 1) * per), (v) => v / 255));
}

/** Nearest-class-mean accuracy of a task (means of rows 0–39, classify rows 40–59 of each class). */
export function nearestMeanAccuracy(features: readonly Float32Array[], classes: readonly number[]): number {
  const d = TOY.dim;
  const means = classes.map((c) => {
    const m = new Float64Array(d);
    for (let r = 0; r < 40; r++) for (let j = 0; j < d; j++) m[j] += features[c]![r * d + j]! / 40;
    return m;
  });
  let right = 0;
  let total = 0;
  classes.forEach((c, ci) => {
    for (let r = 40; r < 60; r++) {
      let best = -1;
      let bestD = Infinity;
      means.forEach((m, k) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += (features[c]![r * d + j]! - m[j]!) ** 2;
        if (s < bestD) (bestD = s), (best = k);
      });
      if (best === ci) right++;
      total++;
    }
  });
  return right / total;
}

export interface ToyDbOptions {
  readonly tasks?: number;
  readonly validTasks?: number;
  readonly classesPerTask?: number;
  readonly archs?: number;
  readonly archsPerTask?: number;
  readonly seed?: number;
}

export function buildToyDb(opts: ToyDbOptions = {}): MetaDatabase {
  const nTasks = opts.tasks ?? 60;
  const nValid = opts.validTasks ?? 12;
  const k = opts.classesPerTask ?? 5;
  const rng = new Rng(opts.seed ?? 7);
  const features = loadToyFeatures();
  const db = MetaDatabase.inMemory();
  db.addDataset({ name: TOY.dataset, source: 'MNIST + Fashion-MNIST train images, 4×4 average pooling (test/data/SOURCE.md)', numClasses: TOY.classes, featureDim: TOY.dim });
  db.addFeatureSet(TOY.dataset, {
    name: TOY.dataset,
    dim: TOY.dim,
    classes: features.map((data, c) => ({ label: c < 10 ? `digit-${c}` : `fashion-${c - 10}`, count: TOY.perClassImages, data })),
  });
  const table = nb201Table();
  const c10 = table.column('cifar10', 'testAccuracy');
  const archIdx = rng.sampleIndices(table.size, opts.archs ?? 30);
  const train: number[] = [];
  const valid: number[] = [];
  for (let t = 0; t < nTasks; t++) {
    const classes = rng.sampleIndices(TOY.classes, k);
    const name = `toy/task-${t}`;
    db.addTask({ name, dataset: TOY.dataset, classIds: classes });
    const ease = nearestMeanAccuracy(features, classes);
    const picks = rng.sampleIndices(archIdx.length, opts.archsPerTask ?? 4).map((i) => archIdx[i]!);
    const ids = db.addRecords(
      picks.map((a) => ({
        task: name,
        space: 'nb201',
        arch: table.archAt(a),
        accuracy: c10[a]! * (0.8 + 0.2 * ease),
        metric: 'semi-synthetic',
        how: 'test:toy-db (NB201 CIFAR-10 acc × (0.8 + 0.2 · nearest-mean acc))',
      })),
    );
    (t < nTasks - nValid ? train : valid).push(...ids);
  }
  db.setSplit(TOY.split, { train, valid });
  return db;
}

/** The same tasks with MobileNetV3 architectures (random OFA subnets; accuracy = a fixed function of the config × ease). */
export function addToyMbv3Records(db: MetaDatabase, seed = 3): void {
  const rng = new Rng(seed);
  const features = loadToyFeatures();
  const train: number[] = [];
  const valid: number[] = [];
  db.tasks().forEach((t, i) => {
    const ease = nearestMeanAccuracy(features, t.classIds);
    const cfg = mbv3.sample(rng);
    const id = db.addRecord({ task: t.name, space: 'mbv3', arch: mbv3.format(cfg), accuracy: 70 * ease, metric: 'semi-synthetic', how: 'test:toy-db' });
    (i % 5 === 0 ? valid : train).push(id);
  });
  db.setSplit('toy-mbv3', { train, valid });
}
