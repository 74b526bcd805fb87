/**
 * How far any choice among strong cells could beat NB201's winners on the held-out tasks (#18's
 * "beats NB201's winners on most held-out tasks"). `bench transfer` trains the references (NB201's
 * CIFAR-10 and ImageNet16-120 winners) and every pick on every held-out task, so the cells picked
 * again and again are measured on every task of the test and dev databases alike. "Strong cells"
 * are the cells measured `--replicates` times on every task (in practice the references and the
 * recurring picks; the plans' random cells differ between tasks). On them this tool asks, with no
 * model at all:
 *
 * - how much of the difference between a strong cell and a reference on a task is measurement
 *   noise: per source, the mean squared difference of the cells' means over `--replicates`
 *   trainings against its noise part 2σ²/R (σ² the pooled variance between one cell's trainings on
 *   that task); a share near 1 means the cells differ on these tasks by less than the trainings
 *   can show;
 * - how often a rule that picks among the strong cells beats each reference on the test tasks:
 *   the one cell best on the dev tasks, the best cell per source on the dev tasks (what a
 *   predictor with perfect source-level knowledge could learn), and, as a bound and not a rule,
 *   the best cell per source chosen on the test tasks themselves;
 * - each strong cell's mean percentile among the task's random cells (`percentileAmong`, as `bench
 *   transfer`) and its wins against each reference, per source, on the test and the dev tasks.
 *
 *   npx tsx tools/default-model/strong-cells.ts [--test builtin:nb201-heldout] \
 *     [--dev builtin:nb201-heldout-dev,builtin:nb201-heldout-dev2] [--replicates 3]
 * Prints JSON. Cells are compared by computation (`nb201.computationKey`), as `bench transfer` does.
 */
import { fail } from '@metad2a/core';
import { nb201Winners, percentileAmong, winsTiesLosses } from '@metad2a/benchmarks';
import type { MetaRecord } from '@metad2a/meta-trainer';
import { nb201 } from '@metad2a/search-spaces';
import * as E from 'fp-ts/Either';
import { runTool, toolFlags } from './tool-flags';
import { readTrainedDatabase, type TrainedDatabase } from './trained-records';

export interface StrongCellOptions {
  /** Trainings averaged per cell (replicates 0 … R−1; default 3); every strong and random cell needs all of them. */
  readonly replicates?: number;
  /** Reference name → cell (default NB201's CIFAR-10 and ImageNet16-120 winners). */
  readonly references?: Readonly<Record<string, string>>;
}

const TOOL = 'strong-cells';

const keyCache = new Map<string, string>();
function computation(arch: string): string {
  let k = keyCache.get(arch);
  if (k === undefined) {
    const cell = nb201.parse(arch);
    if (E.isLeft(cell)) fail('ValidationError', { source: TOOL, field: 'record arch', expected: 'an NB201 cell', got: arch });
    keyCache.set(arch, (k = nb201.computationKey!(cell.right)));
  }
  return k;
}

/** One task: its source, every cell's R trainings by computation, its random cells' means. */
interface Task {
  readonly name: string;
  readonly source: string;
  readonly trainings: ReadonlyMap<string, readonly number[]>;
  readonly random: readonly number[];
}

function tasksOf(db: TrainedDatabase, replicates: number): Task[] {
  const byTask = new Map<string, MetaRecord[]>();
  for (const r of db.records) if (r.replicate < replicates) (byTask.get(r.task) ?? byTask.set(r.task, []).get(r.task)!).push(r);
  return [...byTask].map(([name, records]) => {
    const byCell = new Map<string, number[]>();
    for (const r of records) {
      const k = computation(r.arch);
      const acc = byCell.get(k) ?? byCell.set(k, Array<number>(replicates).fill(Number.NaN)).get(k)!;
      if (Number.isNaN(acc[r.replicate]!)) acc[r.replicate] = r.accuracy;
    }
    const trainings = new Map([...byCell].filter(([, a]) => a.every(Number.isFinite)));
    const randomKeys = new Set(records.filter((r) => r.replicate === 0 && !r.how.includes('a pick of')).map((r) => computation(r.arch)));
    const random = [...randomKeys].filter((k) => trainings.has(k)).map((k) => mean(trainings.get(k)!));
    if (random.length < 2)
      fail('ValidationError', { source: TOOL, field: `${db.name}: task ${name}`, expected: `≥ 2 random cells trained ${replicates} times`, got: String(random.length) });
    return {
      name: `${db.name} ${name}`,
      source: db.sourceOf.get(name) ?? fail('ValidationError', { source: TOOL, field: `${db.name}: task ${name}`, expected: 'a task row', got: 'none' }),
      trainings,
      random,
    };
  });
}

