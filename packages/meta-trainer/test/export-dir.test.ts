import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase, exportDir, importExportDir, readExportManifest } from '../src';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-export-'));

function sample(opts: { replicate: boolean } = { replicate: true }): MetaDatabase {
  const db = MetaDatabase.inMemory();
  db.addDataset({ name: 'source:glyphs-greek', source: 'source:glyphs-greek', numClasses: 33, note: 'images; source version g2' });
  db.addDataset({ name: 'builtin:fashion-mnist', source: 'builtin:fashion-mnist', numClasses: 10 });
  db.addTasks([
    { name: 'source:glyphs-greek/1-4-9', dataset: 'source:glyphs-greek', classIds: [1, 4, 9] },
    { name: 'builtin:fashion-mnist/0-2', dataset: 'builtin:fashion-mnist', classIds: [0, 2] },
  ]);
  const recipe = { name: 'nb201-db', C: 8 };
  db.addRecords([
    {
      task: 'source:glyphs-greek/1-4-9',
      space: 'nb201',
      arch: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
      accuracy: 33.3333333,
      metric: 'top1-test@nb201-db',
      how: 'trained:x',
      createdAt: '2026-12-05T19:00:00.000Z',
      recipe,
      extra: { seed: 5 },
    },
    {
      task: 'builtin:fashion-mnist/0-2',
      space: 'nb201',
      arch: '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
      accuracy: 91.25,
      metric: 'top1-test@nb201-db',
      how: 'trained:x',
      createdAt: '2026-12-05T19:00:01.000Z',
      recipe,
    },
    {
      task: 'source:glyphs-greek/1-4-9',
      space: 'nb201',
      arch: '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
      accuracy: 80.1,
      metric: 'top1-test@nb201-db',
      how: 'trained:x',
      createdAt: '2026-12-05T19:00:02.000Z',
    },
    // a second measurement of the first record's key (`bench transfer --replicates`), older than it
    ...(opts.replicate
      ? [
          {
            task: 'source:glyphs-greek/1-4-9',
            space: 'nb201',
            arch: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
            accuracy: 35.5,
            metric: 'top1-test@nb201-db',
            replicate: 1,
            how: 'trained:x (replicate 1)',
            createdAt: '2026-12-05T18:59:00.000Z',
            extra: { seed: 6 },
          },
        ]
      : []),
  ]);
  return db;
}

