import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { MetaD2AException, makeError, notFound, validationError, type ClassFeatures, type FeatureSet } from '@metad2a/core';
import { migrate, SCHEMA_VERSION } from './schema';

export interface DatasetInput {
  /** Unique name, e.g. `imagenet32`, `mnist`. */
  readonly name: string;
  /** Where the data comes from (free text: a URL, a paper, a file). */
  readonly source: string;
  readonly numClasses: number;
  /** Width of the class feature rows, where the dataset has features. */
  readonly featureDim?: number;
  readonly note?: string;
}

export interface DatasetInfo extends DatasetInput {
  readonly id: number;
  /** How many of its classes have features stored. */
  readonly classesWithFeatures: number;
  /** The extractor (its id) the stored features came from, when they were added with one named. */
  readonly featuresFrom?: string;
}

/** A class's features, inline or as a reference to a raw little-endian float32 file. */
export type ClassFeaturesInput =
  | { readonly label: string; readonly count: number; readonly dim: number; readonly data: Float32Array }
  | { readonly label: string; readonly count: number; readonly dim: number; readonly file: { readonly path: string; readonly offset?: number } };

export interface TaskInput {
  /** Unique name, e.g. `nb201-official/task-3890`. */
  readonly name: string;
  /** Dataset name. */
  readonly dataset: string;
  /** 0-based class indices of the dataset, in the order the set encoder sees them. */
  readonly classIds: readonly number[];
}

export interface TaskInfo {
  readonly id: number;
  readonly name: string;
  readonly dataset: string;
  readonly classIds: readonly number[];
}

export interface ArchitectureInfo {
  readonly id: number;
  readonly space: string;
  readonly arch: string;
}

export interface RecordInput {
  /** Task name. */
  readonly task: string;
  /** Search-space name (`nb201`, `mbv3`) and the architecture's canonical string in it. */
  readonly space: string;
  readonly arch: string;
  /** Accuracy in percent. */
  readonly accuracy: number;
  /** What the accuracy is, e.g. `top1-test`, `x-test-final`. */
  readonly metric: string;
  /** Provenance: how the number was obtained (`imported:<source>`, `trained:<tool>`). */
  readonly how: string;
  /** When (ISO-8601); default: now. */
  readonly createdAt?: string;
  /** The training recipe (JSON). */
  readonly recipe?: unknown;
  /** Anything else (JSON). */
  readonly extra?: unknown;
  /**
   * Which measurement of the (task, architecture, metric) key this is: 0 (default) for one
   * measurement per key; 1, 2, ... for repeated measurements that a source reports (the official
   * NB201 database measured 2 pairs twice). The key with the replicate is UNIQUE.
   */
  readonly replicate?: number;
}

/** What {@link MetaDatabase.putRecords} did with one record: its id, and whether this call inserted it (false: the key was already recorded). */
export interface RecordWrite {
  readonly id: number;
  readonly inserted: boolean;
}

export interface MetaRecord {
  readonly id: number;
  readonly taskId: number;
  readonly task: string;
  readonly archId: number;
  readonly space: string;
  readonly arch: string;
  readonly accuracy: number;
  readonly metric: string;
  readonly replicate: number;
  readonly how: string;
  readonly createdAt: string;
  readonly recipe?: unknown;
  readonly extra?: unknown;
}

export interface SplitInput {
  readonly train: readonly number[];
  readonly valid: readonly number[];
  readonly test?: readonly number[];
}

export interface Split {
  readonly train: readonly number[];
  readonly valid: readonly number[];
  readonly test: readonly number[];
}

export interface RecordFilter {
  readonly space?: string;
  readonly metric?: string;
  readonly task?: string;
}

export interface DatabaseCounts {
  readonly datasets: number;
  readonly classFeatures: number;
  readonly tasks: number;
  readonly architectures: number;
  readonly records: number;
  readonly splits: number;
}

