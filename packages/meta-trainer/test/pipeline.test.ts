import { Rng } from '@metad2a/core';
import { MetaDatabase, drawBatch, importOfficialNb201PredictorDb, selectGeneratorPairs, splitNormalisation, trainingItems, type MetaRecord } from '../src';
import { TOY, buildToyDb, loadToyFeatures } from './helpers/toy-db';

const TOY_CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

/** A record of task `taskId` for the generator-pair rules. */
const r = (id: number, taskId: number, accuracy: number): MetaRecord => ({
  id,
  taskId,
  task: `t${taskId}`,
  archId: id,
  space: 'nb201',
  arch: `a${id}`,
  accuracy,
  metric: 'm',
  replicate: 0,
  how: 'h',
  createdAt: '',
});

describe('data pipeline', () => {
  const db = buildToyDb({ tasks: 10, validTasks: 2 });
  afterAll(() => db.close());

  test('items: per class 20 rows without replacement, class-contiguous [C*20, d], seeded', () => {
    const recs = db.recordsById(db.split(TOY.split).train);
    const items = trainingItems(db, recs, { normalisation: splitNormalisation(db, TOY.split) });
    expect(items).toHaveLength(32);
    const feats = loadToyFeatures();
    const groups = drawBatch(items.slice(0, 3), 20, new Rng(1));
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.shape).toEqual([3, 5 * 20, 49]);
    expect(g.layout).toEqual({ classes: 5, perClass: 20 });
    // every row of class block c of item b is a row of that class, and the 20 rows are distinct
    for (let b = 0; b < 3; b++) {
      items[b]!.task.classIds.forEach((cls, c) => {
        const rows = new Set<number>();
        for (let r = 0; r < 20; r++) {
          const off = (b * 100 + c * 20 + r) * 49;
          const row = g.x.subarray(off, off + 49);
          const found = [...Array(60).keys()].find((i) => feats[cls]!.subarray(i * 49, (i + 1) * 49).every((v, j) => v === row[j]));
          expect(found).toBeDefined();
          rows.add(found!);
        }
        expect(rows.size).toBe(20);
      });
    }
    // same seed → same draw; another seed → another
    expect(drawBatch(items.slice(0, 3), 20, new Rng(1))[0]!.x).toEqual(g.x);
    expect(drawBatch(items.slice(0, 3), 20, new Rng(2))[0]!.x).not.toEqual(g.x);
    // targets are the normalised accuracies
    const n = splitNormalisation(db, TOY.split);
    expect(g.targets[0]).toBeCloseTo((items[0]!.record.accuracy - n.mean) / n.std / 100, 7);
  });

  test('a class with fewer rows than per-class draws is refused by name', () => {
    const recs = db.recordsById(db.split(TOY.split).train);
    expect(() => trainingItems(db, recs, { perClass: 61 })).toThrow(/class \d+ \((digit|fashion)-\d\): expected at least 61 feature rows, got 60/);
  });

  test('training refuses tasks without features, with a plain message', () => {
    const off = MetaDatabase.inMemory();
    importOfficialNb201PredictorDb(off);
    const recs = off.recordsById(off.split('nb201-official-predictor').train.slice(0, 50));
    expect(() => trainingItems(off, recs)).toThrow(/tasks without features \(dataset imagenet32.*official MetaD2A database ships no ImageNet32 features/);
    off.close();
  });

  test('training refuses tasks whose data sets hold features from different extractors', () => {
    const mixed = MetaDatabase.inMemory();
    for (const [name, from] of [
      ['a', 'random-conv:1'],
      ['b', 'mobilenetv2:2'],
    ] as const) {
      mixed.addDataset({ name, source: 'test', numClasses: 2, featureDim: 2 });
      mixed.addFeatureSet(name, { name, dim: 2, classes: [0, 1].map((c) => ({ label: `c${c}`, count: 1, data: new Float32Array([c, 1]) })) }, { from });
      mixed.addTask({ name: `${name}/t`, dataset: name, classIds: [0, 1] });
    }
    const ids = mixed.addRecords(['a/t', 'b/t'].map((task) => ({ task, space: 'nb201', arch: TOY_CELL, accuracy: 50, metric: 'm', how: 'test' })));
    expect(() => trainingItems(mixed, mixed.recordsById(ids), { perClass: 1 })).toThrow(
      /task features: expected features from one extractor for every data set of the training tasks, got a: random-conv:1; b: mobilenetv2:2/,
    );
    mixed.close();
  });

  test('generator pairs: best per task, min accuracy, all', () => {
    const recs = [r(1, 1, 50), r(2, 1, 70), r(3, 1, 70), r(4, 2, 40), r(5, 3, 90)];
    expect(selectGeneratorPairs(recs, { kind: 'best-per-task' }).map((x) => x.id)).toEqual([2, 4, 5]);
    expect(selectGeneratorPairs(recs, { kind: 'best-per-task', count: 2 }).map((x) => x.id)).toEqual([2, 3, 4, 5]);
    expect(selectGeneratorPairs(recs, { kind: 'min-accuracy', accuracy: 60 }).map((x) => x.id)).toEqual([2, 3, 5]);
    expect(selectGeneratorPairs(recs, { kind: 'all' })).toHaveLength(5);
    expect(() => selectGeneratorPairs(recs, { kind: 'best-per-task', count: 0 })).toThrow(/count: expected a positive integer/);
  });

  test('generator pairs: the top fraction of each task (rounded up, at least one)', () => {
    // task 1: 10 records (accuracy = 10·id), task 2: 3 records, task 3: 1 record
    const recs = [...Array.from({ length: 10 }, (_, i) => r(i + 1, 1, 10 * (i + 1))), r(11, 2, 5), r(12, 2, 7), r(13, 2, 6), r(14, 3, 1)];
    expect(selectGeneratorPairs(recs, { kind: 'top-fraction-per-task', fraction: 0.2 }).map((x) => x.id)).toEqual([9, 10, 12, 14]);
    expect(selectGeneratorPairs(recs, { kind: 'top-fraction-per-task', fraction: 0.3 }).map((x) => x.id)).toEqual([8, 9, 10, 12, 14]);
    expect(selectGeneratorPairs(recs, { kind: 'top-fraction-per-task', fraction: 0.5 }).map((x) => x.id)).toEqual([6, 7, 8, 9, 10, 12, 13, 14]);
    expect(selectGeneratorPairs(recs, { kind: 'top-fraction-per-task', fraction: 1 })).toHaveLength(14);
    for (const fraction of [0, -0.1, 1.5, Number.NaN])
      expect(() => selectGeneratorPairs(recs, { kind: 'top-fraction-per-task', fraction })).toThrow(/fraction: expected a number in \(0, 1\]/);
  });
});
