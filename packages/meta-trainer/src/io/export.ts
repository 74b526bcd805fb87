import { writeFileAtomicSync } from '@metad2a/core';
import type { MetaDatabase, RecordFilter } from '../database/meta-database';

/** Everything in the database except the feature values themselves (features are listed per dataset). */
export interface MetaDatabaseDump {
  readonly format: 'metad2a-meta-database/1';
  readonly schemaVersion: number;
  readonly datasets: readonly { name: string; source: string; numClasses: number; featureDim?: number; note?: string; classesWithFeatures: readonly number[] }[];
  readonly tasks: readonly { name: string; dataset: string; classIds: readonly number[] }[];
  readonly records: readonly {
    id: number;
    task: string;
    space: string;
    arch: string;
    accuracy: number;
    metric: string;
    replicate?: number;
    how: string;
    createdAt: string;
    recipe?: unknown;
    extra?: unknown;
  }[];
  readonly splits: Readonly<Record<string, { train: readonly number[]; valid: readonly number[]; test: readonly number[] }>>;
}

export function dumpMetaDatabase(db: MetaDatabase, filter: RecordFilter = {}): MetaDatabaseDump {
  return {
    format: 'metad2a-meta-database/1',
    schemaVersion: db.schemaVersion,
    datasets: db.datasets().map((d) => ({
      name: d.name,
      source: d.source,
      numClasses: d.numClasses,
      ...(d.featureDim !== undefined ? { featureDim: d.featureDim } : {}),
      ...(d.note !== undefined ? { note: d.note } : {}),
      classesWithFeatures: db.classesWithFeatures(d.name),
    })),
    tasks: db.tasks().map((t) => ({ name: t.name, dataset: t.dataset, classIds: t.classIds })),
    records: db.records(filter).map((r) => ({
      id: r.id,
      task: r.task,
      space: r.space,
      arch: r.arch,
      accuracy: r.accuracy,
      metric: r.metric,
      ...(r.replicate > 0 ? { replicate: r.replicate } : {}),
      how: r.how,
      createdAt: r.createdAt,
      ...(r.recipe !== undefined ? { recipe: r.recipe } : {}),
      ...(r.extra !== undefined ? { extra: r.extra } : {}),
    })),
    splits: Object.fromEntries(db.splitNames().map((s) => [s, db.split(s)])),
  };
}

/** Write {@link dumpMetaDatabase} as JSON (atomically). */
export function exportJson(db: MetaDatabase, file: string, filter: RecordFilter = {}): void {
  writeFileAtomicSync(file, `${JSON.stringify(dumpMetaDatabase(db, filter))}\n`);
}

const CSV_COLUMNS = ['id', 'task', 'dataset', 'class_ids', 'space', 'arch', 'accuracy', 'metric', 'how', 'created_at', 'split_part', 'replicate'] as const;

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The records as CSV (RFC 4180 quoting), one row per record with its task's dataset and
 * class ids (space-separated), given a split name the part it belongs to, and its replicate.
 * `importRecordsCsv` reads it back.
 */
export function recordsCsv(db: MetaDatabase, opts: RecordFilter & { split?: string } = {}): string {
  const tasks = new Map(db.tasks().map((t) => [t.name, t]));
  const part = new Map<number, string>();
  if (opts.split !== undefined) {
    const s = db.split(opts.split);
    for (const p of ['train', 'valid', 'test'] as const) for (const id of s[p]) part.set(id, p);
  }
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of db.records(opts)) {
    const t = tasks.get(r.task)!;
    lines.push(
      [String(r.id), r.task, t.dataset, t.classIds.join(' '), r.space, r.arch, String(r.accuracy), r.metric, r.how, r.createdAt, part.get(r.id) ?? '', String(r.replicate)]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function exportCsv(db: MetaDatabase, file: string, opts: RecordFilter & { split?: string } = {}): void {
  writeFileAtomicSync(file, recordsCsv(db, opts));
}