describe('export folder', () => {
  it('round-trips exactly: export → import → export gives the same bytes and the same records', () => {
    const a = sample();
    const d1 = tmp();
    const m = exportDir(a, d1, { recipe: 'nb201-db', seedNoise: 1.5 });
    expect(m.counts).toEqual({ datasets: 2, tasks: 2, records: 4 });
    const b = MetaDatabase.inMemory();
    expect(importExportDir(d1, b)).toEqual({ datasets: 2, tasks: 2, records: 4, skipped: 0 });
    expect(b.records({ task: 'source:glyphs-greek/1-4-9' }).map((r) => [r.accuracy, r.replicate])).toEqual(
      expect.arrayContaining([
        [33.3333333, 0],
        [35.5, 1],
      ]),
    );
    const d2 = tmp();
    exportDir(b, d2, { recipe: 'nb201-db', seedNoise: 1.5 });
    for (const f of ['manifest.json', 'datasets.jsonl.gz', 'tasks.jsonl.gz', 'records.jsonl.gz'])
      expect(fs.readFileSync(path.join(d2, f)).equals(fs.readFileSync(path.join(d1, f)))).toBe(true);
    const strip = (db: MetaDatabase) =>
      db
        .records()
        .map(({ id, taskId, archId, ...r }) => r)
        .sort((x, y) => (x.createdAt < y.createdAt ? -1 : 1));
    expect(strip(b)).toEqual(strip(a));
    expect(b.tasks().map((t) => [t.name, t.classIds])).toEqual(expect.arrayContaining(a.tasks().map((t) => [t.name, t.classIds])));
    // importing again adds nothing
    expect(importExportDir(d1, b)).toEqual({ datasets: 0, tasks: 0, records: 0, skipped: 4 });
    // a database holding the first measurement of a key gains the second (the key includes the replicate)
    expect(importExportDir(d1, sample({ replicate: false }))).toEqual({ datasets: 0, tasks: 0, records: 1, skipped: 3 });
    expect(readExportManifest(d1).about).toEqual({ recipe: 'nb201-db', seedNoise: 1.5 });
  });

  it("withoutReplicates: each key's first training alone, the same bytes as a database that never had the others", () => {
    const d1 = tmp();
    const m = exportDir(sample(), d1, undefined, { withoutReplicates: true });
    expect(m.counts).toEqual({ datasets: 2, tasks: 2, records: 3 });
    const d2 = tmp();
    exportDir(sample({ replicate: false }), d2);
    for (const f of ['manifest.json', 'datasets.jsonl.gz', 'tasks.jsonl.gz', 'records.jsonl.gz'])
      expect(fs.readFileSync(path.join(d1, f)).equals(fs.readFileSync(path.join(d2, f)))).toBe(true);
  });

  it('carries class features bit for bit with the extractor they came from; an export without features drops a stale features file', () => {
    const a = sample();
    const rows = (c: number) => new Float32Array([c + 0.1, -c / 3, Math.PI * c, 1e-7 * c]);
    a.addFeatureSet(
      'builtin:fashion-mnist',
      { name: 'f', dim: 2, classes: Array.from({ length: 10 }, (_, c) => ({ label: `c${c}`, count: 2, data: rows(c) })) },
      { from: 'random-conv:abc, first 2 images per class' },
    );
    const d1 = tmp();
    const m = exportDir(a, d1);
    expect(m.counts).toEqual({ datasets: 2, tasks: 2, records: 4, classFeatures: 10 });
    expect(Object.keys(m.files).sort()).toEqual(['datasets.jsonl.gz', 'features.jsonl.gz', 'records.jsonl.gz', 'tasks.jsonl.gz']);
    const b = MetaDatabase.inMemory();
    expect(importExportDir(d1, b)).toEqual({ datasets: 2, tasks: 2, records: 4, skipped: 0, classFeatures: 10 });
    expect(b.dataset('builtin:fashion-mnist')).toMatchObject({ featureDim: 2, classesWithFeatures: 10, featuresFrom: 'random-conv:abc, first 2 images per class' });
    expect(Buffer.from(b.classFeatures('builtin:fashion-mnist', 7).data.buffer).equals(Buffer.from(rows(7).buffer))).toBe(true);
    const d2 = tmp();
    exportDir(b, d2);
    for (const f of ['manifest.json', 'datasets.jsonl.gz', 'features.jsonl.gz']) expect(fs.readFileSync(path.join(d2, f)).equals(fs.readFileSync(path.join(d1, f)))).toBe(true);
    exportDir(sample(), d2);
    expect(fs.existsSync(path.join(d2, 'features.jsonl.gz'))).toBe(false);
    expect(readExportManifest(d2).counts).toEqual({ datasets: 2, tasks: 2, records: 4 });
    // withoutFeatures: the same records, datasets without a feature width, no features file
    const d3 = tmp();
    expect(exportDir(b, d3, undefined, { withoutFeatures: true }).counts).toEqual({ datasets: 2, tasks: 2, records: 4 });
    expect(fs.existsSync(path.join(d3, 'features.jsonl.gz'))).toBe(false);
    expect(fs.readFileSync(path.join(d3, 'records.jsonl.gz')).equals(fs.readFileSync(path.join(d1, 'records.jsonl.gz')))).toBe(true);
    const c = MetaDatabase.inMemory();
    importExportDir(d3, c);
    expect(c.dataset('builtin:fashion-mnist')).toMatchObject({ classesWithFeatures: 0 });
    expect(c.dataset('builtin:fashion-mnist').featureDim).toBeUndefined();
  });

  it('refuses a tampered or incomplete export with the file and field named', () => {
    const d = tmp();
    exportDir(sample(), d);
    const rec = path.join(d, 'records.jsonl.gz');
    const bytes = fs.readFileSync(rec);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(rec, bytes);
    expect(() => importExportDir(d, MetaDatabase.inMemory())).toThrow(/records\.jsonl\.gz: sha256: expected [0-9a-f]{64}/);
    fs.rmSync(rec);
    expect(() => importExportDir(d, MetaDatabase.inMemory())).toThrow(/records\.jsonl\.gz: expected the file the manifest lists, got missing/);
    expect(() => readExportManifest(tmp())).toThrow(/manifest\.json: expected an export folder/);
  });
});
