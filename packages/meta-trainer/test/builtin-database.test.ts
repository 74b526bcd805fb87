import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seedToU32 } from '@metad2a/core';
import { BUILTIN_DATABASES, MetaDatabase, builtinDatabaseDir, readExportManifest, resolveDatabase, type MetaRecord } from '../src';
import { shippedDataDir } from '../src/io/nb201-official';

describe('builtin:nb201', () => {
  it('is rebuilt from the committed export into the cache once, with the manifest counts', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-builtin-'));
    const env = { METAD2A_CACHE_DIR: cache };
    const manifest = readExportManifest(builtinDatabaseDir('nb201'));
    const r = resolveDatabase('builtin:nb201', env);
    expect(path.dirname(r.file)).toBe(path.join(cache, 'meta-db'));
    expect(r.manifest!.counts).toEqual(manifest.counts);
    const db = MetaDatabase.open(r.file, { readonly: true });
    expect(db.records()).toHaveLength(manifest.counts.records);
    expect(db.tasks()).toHaveLength(manifest.counts.tasks);
    expect(db.datasets()).toHaveLength(manifest.counts.datasets);
    expect(db.integrityProblems()).toEqual([]);
    for (const rec of db.records()) {
      expect(rec.space).toBe('nb201');
      expect(rec.metric).toBe('top1-test@nb201-db');
      expect(rec.accuracy).toBeGreaterThanOrEqual(0);
      expect(rec.accuracy).toBeLessThanOrEqual(100);
    }
    db.close();
    const mtime = fs.statSync(r.file).mtimeMs;
    expect(resolveDatabase('builtin:nb201', env).file).toBe(r.file);
    expect(fs.statSync(r.file).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(path.join(cache, 'meta-db')).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(() => resolveDatabase('builtin:nope', env)).toThrow(/builtin:nope: expected one of builtin:nb201/);
  });
});

