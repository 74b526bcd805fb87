import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MetaD2AException, parseError } from '@metad2a/core';
import type { MetaDatabase, RecordInput } from '../database/meta-database';
import { readCsvRows } from './records-csv';

/** The package's `data/nb201-official` folder, found from the sources (`src/io/`) or the build (`dist/`). */
/** A folder of the package's `data/` (found from src/io in the repository or from dist). */
export function shippedDataDir(folder: string): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'data', folder);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return path.join(__dirname, '..', '..', 'data', folder);
}

/** Directory of the official NB201 predictor database shipped with this package (`data/nb201-official`). */
export const OFFICIAL_NB201_DIR = shippedDataDir('nb201-official');

/** Names the importer gives to what it creates. */
export const OFFICIAL_NB201 = {
  dataset: 'imagenet32',
  taskPrefix: 'nb201-official/task-',
  split: 'nb201-official-predictor',
  space: 'nb201',
  metric: 'official-meta-train-acc',
  how: 'imported:MetaD2A meta_train_tasks_predictor.pt (DiffusionNAG copy, converted to CSV)',
  /** Size of the validation part: the first 400 entries of the official permutation. */
  validCount: 400,
} as const;

export interface OfficialImportReport {
  readonly records: number;
  readonly tasks: number;
  readonly architectures: number;
  readonly split: { readonly name: string; readonly train: number; readonly valid: number };
  /** Tasks whose classes have no features in the database (all of them, for this import). */
  readonly tasksWithoutFeatures: number;
  /** Plain-language warnings (e.g. that no image features came with the import). */
  readonly warnings: readonly string[];
}

function readMaybeGz(dir: string, name: string): string {
  for (const f of [name, `${name}.gz`]) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) continue;
    const buf = fs.readFileSync(p);
    return (f.endsWith('.gz') ? zlib.gunzipSync(buf) : buf).toString('utf8');
  }
  throw new MetaD2AException(parseError({ source: dir, field: name, expected: `${name} or ${name}.gz in the directory`, got: 'neither exists' }));
}

/** One record of the official database (a CSV row, or a record of the `.pt` file). */
interface OfficialRow {
  row: number;
  task: number;
  arch: string;
  acc: number;
  nb201Index?: number;
  flopsNorm?: number;
  paramsNorm?: number;
  latencyNorm?: number;
}

const HEADER = 'row,task,nb201_index,arch_str,acc,flops_norm,params_norm,latency_norm';

function parseCsv(text: string, source: string): OfficialRow[] {
  const columns = HEADER.split(',');
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  if (firstLine !== HEADER) throw new MetaD2AException(parseError({ source, field: 'header', expected: HEADER, got: JSON.stringify(firstLine) }));
  return readCsvRows(text, source, columns).map((c, i) => {
    const where = `line ${i + 2}`;
    const num = (name: string, int: boolean): number => {
      const v = Number(c[name]);
      if (c[name] === '' || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
        throw new MetaD2AException(parseError({ source, field: `${where} ${name}`, expected: int ? 'an integer' : 'a number', got: JSON.stringify(c[name]) }));
      }
      return v;
    };
    const row = num('row', true);
    if (row !== i) throw new MetaD2AException(parseError({ source, field: `${where} row`, expected: String(i), got: String(row) }));
    return {
      row,
      task: num('task', true),
      nb201Index: num('nb201_index', true),
      arch: c.arch_str!,
      acc: num('acc', false),
      flopsNorm: num('flops_norm', false),
      paramsNorm: num('params_norm', false),
      latencyNorm: num('latency_norm', false),
    };
  });
}

function parseJson<T>(text: string, source: string, check: (x: unknown) => x is T, expected: string): T {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    throw new MetaD2AException(parseError({ source, expected: 'JSON', got: (err as Error).message }));
  }
  if (!check(x)) throw new MetaD2AException(parseError({ source, expected, got: 'something else' }));
  return x;
}

const isIntArray = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => Number.isInteger(v));

/**
 * Import the official NB201 predictor meta-training database (`predictor_db.csv`,
 * `task_classes.json`, `splits.json`, plain or gzipped; default: the copy shipped in
 * `data/nb201-official`) into a meta-database, in one transaction:
 * - dataset `imagenet32` (1,000 classes, 512-d features expected but **not included**);
 * - one task per task id used by a record (`nb201-official/task-<id>`), class ids converted
 *   from the official 1-based ids to 0-based feature keys (`id − 1`, as the official loader does);
 * - one record per row (space `nb201`, metric `official-meta-train-acc`), record id order = row order;
 *   the 2 pairs the official database measured twice get replicates 0 and 1;
 * - split `nb201-official-predictor`: the first 400 rows of the official permutation are `valid`,
 *   the remaining 4,230 `train`, in permutation order.
 * Importing twice into one database is refused (the records would be duplicated).
 */