const mean = (v: readonly number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** P(a cell no better than the reference wins on more than half of n tasks): a fair coin's tail, ties aside. */
export function chanceOfMost(n: number): number {
  let p = 0;
  let c = 1; // C(n, k), built up from k = 0
  for (let k = 0; k <= n; k++) {
    if (k > n / 2) p += c;
    c = (c * (n - k)) / (k + 1);
  }
  return p / 2 ** n;
}

/** The measurements described at the top of this file. */
export function strongCellWins(test: readonly TrainedDatabase[], dev: readonly TrainedDatabase[], opts: StrongCellOptions = {}) {
  const replicates = opts.replicates ?? 3;
  if (!Number.isInteger(replicates) || replicates < 2)
    fail('ValidationError', { source: TOOL, field: 'replicates', expected: 'an integer ≥ 2 (the noise needs two trainings of a cell)', got: String(replicates) });
  const winners = opts.references ? undefined : nb201Winners();
  const refsByName = opts.references ?? { 'NB201 CIFAR-10 winner': winners!.cifar10, 'NB201 ImageNet16-120 winner': winners!['imagenet16-120'] };
  const refs = Object.entries(refsByName).map(([name, arch]) => ({ name, arch, key: computation(arch) }));
  const testTasks = test.flatMap((d) => tasksOf(d, replicates));
  const devTasks = dev.flatMap((d) => tasksOf(d, replicates));
  const all = [...testTasks, ...devTasks];
  if (testTasks.length === 0 || devTasks.length === 0)
    fail('ValidationError', { source: TOOL, field: testTasks.length === 0 ? '--test' : '--dev', expected: 'held-out tasks', got: 'none' });

  // strong cells: measured R times on every task of both sets (the references among them)
  const counts = new Map<string, number>();
  for (const t of all) for (const k of t.trainings.keys()) counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const r of refs)
    if (counts.get(r.key) !== all.length)
      fail('ValidationError', {
        source: TOOL,
        field: `reference ${r.name}`,
        expected: `${replicates} trainings on each of the ${all.length} tasks (bench transfer --replicates ${replicates})`,
        got: `${counts.get(r.key) ?? 0} tasks`,
      });
  const keys = [...counts]
    .filter(([, n]) => n === all.length)
    .map(([k]) => k)
    .sort();
  const archOf = new Map<string, string>();
  for (const d of [...test, ...dev])
    for (const r of d.records) {
      const k = computation(r.arch);
      if (!archOf.has(k)) archOf.set(k, r.arch);
    }
  const nameOf = (k: string): string => refs.find((r) => r.key === k)?.name ?? archOf.get(k)!;

  const cellMean = (t: Task, k: string): number => mean(t.trainings.get(k)!);
  const percentile = (t: Task, k: string): number => percentileAmong(cellMean(t, k), t.random);
  const sources = [...new Set(all.map((t) => t.source))].sort();
  const ofSource = (ts: readonly Task[], s: string) => ts.filter((t) => t.source === s);
  for (const s of sources)
    if (ofSource(devTasks, s).length === 0 || ofSource(testTasks, s).length === 0)
      fail('ValidationError', {
        source: TOOL,
        field: `source ${s}`,
        expected: 'tasks in both --test and --dev (the per-source rules choose on one and score on the other)',
        got: ofSource(devTasks, s).length === 0 ? 'no dev task' : 'no test task',
      });
  const meanPercentile = (ts: readonly Task[], k: string) => mean(ts.map((t) => percentile(t, k)));
  const winsOf = (ts: readonly Task[], choice: (t: Task) => string, ref: string) =>
    winsTiesLosses(
      ts.map((t) => cellMean(t, choice(t))),
      ts.map((t) => cellMean(t, ref)),
    );
  const best = (ts: readonly Task[]) => keys.reduce((b, k) => (meanPercentile(ts, k) > meanPercentile(ts, b) ? k : b));

  // noise: σ² of one training pooled over the strong cells of each task
  const noiseVariance = new Map(
    all.map((t) => {
      let ss = 0;
      for (const k of keys) {
        const a = t.trainings.get(k)!;
        const m = mean(a);
        ss += a.reduce((s, x) => s + (x - m) ** 2, 0);
      }
      return [t, ss / (keys.length * (replicates - 1))] as const;
    }),
  );
  const noiseBlock = (ts: readonly Task[], ref: string) => {
    const others = keys.filter((k) => k !== ref);
    const sq = mean(ts.flatMap((t) => others.map((k) => (cellMean(t, k) - cellMean(t, ref)) ** 2)));
    const noise = mean(ts.map((t) => (2 * noiseVariance.get(t)!) / replicates));
    return {
      tasks: ts.length,
      oneTrainingSd: round(Math.sqrt(mean(ts.map((t) => noiseVariance.get(t)!))), 2),
      meanSquaredDifference: round(sq, 3),
      noisePart: round(noise, 3),
      noiseShare: round(noise / sq, 2),
      trueDifferenceSd: round(Math.sqrt(Math.max(0, sq - noise)), 2),
    };
  };

  const rule = (description: string, choose: (t: Task) => string, chosen: Record<string, string>) => ({
    rule: description,
    chosen,
    test: {
      meanPercentile: round(mean(testTasks.map((t) => percentile(t, choose(t))))),
      wins: Object.fromEntries(refs.map((r) => [r.name, winsOf(testTasks, choose, r.key)])),
    },
  });
  const fixed = best(devTasks);
  const perSourceDev = new Map(sources.map((s) => [s, best(ofSource(devTasks, s))]));
  const perSourceTest = new Map(sources.map((s) => [s, best(ofSource(testTasks, s))]));
  const named = (m: ReadonlyMap<string, string>) => Object.fromEntries([...m].map(([s, k]) => [s, nameOf(k)]));

  return {
    replicates,
    tasks: { test: testTasks.length, dev: devTasks.length },
    references: refsByName,
    strongCells: keys.map((k) => ({
      cell: nameOf(k),
      meanPercentile: { test: round(meanPercentile(testTasks, k)), dev: round(meanPercentile(devTasks, k)) },
      perSource: Object.fromEntries(sources.map((s) => [s, { test: round(meanPercentile(ofSource(testTasks, s), k)), dev: round(meanPercentile(ofSource(devTasks, s), k)) }])),
      wins: Object.fromEntries(refs.filter((r) => r.key !== k).map((r) => [r.name, { test: winsOf(testTasks, () => k, r.key), dev: winsOf(devTasks, () => k, r.key) }])),
    })),
    noise: Object.fromEntries(
      refs.map((r) => [r.name, { all: noiseBlock(all, r.key), perSource: Object.fromEntries(sources.map((s) => [s, noiseBlock(ofSource(all, s), r.key)])) }]),
    ),
    rules: [
      rule('one cell: the best mean percentile on the dev tasks', () => fixed, { all: nameOf(fixed) }),
      rule('per source: the best mean percentile on the source’s dev tasks', (t) => perSourceDev.get(t.source)!, named(perSourceDev)),
      rule('per source: the best on the source’s test tasks themselves (a bound, not a rule)', (t) => perSourceTest.get(t.source)!, named(perSourceTest)),
    ],
    chanceOfMost: { tasks: testTasks.length, probability: round(chanceOfMost(testTasks.length), 3) },
  };
}

function main(): void {
  const { arg, integer } = toolFlags(TOOL);
  const readDatabase = (ref: string) => readTrainedDatabase(TOOL, ref);
  const test = (arg('test') ?? 'builtin:nb201-heldout').split(',').map(readDatabase);
  const dev = (arg('dev') ?? 'builtin:nb201-heldout-dev,builtin:nb201-heldout-dev2').split(',').map(readDatabase);
  console.log(JSON.stringify(strongCellWins(test, dev, { replicates: integer('replicates', 3) }), null, 2));
}

runTool(module, main);
