/**
 * Meta-databases shipped as export folders (`data/<name>/`, see `export-dir.ts`), opened by
 * reference as `builtin:<name>`: the SQLite file is rebuilt once from the export into the cache
 * folder (keyed by the manifest's checksum, written atomically) and reused afterwards.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, defaultCacheDir, notFound } from '@metad2a/core';
import { MetaDatabase } from '../database/meta-database';
import { importExportDir, readExportManifest, type ExportManifest } from './export-dir';
import { shippedDataDir } from './nb201-official';

/**
 * The shipped databases: `builtin:nb201` is the measured NB201 database meta-training learns from
 * (plan nb201-v1), `builtin:nb201-replicated` the same records and further trainings of its pairs
 * (`db build --replicates`, growing session by session), `builtin:nb201-dense` more of it with 20 cells per task (plan nb201-dense-v1,
 * built in sessions 13–14, complete: 2,400 records); `builtin:nb201-heldout` holds the held-out sources' tasks that the transfer
 * evaluation scores picks on (plan nb201-heldout-v1; never used for meta-training);
 * `builtin:nb201-heldout-dev` other tasks of the same sources where search rules (e.g. the top-k's
 * distance) are chosen, so that nb201-heldout stays the test (plan nb201-heldout-dev-v1), and
 * `builtin:nb201-heldout-dev2` ten more such tasks (plan nb201-heldout-dev-v2).
 * `builtin:mbv3` and `builtin:mbv3-heldout` are their MBv3 counterparts (plans mbv3-v1 and
 * mbv3-heldout-v1); a name whose export folder is not shipped yet is refused with the folder named.
 */
export const BUILTIN_DATABASES: Readonly<Record<string, { readonly folder: string; readonly description: string }>> = {
  nb201: { folder: 'nb201-measured', description: 'NB201 cells trained here (recipe nb201-db) on class-subset tasks of the training task sources' },
  'nb201-replicated': {
    folder: 'nb201-replicated-measured',
    description:
      'builtin:nb201 and further trainings of its pairs with seeds of their own (plan nb201-v1, db build --replicates 3; replicates 1 and 2, built over several sessions): for meta-train --replicates mean',
  },
  'nb201-dense': {
    folder: 'nb201-dense-measured',
    description: 'NB201 cells trained here (recipe nb201-db), 20 per class-subset task of the training task sources (plan nb201-dense-v1, all 2,400 pairs)',
  },
  'nb201-heldout': {
    folder: 'nb201-heldout-measured',
    description: 'NB201 cells trained here (recipe nb201-db) on class-subset tasks of the held-out sources, for the transfer evaluation',
  },
  'nb201-heldout-dev': {
    folder: 'nb201-heldout-dev-measured',
    description: 'NB201 cells trained here (recipe nb201-db) on other class-subset tasks of the held-out sources, where search rules are chosen',
  },
  'nb201-heldout-dev2': {
    folder: 'nb201-heldout-dev2-measured',
    description: 'NB201 cells trained here (recipe nb201-db) on ten more class-subset tasks of the held-out sources, where search rules and models are chosen',
  },
  mbv3: { folder: 'mbv3-measured', description: 'OFA-MBv3 subnets trained here (recipe mbv3-db) on class-subset tasks of the training task sources' },
  'mbv3-heldout': {
    folder: 'mbv3-heldout-measured',
    description: 'OFA-MBv3 subnets trained here (recipe mbv3-db) on class-subset tasks of the held-out sources, for the transfer evaluation',
  },
};

export function builtinDatabaseDir(name: string): string {
  const b = BUILTIN_DATABASES[name];
  if (!b)
    throw new MetaD2AException(
      notFound({
        source: 'builtin meta-databases',
        field: `builtin:${name}`,
        expected: `one of ${Object.keys(BUILTIN_DATABASES)
          .map((n) => `builtin:${n}`)
          .join(', ')}`,
        got: 'an unknown name',
      }),
    );
  const d = shippedDataDir(b.folder);
  if (fs.existsSync(path.join(d, 'manifest.json'))) return d;
  throw new MetaD2AException(
    notFound({ source: 'builtin meta-databases', field: `builtin:${name}`, expected: `the export folder data/${b.folder} shipped with @metad2a/meta-trainer`, got: 'missing' }),
  );
}

export interface ResolvedDatabase {
  /** The SQLite file to open. */
  readonly file: string;
  /** For `builtin:<name>`: the export's manifest. */
  readonly manifest?: ExportManifest;
}

/**
 * A database reference → a SQLite file: a path as it is, or `builtin:<name>` rebuilt from the
 * shipped export into `<cache>/meta-db/<name>-<manifest sha>.sqlite` when not there yet.
 */
export function resolveDatabase(ref: string, env: Readonly<Record<string, string | undefined>> = process.env): ResolvedDatabase {
  if (!ref.startsWith('builtin:')) return { file: ref };
  const dir = builtinDatabaseDir(ref.slice('builtin:'.length));
  const manifest = readExportManifest(dir);
  const sha = createHash('sha256')
    .update(fs.readFileSync(path.join(dir, 'manifest.json')))
    .digest('hex')
    .slice(0, 16);
  const cache = path.join(defaultCacheDir(env), 'meta-db');
  const file = path.join(cache, `${ref.slice('builtin:'.length)}-${sha}.sqlite`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cache, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    const db = MetaDatabase.open(tmp);
    try {
      importExportDir(dir, db);
    } finally {
      db.close();
    }
    // WAL side files belong to the temporary name; close() checkpointed them.
    for (const ext of ['-wal', '-shm']) fs.rmSync(`${tmp}${ext}`, { force: true });
    fs.renameSync(tmp, file);
  }
  return { file, manifest };
}
