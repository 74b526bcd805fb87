/**
 * The shipped form of a meta-database: a folder of gzipped JSON lines beside a manifest with
 * counts and SHA-256 checksums, sorted so that two exports of the same content are the same
 * bytes (and a grown database diffs as added lines). The SQLite file is rebuilt from it in
 * seconds (`importExportDir`); export → import → export gives identical files.
 *
 *   manifest.json      format, counts, per-file sha256, free-form `about` (recipe, calibration…)
 *   datasets.jsonl.gz  one dataset per line (name, source, numClasses, featureDim?, note?)
 *   tasks.jsonl.gz     one task per line (name, dataset, classIds)
 *   records.jsonl.gz   one record per line (task, space, arch, accuracy, metric, replicate? (when > 0), how, createdAt, recipe?, extra?)
 *   features.jsonl.gz  only when the database holds class features: one class per line (dataset,
 *                      classIndex, label, count, dim, from = the extractor, f32 = the rows as
 *                      base64 little-endian float32, so they come back bit for bit)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MetaD2AException, parseError, validationError, writeFileAtomicSync } from '@metad2a/core';
import type { MetaDatabase, RecordInput, TaskInput, DatasetInput } from '../database/meta-database';

export const EXPORT_FORMAT = 'metad2a-meta-database-export/1';
const FILES = ['datasets.jsonl.gz', 'tasks.jsonl.gz', 'records.jsonl.gz'] as const;
const FEATURES = 'features.jsonl.gz';
type ExportFile = (typeof FILES)[number] | typeof FEATURES;

/** One class's features as an export line. */
interface FeatureLine {
  readonly dataset: string;
  readonly classIndex: number;
  readonly label: string;
  readonly count: number;
  readonly dim: number;
  readonly from: string | null;
  readonly f32: string;
}

export interface ExportManifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly counts: { readonly datasets: number; readonly tasks: number; readonly records: number; readonly classFeatures?: number };
  readonly files: Readonly<Record<(typeof FILES)[number], { readonly sha256: string; readonly bytes: number }>> &
    Partial<Readonly<Record<typeof FEATURES, { readonly sha256: string; readonly bytes: number }>>>;
  /** What the database is (recipe, calibration, sources…): carried as it is. */
  readonly about?: unknown;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
// Fixed gzip settings: the same lines give the same bytes on every machine.
const gzip = (lines: readonly string[]) => zlib.gzipSync(Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'), { level: 9 });
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Write the whole database as an export folder (atomically per file, manifest last). */
export function exportDir(db: MetaDatabase, dir: string, about?: unknown, opts: { readonly withoutFeatures?: boolean; readonly withoutReplicates?: boolean } = {}): ExportManifest {
  fs.mkdirSync(dir, { recursive: true });
  // withoutFeatures: the records alone (class features are re-made by `db features` in seconds and would dwarf them)
  const withFeatures = opts.withoutFeatures !== true;
  const datasets = db
    .datasets()
    .map(
      (d): DatasetInput => ({
        name: d.name,
        source: d.source,
        numClasses: d.numClasses,
        ...(withFeatures && d.featureDim !== undefined ? { featureDim: d.featureDim } : {}),
        ...(d.note !== undefined ? { note: d.note } : {}),
      }),
    )
    .sort((a, b) => cmp(a.name, b.name));
  const tasks = db
    .tasks()
    .map((t): TaskInput => ({ name: t.name, dataset: t.dataset, classIds: [...t.classIds] }))
    .sort((a, b) => cmp(a.name, b.name));
  const records = db
    .records()
    // withoutReplicates: each key's first training alone (a plan's records, without `db build --replicates`' further ones)
    .filter((r) => opts.withoutReplicates !== true || r.replicate === 0)
    .map(
      (r): RecordInput => ({
        task: r.task,
        space: r.space,
        arch: r.arch,
        accuracy: r.accuracy,
        metric: r.metric,
        // repeated measurements of one key (e.g. `bench transfer --replicates`); absent for the first, so exports without them are unchanged
        ...(r.replicate > 0 ? { replicate: r.replicate } : {}),
        how: r.how,
        createdAt: r.createdAt,
        ...(r.recipe !== undefined ? { recipe: r.recipe } : {}),
        ...(r.extra !== undefined ? { extra: r.extra } : {}),
      }),
    )
    .sort(
      (a, b) =>
        cmp(a.task, b.task) ||
        cmp(a.space, b.space) ||
        cmp(a.arch, b.arch) ||
        cmp(a.metric, b.metric) ||
        (a.replicate ?? 0) - (b.replicate ?? 0) ||
        cmp(a.createdAt!, b.createdAt!),
    );
  const features: FeatureLine[] = (withFeatures ? datasets : []).flatMap((d) => {
    const from = db.dataset(d.name).featuresFrom ?? null;
    return db.classesWithFeatures(d.name).map((ci): FeatureLine => {
      const c = db.classFeatures(d.name, ci);
      const f32 = Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength).toString('base64');
      return { dataset: d.name, classIndex: ci, label: c.label, count: c.count, dim: c.data.length / c.count, from, f32 };
    });
  });
  const bodies: Partial<Record<ExportFile, Buffer>> = {
    'datasets.jsonl.gz': gzip(datasets.map((d) => JSON.stringify(d))),
    'tasks.jsonl.gz': gzip(tasks.map((t) => JSON.stringify(t))),
    'records.jsonl.gz': gzip(records.map((r) => JSON.stringify(r))),
    ...(features.length > 0 ? { [FEATURES]: gzip(features.map((f) => JSON.stringify(f))) } : {}),
  };
  const written = Object.keys(bodies) as ExportFile[];
  for (const f of written) writeFileAtomicSync(path.join(dir, f), bodies[f]!);
  // A features file left by an earlier export of a database that had features would be stale.
  if (features.length === 0) fs.rmSync(path.join(dir, FEATURES), { force: true });
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    counts: { datasets: datasets.length, tasks: tasks.length, records: records.length, ...(features.length > 0 ? { classFeatures: features.length } : {}) },
    files: Object.fromEntries(written.map((f) => [f, { sha256: sha256(bodies[f]!), bytes: bodies[f]!.length }])) as unknown as ExportManifest['files'],
    ...(about !== undefined ? { about } : {}),
  };
  writeFileAtomicSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Read and check an export folder's manifest (format, files present, checksums). */
