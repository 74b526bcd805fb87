/**
 * Where a meta-database's class features come from. `addDatabaseFeatures` (the CLI's
 * `db features`) stores them with one extractor and records `<extractor id>, first <n> images per
 * class` as each data set's `featuresFrom`; `splitFeatureOrigin` reads it back for the training
 * tasks of a split, so that the model meta-trained on them can name its extractor.
 */
import { MetaD2AException, validationError } from '@metad2a/core';
import { createExtractor, loadFeatureSet } from '@metad2a/datasets';
import type { ModelExtractor } from '@metad2a/search';
import type { MetaDatabase } from '../database/meta-database';

const ORIGIN = /^(.+), first ([1-9]\d*) images per class$/;

/** The `featuresFrom` of features extracted by extractor `id` from the first `perClass` images of each class. */
export function formatFeatureOrigin(id: string, perClass: number): string {
  return `${id}, first ${perClass} images per class`;
}

/**
 * A `featuresFrom` written by {@link formatFeatureOrigin} → the extractor: its registry name (the
 * id up to its first `:`, as every built-in extractor's id begins), id and images per class;
 * undefined for any other text (features added with a free-form origin).
 */
export function parseFeatureOrigin(from: string): ModelExtractor | undefined {
  const m = ORIGIN.exec(from);
  if (!m) return undefined;
  const id = m[1]!;
  return { name: id.split(':')[0]!, id, perClass: Number(m[2]) };
}

/**
 * The extractor of the features a split meta-trains on: the common origin of the data sets of its
 * training and validation tasks. Undefined when they name none (features added without an
 * origin, or with a free-form one); a ValidationError when the data sets' origins differ.
 */
export function splitFeatureOrigin(db: MetaDatabase, split: string): { readonly from?: string; readonly extractor?: ModelExtractor } {
  const s = db.split(split);
  const taskNames = new Set(db.recordsById([...s.train, ...s.valid]).map((r) => r.task));
  const datasets = new Set(
    db
      .tasks()
      .filter((t) => taskNames.has(t.name))
      .map((t) => t.dataset),
  );
  const origins = new Map([...datasets].map((d) => [d, db.dataset(d).featuresFrom]));
  const distinct = [...new Set(origins.values())];
  if (distinct.length > 1)
    throw new MetaD2AException(
      validationError({
        source: db.file,
        field: `split ${split} features`,
        expected: 'features from one extractor for every data set of the training tasks',
        got: [...origins].map(([d, from]) => `${d}: ${from ?? 'an unnamed extractor'}`).join('; '),
      }),
    );
  const from = distinct[0];
  if (from === undefined) return {};
  const extractor = parseFeatureOrigin(from);
  return extractor ? { from, extractor } : { from };
}

export interface DatabaseFeaturesOptions {
  /** Extractor registry name (`random-conv`, `mobilenetv2`, ...), created with its default options. */
  readonly extractor: string;
  /** Images per class: the first n of each class. */
  readonly perClass: number;
  /** After each data set: its position, name, classes with features, feature width, and whether they were there already. */
  readonly onDataset?: (p: { index: number; total: number; dataset: string; classes: number; dim: number | undefined; already: boolean; seconds: number }) => void;
}

/**
 * Store the class features of every data set of the database, extracted by one extractor from
 * the first `perClass` images of each class (the CLI's `db features`). Resumable: a data set whose
 * every class already has features of this origin is skipped; features of another origin are
 * refused by `addFeatureSet`. Returns the origin recorded (`featuresFrom`).
 */
export async function addDatabaseFeatures(db: MetaDatabase, opts: DatabaseFeaturesOptions): Promise<{ readonly datasets: number; readonly from: string }> {
  const extractor = await createExtractor(opts.extractor);
  try {
    const from = formatFeatureOrigin(extractor.id, opts.perClass);
    const datasets = db.datasets();
    for (const [i, ds] of datasets.entries()) {
      const t0 = Date.now();
      const already = ds.featuresFrom === from && ds.classesWithFeatures === ds.numClasses;
      if (!already) db.addFeatureSet(ds.name, await loadFeatureSet(ds.name, { extractor, maxPerClass: opts.perClass, progress: false }), { from });
      const after = db.dataset(ds.name);
      opts.onDataset?.({
        index: i + 1,
        total: datasets.length,
        dataset: ds.name,
        classes: after.classesWithFeatures,
        dim: after.featureDim,
        already,
        seconds: (Date.now() - t0) / 1000,
      });
    }
    return { datasets: datasets.length, from };
  } finally {
    extractor.dispose();
  }
}
