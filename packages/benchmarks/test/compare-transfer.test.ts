/**
 * tools/default-model/compare-transfer.ts: pooled reports, paired differences over tasks, refusals.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootstrapMeanCI } from '../src';
import { compareTransfer } from '../../../tools/default-model/compare-transfer';

const task = (name: string, top1: number, best: number, spearman: number) => ({
  task: name,
  spearman,
  methods: { 'metad2a-top1': { percentile: top1 }, 'metad2a-best-of-top': { percentile: best } },
});

function report(dir: string, file: string, tasks: unknown[]): string {
  const f = path.join(dir, file);
  fs.writeFileSync(f, JSON.stringify({ tasks }));
  return f;
}

describe('compare-transfer', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-compare-'));
  const a1 = report(dir, 'a1.json', [task('t1', 50, 90, 0.5), task('t2', 60, 80, 0.4)]);
  const a2 = report(dir, 'a2.json', [task('t3', 70, 100, 0.6)]);
  const b1 = report(dir, 'b1.json', [task('t2', 70, 80, 0.5), task('t1', 50, 95, 0.5)]);
  const b2 = report(dir, 'b2.json', [task('t3', 40, 100, 0.9)]);

  it('pools the reports of each side by task and prints means, paired differences and tasks above / equal / below', () => {
    const out = compareTransfer([a1, a2], [b1, b2], ['old', 'new']).split('\n');
    expect(out[0]).toMatch(/^3 tasks /);
    const row = (label: string) =>
      out
        .find((l) => l.startsWith(`| ${label} |`))!
        .split('|')
        .map((c) => c.trim());
    // top-1: old 50, 60, 70 (mean 60); new 50, 70, 40 (mean 53.3); differences 0, +10, −30
    const top1 = row('MetaD2A top-1 percentile');
    expect(top1[2]).toMatch(/^60\.0 \[/);
    expect(top1[3]).toMatch(/^53\.3 \[/);
    const d = bootstrapMeanCI([0, 10, -30], { seed: 0 });
    expect(top1[4]).toBe(`${d.mean.toFixed(1)} [${d.lo.toFixed(1)}, ${d.hi.toFixed(1)}]`);
    expect(top1[5]).toBe('1 / 1 / 1');
    // best of top-k: differences +5, 0, 0
    expect(row('MetaD2A best of top-k percentile')[5]).toBe('1 / 2 / 0');
    expect(row('within-task Spearman')[4]).toMatch(/^0\.133 \[/);
  });

  it('refuses different task sets, a task twice on one side, and a report without the fields', () => {
    expect(() => compareTransfer([a1], [b1, b2], ['a', 'b'])).toThrow(/expected the same tasks on both sides, got only on one side: t3/);
    expect(() => compareTransfer([a1, a1], [b1, b1], ['a', 'b'])).toThrow(/t1: expected each task once on side a, got a task of an earlier report/);
    const bad = report(dir, 'bad.json', [{ task: 't1', methods: {} }]);
    expect(() => compareTransfer([bad], [b1], ['a', 'b'])).toThrow(/bad\.json: tasks\[0\]: expected task, spearman and methods/);
    expect(() => compareTransfer([path.join(dir, 'none.json')], [b1], ['a', 'b'])).toThrow(/none\.json: expected a bench transfer report \(\.json\), got no such file/);
  });
});
