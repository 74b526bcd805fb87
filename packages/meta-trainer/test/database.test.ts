import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { isMetaD2AException } from '@metad2a/core';
import { MIGRATIONS, MetaDatabase, SCHEMA_VERSION } from '../src';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-db-'));

function toyDb(): MetaDatabase {
  const db = MetaDatabase.inMemory();
  db.addDataset({ name: 'toy', source: 'unit test', numClasses: 4, featureDim: 3 });
  return db;
}

describe('MetaDatabase', () => {
  test('schema is created and versioned; reopening keeps data; a newer schema is refused', () => {
    const dir = tmp();
    const file = path.join(dir, 'meta.sqlite');
    const db = MetaDatabase.open(file);
    expect(db.schemaVersion).toBe(SCHEMA_VERSION);
    db.addDataset({ name: 'toy', source: 'unit test', numClasses: 4 });
    db.close();
    const again = MetaDatabase.open(file);
    expect(again.counts().datasets).toBe(1);
    again.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => MetaDatabase.open(file)).toThrow(new RegExp(`schema version.*expected at most ${SCHEMA_VERSION}`));
  });

  test('datasets, features (inline and file reference), tasks, records, splits round-trip', () => {
    const dir = tmp();
    const db = MetaDatabase.open(path.join(dir, 'meta.sqlite'));
    db.addDataset({ name: 'toy', source: 'unit test', numClasses: 3, featureDim: 2 });
    expect(db.addDataset({ name: 'toy', source: 'unit test', numClasses: 3, featureDim: 2 })).toBe(db.dataset('toy').id);
    expect(() => db.addDataset({ name: 'toy', source: 'x', numClasses: 5 })).toThrow(/toy: expected the stored definition \(3 classes/);
    db.addClassFeatures('toy', 0, { label: 'a', count: 2, dim: 2, data: new Float32Array([1, 2, 3, 4]) });
    // class 1 lives in a raw float32 file, at byte offset 8
    fs.writeFileSync(path.join(dir, 'c1.f32'), Buffer.from(new Float32Array([9, 9, 5, 6, 7, 8]).buffer));
    db.addClassFeatures('toy', 1, { label: 'b', count: 2, dim: 2, file: { path: 'c1.f32', offset: 8 } });
    expect(() => db.addClassFeatures('toy', 2, { label: 'c', count: 2, dim: 3, data: new Float32Array(6) })).toThrow(/dim 2/);
    expect(() => db.addClassFeatures('toy', 2, { label: 'c', count: 2, dim: 2, data: new Float32Array(3) })).toThrow(/2×2 = 4 float32 values, got 3/);
    db.addTask({ name: 't01', dataset: 'toy', classIds: [1, 0] });
    db.addTask({ name: 't12', dataset: 'toy', classIds: [1, 2] });
    expect(() => db.addTask({ name: 't01', dataset: 'toy', classIds: [0, 1] })).toThrow(/t01: expected the stored task/);
    expect(() => db.addTask({ name: 'bad', dataset: 'toy', classIds: [0, 3] })).toThrow(/class indices in 0..2 of toy, got 3/);
    const fs01 = db.taskFeatureSet(db.task('t01'));
    expect(fs01.dim).toBe(2);
    expect(fs01.classes.map((c) => c.label)).toEqual(['b', 'a']);
    expect([...fs01.classes[0]!.data]).toEqual([5, 6, 7, 8]);
    expect([...fs01.classes[1]!.data]).toEqual([1, 2, 3, 4]);
    expect(db.missingFeatures(db.task('t12'))).toEqual([2]);
    expect(() => db.taskFeatureSet(db.task('t12'))).toThrow(/task t12: expected features for every class.*got 1 of 2 classes without features \(e.g. 2\)/);

    const ids = db.addRecords([
      { task: 't01', space: 'nb201', arch: 'A', accuracy: 70, metric: 'top1', how: 'test', recipe: { epochs: 3 } },
      { task: 't01', space: 'nb201', arch: 'B', accuracy: 60, metric: 'top1', how: 'test', createdAt: '2026-01-01T00:00:00.000Z' },
      { task: 't12', space: 'nb201', arch: 'A', accuracy: 50, metric: 'top1', how: 'test', extra: { flops: 1 } },
    ]);
    expect(ids).toEqual([1, 2, 3]);
    expect(() => db.addRecord({ task: 'nope', space: 'nb201', arch: 'A', accuracy: 1, metric: 'm', how: 'h' })).toThrow(
      /record 0 \(nope\).task: expected a task added with addTask/,
    );
    expect(db.counts()).toMatchObject({ records: 3, architectures: 2, tasks: 2 });
    expect(db.hasRecord({ task: 't01', space: 'nb201', arch: 'B' })).toBe(true);
    expect(db.hasRecord({ task: 't12', space: 'nb201', arch: 'B' })).toBe(false);
    expect(db.hasRecord({ task: 't01', space: 'nb201', arch: 'A', metric: 'other' })).toBe(false);
    const r = db.records({ task: 't01' });
    expect(r.map((x) => [x.arch, x.accuracy, x.recipe])).toEqual([
      ['A', 70, { epochs: 3 }],
      ['B', 60, undefined],
    ]);
    expect(r[1]!.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(db.records({ task: 't12' })[0]!.extra).toEqual({ flops: 1 });
    db.setSplit('s', { train: [3, 1], valid: [2] });
    expect(db.split('s')).toEqual({ train: [3, 1], valid: [2], test: [] });
    expect(() => db.setSplit('s2', { train: [1], valid: [1] })).toThrow(/each record in one part only/);
    expect(() => db.setSplit('s3', { train: [99], valid: [] })).toThrow(/s3.train\[0\]: expected the id of a stored record/);
    expect(db.splitNames()).toEqual(['s']);
    expect(db.integrityProblems()).toEqual([]);
    db.close();
  });

  test('features keep the extractor they came from; features from another extractor are refused', () => {
    const db = toyDb();
    const fsOf = (v: number) => ({ name: 'toy', dim: 3, classes: Array.from({ length: 4 }, (_, c) => ({ label: `c${c}`, count: 1, data: new Float32Array([v, c, 0]) })) });
    db.addFeatureSet('toy', fsOf(1), { from: 'random-conv:abc' });
    expect(db.dataset('toy')).toMatchObject({ featuresFrom: 'random-conv:abc', classesWithFeatures: 4 });
    db.addFeatureSet('toy', fsOf(2), { from: 'random-conv:abc' });
    expect(Array.from(db.classFeatures('toy', 3).data)).toEqual([2, 3, 0]);
    expect(() => db.addFeatureSet('toy', fsOf(3), { from: 'mobilenetv2:def' })).toThrow(
      /toy features: expected features from one extractor \(the stored ones come from random-conv:abc\), got features from mobilenetv2:def/,
    );
    expect(Array.from(db.classFeatures('toy', 3).data)).toEqual([2, 3, 0]);
    const unnamed = toyDb();
    unnamed.addFeatureSet('toy', fsOf(1));
    expect(unnamed.dataset('toy').featuresFrom).toBeUndefined();
    expect(() => unnamed.addFeatureSet('toy', fsOf(1), { from: 'random-conv:abc' })).toThrow(/the stored ones come from an unnamed extractor/);
  });

  test('a failing batch leaves nothing behind (one transaction)', () => {
    const db = toyDb();
    db.addTask({ name: 't', dataset: 'toy', classIds: [0] });
    expect(() =>
      db.addRecords([
        { task: 't', space: 's', arch: 'a', accuracy: 1, metric: 'm', how: 'h' },
        { task: 't', space: 's', arch: 'b', accuracy: Number.NaN, metric: 'm', how: 'h' },
      ]),
    ).toThrow(/record 1 \(t\).accuracy/);
    expect(db.counts()).toMatchObject({ records: 0, architectures: 0 });
    let caught: unknown;
    try {
      db.addTask({ name: 'u', dataset: 'missing', classIds: [0] });
    } catch (e) {
      caught = e;
    }
    expect(isMetaD2AException(caught, 'NotFound')).toBe(true);
    expect(db.counts().tasks).toBe(1);
    db.close();
  });

  test('a database written by a process killed with SIGKILL is intact and keeps every committed batch', async () => {
    const dir = tmp();
    const file = path.join(dir, 'meta.sqlite');
    const root = path.join(__dirname, '../../..');
    // node itself runs the writer (through tsx's loader), so SIGKILL hits the writing process
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers/db-writer.ts'), file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const guard = setTimeout(() => child.kill('SIGKILL'), 60000);
    let lastSeen = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = [...d.toString().matchAll(/committed (\d+)/g)];
        if (m.length) lastSeen = Number(m[m.length - 1]![1]);
        if (lastSeen >= 40 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) =>
        signal === 'SIGKILL' && lastSeen >= 40 ? resolve() : reject(new Error(`writer exited with ${code}/${signal} after ${lastSeen} batches: ${stderr}`)),
      );
    }).finally(() => clearTimeout(guard));
    const db = MetaDatabase.open(file);
    expect(db.integrityProblems()).toEqual([]);
    const recs = db.records();
    // every batch the child reported as committed is there, and no batch is partial
    expect(recs.length).toBeGreaterThanOrEqual(10 * lastSeen);
    expect(recs.length % 10).toBe(0);
    const batches = new Set(recs.map((r) => (r.extra as { batch: number }).batch));
    expect(batches.size).toBe(recs.length / 10);
    expect(Math.max(...batches)).toBe(batches.size);
    // and it can be written again
    db.addRecord({ task: 'toy/t0', space: 'toy-space', arch: 'after', accuracy: 1, metric: 'top1', how: 'test' });
    expect(db.records().length).toBe(recs.length + 1);
    db.close();
  });

  test('records are keyed by (task, architecture, metric, replicate): adding one again returns the stored record', () => {
    const db = toyDb();
    db.addTask({ name: 't', dataset: 'toy', classIds: [0, 1] });
    const a = { task: 't', space: 's', arch: 'a', accuracy: 61, metric: 'm', how: 'h' };
    const [first] = db.putRecords([a]);
    expect(first).toEqual({ id: 1, inserted: true });
    // the same key again (another accuracy, another provenance): nothing is added, the first stays
    expect(
      db.putRecords([
        { ...a, accuracy: 99, how: 'again' },
        { ...a, metric: 'other' },
        { ...a, replicate: 1, accuracy: 62 },
      ]),
    ).toEqual([
      { id: 1, inserted: false },
      { id: 2, inserted: true },
      { id: 3, inserted: true },
    ]);
    expect(db.addRecord(a)).toBe(1);
    expect(db.records().map((r) => [r.id, r.metric, r.replicate, r.accuracy, r.how])).toEqual([
      [1, 'm', 0, 61, 'h'],
      [2, 'other', 0, 61, 'h'],
      [3, 'm', 1, 62, 'h'],
    ]);
    expect(() => db.addRecord({ ...a, replicate: -1 })).toThrow(/record 0 \(t\)\.replicate: expected a non-negative integer, got -1/);
    db.close();
  });

  test('migrating a version-1 file: duplicates removed (first row kept, splits moved to it), imported replicates kept, then UNIQUE', () => {
    const file = path.join(tmp(), 'v1.sqlite');
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!.sql);
    raw.pragma('user_version = 1');
    raw.exec(`
      INSERT INTO datasets (id, name, source, num_classes) VALUES (1, 'toy', 'test', 4);
      INSERT INTO tasks (id, name, dataset_id, class_ids) VALUES (1, 't1', 1, '[0,1]'), (2, 't2', 1, '[2,3]');
      INSERT INTO architectures (id, space, arch) VALUES (1, 's', 'A'), (2, 's', 'B');
      INSERT INTO records (id, task_id, arch_id, accuracy, metric, how, created_at, extra) VALUES
        (1, 1, 1, 70, 'top1', 'trained:x', 'c', NULL),
        (2, 1, 2, 60, 'top1', 'trained:x', 'c', NULL),
        (3, 1, 1, 71, 'top1', 'trained:x', 'c', NULL),       -- duplicate of 1 (two builders)
        (4, 2, 1, 50, 'top1', 'trained:x', 'c', NULL),
        (5, 1, 1, 72, 'top1', 'trained:x', 'c', NULL),       -- duplicate of 1 again
        (6, 1, 1, 70, 'official', 'imported:src', 'c', '{"row":0}'),
        (7, 1, 1, 55, 'official', 'imported:src', 'c', '{"row":1}'), -- a second measurement in the source: replicate 1
        (8, 1, 1, 70, 'official', 'imported:src', 'c', '{"row":0}'), -- the source imported twice: duplicate of 6
        (9, 1, 2, 65, 'official', 'imported:src', 'c', '{"row":2}');
      INSERT INTO splits (name, record_id, part, position) VALUES
        ('s', 3, 'train', 0), ('s', 2, 'train', 1), ('s', 4, 'valid', 0),    -- 3 moves to 1
        ('both', 1, 'train', 0), ('both', 5, 'valid', 0),                     -- 5 goes (1 is already in the split)
        ('off', 8, 'train', 0), ('off', 7, 'train', 1), ('off', 9, 'valid', 0);
    `);
    raw.close();
    const db = MetaDatabase.open(file);
    expect(db.schemaVersion).toBe(SCHEMA_VERSION);
    expect(db.records().map((r) => [r.id, r.metric, r.replicate, r.accuracy])).toEqual([
      [1, 'top1', 0, 70],
      [2, 'top1', 0, 60],
      [4, 'top1', 0, 50],
      [6, 'official', 0, 70],
      [7, 'official', 1, 55],
      [9, 'official', 0, 65],
    ]);
    expect(db.split('s')).toEqual({ train: [1, 2], valid: [4], test: [] });
    expect(db.split('both')).toEqual({ train: [1], valid: [], test: [] });
    expect(db.split('off')).toEqual({ train: [6, 7], valid: [9], test: [] });
    expect(db.integrityProblems()).toEqual([]);
    expect(db.putRecords([{ task: 't1', space: 's', arch: 'A', accuracy: 1, metric: 'top1', how: 'h' }])).toEqual([{ id: 1, inserted: false }]);
    db.close();
  });

  test('concurrent writer processes on one file: every record exactly once, no errors', async () => {
    const file = path.join(tmp(), 'meta.sqlite');
    const root = path.join(__dirname, '../../..');
    const run = (rotate: number) =>
      new Promise<{ inserted: number; existing: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers/db-concurrent-writer.ts'), file, String(rotate)], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => {
          const m = /inserted (\d+) existing (\d+)/.exec(out);
          if (code === 0 && m) resolve({ inserted: Number(m[1]), existing: Number(m[2]) });
          else reject(new Error(`writer ${rotate} exited ${code}: ${err}`));
        });
      });
    // two writers go through the pairs in the same order (racing on every key), a third from the middle
    const results = await Promise.all([run(0), run(0), run(100)]);
    expect(results.reduce((s, r) => s + r.inserted, 0)).toBe(200);
    for (const r of results) expect(r.inserted + r.existing).toBe(200);
    const db = MetaDatabase.open(file);
    const recs = db.records();
    expect(recs).toHaveLength(200);
    expect(new Set(recs.map((r) => `${r.task}|${r.arch}`)).size).toBe(200);
    expect(db.counts()).toMatchObject({ datasets: 1, tasks: 40, architectures: 5 });
    expect(db.integrityProblems()).toEqual([]);
    db.close();
  }, 60_000);

  test('a second writer waits for the write lock; past its busy timeout it gets a named error, not an SQLite stack', async () => {
    const file = path.join(tmp(), 'meta.sqlite');
    const setup = MetaDatabase.open(file);
    setup.addDataset({ name: 'toy', source: 'test', numClasses: 4 });
    setup.addTask({ name: 't', dataset: 'toy', classIds: [0, 1] });
    setup.close();
    const root = path.join(__dirname, '../../..');
    const holder = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers/db-lock-holder.ts'), file, '2500'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => holder.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      holder.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
    });
    const impatient = MetaDatabase.open(file, { busyTimeoutMs: 200 });
    let caught: unknown;
    try {
      impatient.addRecord({ task: 't', space: 's', arch: 'a', accuracy: 1, metric: 'm', how: 'h' });
    } catch (e) {
      caught = e;
    }
    impatient.close();
    expect(isMetaD2AException(caught, 'IoError')).toBe(true);
    expect((caught as Error).message).toMatch(/meta\.sqlite: write lock: expected the write lock within 0\.2 s, got another process is writing this meta-database/);
    // the default timeout waits for the holder to commit, then writes
    const patient = MetaDatabase.open(file);
    const t0 = Date.now();
    expect(patient.addRecord({ task: 't', space: 's', arch: 'a', accuracy: 1, metric: 'm', how: 'h' })).toBe(1);
    expect(Date.now() - t0).toBeGreaterThan(500);
    patient.close();
    expect(await exited).toBe(0);
  }, 30_000);
});