export interface OpenOptions {
  readonly readonly?: boolean;
  /**
   * How long a write waits for another process's write to finish before failing with a named
   * `IoError` (SQLite busy timeout; default {@link DEFAULT_BUSY_TIMEOUT_MS}).
   */
  readonly busyTimeoutMs?: number;
}

/** Default wait for the write lock: longer than any single write of this package (an official import takes ~1 s). */
export const DEFAULT_BUSY_TIMEOUT_MS = 60_000;

interface RecordRow {
  id: number;
  task_id: number;
  task: string;
  arch_id: number;
  space: string;
  arch: string;
  accuracy: number;
  metric: string;
  replicate: number;
  how: string;
  created_at: string;
  recipe: string | null;
  extra: string | null;
}

const fail = (source: string, field: string, expected: string, got: string): never => {
  throw new MetaD2AException(validationError({ source, field, expected, got }));
};

/** SQLite's "another connection holds the lock" codes (SQLITE_BUSY, SQLITE_LOCKED and their extended forms). */
const isLockError = (err: unknown): boolean => typeof (err as { code?: unknown })?.code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test((err as { code: string }).code);

/** A lock error as the named error users see (no SQLite stack trace); other errors unchanged. */
function lockError(err: unknown, file: string, waitedMs: number): unknown {
  if (!isLockError(err)) return err;
  return new MetaD2AException(
    makeError('IoError', {
      source: file,
      field: 'write lock',
      expected: `the write lock within ${waitedMs / 1000} s`,
      got: `another process is writing this meta-database (${(err as Error).message}); run one writer at a time, or retry when it has finished`,
      cause: err,
    }),
  );
}

/**
 * The meta-database: datasets and their per-class features, tasks (a dataset + a list of
 * classes), architectures (space + canonical string), records (task, architecture, accuracy,
 * metric, provenance) and named train/valid/test splits of the records, in one SQLite file
 * (better-sqlite3). Every write runs in a transaction, so a process killed mid-write leaves the
 * database as it was after the last committed write. Files use WAL journaling with
 * `synchronous = FULL`.
 */
export class MetaDatabase {
  private readonly db: Database.Database;
  private readonly baseDir: string;
  private readonly featureCache = new Map<string, ClassFeatures>();

  private constructor(
    db: Database.Database,
    /** The database file, or `:memory:`. */
    readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.db = db;
    this.baseDir = file === ':memory:' ? process.cwd() : path.dirname(path.resolve(file));
  }