export function readExportManifest(dir: string): ExportManifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file))
    throw new MetaD2AException(parseError({ source: dir, field: 'manifest.json', expected: `an export folder (${EXPORT_FORMAT})`, got: 'no manifest.json' }));
  let m: ExportManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as ExportManifest;
  } catch (e) {
    throw new MetaD2AException(parseError({ source: file, field: 'JSON', expected: 'valid JSON', got: (e as Error).message }));
  }
  if (m.format !== EXPORT_FORMAT) throw new MetaD2AException(parseError({ source: file, field: 'format', expected: EXPORT_FORMAT, got: JSON.stringify(m.format) }));
  return m;
}

function readLines<T>(dir: string, name: ExportFile, m: ExportManifest): T[] {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) throw new MetaD2AException(parseError({ source: dir, field: name, expected: 'the file the manifest lists', got: 'missing' }));
  const bytes = fs.readFileSync(file);
  const want = m.files?.[name]?.sha256;
  if (sha256(bytes) !== want) throw new MetaD2AException(validationError({ source: file, field: 'sha256', expected: String(want), got: sha256(bytes) }));
  return zlib
    .gunzipSync(bytes)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (e) {
        throw new MetaD2AException(parseError({ source: file, field: `line ${i + 1}`, expected: 'a JSON object', got: (e as Error).message }));
      }
    });
}

/**
 * Load an export folder into a database (one transaction per table; existing datasets and tasks
 * with the same content are kept, records already present are skipped), checking checksums and
 * counts. Returns what was added.
 */
export function importExportDir(dir: string, db: MetaDatabase): { datasets: number; tasks: number; records: number; skipped: number; classFeatures?: number } {
  const m = readExportManifest(dir);
  const datasets = readLines<DatasetInput>(dir, 'datasets.jsonl.gz', m);
  const tasks = readLines<TaskInput>(dir, 'tasks.jsonl.gz', m);
  const records = readLines<RecordInput>(dir, 'records.jsonl.gz', m);
  const got = { datasets: datasets.length, tasks: tasks.length, records: records.length };
  for (const k of ['datasets', 'tasks', 'records'] as const) {
    if (got[k] !== m.counts?.[k])
      throw new MetaD2AException(validationError({ source: path.join(dir, 'manifest.json'), field: `counts.${k}`, expected: String(got[k]), got: String(m.counts?.[k]) }));
  }
  const knownDatasets = new Set(db.datasets().map((d) => d.name));
  const newDatasets = datasets.filter((d) => !knownDatasets.has(d.name));
  for (const d of newDatasets) db.addDataset(d);
  const knownTasks = new Set(db.tasks().map((t) => t.name));
  const newTasks = tasks.filter((t) => !knownTasks.has(t.name));
  db.addTasks(newTasks);
  // a record whose key (task, architecture, metric, replicate) is stored already is skipped
  const added = db.putRecords(records).filter((w) => w.inserted).length;
  let classFeatures = 0;
  if (m.files?.[FEATURES] !== undefined) {
    const lines = readLines<FeatureLine>(dir, FEATURES, m);
    if (lines.length !== m.counts?.classFeatures)
      throw new MetaD2AException(
        validationError({ source: path.join(dir, 'manifest.json'), field: 'counts.classFeatures', expected: String(lines.length), got: String(m.counts?.classFeatures) }),
      );
    for (const d of new Set(lines.map((l) => l.dataset))) {
      const mine = lines.filter((l) => l.dataset === d);
      db.transaction(() => {
        for (const l of mine) {
          const bytes = Buffer.from(l.f32, 'base64');
          if (bytes.length !== l.count * l.dim * 4)
            throw new MetaD2AException(
              validationError({
                source: path.join(dir, FEATURES),
                field: `${d} class ${l.classIndex}.f32`,
                expected: `${l.count}×${l.dim} float32 values`,
                got: `${bytes.length} bytes`,
              }),
            );
          const data = new Float32Array(l.count * l.dim);
          new Uint8Array(data.buffer).set(bytes);
          db.addClassFeatures(d, l.classIndex, { label: l.label, count: l.count, dim: l.dim, data }, l.from !== null ? { from: l.from } : {});
        }
      });
      classFeatures += mine.length;
    }
  }
  return { datasets: newDatasets.length, tasks: newTasks.length, records: added, skipped: records.length - added, ...(classFeatures > 0 ? { classFeatures } : {}) };
}
