/**
 * How often can any pick beat NB201's winners on a held-out task, under the recipe's seed noise
 * (#18's missed goal)? A baseline that knows far more than a predictor: one real training of each
 * of the task's random cells. For every task of `metad2a bench transfer` reports made with
 * `--replicates` ≥ 2 (and the databases that hold their trainings), and for each training r in
 * turn: the random cell best by its training r is judged by the mean of its other trainings,
 * against each NB201 winner's mean of the same other trainings (more accurate / as accurate / less).
 *
 *   npx tsx tools/default-model/split-half-baseline.ts --reports a.json[,b.json] --dbs a.sqlite[,b.sqlite]
 *
 * Prints JSON: per reference, the counts over tasks and rotations, per rotation and per source, and
 * MetaD2A's own top-1 counts from the reports (its mean of all trainings against the winner's).
 */
import * as fs from 'node:fs';
import { MetaD2AException, fail } from '@metad2a/core';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { toolFlags } from './tool-flags';

interface Report {
  readonly settings?: { readonly replicates?: number };
  readonly tasks: readonly {
    readonly task: string;
    readonly source: string;
    readonly random: { readonly cells: readonly { readonly arch: string }[] };
    readonly references: Readonly<Record<string, { readonly arch: string }>>;
  }[];
  readonly wins?: readonly { readonly against: string; readonly wins: number; readonly ties: number; readonly tasks: number }[];
}

type Outcome = 'above' | 'equal' | 'below';
type Counts = Record<Outcome, number>;
const counts = (): Counts => ({ above: 0, equal: 0, below: 0 });
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

export interface SplitHalfBaseline {
  readonly replicates: number;
  readonly rule: string;
  /** Per reference (e.g. nb201-cifar10): the outcomes over tasks × rotations, per rotation and per source. */
  readonly references: Readonly<Record<string, Counts & { comparisons: number; perRotation: Counts[]; perSource: Record<string, Counts> }>>;
  /** MetaD2A's top-1 against each reference, summed over the reports' `wins`. */
  readonly metad2aTop1: Readonly<Record<string, { wins: number; ties: number; tasks: number }>>;
}

/** The baseline over the tasks of `reports` (each with the database of its trainings, `dbs[i]`). */
export function splitHalfBaseline(reports: readonly string[], dbs: readonly string[]): SplitHalfBaseline {
  if (reports.length === 0 || reports.length !== dbs.length)
    fail('ValidationError', { source: 'split-half-baseline', field: '--dbs', expected: `one database per report (${reports.length})`, got: String(dbs.length) });
  const byReference = new Map<string, { all: Counts; perRotation: Counts[]; perSource: Map<string, Counts> }>();
  const metad2a = new Map<string, { wins: number; ties: number; tasks: number }>();
  let replicates = 0;
  reports.forEach((file, i) => {
    if (!fs.existsSync(file)) fail('NotFound', { source: 'split-half-baseline', field: file, expected: 'a bench transfer report (.json)', got: 'no such file' });
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
    const r = report.settings?.replicates ?? 1;
    if (r < 2) fail('ValidationError', { source: file, field: 'settings.replicates', expected: 'a report made with --replicates ≥ 2', got: String(r) });
    if (replicates !== 0 && r !== replicates) fail('ValidationError', { source: file, field: 'settings.replicates', expected: String(replicates), got: String(r) });
    replicates = r;
    const db = MetaDatabase.open(dbs[i]!, { readonly: true });
    try {
      for (const t of report.tasks) {
        const trainings = new Map<string, number[]>();
        for (const rec of db.records({ task: t.task })) {
          if (rec.replicate >= r) continue;
          const v = trainings.get(rec.arch) ?? [];
          v[rec.replicate] = rec.accuracy;
          trainings.set(rec.arch, v);
        }
        const of = (arch: string): number[] => {
          const v = trainings.get(arch);
          if (!v || v.filter((x) => x !== undefined).length !== r)
            fail('NotFound', { source: dbs[i]!, field: `${t.task} ${arch}`, expected: `${r} trainings`, got: String(v?.filter((x) => x !== undefined).length ?? 0) });
          return v;
        };
        const cells = t.random.cells.map((c) => ({ arch: c.arch, acc: of(c.arch) }));
        for (const [ref, { arch }] of Object.entries(t.references)) {
          const winner = of(arch);
          let e = byReference.get(ref);
          if (!e) byReference.set(ref, (e = { all: counts(), perRotation: Array.from({ length: r }, counts), perSource: new Map() }));
          for (let k = 0; k < r; k++) {
            const pick = cells.reduce((best, c) => (c.acc[k]! > best.acc[k]! ? c : best));
            const others = (v: number[]) => mean(v.filter((_, j) => j !== k));
            const d = others(pick.acc) - others(winner);
            const o: Outcome = Math.abs(d) <= 1e-9 ? 'equal' : d > 0 ? 'above' : 'below';
            e.all[o]++;
            e.perRotation[k]![o]++;
            const s = e.perSource.get(t.source) ?? counts();
            s[o]++;
            e.perSource.set(t.source, s);
          }
        }
      }
    } finally {
      db.close();
    }
    for (const w of report.wins ?? []) {
      const m = metad2a.get(w.against) ?? { wins: 0, ties: 0, tasks: 0 };
      metad2a.set(w.against, { wins: m.wins + w.wins, ties: m.ties + w.ties, tasks: m.tasks + w.tasks });
    }
  });

  return {
    replicates,
    rule: 'the random cell best by one training, judged by the mean of its other trainings against the reference on the same trainings; every training in turn',
    references: Object.fromEntries(
      [...byReference].map(([ref, e]) => [
        ref,
        { ...e.all, comparisons: e.all.above + e.all.equal + e.all.below, perRotation: e.perRotation, perSource: Object.fromEntries(e.perSource) },
      ]),
    ),
    metad2aTop1: Object.fromEntries(metad2a),
  };
}

if (require.main === module) {
  try {
    const { required } = toolFlags('split-half-baseline');
    const list = (v: string) => v.split(',').filter(Boolean);
    process.stdout.write(`${JSON.stringify(splitHalfBaseline(list(required('reports')), list(required('dbs'))), null, 2)}\n`);
  } catch (e) {
    if (!(e instanceof MetaD2AException)) throw e;
    console.error(`error: ${e.message}`);
    process.exitCode = 2;
  }
}
