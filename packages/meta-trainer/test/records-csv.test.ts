import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase, exportCsv, importRecordsCsv, readCsvRows } from '../src';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-csv-'));
const ARCH_A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const ARCH_B = '|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|';

function source(): MetaDatabase {
  const db = MetaDatabase.inMemory();
  db.addDataset({ name: 'digits', source: 'sklearn', numClasses: 10 });
  db.addTask({ name: 'digits/0-1', dataset: 'digits', classIds: [0, 1] });
  db.addTask({ name: 'digits/3-5-7', dataset: 'digits', classIds: [3, 5, 7] });
  // provenance text with every character RFC 4180 quotes: comma, double quote, CR/LF line breaks
  db.addRecord({
    task: 'digits/0-1',
    space: 'nb201',
    arch: ARCH_A,
    accuracy: 97.25,
    metric: 'top1-test',
    how: 'trained:arch-trainer, recipe "tiny"\r\nsecond line',
    createdAt: '2026-12-05T10:00:00.000Z',
  });
  db.addRecord({ task: 'digits/3-5-7', space: 'nb201', arch: ARCH_B, accuracy: 33.5, metric: 'top1-test', how: 'plain', createdAt: '2026-12-05T10:00:01.000Z' });
  db.addRecord({ task: 'digits/3-5-7', space: 'nb201', arch: ARCH_B, accuracy: 34.75, metric: 'top1-test', how: 'plain', replicate: 1, createdAt: '2026-12-05T10:00:02.000Z' });
  return db;
}

describe('CSV import (csv-parse) reads the project’s own RFC 4180 export', () => {
  it('export → import into another database gives the same tasks and records, quoted fields included', () => {
    const file = path.join(tmp(), 'records.csv');
    const a = source();
    exportCsv(a, file);
    expect(fs.readFileSync(file, 'utf8')).toContain('"trained:arch-trainer, recipe ""tiny""\r\nsecond line"');
    const b = MetaDatabase.inMemory();
    b.addDataset({ name: 'digits', source: 'sklearn', numClasses: 10 });
    const r = importRecordsCsv(b, file);
    expect(r.tasks).toBe(2);
    expect(r.records.map((w) => w.inserted)).toEqual([true, true, true]);
    const strip = (db: MetaDatabase) =>
      db.records().map(({ task, arch, accuracy, metric, how, createdAt, replicate }) => ({ task, arch, accuracy, metric, how, createdAt, replicate }));
    expect(strip(b)).toEqual(strip(a));
    expect(b.task('digits/3-5-7').classIds).toEqual([3, 5, 7]);
    // importing again changes nothing (records are keyed by task, arch, metric, replicate)
    expect(importRecordsCsv(b, file).alreadyPresent).toBe(3);
    expect(b.records()).toHaveLength(3);
  });

  it('refuses bad CSV naming the file, line and column, and writes nothing', () => {
    const dir = tmp();
    const db = MetaDatabase.inMemory();
    db.addDataset({ name: 'digits', source: 'sklearn', numClasses: 10 });
    const header = 'task,dataset,class_ids,space,arch,accuracy,metric,how';
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, `${header}\ndigits/0-1,digits,0 1,nb201,"${ARCH_A}",97.5,top1-test,x\ndigits/0-1,digits,0 1,nb201,"${ARCH_B}",high,top1-test,x\n`);
    expect(() => importRecordsCsv(db, bad)).toThrow(/bad\.csv: line 3 accuracy: expected a number, got "high"/);
    expect(db.records()).toHaveLength(0);
    expect(db.tasks()).toHaveLength(0);
    fs.writeFileSync(bad, `${header}\ndigits/0-1,digits,0 1,nb201,"unterminated,97.5,top1-test,x\n`);
    expect(() => importRecordsCsv(db, bad)).toThrow(/bad\.csv: .*expected RFC 4180 CSV/);
    fs.writeFileSync(bad, 'task,arch\nx,y\n');
    expect(() => importRecordsCsv(db, bad)).toThrow(/header: expected the columns task, dataset, class_ids.*missing dataset, class_ids, space, accuracy, metric, how/);
    expect(readCsvRows('a,b\r\n"1,2","say ""hi"""\r\n', 'mem', ['a', 'b'])).toEqual([{ a: '1,2', b: 'say "hi"' }]);
  });
});
