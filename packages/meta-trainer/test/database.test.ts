import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { isMetaD2AException } from '@metad2a/core';
import { MetaDatabase, SCHEMA_VERSION } from '../src';

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
    expect(() => MetaDatabase.open(file)).toThrow(/schema version.*expected at most 1/);
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
    expect(() => db.addRecord({ task: 'nope', space: 'nb201', arch: 'A', accuracy: 1, metric: 'm', how: 'h' })).toThrow(/record 0 \(nope\).task: expected a task added with addTask/);
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
      child.on('exit', (code, signal) => (signal === 'SIGKILL' && lastSeen >= 40 ? resolve() : reject(new Error(`writer exited with ${code}/${signal} after ${lastSeen} batches: ${stderr}`))));
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
});
