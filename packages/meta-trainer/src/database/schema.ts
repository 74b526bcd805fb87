import type Database from 'better-sqlite3';
import { MetaD2AException, makeError } from '@metad2a/core';

/**
 * The meta-database schema, as an ordered list of migrations. `PRAGMA user_version` holds the
 * number of migrations applied; opening a database applies the missing ones, each in its own
 * transaction. A database written by a newer version of this package (a higher user_version)
 * is refused rather than guessed at.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'datasets, class features, tasks, architectures, records, splits',
    sql: `
CREATE TABLE datasets (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  source       TEXT NOT NULL,
  num_classes  INTEGER NOT NULL CHECK (num_classes > 0),
  feature_dim  INTEGER CHECK (feature_dim IS NULL OR feature_dim > 0),
  note         TEXT
);
-- One row per class of a dataset that has features: float32 rows [count, dim], either inline
-- (data, little-endian) or as a reference to a raw little-endian float32 file (file_path, file_offset in bytes).
CREATE TABLE class_features (
  dataset_id   INTEGER NOT NULL REFERENCES datasets(id),
  class_index  INTEGER NOT NULL CHECK (class_index >= 0),
  label        TEXT NOT NULL,
  count        INTEGER NOT NULL CHECK (count > 0),
  dim          INTEGER NOT NULL CHECK (dim > 0),
  data         BLOB,
  file_path    TEXT,
  file_offset  INTEGER,
  PRIMARY KEY (dataset_id, class_index),
  CHECK ((data IS NULL) <> (file_path IS NULL)),
  CHECK (data IS NULL OR length(data) = 4 * count * dim)
);
CREATE TABLE tasks (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  dataset_id   INTEGER NOT NULL REFERENCES datasets(id),
  class_ids    TEXT NOT NULL  -- JSON array of 0-based class indices of the dataset, in the task's class order
);
CREATE INDEX tasks_dataset ON tasks(dataset_id);
CREATE TABLE architectures (
  id           INTEGER PRIMARY KEY,
  space        TEXT NOT NULL,
  arch         TEXT NOT NULL,  -- the space's canonical string (SearchSpace.format)
  UNIQUE (space, arch)
);
CREATE TABLE records (
  id           INTEGER PRIMARY KEY,
  task_id      INTEGER NOT NULL REFERENCES tasks(id),
  arch_id      INTEGER NOT NULL REFERENCES architectures(id),
  accuracy     REAL NOT NULL,
  metric       TEXT NOT NULL,   -- what accuracy means, e.g. 'top1-test' or 'official-meta-train-acc'
  how          TEXT NOT NULL,   -- provenance: 'imported:<source>', 'trained:<tool>', ...
  created_at   TEXT NOT NULL,   -- ISO-8601 UTC
  recipe       TEXT,            -- JSON: the training recipe (epochs, lr, seeds, ...)
  extra        TEXT             -- JSON: anything else (flops, params, the source row, ...)
);
CREATE INDEX records_task ON records(task_id);
CREATE INDEX records_task_arch ON records(task_id, arch_id, metric);
CREATE TABLE splits (
  name         TEXT NOT NULL,
  record_id    INTEGER NOT NULL REFERENCES records(id),
  part         TEXT NOT NULL CHECK (part IN ('train', 'valid', 'test')),
  position     INTEGER NOT NULL,  -- order inside the part
  PRIMARY KEY (name, record_id)
);
CREATE INDEX splits_part ON splits(name, part, position);
`,
  },
  {
    version: 2,
    description: 'records keyed by (task, architecture, metric, replicate): UNIQUE, duplicates removed',
    // Before version 2 nothing stopped two writers from recording one pair twice. Imported rows
    // with different `extra` (which holds the source row) are distinct measurements of their
    // source (the official NB201 database measured 2 of its pairs twice, with different
    // accuracies): they become replicates 0, 1, ... in order of first appearance. Any other
    // duplicate is the same pair recorded again: the first row (lowest id) stays, split entries of
    // the removed rows move to it (or go, when it is already in the split).
    sql: `
ALTER TABLE records ADD COLUMN replicate INTEGER NOT NULL DEFAULT 0 CHECK (replicate >= 0);
UPDATE records SET replicate = (
  SELECT count(DISTINCT coalesce(e.extra, '')) FROM records e
  WHERE e.task_id = records.task_id AND e.arch_id = records.arch_id AND e.metric = records.metric AND e.how LIKE 'imported:%'
    AND e.id < (SELECT min(f.id) FROM records f
                WHERE f.task_id = records.task_id AND f.arch_id = records.arch_id AND f.metric = records.metric AND f.how LIKE 'imported:%'
                  AND coalesce(f.extra, '') = coalesce(records.extra, ''))
) WHERE how LIKE 'imported:%';
CREATE TEMP TABLE v2_duplicates AS
  SELECT r.id AS id, (SELECT min(k.id) FROM records k WHERE k.task_id = r.task_id AND k.arch_id = r.arch_id AND k.metric = r.metric AND k.replicate = r.replicate) AS keep
  FROM records r;
DELETE FROM v2_duplicates WHERE id = keep;
UPDATE OR IGNORE splits SET record_id = (SELECT keep FROM v2_duplicates d WHERE d.id = splits.record_id) WHERE record_id IN (SELECT id FROM v2_duplicates);
DELETE FROM splits WHERE record_id IN (SELECT id FROM v2_duplicates);
DELETE FROM records WHERE id IN (SELECT id FROM v2_duplicates);
DROP TABLE v2_duplicates;
DROP INDEX records_task_arch;
CREATE UNIQUE INDEX records_key ON records(task_id, arch_id, metric, replicate);
`,
  },
  {
    version: 3,
    description: 'datasets record which extractor their class features came from',
    // Features of one database must come from one extractor: a model meta-trained on a mix, or
    // searched with another extractor than it learned from, would be silently wrong.
    sql: `
ALTER TABLE datasets ADD COLUMN features_from TEXT;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Bring a database to {@link SCHEMA_VERSION}; returns the version it had before. */
export function migrate(db: Database.Database, source: string): number {
  const before = db.pragma('user_version', { simple: true }) as number;
  if (before > SCHEMA_VERSION) {
    throw new MetaD2AException(
      makeError('Unsupported', {
        source,
        field: 'schema version (PRAGMA user_version)',
        expected: `at most ${SCHEMA_VERSION} (this version of @metad2a/meta-trainer)`,
        got: String(before),
      }),
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= before) continue;
    // IMMEDIATE: take the write lock first, then re-read the version, so that two processes
    // opening one old file migrate it once (the second finds it done).
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return before;
}