  /** Open (creating and migrating it if needed) a database file. */
  static open(file: string, opts: OpenOptions = {}): MetaDatabase {
    if (opts.readonly && !fs.existsSync(file)) throw new MetaD2AException(makeError('IoError', { source: file, expected: 'an existing meta-database file', got: 'no such file' }));
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) fail('MetaDatabase.open', 'busyTimeoutMs', 'a non-negative integer (milliseconds)', String(busyTimeoutMs));
    // Two processes creating or migrating one new file race on switching it to WAL, where SQLite
    // can answer SQLITE_BUSY at once instead of waiting: such an open is retried until the timeout.
    const deadline = Date.now() + busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      let db: Database.Database;
      try {
        db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: busyTimeoutMs });
      } catch (err) {
        throw new MetaD2AException(makeError('IoError', { source: file, expected: 'an SQLite meta-database', got: (err as Error).message, cause: err }));
      }
      try {
        if (!opts.readonly) {
          if (file !== ':memory:') db.pragma('journal_mode = WAL');
          db.pragma('synchronous = FULL');
        }
        db.pragma('foreign_keys = ON');
        if (opts.readonly) {
          const v = db.pragma('user_version', { simple: true }) as number;
          if (v !== SCHEMA_VERSION)
            throw new MetaD2AException(
              makeError('Unsupported', { source: file, field: 'schema version', expected: `${SCHEMA_VERSION} (open it writable once to migrate)`, got: String(v) }),
            );
        } else {
          migrate(db, file);
        }
        return new MetaDatabase(db, file, busyTimeoutMs);
      } catch (err) {
        db.close();
        if (err instanceof MetaD2AException) throw err;
        if (isLockError(err) && Date.now() < deadline) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(50 * (attempt + 1), 500));
          continue;
        }
        if (isLockError(err)) throw lockError(err, file, busyTimeoutMs);
        throw new MetaD2AException(makeError('IoError', { source: file, expected: 'an SQLite meta-database', got: (err as Error).message, cause: err }));
      }
    }
  }

  /** A database that lives in memory only (tests, scratch work). */
  static inMemory(): MetaDatabase {
    return MetaDatabase.open(':memory:');
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /**
   * Run `fn` in one write transaction (nested calls join the outer one). It takes the write lock
   * up front (BEGIN IMMEDIATE), waiting up to the busy timeout for another writer: a deferred
   * transaction that read first could not upgrade to a write once another process had written
   * (SQLITE_BUSY at once, whatever the timeout). A lock still held after the wait is a named error.
   */
  transaction<T>(fn: () => T): T {
    // SQLite can answer SQLITE_BUSY at once (without its busy wait) while another process
    // recovers or switches the WAL: such a refusal is retried until the busy timeout.
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.db.transaction(fn).immediate();
      } catch (err) {
        if (!isLockError(err) || this.db.inTransaction || Date.now() >= deadline) throw lockError(err, this.file, this.busyTimeoutMs);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(50 * (attempt + 1), 500));
      }
    }
  }

  // ---------------------------------------------------------------- datasets and features

  /** Add a dataset; adding the same dataset again returns its id, a conflicting one is an error. */
  addDataset(d: DatasetInput): number {
    if (!d.name) fail('addDataset', 'name', 'a non-empty name', JSON.stringify(d.name));
    if (!Number.isInteger(d.numClasses) || d.numClasses <= 0) fail('addDataset', `${d.name}.numClasses`, 'a positive integer', String(d.numClasses));
    if (d.featureDim !== undefined && (!Number.isInteger(d.featureDim) || d.featureDim <= 0))
      fail('addDataset', `${d.name}.featureDim`, 'a positive integer', String(d.featureDim));
    return this.transaction(() => {
      const row = this.db.prepare('SELECT id, num_classes, feature_dim FROM datasets WHERE name = ?').get(d.name) as
        | { id: number; num_classes: number; feature_dim: number | null }
        | undefined;
      if (row) {
        if (row.num_classes !== d.numClasses || (d.featureDim !== undefined && row.feature_dim !== null && row.feature_dim !== d.featureDim)) {
          fail(
            'addDataset',
            d.name,
            `the stored definition (${row.num_classes} classes, dim ${row.feature_dim ?? 'none'})`,
            `${d.numClasses} classes, dim ${d.featureDim ?? 'none'}`,
          );
        }
        if (d.featureDim !== undefined && row.feature_dim === null) this.db.prepare('UPDATE datasets SET feature_dim = ? WHERE id = ?').run(d.featureDim, row.id);
        return row.id;
      }
      return Number(
        this.db
          .prepare('INSERT INTO datasets (name, source, num_classes, feature_dim, note) VALUES (?, ?, ?, ?, ?)')
          .run(d.name, d.source, d.numClasses, d.featureDim ?? null, d.note ?? null).lastInsertRowid,
      );
    });
  }

  dataset(name: string): DatasetInfo {
    const row = this.db.prepare('SELECT d.*, (SELECT count(*) FROM class_features c WHERE c.dataset_id = d.id) AS nf FROM datasets d WHERE name = ?').get(name) as
      | { id: number; name: string; source: string; num_classes: number; feature_dim: number | null; note: string | null; features_from: string | null; nf: number }
      | undefined;
    if (!row)
      throw new MetaD2AException(
        notFound({
          source: this.file,
          field: 'datasets',
          expected: `a dataset named ${JSON.stringify(name)}`,
          got: `only ${
            this.datasets()
              .map((x) => x.name)
              .join(', ') || 'none'
          }`,
        }),
      );
    return {
      id: row.id,
      name: row.name,
      source: row.source,
      numClasses: row.num_classes,
      ...(row.feature_dim !== null ? { featureDim: row.feature_dim } : {}),
      ...(row.note !== null ? { note: row.note } : {}),
      classesWithFeatures: row.nf,
      ...(row.features_from !== null ? { featuresFrom: row.features_from } : {}),
    };
  }

  datasets(): DatasetInfo[] {
    const names = this.db.prepare('SELECT name FROM datasets ORDER BY id').pluck().all() as string[];
    return names.map((n) => this.dataset(n));
  }

  /** Store one class's features (replacing what was stored for that class); `from` as in {@link addFeatureSet}. */
  addClassFeatures(dataset: string, classIndex: number, f: ClassFeaturesInput, opts: { readonly from?: string } = {}): void {
    this.addFeatureClasses(dataset, [[classIndex, f]], opts.from);
  }

  /**
   * Store the features of every class of a {@link FeatureSet} (class i of the set = class index i),
   * in one transaction. `from` names the extractor they came from (its id); the dataset keeps it,
   * and features from another extractor, or features of unknown origin already stored, are refused.
   */
  addFeatureSet(dataset: string, fs: FeatureSet, opts: { readonly from?: string } = {}): void {
    this.addFeatureClasses(
      dataset,
      fs.classes.map((c, i) => [i, { label: c.label, count: c.count, dim: fs.dim, data: c.data }] as const),
      opts.from,
    );
  }

  private addFeatureClasses(dataset: string, items: readonly (readonly [number, ClassFeaturesInput])[], from?: string): void {
    this.transaction(() => {
      const ds = this.dataset(dataset);
      if (from === undefined && ds.featuresFrom !== undefined)
        fail('addFeatureSet', `${dataset} features`, `features from ${ds.featuresFrom} (named with \`from\`, like the stored ones)`, 'features of unnamed origin');
      if (from !== undefined) {
        const stored = ds.featuresFrom ?? (ds.classesWithFeatures > 0 ? 'an unnamed extractor' : undefined);
        if (stored !== undefined && stored !== from)
          fail('addFeatureSet', `${dataset} features`, `features from one extractor (the stored ones come from ${stored})`, `features from ${from}`);
        this.db.prepare('UPDATE datasets SET features_from = ? WHERE id = ?').run(from, ds.id);
      }
      const ins = this.db.prepare(
        'INSERT OR REPLACE INTO class_features (dataset_id, class_index, label, count, dim, data, file_path, file_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const [ci, f] of items) {
        const where = `${dataset} class ${ci}`;
        if (!Number.isInteger(ci) || ci < 0 || ci >= ds.numClasses) fail('addClassFeatures', where, `a class index in 0..${ds.numClasses - 1}`, String(ci));
        if (ds.featureDim !== undefined && f.dim !== ds.featureDim) fail('addClassFeatures', where, `dim ${ds.featureDim} (the dataset's feature width)`, String(f.dim));
        if (!Number.isInteger(f.count) || f.count <= 0) fail('addClassFeatures', `${where}.count`, 'a positive integer', String(f.count));
        if ('data' in f) {
          if (f.data.length !== f.count * f.dim) fail('addClassFeatures', `${where}.data`, `${f.count}×${f.dim} = ${f.count * f.dim} float32 values`, String(f.data.length));
          const bytes = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
          ins.run(ds.id, ci, f.label, f.count, f.dim, Buffer.from(bytes), null, null);
        } else {
          ins.run(ds.id, ci, f.label, f.count, f.dim, null, f.file.path, f.file.offset ?? 0);
        }
        this.featureCache.delete(`${ds.id}/${ci}`);
      }
      if (ds.featureDim === undefined && items.length > 0) this.db.prepare('UPDATE datasets SET feature_dim = ? WHERE id = ?').run(items[0]![1].dim, ds.id);
    });
  }

  /** Which class indices of a dataset have features. */
  classesWithFeatures(dataset: string): number[] {
    const ds = this.dataset(dataset);
    return this.db.prepare('SELECT class_index FROM class_features WHERE dataset_id = ? ORDER BY class_index').pluck().all(ds.id) as number[];
  }

  /** One class's features (read once, then cached). */
  classFeatures(dataset: string, classIndex: number): ClassFeatures {
    const ds = this.dataset(dataset);
    const key = `${ds.id}/${classIndex}`;
    const cached = this.featureCache.get(key);
    if (cached) return cached;
    const row = this.db.prepare('SELECT * FROM class_features WHERE dataset_id = ? AND class_index = ?').get(ds.id, classIndex) as
      | { label: string; count: number; dim: number; data: Buffer | null; file_path: string | null; file_offset: number | null }
      | undefined;
    if (!row) {
      throw new MetaD2AException(
        makeError('NotFound', {
          source: this.file,
          field: `class_features of ${dataset} class ${classIndex}`,
          expected: 'stored features',
          got: 'none (the official MetaD2A database ships no ImageNet32 image features: add them with addClassFeatures / addFeatureSet)',
        }),
      );
    }
    const n = row.count * row.dim;
    let data: Float32Array;
    if (row.data) {
      data = new Float32Array(n);
      new Uint8Array(data.buffer).set(row.data.subarray(0, n * 4));
    } else {
      const file = path.resolve(this.baseDir, row.file_path!);
      data = new Float32Array(n);
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch (err) {
        throw new MetaD2AException(
          makeError('IoError', { source: file, field: `features of ${dataset} class ${classIndex}`, expected: 'a readable float32 file', got: (err as Error).message }),
        );
      }
      try {
        const got = fs.readSync(fd, new Uint8Array(data.buffer), 0, n * 4, row.file_offset ?? 0);
        if (got !== n * 4)
          throw new MetaD2AException(
            makeError('ParseError', {
              source: file,
              field: `features of ${dataset} class ${classIndex} at byte ${row.file_offset ?? 0}`,
              expected: `${n * 4} bytes`,
              got: `${got}`,
            }),
          );
      } finally {
        fs.closeSync(fd);
      }
    }
    const cf: ClassFeatures = { label: row.label, count: row.count, data };
    this.featureCache.set(key, cf);
    return cf;
  }

  // ---------------------------------------------------------------- tasks

  /** Add a task; the same task again returns its id, a different one under the same name is an error. */
  addTask(t: TaskInput): number {
    return this.addTasks([t])[0]!;
  }

  addTasks(ts: readonly TaskInput[]): number[] {
    return this.transaction(() => {
      const dsCache = new Map<string, DatasetInfo>();
      const get = this.db.prepare('SELECT id, dataset_id, class_ids FROM tasks WHERE name = ?');
      const ins = this.db.prepare('INSERT INTO tasks (name, dataset_id, class_ids) VALUES (?, ?, ?)');
      return ts.map((t) => {
        let ds = dsCache.get(t.dataset);
        if (!ds) dsCache.set(t.dataset, (ds = this.dataset(t.dataset)));
        if (!t.name) fail('addTask', 'name', 'a non-empty name', JSON.stringify(t.name));
        if (t.classIds.length === 0) fail('addTask', `${t.name}.classIds`, 'at least one class', '[]');
        const seen = new Set<number>();
        for (const c of t.classIds) {
          if (!Number.isInteger(c) || c < 0 || c >= ds.numClasses) fail('addTask', `${t.name}.classIds`, `class indices in 0..${ds.numClasses - 1} of ${t.dataset}`, String(c));
          if (seen.has(c)) fail('addTask', `${t.name}.classIds`, 'distinct class indices', `${c} twice`);
          seen.add(c);
        }
        const json = JSON.stringify(t.classIds);
        const row = get.get(t.name) as { id: number; dataset_id: number; class_ids: string } | undefined;
        if (row) {
          if (row.dataset_id !== ds.id || row.class_ids !== json) fail('addTask', t.name, `the stored task (${row.class_ids})`, json);
          return row.id;
        }
        return Number(ins.run(t.name, ds.id, json).lastInsertRowid);
      });
    });
  }

  task(nameOrId: string | number): TaskInfo {
    const row = this.db
      .prepare(
        `SELECT t.id, t.name, d.name AS dataset, t.class_ids FROM tasks t JOIN datasets d ON d.id = t.dataset_id WHERE ${typeof nameOrId === 'number' ? 't.id' : 't.name'} = ?`,
      )
      .get(nameOrId) as { id: number; name: string; dataset: string; class_ids: string } | undefined;
    if (!row) throw new MetaD2AException(notFound({ source: this.file, field: 'tasks', expected: `a task ${JSON.stringify(nameOrId)}`, got: 'none' }));
    return { id: row.id, name: row.name, dataset: row.dataset, classIds: JSON.parse(row.class_ids) as number[] };
  }

  tasks(): TaskInfo[] {
    const rows = this.db.prepare('SELECT t.id, t.name, d.name AS dataset, t.class_ids FROM tasks t JOIN datasets d ON d.id = t.dataset_id ORDER BY t.id').all() as {
      id: number;
      name: string;
      dataset: string;
      class_ids: string;
    }[];
    return rows.map((r) => ({ id: r.id, name: r.name, dataset: r.dataset, classIds: JSON.parse(r.class_ids) as number[] }));
  }

  /** Class indices of the task that have no stored features (empty: the task can be trained on). */
  missingFeatures(task: TaskInfo): number[] {
    const have = new Set(this.classesWithFeatures(task.dataset));
    return task.classIds.filter((c) => !have.has(c));
  }

  /** The task as a {@link FeatureSet} (classes in the task's order); an error names the classes without features. */
  taskFeatureSet(task: TaskInfo): FeatureSet {
    const missing = this.missingFeatures(task);
    if (missing.length > 0) {
      throw new MetaD2AException(
        makeError('NotFound', {
          source: this.file,
          field: `task ${task.name}`,
          expected: `features for every class of the task (dataset ${task.dataset})`,
          got: `${missing.length} of ${task.classIds.length} classes without features (e.g. ${missing.slice(0, 5).join(', ')})`,
        }),
      );
    }
    const ds = this.dataset(task.dataset);
    return { name: task.name, dim: ds.featureDim!, classes: task.classIds.map((c) => this.classFeatures(task.dataset, c)) };
  }

  // ---------------------------------------------------------------- architectures and records

  addArchitecture(space: string, arch: string): number {
    if (!space || !arch) fail('addArchitecture', 'space/arch', 'non-empty strings', JSON.stringify([space, arch]));
    return this.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO architectures (space, arch) VALUES (?, ?)').run(space, arch);
      return this.db.prepare('SELECT id FROM architectures WHERE space = ? AND arch = ?').pluck().get(space, arch) as number;
    });
  }

  architectures(space?: string): ArchitectureInfo[] {
    const rows = (
      space === undefined ? this.db.prepare('SELECT * FROM architectures ORDER BY id').all() : this.db.prepare('SELECT * FROM architectures WHERE space = ? ORDER BY id').all(space)
    ) as ArchitectureInfo[];
    return rows.map((r) => ({ id: r.id, space: r.space, arch: r.arch }));
  }

  addRecord(r: RecordInput): number {
    return this.addRecords([r])[0]!;
  }

  /**
   * Add records in one transaction (architectures are added as needed; tasks must exist). Returns
   * their ids. Idempotent: a record whose (task, architecture, metric, replicate) is already
   * stored is not added again, and the stored record's id is returned.
   */
  addRecords(rs: readonly RecordInput[]): number[] {
    return this.putRecords(rs).map((w) => w.id);
  }

  /** {@link addRecords}, saying for each record whether this call inserted it or found its key already recorded. */
  putRecords(rs: readonly RecordInput[]): RecordWrite[] {
    return this.transaction(() => {
      const taskIds = new Map<string, number>();
      const getTask = this.db.prepare('SELECT id FROM tasks WHERE name = ?').pluck();
      const ins = this.db.prepare(
        'INSERT INTO records (task_id, arch_id, accuracy, metric, replicate, how, created_at, recipe, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, arch_id, metric, replicate) DO NOTHING',
      );
      const stored = this.db.prepare('SELECT id FROM records WHERE task_id = ? AND arch_id = ? AND metric = ? AND replicate = ?').pluck();
      const now = new Date().toISOString();
      return rs.map((r, i): RecordWrite => {
        const where = `record ${i} (${r.task})`;
        if (!Number.isFinite(r.accuracy)) fail('addRecords', `${where}.accuracy`, 'a finite number (percent)', String(r.accuracy));
        if (!r.metric) fail('addRecords', `${where}.metric`, 'a non-empty metric name', JSON.stringify(r.metric));
        if (!r.how) fail('addRecords', `${where}.how`, 'a non-empty provenance', JSON.stringify(r.how));
        const replicate = r.replicate ?? 0;
        if (!Number.isInteger(replicate) || replicate < 0) fail('addRecords', `${where}.replicate`, 'a non-negative integer', String(r.replicate));
        let tid = taskIds.get(r.task);
        if (tid === undefined) {
          tid = getTask.get(r.task) as number | undefined;
          if (tid === undefined)
            throw new MetaD2AException(notFound({ source: this.file, field: `${where}.task`, expected: 'a task added with addTask', got: JSON.stringify(r.task) }));
          taskIds.set(r.task, tid);
        }
        const aid = this.addArchitecture(r.space, r.arch);
        const run = ins.run(
          tid,
          aid,
          r.accuracy,
          r.metric,
          replicate,
          r.how,
          r.createdAt ?? now,
          r.recipe === undefined ? null : JSON.stringify(r.recipe),
          r.extra === undefined ? null : JSON.stringify(r.extra),
        );
        return run.changes === 1 ? { id: Number(run.lastInsertRowid), inserted: true } : { id: stored.get(tid, aid, r.metric, replicate) as number, inserted: false };
      });
    });
  }

  /** Whether a record for (task, architecture[, metric][, replicate]) exists: a database builder skips those on resume. */
  hasRecord(q: { task: string; space: string; arch: string; metric?: string; replicate?: number }): boolean {
    const sql =
      'SELECT 1 FROM records r JOIN tasks t ON t.id = r.task_id JOIN architectures a ON a.id = r.arch_id WHERE t.name = ? AND a.space = ? AND a.arch = ?' +
      (q.metric !== undefined ? ' AND r.metric = ?' : '') +
      (q.replicate !== undefined ? ' AND r.replicate = ?' : '') +
      ' LIMIT 1';
    const args: unknown[] = [q.task, q.space, q.arch];
    if (q.metric !== undefined) args.push(q.metric);
    if (q.replicate !== undefined) args.push(q.replicate);
    return this.db.prepare(sql).get(...args) !== undefined;
  }

  private static readonly RECORD_SELECT =
    'SELECT r.id, r.task_id, t.name AS task, r.arch_id, a.space, a.arch, r.accuracy, r.metric, r.replicate, r.how, r.created_at, r.recipe, r.extra FROM records r JOIN tasks t ON t.id = r.task_id JOIN architectures a ON a.id = r.arch_id';

  private static toRecord(r: RecordRow): MetaRecord {
    return {
      id: r.id,
      taskId: r.task_id,
      task: r.task,
      archId: r.arch_id,
      space: r.space,
      arch: r.arch,
      accuracy: r.accuracy,
      metric: r.metric,
      replicate: r.replicate,
      how: r.how,
      createdAt: r.created_at,
      ...(r.recipe !== null ? { recipe: JSON.parse(r.recipe) as unknown } : {}),
      ...(r.extra !== null ? { extra: JSON.parse(r.extra) as unknown } : {}),
    };
  }

  /** Records in id order, optionally filtered. */
  records(filter: RecordFilter = {}): MetaRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.space !== undefined) where.push('a.space = ?'), args.push(filter.space);
    if (filter.metric !== undefined) where.push('r.metric = ?'), args.push(filter.metric);
    if (filter.task !== undefined) where.push('t.name = ?'), args.push(filter.task);
    const sql = `${MetaDatabase.RECORD_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id`;
    return (this.db.prepare(sql).all(...args) as RecordRow[]).map(MetaDatabase.toRecord);
  }

  /** Records by id, in the order given. */
  recordsById(ids: readonly number[]): MetaRecord[] {
    const all = new Map<number, MetaRecord>();
    const stmt = this.db.prepare(`${MetaDatabase.RECORD_SELECT} WHERE r.id = ?`);
    return ids.map((id) => {
      let r = all.get(id);
      if (!r) {
        const row = stmt.get(id) as RecordRow | undefined;
        if (!row) throw new MetaD2AException(notFound({ source: this.file, field: 'records', expected: `a record with id ${id}`, got: 'none' }));
        r = MetaDatabase.toRecord(row);
        all.set(id, r);
      }
      return r;
    });
  }

  // ---------------------------------------------------------------- splits

  /** Define (or replace) a named split of record ids; order inside each part is kept. */
  setSplit(name: string, s: SplitInput): void {
    this.transaction(() => {
      this.db.prepare('DELETE FROM splits WHERE name = ?').run(name);
      const ins = this.db.prepare('INSERT INTO splits (name, record_id, part, position) VALUES (?, ?, ?, ?)');
      const seen = new Set<number>();
      for (const part of ['train', 'valid', 'test'] as const) {
        (s[part] ?? []).forEach((id, pos) => {
          if (seen.has(id)) fail('setSplit', `${name}.${part}`, 'each record in one part only', `record ${id} twice`);
          seen.add(id);
          try {
            ins.run(name, id, part, pos);
          } catch (err) {
            throw new MetaD2AException(
              validationError({ source: 'setSplit', field: `${name}.${part}[${pos}]`, expected: 'the id of a stored record', got: `${id} (${(err as Error).message})` }),
            );
          }
        });
      }
    });
  }

  split(name: string): Split {
    const rows = this.db.prepare('SELECT record_id, part FROM splits WHERE name = ? ORDER BY part, position').all(name) as {
      record_id: number;
      part: 'train' | 'valid' | 'test';
    }[];
    if (rows.length === 0)
      throw new MetaD2AException(
        notFound({ source: this.file, field: 'splits', expected: `a split named ${JSON.stringify(name)} (have: ${this.splitNames().join(', ') || 'none'})`, got: 'none' }),
      );
    const out: { train: number[]; valid: number[]; test: number[] } = { train: [], valid: [], test: [] };
    for (const r of rows) out[r.part].push(r.record_id);
    return out;
  }

  splitNames(): string[] {
    return this.db.prepare('SELECT DISTINCT name FROM splits ORDER BY name').pluck().all() as string[];
  }

  // ---------------------------------------------------------------- housekeeping

  counts(): DatabaseCounts {
    const c = (t: string): number => this.db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
    return {
      datasets: c('datasets'),
      classFeatures: c('class_features'),
      tasks: c('tasks'),
      architectures: c('architectures'),
      records: c('records'),
      splits: this.db.prepare('SELECT count(DISTINCT name) FROM splits').pluck().get() as number,
    };
  }

  /** SQLite's own `integrity_check` and `foreign_key_check`: `[]` when the file is sound, else the problems. */
  integrityProblems(): string[] {
    const ic = this.db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    const problems = ic.map((r) => r.integrity_check).filter((s) => s !== 'ok');
    const fk = this.db.pragma('foreign_key_check') as unknown[];
    for (const f of fk) problems.push(`foreign key: ${JSON.stringify(f)}`);
    return problems;
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.featureCache.clear();
  }
}
