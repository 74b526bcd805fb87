import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException } from '@metad2a/core';
import { readFeatureSet } from '@metad2a/torch-io';
import type { MetaDatabase } from '../database/meta-database';

export interface ByLabelImportOptions {
  /** Dataset name in the database (e.g. `imagenet32` to give the official import its features). */
  readonly dataset: string;
  /** Where the features come from (default: the file path). */
  readonly source?: string;
  /** Class count of the dataset (default: the number of classes in the file). */
  readonly numClasses?: number;
  /** Class labels by index (default: `class-<index>`). */
  readonly labels?: readonly string[];
}

/**
 * Import an official `{name}bylabel.pt` feature file (class index → `[N_c, d]` features, spec
 * §1.2; read with `@metad2a/torch-io`'s safe reader) as the per-class features of a dataset,
 * in one transaction. With `dataset: 'imagenet32'` and the authors' `imgnet32bylabel.pt`, the
 * tasks of the official NB201 import become trainable. Returns the number of classes stored.
 */
export function importByLabelFeatures(db: MetaDatabase, file: string, opts: ByLabelImportOptions): number {
  const read = readFeatureSet(file);
  if (E.isLeft(read)) throw new MetaD2AException(read.left);
  const fs = read.right;
  return db.transaction(() => {
    db.addDataset({ name: opts.dataset, source: opts.source ?? file, numClasses: opts.numClasses ?? fs.classes.length, featureDim: fs.dim });
    db.addFeatureSet(opts.dataset, { ...fs, classes: fs.classes.map((c, i) => ({ ...c, label: opts.labels?.[i] ?? `class-${i}` })) });
    return fs.classes.length;
  });
}
