import { MetaDatabase, makeTaskSplit } from '../src';

const CELLS = ['|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|'];

function db(): MetaDatabase {
  const d = MetaDatabase.inMemory();
  for (const [name, tasks] of [
    ['a', 10],
    ['b', 4],
    ['c', 3],
    ['solo', 1],
  ] as const) {
    d.addDataset({ name, source: 'test', numClasses: 5 });
    for (let t = 0; t < tasks; t++) {
      d.addTask({ name: `${name}/${t}`, dataset: name, classIds: [0, 1] });
      d.addRecords(CELLS.map((arch, i) => ({ task: `${name}/${t}`, space: 'nb201', arch, accuracy: 50 + i, metric: 'm', how: 'test' })));
    }
  }
  d.addRecord({ task: 'a/0', space: 'nb201', arch: CELLS[0]!, accuracy: 1, metric: 'other', how: 'test' });
  return d;
}

describe('makeTaskSplit', () => {
  it('keeps every task whole in one part, validates the same share of each data set, holds test data sets out whole; seeded', () => {
    const d = db();
    const s = makeTaskSplit(d, { name: 'main', metric: 'm', validShare: 0.25, testDatasets: ['c'], seed: 7 });
    // a: round(2.5) = 3 valid of 10; b: 1 of 4; solo: a single task always trains; c: test
    expect(s).toEqual({ name: 'main', records: { train: 22, valid: 8, test: 6 }, tasks: { train: 11, valid: 4, test: 3 } });
    const split = d.split('main');
    const taskOf = new Map(d.records().map((r) => [r.id, r.task]));
    const parts = (ids: readonly number[]) => new Set(ids.map((i) => taskOf.get(i)!));
    const [train, valid, test] = [parts(split.train), parts(split.valid), parts(split.test)];
    for (const t of valid) expect(train.has(t)).toBe(false);
    expect([...test].sort()).toEqual(['c/0', 'c/1', 'c/2']);
    expect(train.has('solo/0')).toBe(true);
    expect([...valid].filter((t) => t.startsWith('a/'))).toHaveLength(3);
    expect(d.records({ metric: 'other' }).some((r) => [...split.train, ...split.valid, ...split.test].includes(r.id))).toBe(false);
    // same seed → same split; another seed → another draw of validation tasks
    const again = db();
    makeTaskSplit(again, { name: 'main', metric: 'm', validShare: 0.25, testDatasets: ['c'], seed: 7 });
    expect(again.split('main')).toEqual(split);
    makeTaskSplit(again, { name: 'main', metric: 'm', validShare: 0.25, testDatasets: ['c'], seed: 8 });
    expect(again.split('main').valid).not.toEqual(split.valid);
  });

  it('refuses a share outside [0, 1), an unknown test data set, and a metric without records', () => {
    const d = db();
    expect(() => makeTaskSplit(d, { name: 's', validShare: 1, seed: 1 })).toThrow(/validShare: expected a share in \[0, 1\), got 1/);
    expect(() => makeTaskSplit(d, { name: 's', validShare: 0.2, testDatasets: ['zz'], seed: 1 })).toThrow(/testDatasets: expected data sets of the database, got zz/);
    expect(() => makeTaskSplit(d, { name: 's', metric: 'nope', validShare: 0.2, seed: 1 })).toThrow(/records: expected records of metric nope to split, got none/);
  });
});
