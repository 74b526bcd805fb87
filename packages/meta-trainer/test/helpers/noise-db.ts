/**
 * A tiny meta-database at the official feature width (512), seeded: data sets of 6 classes × 20
 * rows of noise (class c shifted by 0.1·c), `tasksPerDataset` tasks of 3 classes each with 4 NB201
 * cells (accuracy: the cell's NB201 CIFAR-10 test accuracy, metric `top1-test`); split `s`
 * validates the first `valid` records (default 4). Enough to run meta-training end to end in seconds.
 */
import { Rng } from '@metad2a/core';
import { nb201, nb201Table } from '@metad2a/search-spaces';
import type { MetaDatabase } from '../../src';

export function fillNoiseDb(db: MetaDatabase, datasets: readonly { readonly name: string; readonly from?: string }[], tasksPerDataset: number, valid = 4): void {
  const rng = new Rng(7);
  const ids: number[] = [];
  for (const { name, from } of datasets) {
    db.addDataset({ name, source: 'test', numClasses: 6, featureDim: 512 });
    const classes = Array.from({ length: 6 }, (_, c) => ({ label: `c${c}`, count: 20, data: rng.normalArray(20 * 512, c * 0.1, 1) }));
    db.addFeatureSet(name, { name, dim: 512, classes }, from !== undefined ? { from } : {});
    for (let t = 0; t < tasksPerDataset; t++) {
      const task = datasets.length === 1 ? `t${t}` : `${name}/${t}`;
      db.addTask({ name: task, dataset: name, classIds: rng.permutation(6).slice(0, 3) });
      for (let i = 0; i < 4; i++) {
        const cell = nb201.sample(rng);
        ids.push(
          db.addRecord({ task, space: 'nb201', arch: nb201.format(cell), accuracy: nb201Table().record(cell).datasets.cifar10.testAccuracy, metric: 'top1-test', how: 'test' }),
        );
      }
    }
  }
  db.setSplit('s', { train: ids.slice(valid), valid: ids.slice(0, valid) });
}