describe.each([
  ['nb201-heldout-dev', 'nb201-heldout-dev-v1', [] as string[]],
  ['nb201-heldout-dev2', 'nb201-heldout-dev-v2', ['nb201-heldout-dev']],
])('builtin:%s', (name, plan, others) => {
  it(`holds every pair of plan ${plan} (10 tasks × 32 cells) and the picks measured on it, on tasks of no other held-out database`, () => {
    const env = { METAD2A_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-builtin-')) };
    expect((readExportManifest(builtinDatabaseDir(name)).about as { plan?: string }).plan).toBe(plan);
    const db = MetaDatabase.open(resolveDatabase(`builtin:${name}`, env).file, { readonly: true });
    const tasks = db.tasks();
    expect(tasks).toHaveLength(10);
    expect(db.integrityProblems()).toEqual([]);
    const test = new Set<string>();
    for (const other of ['nb201-heldout', ...others]) {
      const otherDb = MetaDatabase.open(resolveDatabase(`builtin:${other}`, env).file, { readonly: true });
      for (const t of otherDb.tasks()) test.add(t.name);
      otherDb.close();
    }
    for (const t of tasks) {
      expect(test.has(t.name)).toBe(false);
      const recs = db.records({ task: t.name });
      expect(recs.length).toBeGreaterThanOrEqual(32);
      for (const r of recs) expect([r.space, r.metric]).toEqual(['nb201', 'top1-test@nb201-db']);
    }
    db.close();
  });
});

describe('builtin:nb201-replicated', () => {
  // builtin:nb201's records and further trainings of its pairs (plan nb201-v1, `db build --replicates 3`), built session by session
  it("holds builtin:nb201's records as they are, and further trainings of its pairs with the replicate seed rule", () => {
    const env = { METAD2A_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-builtin-')) };
    const about = readExportManifest(builtinDatabaseDir('nb201-replicated')).about as { plan?: string; replicates?: { planned?: number } };
    expect([about.plan, about.replicates?.planned]).toEqual(['nb201-v1', 3]);
    const db = MetaDatabase.open(resolveDatabase('builtin:nb201-replicated', env).file, { readonly: true });
    expect(db.integrityProblems()).toEqual([]);
    const v1 = MetaDatabase.open(resolveDatabase('builtin:nb201', env).file, { readonly: true });
    const key = (r: MetaRecord) => `${r.task}|${r.arch}|${r.metric}`;
    const fields = (r: MetaRecord) => [key(r), r.accuracy, r.how, r.createdAt, (r.extra as { seed: number }).seed];
    const plan = v1.records();
    v1.close();
    const records = db.records();
    db.close();
    expect(records.filter((r) => r.replicate === 0).map(fields)).toEqual(plan.map(fields));
    const pairs = new Set(plan.map(key));
    const further = records.filter((r) => r.replicate > 0);
    expect(further.length).toBeGreaterThan(0);
    const seconds = new Set(further.filter((r) => r.replicate === 1).map(key));
    for (const r of further) {
      expect(pairs.has(key(r))).toBe(true);
      expect(r.replicate).toBeLessThan(3);
      expect((r.extra as { seed: number }).seed).toBe(seedToU32(`2026|${r.task}|${r.arch}|replicate ${r.replicate}`));
      expect(r.how).toBe(`trained:@metad2a/arch-trainer (replicate ${r.replicate} of metad2a db build)`);
      // a pair's second training comes before its third (with the build's two workers both are one worker's: 3,560 is even)
      if (r.replicate === 2) expect(seconds.has(key(r))).toBe(true);
    }
  });
});

describe('builtin:nb201-dense', () => {
  // The pairs are plan nb201-dense-v1's (pinned in @metad2a/arch-trainer's database-builder test), all of them built.
  it('holds every pair of plan nb201-dense-v1: 20 cells on each of 120 tasks, none of them a (task, cell) pair of builtin:nb201', () => {
    const env = { METAD2A_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-builtin-')) };
    expect((readExportManifest(builtinDatabaseDir('nb201-dense')).about as { plan?: string }).plan).toBe('nb201-dense-v1');
    const db = MetaDatabase.open(resolveDatabase('builtin:nb201-dense', env).file, { readonly: true });
    expect(db.integrityProblems()).toEqual([]);
    const v1 = MetaDatabase.open(resolveDatabase('builtin:nb201', env).file, { readonly: true });
    const v1Pairs = new Set(v1.records().map((r) => `${v1.task(r.taskId).name}|${r.arch}`));
    v1.close();
    const records = db.records();
    expect(records.length).toBeGreaterThan(0);
    const perTask = new Map<string, number>();
    for (const r of records) {
      const task = db.task(r.taskId).name;
      perTask.set(task, (perTask.get(task) ?? 0) + 1);
      expect(v1Pairs.has(`${task}|${r.arch}`)).toBe(false);
      expect([r.space, r.metric]).toEqual(['nb201', 'top1-test@nb201-db']);
    }
    // complete since session 14: every pair of the plan, 20 cells on each of its 120 tasks
    expect(records).toHaveLength(2400);
    expect([...perTask.values()]).toEqual(new Array(120).fill(20));
    db.close();
  });
});

describe('builtin:mbv3 and builtin:mbv3-heldout', () => {
  // Their exports (plans mbv3-v1 / mbv3-heldout-v1 of @metad2a/arch-trainer) are committed once built;
  // until then the reference is refused with the folder it needs, afterwards it opens MBv3 records.
  it.each([
    ['mbv3', 'mbv3-measured'],
    ['mbv3-heldout', 'mbv3-heldout-measured'],
  ])('builtin:%s opens data/%s, or says it is missing', (name, folder) => {
    expect(BUILTIN_DATABASES[name]!.folder).toBe(folder);
    const env = { METAD2A_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-builtin-')) };
    if (!fs.existsSync(path.join(shippedDataDir(folder), 'manifest.json'))) {
      expect(() => resolveDatabase(`builtin:${name}`, env)).toThrow(
        new RegExp(`builtin:${name}: expected the export folder data/${folder} shipped with @metad2a/meta-trainer, got missing`),
      );
      return;
    }
    const db = MetaDatabase.open(resolveDatabase(`builtin:${name}`, env).file, { readonly: true });
    expect(db.records().length).toBeGreaterThan(0);
    for (const rec of db.records()) {
      expect(rec.space).toBe('mbv3');
      expect(rec.metric).toBe('top1-test@mbv3-db');
    }
    db.close();
  });

  it('is listed in the error for an unknown name', () => {
    expect(() => resolveDatabase('builtin:nope', {})).toThrow(
      /one of builtin:nb201, builtin:nb201-replicated, builtin:nb201-dense, builtin:nb201-heldout, builtin:nb201-heldout-dev, builtin:nb201-heldout-dev2, builtin:mbv3, builtin:mbv3-heldout/,
    );
  });
});
