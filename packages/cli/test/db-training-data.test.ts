import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadFeatureSet } from '@metad2a/datasets';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { runCli } from '../src';
import { capture } from './capture';

describe('metad2a db features', () => {
  it('stores the first --per-class images of every class as features from one named extractor; a rerun skips them', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-features-')), 'meta.sqlite');
    const db = MetaDatabase.open(file);
    db.addDataset({ name: 'builtin:digits', source: 'digits', numClasses: 10 });
    db.close();

    const a = capture();
    expect(await runCli(['db', 'features', '--db', file, '--per-class', '3'], a.io)).toBe(0);
    const out = JSON.parse(a.out());
    expect(out.datasets).toBe(1);
    expect(out.from).toMatch(/^random-conv.*, first 3 images per class$/);
    expect(a.err()).toMatch(/\[db features\] 1\/1 builtin:digits: 10 classes × 512 in /);

    const stored = MetaDatabase.open(file);
    const expected = await loadFeatureSet('builtin:digits', { maxPerClass: 3, progress: false });
    expect(stored.dataset('builtin:digits')).toMatchObject({ classesWithFeatures: 10, featureDim: 512, featuresFrom: out.from });
    for (const c of [0, 9]) {
      const f = stored.classFeatures('builtin:digits', c);
      expect(f.count).toBe(3);
      expect(Array.from(f.data)).toEqual(Array.from(expected.classes[c]!.data));
    }
    stored.close();

    const b = capture();
    expect(await runCli(['db', 'features', '--db', file, '--per-class', '3'], b.io)).toBe(0);
    expect(b.err()).toMatch(/1\/1 builtin:digits: 10 classes × 512 \(already there\)/);

    const c = capture();
    expect(await runCli(['db', 'features', '--db', file, '--per-class', '5'], c.io)).toBe(1);
    expect(c.err()).toMatch(
      /expected features from one extractor \(the stored ones come from random-conv.*first 3 images per class\), got features from random-conv.*first 5 images per class/,
    );
  }, 120_000);
});

describe('metad2a db split', () => {
  it('splits the records of a database by task and stores the split; bad shares and unknown data sets are usage errors', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-split-')), 'meta.sqlite');
    const db = MetaDatabase.open(file);
    for (const d of ['x', 'y']) {
      db.addDataset({ name: d, source: 'test', numClasses: 3 });
      for (let t = 0; t < 4; t++) {
        db.addTask({ name: `${d}/${t}`, dataset: d, classIds: [0, 1] });
        db.addRecord({ task: `${d}/${t}`, space: 'nb201', arch: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', accuracy: 40 + t, metric: 'top1-test@nb201-db', how: 'test' });
      }
    }
    db.close();
    const a = capture();
    expect(await runCli(['db', 'split', '--db', file, '--name', 'main', '--valid', '0.25', '--test-datasets', 'y', '--metric', 'top1-test@nb201-db'], a.io)).toBe(0);
    expect(JSON.parse(a.out())).toEqual({ name: 'main', records: { train: 3, valid: 1, test: 4 }, tasks: { train: 3, valid: 1, test: 4 } });
    const stored = MetaDatabase.open(file);
    expect(stored.split('main').test).toHaveLength(4);
    stored.close();
    const b = capture();
    expect(await runCli(['db', 'split', '--db', file, '--name', 'main', '--valid', '1.5'], b.io)).toBe(2);
    expect(b.err()).toMatch(/--valid must be a share in \[0, 1\), got '1.5'/);
    const c = capture();
    expect(await runCli(['db', 'split', '--db', file, '--name', 'main', '--test-datasets', 'zz'], c.io)).toBe(1);
    expect(c.err()).toMatch(/testDatasets: expected data sets of the database, got zz/);
  });
});
