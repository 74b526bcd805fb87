/**
 * Compare two models on the pooled tasks of several `metad2a bench transfer` reports (e.g. the dev
 * plans nb201-heldout-dev-v1 and -v2: 20 tasks where a model or rule is chosen), with paired
 * bootstrap intervals of the differences over tasks — one 10-task plan cannot tell 1–2 percentile
 * points apart, so a choice is made on the pooled tasks and on the paired difference.
 *
 *   npx tsx tools/default-model/compare-transfer.ts --a a1.json,a2.json --b b1.json,b2.json [--names shipped,new]
 *
 * Each side pools its reports' tasks (a task may appear once per side); both sides must hold the
 * same tasks. Printed per side: the mean percentile of MetaD2A's top-1 and best of top-k and the
 * mean within-task Spearman, with 95 % percentile-bootstrap intervals over tasks (10,000
 * resamples, seed 0, as the reports); then b − a, paired (the same resampled tasks), and on how
 * many tasks b is above / equal / below a.
 */
import * as fs from 'node:fs';
import { bootstrapMeanCI, type BootstrapCI } from '@metad2a/benchmarks';
import { fail } from '@metad2a/core';
import { runTool } from './tool-flags';

interface TaskRow {
  readonly task: string;
  readonly top1: number;
  readonly bestOfTop: number;
  readonly spearman: number;
}

const METRICS = [
  ['top1', 'MetaD2A top-1 percentile'],
  ['bestOfTop', 'MetaD2A best of top-k percentile'],
  ['spearman', 'within-task Spearman'],
] as const;

function readReport(file: string): TaskRow[] {
  if (!fs.existsSync(file)) fail('NotFound', { source: 'compare-transfer', field: file, expected: 'a bench transfer report (.json)', got: 'no such file' });
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail('ValidationError', { source: file, field: '(file)', expected: 'JSON', got: (e as Error).message });
  }
  const tasks = (json as { tasks?: unknown }).tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) fail('ValidationError', { source: file, field: 'tasks', expected: 'a non-empty array of task results', got: typeof tasks });
  return tasks.map((t, i) => {
    const r = t as { task?: unknown; spearman?: unknown; methods?: Record<string, { percentile?: unknown }> };
    const top1 = r.methods?.['metad2a-top1']?.percentile;
    const best = r.methods?.['metad2a-best-of-top']?.percentile;
    if (typeof r.task !== 'string' || typeof top1 !== 'number' || typeof best !== 'number' || typeof r.spearman !== 'number')
      fail('ValidationError', {
        source: file,
        field: `tasks[${i}]`,
        expected: 'task, spearman and methods.metad2a-top1 / metad2a-best-of-top percentiles',
        got: JSON.stringify(t).slice(0, 120),
      });
    return { task: r.task as string, top1: top1 as number, bestOfTop: best as number, spearman: r.spearman as number };
  });
}

function pooled(files: readonly string[], side: string): Map<string, TaskRow> {
  const rows = new Map<string, TaskRow>();
  for (const f of files)
    for (const r of readReport(f)) {
      if (rows.has(r.task)) fail('ValidationError', { source: f, field: r.task, expected: `each task once on side ${side}`, got: 'a task of an earlier report' });
      rows.set(r.task, r);
    }
  return rows;
}

const fmt = (c: BootstrapCI, d = 1): string => `${c.mean.toFixed(d)} [${c.lo.toFixed(d)}, ${c.hi.toFixed(d)}]`;

export function compareTransfer(aFiles: readonly string[], bFiles: readonly string[], names: readonly [string, string]): string {
  const a = pooled(aFiles, names[0]);
  const b = pooled(bFiles, names[1]);
  const tasks = [...a.keys()].sort();
  const missing = [...tasks.filter((t) => !b.has(t)), ...[...b.keys()].filter((t) => !a.has(t))];
  if (missing.length > 0)
    fail('ValidationError', { source: 'compare-transfer', field: 'tasks', expected: 'the same tasks on both sides', got: `only on one side: ${missing.join(', ')}` });
  const lines = [`${tasks.length} tasks (${aFiles.join(', ')} | ${bFiles.join(', ')}); 95 % bootstrap over tasks, 10,000 resamples, seed 0`, ''];
  lines.push(`| metric | ${names[0]} | ${names[1]} | ${names[1]} − ${names[0]} (paired) | tasks above / equal / below |`, '|---|---:|---:|---:|---|');
  for (const [key, label] of METRICS) {
    const va = tasks.map((t) => a.get(t)![key]);
    const vb = tasks.map((t) => b.get(t)![key]);
    const d = key === 'spearman' ? 3 : 1;
    const diff = bootstrapMeanCI(
      vb.map((v, i) => v - va[i]!),
      { seed: 0 },
    );
    const above = vb.filter((v, i) => v > va[i]!).length;
    const equal = vb.filter((v, i) => v === va[i]!).length;
    lines.push(
      `| ${label} | ${fmt(bootstrapMeanCI(va, { seed: 0 }), d)} | ${fmt(bootstrapMeanCI(vb, { seed: 0 }), d)} | ${fmt(diff, d)} | ${above} / ${equal} / ${tasks.length - above - equal} |`,
    );
  }
  return lines.join('\n');
}

function main(argv: readonly string[]): void {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) fail('ValidationError', { source: 'compare-transfer', field: name, expected: 'a value', got: 'none' });
    return v;
  };
  const a = flag('--a');
  const b = flag('--b');
  if (!a || !b)
    fail('ValidationError', { source: 'compare-transfer', field: '--a/--b', expected: 'comma-separated bench transfer reports (.json) for both sides', got: 'missing' });
  const names = (flag('--names') ?? 'a,b').split(',');
  if (names.length !== 2) fail('ValidationError', { source: 'compare-transfer', field: '--names', expected: 'two names, comma-separated', got: names.join(',') });
  console.log(compareTransfer(a!.split(','), b!.split(','), [names[0]!, names[1]!]));
}

runTool(module, () => main(process.argv.slice(2)));