export function importOfficialNb201PredictorDb(db: MetaDatabase, opts: { dir?: string; importedAt?: string } = {}): OfficialImportReport {
  const dir = opts.dir ?? OFFICIAL_NB201_DIR;
  const rows = parseCsv(readMaybeGz(dir, 'predictor_db.csv'), path.join(dir, 'predictor_db.csv'));
  const tc = parseJson(
    readMaybeGz(dir, 'task_classes.json'),
    path.join(dir, 'task_classes.json'),
    (x): x is { tasks: number[][] } =>
      typeof x === 'object' && x !== null && Array.isArray((x as { tasks?: unknown }).tasks) && (x as { tasks: unknown[] }).tasks.every(isIntArray),
    '{"tasks": [[class ids], ...]}',
  );
  const sp = parseJson(
    readMaybeGz(dir, 'splits.json'),
    path.join(dir, 'splits.json'),
    (x): x is { predictor_idx: number[] } => typeof x === 'object' && x !== null && isIntArray((x as { predictor_idx?: unknown }).predictor_idx),
    '{"predictor_idx": [a permutation of the rows]}',
  );
  return importOfficialNb201Rows(db, rows, tc.tasks, sp.predictor_idx, { source: dir, importedAt: opts.importedAt });
}

/** The official rows, task class lists (1-based ids) and permutation → the database (see {@link importOfficialNb201PredictorDb}). */
export function importOfficialNb201Rows(
  db: MetaDatabase,
  rows: readonly OfficialRow[],
  taskClasses: readonly (readonly number[])[],
  perm: readonly number[],
  opts: { source: string; importedAt?: string; how?: string },
): OfficialImportReport {
  if (perm.length !== rows.length || new Set(perm).size !== rows.length || perm.some((i) => !Number.isInteger(i) || i < 0 || i >= rows.length)) {
    throw new MetaD2AException(parseError({ source: opts.source, field: 'predictor_idx', expected: `a permutation of 0..${rows.length - 1}`, got: `${perm.length} entries` }));
  }
  const importedAt = opts.importedAt ?? new Date().toISOString();
  return db.transaction(() => {
    // checked under the write lock: of two imports at once, the second finds the first's split
    if (db.splitNames().includes(OFFICIAL_NB201.split)) {
      throw new MetaD2AException(
        parseError({ source: db.file, field: `split ${OFFICIAL_NB201.split}`, expected: 'a database without the official import', got: 'already imported' }),
      );
    }
    db.addDataset({
      name: OFFICIAL_NB201.dataset,
      source: 'ImageNet32 (Chrabaszcz et al. 2017), train split; MetaD2A imgnet32bylabel.pt: ResNet-18 features per class',
      numClasses: 1000,
      featureDim: 512,
      note: 'class index k = 1-based ImageNet32 label k+1. Features are not included in the official import.',
    });
    const usedTasks = [...new Set(rows.map((r) => r.task))].sort((a, b) => a - b);
    db.addTasks(
      usedTasks.map((t) => {
        const cls = taskClasses[t];
        if (!cls)
          throw new MetaD2AException(parseError({ source: opts.source, field: `task_classes[${t}]`, expected: 'the class list of a task used by a record', got: 'missing' }));
        return { name: `${OFFICIAL_NB201.taskPrefix}${t}`, dataset: OFFICIAL_NB201.dataset, classIds: cls.map((c) => c - 1) };
      }),
    );
    // the official database measured 2 of its (task, architecture) pairs twice: replicates 0 and 1
    const seen = new Map<string, number>();
    const replicateOf = (r: OfficialRow): number => {
      const key = `${r.task}|${r.arch}`;
      const k = seen.get(key) ?? 0;
      seen.set(key, k + 1);
      return k;
    };
    const ids = db.addRecords(
      rows.map(
        (r): RecordInput => ({
          task: `${OFFICIAL_NB201.taskPrefix}${r.task}`,
          space: OFFICIAL_NB201.space,
          arch: r.arch,
          accuracy: r.acc,
          metric: OFFICIAL_NB201.metric,
          replicate: replicateOf(r),
          how: opts.how ?? OFFICIAL_NB201.how,
          createdAt: importedAt,
          extra: { row: r.row, nb201Index: r.nb201Index, flopsNorm: r.flopsNorm, paramsNorm: r.paramsNorm, latencyNorm: r.latencyNorm }, // undefined fields are dropped by JSON
        }),
      ),
    );
    const valid = perm.slice(0, OFFICIAL_NB201.validCount).map((i) => ids[i]!);
    const train = perm.slice(OFFICIAL_NB201.validCount).map((i) => ids[i]!);
    db.setSplit(OFFICIAL_NB201.split, { train, valid });
    const tasks = usedTasks.length;
    const withFeatures = new Set(db.classesWithFeatures(OFFICIAL_NB201.dataset));
    const tasksWithoutFeatures = usedTasks.filter((t) => taskClasses[t]!.some((c) => !withFeatures.has(c - 1))).length;
    const warnings =
      tasksWithoutFeatures > 0
        ? [
            `${tasksWithoutFeatures} of ${tasks} imported tasks have no image features: the official database does not ship the ImageNet32 ResNet-18 features (imgnet32bylabel.pt). ` +
              `Meta-training refuses these tasks until features for dataset '${OFFICIAL_NB201.dataset}' are added (MetaDatabase.addClassFeatures / addFeatureSet).`,
          ]
        : [];
    return {
      records: ids.length,
      tasks,
      architectures: new Set(rows.map((r) => r.arch)).size,
      split: { name: OFFICIAL_NB201.split, train: train.length, valid: valid.length },
      tasksWithoutFeatures,
      warnings,
    };
  });
}

export type { OfficialRow };
