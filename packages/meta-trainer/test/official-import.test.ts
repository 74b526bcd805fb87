import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MetaDatabase,
  OFFICIAL_NB201,
  exportCsv,
  exportJson,
  importOfficialNb201PredictorDb,
  importOfficialNb201PredictorPt,
  importByLabelFeatures,
  recordsCsv,
  splitNormalisation,
  type MetaDatabaseDump,
} from '../src';

describe('official NB201 predictor database import', () => {
  let db: MetaDatabase;
  let report: ReturnType<typeof importOfficialNb201PredictorDb>;
  beforeAll(() => {
    db = MetaDatabase.inMemory();
    report = importOfficialNb201PredictorDb(db, { importedAt: '2026-11-28T00:00:00.000Z' });
  });
  afterAll(() => db.close());

  test('4,630 records, 3,031 tasks, 1,553 architectures', () => {
    expect(report).toMatchObject({ records: 4630, tasks: 3031, architectures: 1553, split: { train: 4230, valid: 400 } });
    expect(db.counts()).toMatchObject({ records: 4630, tasks: 3031, architectures: 1553, datasets: 1, classFeatures: 0, splits: 1 });
  });

  test('the 2 pairs the official database measured twice are replicates 0 and 1 (rows 676/4321 and 1083/4384)', () => {
    const twice = db.records().filter((r) => r.replicate === 1);
    expect(twice.map((r) => [r.task, r.accuracy, (r.extra as { row: number }).row])).toEqual([
      ['nb201-official/task-488', 60.82, 4321],
      ['nb201-official/task-103', 53.65, 4384],
    ]);
    for (const r of twice) {
      const first = db.records({ task: r.task }).filter((x) => x.arch === r.arch);
      expect(first.map((x) => x.replicate)).toEqual([0, 1]);
    }
  });

  test('the official split: the first 400 of the permutation are validation, in order', () => {
    const s = db.split(OFFICIAL_NB201.split);
    // predictor_idx starts 3495, 357, 3034 (0-based rows); record id = row + 1
    expect(s.valid.slice(0, 3)).toEqual([3496, 358, 3035]);
    expect(s.valid).toHaveLength(400);
    expect(s.train).toHaveLength(4230);
    expect(new Set([...s.train, ...s.valid]).size).toBe(4630);
  });

  test('normalisation over the 4,230 training records: μ = 71.5715, σ = 6.6932 (unbiased)', () => {
    const n = splitNormalisation(db, OFFICIAL_NB201.split);
    expect(n.mean).toBeCloseTo(71.5715, 4);
    expect(n.std).toBeCloseTo(6.6932, 4);
  });

  test('first row, 0-based class ids, and the plain "no features" warning', () => {
    const r = db.recordsById([1])[0]!;
    expect(r).toMatchObject({ task: 'nb201-official/task-3890', space: 'nb201', accuracy: 74.8, metric: OFFICIAL_NB201.metric });
    expect(r.arch).toBe('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
    expect((r.extra as { nb201Index: number }).nb201Index).toBe(9930);
    // task 0 of task_classes.json starts with the 1-based ids 338, 238, 328: stored 0-based
    expect(db.task('nb201-official/task-0').classIds.slice(0, 3)).toEqual([337, 237, 327]);
    const t = db.task('nb201-official/task-3890');
    expect(t.classIds).toHaveLength(20);
    expect(Math.min(...t.classIds)).toBeGreaterThanOrEqual(0);
    expect(report.tasksWithoutFeatures).toBe(3031);
    expect(report.warnings[0]).toMatch(/3031 of 3031 imported tasks have no image features.*imgnet32bylabel\.pt.*refuses/);
    expect(() => db.taskFeatureSet(t)).toThrow(/task nb201-official\/task-3890: expected features for every class .*got 20 of 20 classes without features/);
  });

  test('importing twice is refused', () => {
    expect(() => importOfficialNb201PredictorDb(db)).toThrow(/already imported/);
    expect(db.counts().records).toBe(4630);
  });

  test('JSON and CSV exports hold every record and the split', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-exp-'));
    exportJson(db, path.join(dir, 'db.json'));
    const dump = JSON.parse(fs.readFileSync(path.join(dir, 'db.json'), 'utf8')) as MetaDatabaseDump;
    expect(dump.records).toHaveLength(4630);
    expect(dump.tasks).toHaveLength(3031);
    expect(dump.splits[OFFICIAL_NB201.split]!.valid).toHaveLength(400);
    exportCsv(db, path.join(dir, 'db.csv'), { split: OFFICIAL_NB201.split });
    const lines = fs.readFileSync(path.join(dir, 'db.csv'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4631);
    expect(lines[0]).toBe('id,task,dataset,class_ids,space,arch,accuracy,metric,how,created_at,split_part,replicate');
    expect(lines.filter((l) => /,valid,\d+$/.test(l))).toHaveLength(400);
    expect(recordsCsv(db, { task: 'nb201-official/task-3890' }).trim().split('\n').length).toBeGreaterThan(1);
  });

  test('the .pt route (via @metad2a/torch-io) gives the same records, tasks and split as the CSV route', () => {
    const pt = MetaDatabase.inMemory();
    const rep = importOfficialNb201PredictorPt(pt, path.join(__dirname, 'data/official-pt'));
    expect(rep).toMatchObject({ records: 4630, tasks: 3031, architectures: 1553, split: { train: 4230, valid: 400 } });
    const a = db.records();
    const b = pt.records();
    expect(b.map((r) => [r.task, r.arch])).toEqual(a.map((r) => [r.task, r.arch]));
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]!.accuracy - b[i]!.accuracy));
    expect(maxDiff).toBeLessThan(1e-5); // the CSV holds 6 decimals
    expect(pt.split(OFFICIAL_NB201.split)).toEqual(db.split(OFFICIAL_NB201.split));
    expect(pt.tasks().map((t) => t.classIds)).toEqual(db.tasks().map((t) => t.classIds));
    pt.close();
  });

  test('*bylabel.pt feature files import as per-class features (via @metad2a/torch-io)', () => {
    const fdb = MetaDatabase.inMemory();
    const file = path.join(__dirname, 'data/tinybylabel.pt');
    expect(importByLabelFeatures(fdb, file, { dataset: 'tiny', labels: ['a', 'b', 'c'] })).toBe(3);
    const expected = JSON.parse(fs.readFileSync(path.join(__dirname, 'data/tinybylabel.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
    expect(fdb.dataset('tiny')).toMatchObject({ numClasses: 3, featureDim: 8, classesWithFeatures: 3 });
    for (const k of ['0', '1', '2']) {
      const c = fdb.classFeatures('tiny', Number(k));
      expect([c.count, c.data.length / c.count]).toEqual(expected[k]!.shape);
      expect(Array.from(c.data)).toEqual(Array.from(Float32Array.from(expected[k]!.values)));
    }
    fdb.addTask({ name: 'tiny/all', dataset: 'tiny', classIds: [2, 0, 1] });
    expect(fdb.taskFeatureSet(fdb.task('tiny/all')).classes.map((c) => [c.label, c.count])).toEqual([
      ['c', 20],
      ['a', 21],
      ['b', 25],
    ]);
    // features for the official ImageNet32 dataset must match its definition (1,000 classes of 512)
    expect(() => importByLabelFeatures(db, file, { dataset: 'imagenet32' })).toThrow(/imagenet32: expected the stored definition \(1000 classes, dim 512\)/);
    fdb.close();
  });
});
