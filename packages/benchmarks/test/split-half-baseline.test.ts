/**
 * tools/default-model/split-half-baseline.ts: the best random cell by one training, judged by its other trainings against a reference.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { splitHalfBaseline } from '../../../tools/default-model/split-half-baseline';

const cell = (ops: string) => `|${ops}~0|+|none~0|none~1|+|none~0|none~1|none~2|`;
const [A, B, C, W] = ['nor_conv_3x3', 'nor_conv_1x1', 'avg_pool_3x3', 'skip_connect'].map(cell);

function fixture(dir: string, trainings: Record<string, Record<string, number[]>>, replicates = 3): { report: string; db: string } {
  const db = path.join(dir, 'db.sqlite');
  const d = MetaDatabase.open(db);
  for (const [task, cells] of Object.entries(trainings)) {
    const dataset = task.split('/')[0]!;
    d.addDataset({ name: dataset, source: 'test', numClasses: 4 });
    d.addTask({ name: task, dataset, classIds: [0, 1] });
    for (const [arch, acc] of Object.entries(cells))
      acc.forEach((accuracy, replicate) => d.addRecord({ task, space: 'nb201', arch, accuracy, metric: 'm', replicate, how: 'test' }));
  }
  d.close();
  const report = path.join(dir, 'report.json');
  const tasks = Object.entries(trainings).map(([task, cells]) => ({
    task,
    source: task.split('/')[0],
    random: {
      cells: Object.keys(cells)
        .filter((a) => a !== W)
        .map((arch) => ({ arch })),
    },
    references: { 'nb201-cifar10': { arch: W } },
  }));
  fs.writeFileSync(report, JSON.stringify({ settings: { replicates }, tasks, wins: [{ against: 'nb201-cifar10', wins: 1, ties: 0, tasks: 2 }] }));
  return { report, db };
}

describe('split-half-baseline', () => {
  it('picks the best random cell by each training in turn and judges it by the mean of its other trainings against the reference', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-split-half-'));
    const { report, db } = fixture(dir, {
      // by training 0: A (judged 80 against 88: below); by training 1 or 2: B (judged 90: above)
      's/1': { [A]: [90, 80, 80], [B]: [85, 95, 95], [C]: [70, 70, 70], [W]: [88, 88, 88] },
      // by training 0 or 2: A (50 against 50: equal); by training 1: B (judged 40: below)
      't/1': { [A]: [50, 50, 50], [B]: [40, 60, 40], [W]: [50, 50, 50] },
    });
    const r = splitHalfBaseline([report], [db]);
    expect(r.replicates).toBe(3);
    expect(r.references['nb201-cifar10']).toEqual({
      above: 2,
      equal: 2,
      below: 2,
      comparisons: 6,
      perRotation: [
        { above: 0, equal: 1, below: 1 },
        { above: 1, equal: 0, below: 1 },
        { above: 1, equal: 1, below: 0 },
      ],
      perSource: { s: { above: 2, equal: 0, below: 1 }, t: { above: 0, equal: 2, below: 1 } },
    });
    expect(r.metad2aTop1).toEqual({ 'nb201-cifar10': { wins: 1, ties: 0, tasks: 2 } });
  });

  it('refuses a report of one training per cell, a cell without every training, and a report without its database', () => {
    const one = fixture(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-split-half-')), { 's/1': { [A]: [90], [W]: [88] } }, 1);
    expect(() => splitHalfBaseline([one.report], [one.db])).toThrow(/settings\.replicates: expected a report made with --replicates ≥ 2, got 1/);
    const gap = fixture(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-split-half-')), { 's/1': { [A]: [90, 80, 80], [B]: [85, 95], [W]: [88, 88, 88] } });
    expect(() => splitHalfBaseline([gap.report], [gap.db])).toThrow(new RegExp(`s/1 \\${B.slice(0, 1)}.*: expected 3 trainings, got 2`));
    expect(() => splitHalfBaseline([gap.report], [])).toThrow(/--dbs: expected one database per report \(1\), got 0/);
  });
});
