import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend, seedToU32 } from '@metad2a/core';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { canonicalKey, mbv3AccuracyOracle, mbv3ActiveKey, mbv3Cost, nb201Cost, parseMbv3, parseNb201, sampleMbv3, type Mbv3Config } from '@metad2a/search-spaces';
import {
  BUILD_PLANS,
  buildDatabase,
  buildPlanOptions,
  getMbv3Recipe,
  getRecipe,
  goodMbv3Subnets,
  GOOD_SUBNET_POOL,
  goodNb201Cells,
  GOOD_CELL_POOL,
  planBuild,
  recipeMetric,
  replicateSeed,
  sampleArchitectures,
  sampleMbv3Grid,
  sampleTaskCells,
  sampleTaskSubnets,
  sampleTasks,
  splitImages,
  taskData,
  type BuildProgress,
} from '../src';
import { nb201Table } from '@metad2a/search-spaces';
import { resolveDataset, taskSources, type ImageDataset as RawImages } from '@metad2a/datasets';

// training runs on the native backend of @metad2a/tfjs-kernels when it is built, else on cpu (slow)
beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

const cell = (s: string) => (parseNb201(s) as E.Right<ReturnType<typeof parseNb201> extends E.Either<unknown, infer A> ? A : never>).right;

describe('sampling', () => {
  it('samples distinct, seeded class-subset tasks, round robin over datasets', () => {
    const counts: Record<string, number> = { a: 10, b: 6 };
    const opts = { datasets: ['a', 'b'], numTasks: 12, classesPerTask: [2, 5] as const, seed: 3 };
    const t = sampleTasks(opts, (r) => counts[r]!);
    expect(t).toHaveLength(12);
    expect(new Set(t.map((x) => x.name)).size).toBe(12);
    t.forEach((x, i) => {
      expect(x.dataset).toBe(i % 2 === 0 ? 'a' : 'b');
      expect(x.classIds.length).toBeGreaterThanOrEqual(2);
      expect(x.classIds.length).toBeLessThanOrEqual(5);
      expect([...x.classIds].sort((p, q) => p - q)).toEqual(x.classIds);
      expect(new Set(x.classIds).size).toBe(x.classIds.length);
      expect(Math.max(...x.classIds)).toBeLessThan(counts[x.dataset]!);
      expect(x.name).toBe(`${x.dataset}/${x.classIds.join('-')}`);
    });
    expect(sampleTasks(opts, (r) => counts[r]!)).toEqual(t);
    expect(sampleTasks({ ...opts, seed: 4 }, (r) => counts[r]!)).not.toEqual(t);
    expect(() => sampleTasks({ ...opts, numTasks: 100, classesPerTask: 9 }, (r) => counts[r]!)).toThrow(/at least 9 classes/);
  });

  it('samples architectures stratified by size: distinct computations spanning small to large nets', () => {
    const recipe = getRecipe('reduced');
    const a = sampleArchitectures(20, recipe, 1);
    expect(a).toHaveLength(20);
    expect(new Set(a.map((s) => canonicalKey(cell(s)))).size).toBe(20);
    expect(sampleArchitectures(20, recipe, 1)).toEqual(a);
    const params = a.map((s) => nb201Cost(cell(s), { channels: recipe.C, cellsPerStage: recipe.N }).params).sort((x, y) => x - y);
    const none = nb201Cost(cell('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'), { channels: recipe.C, cellsPerStage: recipe.N }).params;
    const conv = nb201Cost(cell('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'), {
      channels: recipe.C,
      cellsPerStage: recipe.N,
    }).params;
    // the smallest stratum holds parameter-free cells, the largest the conv-heavy ones
    expect(params[0]).toBe(none);
    expect(params[19]).toBeGreaterThan(none + 0.8 * (conv - none));
  });
});

describe('per-task plans', () => {
  it('ranks the NB201-good pool by the mean z-score of the three 200-epoch test accuracies', () => {
    const good = goodNb201Cells(GOOD_CELL_POOL);
    expect(good).toHaveLength(100);
    expect(new Set(good.map((a) => canonicalKey(cell(a)))).size).toBe(100);
    const t = nb201Table();
    const c10 = t.column('cifar10', 'testAccuracy');
    const sorted = [...c10].sort((a, b) => a - b);
    // every pool cell is in the top 5 % of NB201 on CIFAR-10 (its best representative)
    for (const a of good.slice(0, 20)) expect(c10[t.indexOf(a)]!).toBeGreaterThan(sorted[Math.floor(0.9 * sorted.length)]!);
  });

  it('draws k distinct cells per task, a share from the good pool, deterministically', () => {
    const good = new Set(goodNb201Cells(GOOD_CELL_POOL));
    const a = sampleTaskCells('src/1-2-3', 8, 0.5, 7);
    expect(a).toHaveLength(8);
    expect(new Set(a).size).toBe(8);
    expect(a.slice(0, 4).every((x) => good.has(x))).toBe(true);
    expect(sampleTaskCells('src/1-2-3', 8, 0.5, 7)).toEqual(a);
    expect(sampleTaskCells('src/1-2-4', 8, 0.5, 7)).not.toEqual(a);
    expect(sampleTaskCells('src/1-2-3', 5, 0, 7).some((x) => good.has(x))).toBe(false);
    expect(() => sampleTaskCells('t', 3, 1.5, 7)).toThrow(/goodCellShare: expected a number in \[0, 1\]/);
  });

  it('plans tasks round robin with 3–8 cells each; shards split the plan without overlap', () => {
    const counts: Record<string, number> = { a: 30, b: 12 };
    const opts = {
      db: 'x',
      datasets: ['a', 'b'],
      numTasks: 20,
      classesPerTask: [5, 20] as const,
      trainPerClass: 5,
      testPerClass: 5,
      cellsPerTask: [3, 8] as const,
      goodCellShare: 0.4,
      recipe: getRecipe('nb201-db'),
      seed: 9,
    };
    const plan = planBuild(opts, (r) => counts[r]!);
    expect(plan.tasks).toHaveLength(20);
    expect(plan.metric).toBe('top1-test@nb201-db');
    for (const t of plan.tasks) {
      const n = plan.pairs.filter((p) => p.task.name === t.name).length;
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(8);
      expect(t.classIds.length).toBeLessThanOrEqual(counts[t.dataset]!);
    }
    // task by task: a prefix of the plan holds whole tasks
    const order = plan.pairs.map((p) => p.task.name);
    expect(order.filter((n, i) => i === 0 || n !== order[i - 1]).length).toBe(20);
    expect(planBuild(opts, (r) => counts[r]!).pairs.map((p) => `${p.task.name}|${p.arch}|${p.seed}`)).toEqual(plan.pairs.map((p) => `${p.task.name}|${p.arch}|${p.seed}`));
    expect(() => planBuild({ ...opts, shard: { index: 2, of: 2 } }, (r) => counts[r]!)).toThrow(/shard: expected index\/of with 0 ≤ index < of/);
  });
});

describe('MBv3 architectures of a database', () => {
  const subnet = (s: string) => (parseMbv3(s) as E.Right<Mbv3Config>).right;

  it("draws a task's subnets: distinct networks, the good share from the oracle's best, seeded per task", () => {
    const good = goodMbv3Subnets(GOOD_SUBNET_POOL);
    expect(good).toHaveLength(100);
    const oracle = good.map((a) => mbv3AccuracyOracle().predict(subnet(a)));
    // best first, and well above a uniform subnet (OFA's predictor: ~0.77 for uniform subnets at 224 px)
    for (let i = 1; i < oracle.length; i++) expect(oracle[i]!).toBeLessThanOrEqual(oracle[i - 1]!);
    expect(oracle[99]!).toBeGreaterThan(0.79);
    const goodSet = new Set(good);
    const a = sampleTaskSubnets('builtin:digits/1-2-3', 8, 0.5, 7);
    expect(a).toHaveLength(8);
    expect(new Set(a.map((x) => mbv3ActiveKey(subnet(x)))).size).toBe(8);
    expect(a.filter((x) => goodSet.has(x))).toHaveLength(4);
    expect(sampleTaskSubnets('builtin:digits/1-2-3', 8, 0.5, 7)).toEqual(a);
    expect(sampleTaskSubnets('builtin:digits/1-2-4', 8, 0.5, 7)).not.toEqual(a);
    expect(sampleTaskSubnets('builtin:digits/1-2-3', 5, 0, 7).filter((x) => goodSet.has(x))).toHaveLength(0);
    expect(() => sampleTaskSubnets('t', 3, 1.5, 7)).toThrow(/goodCellShare: expected a number in \[0, 1\]/);
  });

  it('samples a size-stratified grid of distinct subnets', () => {
    const g = sampleMbv3Grid(10, 3);
    expect(g).toHaveLength(10);
    expect(new Set(g.map((x) => mbv3ActiveKey(subnet(x)))).size).toBe(10);
    expect(sampleMbv3Grid(10, 3)).toEqual(g);
    const mflops = g.map((x) => mbv3Cost(subnet(x)).mflops).sort((p, q) => p - q);
    // one subnet per tenth of 200 sorted by MFLOPs: the extremes come from the tails of the size distribution
    const rng = new Rng(99);
    const uniform = Array.from({ length: 2000 }, () => mbv3Cost(sampleMbv3(rng)).mflops).sort((p, q) => p - q);
    expect(mflops[0]!).toBeLessThan(uniform[300]!);
    expect(mflops[9]!).toBeGreaterThan(uniform[1700]!);
  });

  it('plans an MBv3 build with an MBv3 recipe, and refuses a recipe of the other space', () => {
    const counts: Record<string, number> = { a: 10 };
    const opts = {
      db: ':memory:',
      space: 'mbv3' as const,
      datasets: ['a'],
      numTasks: 3,
      classesPerTask: 4,
      trainPerClass: 5,
      testPerClass: 5,
      cellsPerTask: 4,
      goodCellShare: 0.25,
      seed: 5,
    };
    const plan = planBuild({ ...opts, recipe: getMbv3Recipe('mbv3-reduced') }, (r) => counts[r]!);
    expect(plan.space).toBe('mbv3');
    expect(plan.metric).toBe('top1-test@mbv3-reduced');
    expect(plan.pairs).toHaveLength(12);
    for (const p of plan.pairs) expect(parseMbv3(p.arch)._tag).toBe('Right');
    expect(() => planBuild({ ...opts, recipe: getRecipe('tiny') }, (r) => counts[r]!)).toThrow(
      'database builder: recipe: expected an MBv3 recipe (with a widthMult) for space mbv3, got tiny',
    );
    expect(() => planBuild({ ...opts, space: 'nb201', recipe: getMbv3Recipe('mbv3-reduced') }, (r) => counts[r]!)).toThrow(
      /expected an NB201 recipe .* for space nb201, got mbv3-reduced/,
    );
    expect(() => planBuild({ ...opts, archs: ['d4:k3e3'], recipe: getMbv3Recipe('mbv3-reduced') }, (r) => counts[r]!)).toThrow(/MBv3 arch string/);
  });
});

describe('task data', () => {
  it('splits real images per class, preprocessed to the recipe size with 3 channels', () => {
    const s = splitImages('builtin:digits', { inputSize: 8, testFraction: 0.2, maxPerClass: 20, seed: 1 });
    expect(s.classNames).toHaveLength(10);
    expect(s.train.shape).toEqual([160, 8, 8, 3]);
    expect(s.test.shape).toEqual([40, 8, 8, 3]);
    const count = (l: ArrayLike<number>) => Array.from({ length: 10 }, (_, k) => Array.from(l).filter((y) => y === k).length);
    expect(count(s.test.labels)).toEqual(new Array(10).fill(4));
    expect(count(s.train.labels)).toEqual(new Array(10).fill(16));
    const t = taskData(
      resolveDataset('builtin:digits') as RawImages,
      { name: 'd/2-5-7', dataset: 'builtin:digits', classIds: [2, 5, 7] },
      { trainPerClass: 5, testPerClass: 3, inputSize: 16, seed: 1 },
    );
    expect(t.train.shape).toEqual([15, 16, 16, 3]);
    expect(Array.from(t.test.labels)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(t.test.numClasses).toBe(3);
    expect(() =>
      taskData(
        resolveDataset('builtin:digits') as RawImages,
        { name: 'd/0-1', dataset: 'builtin:digits', classIds: [0, 1] },
        { trainPerClass: 500, testPerClass: 3, inputSize: 8, seed: 1 },
      ),
    ).toThrow(/at least 503 images/);
  });
});

describe('buildDatabase', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'arch-db-'));
  const base = { datasets: ['builtin:digits'], numTasks: 2, classesPerTask: 3, trainPerClass: 12, testPerClass: 6, archs: 2, seed: 11 };
  const recipeSpec = { base: 'tiny', overrides: { epochs: 1, batchSize: 12 } };
  const recipe = getRecipe(recipeSpec.base, recipeSpec.overrides);

  it('two shards of one plan fill one file: every pair exactly once, the same as one process', async () => {
    const dir = tmp();
    const opts = { datasets: ['builtin:digits'], numTasks: 2, classesPerTask: 3, trainPerClass: 12, testPerClass: 6, cellsPerTask: 2, goodCellShare: 0.5, seed: 11, recipe };
    const shards = await Promise.all([0, 1].map((index) => buildDatabase({ ...opts, db: path.join(dir, 'sharded.sqlite'), shard: { index, of: 2 } })));
    expect(shards.map((s) => s.trained)).toEqual([2, 2]);
    await buildDatabase({ ...opts, db: path.join(dir, 'single.sqlite') });
    const read = (f: string) => {
      const db = MetaDatabase.open(path.join(dir, f));
      const r = db
        .records()
        .map((x) => [x.task, x.arch, x.accuracy, (x.extra as { seed: number }).seed] as const)
        .sort((a, b) => (`${a[0]}${a[1]}` < `${b[0]}${b[1]}` ? -1 : 1));
      db.close();
      return r;
    };
    expect(read('sharded.sqlite')).toHaveLength(4);
    expect(read('sharded.sqlite')).toEqual(read('single.sqlite'));
  }, 240_000);

  it('replicates: every pair trained again with its own seed, second trainings before third, resumable in steps', async () => {
    const file = path.join(tmp(), 'replicates.sqlite');
    const opts = { ...base, recipe };
    const one = planBuild({ ...opts, db: file }, () => 10);
    const three = planBuild({ ...opts, db: file, replicates: 3 }, () => 10);
    const n = one.pairs.length;
    expect(n).toBe(4);
    expect(three.pairs).toHaveLength(3 * n);
    // replicate-major: the plan's pairs unchanged, then all second trainings, then all third ones
    expect(three.pairs.slice(0, n)).toEqual(one.pairs);
    three.pairs.forEach((p, i) => {
      const r = Math.floor(i / n);
      const q = one.pairs[i % n]!;
      expect([p.task.name, p.arch, p.replicate ?? 0]).toEqual([q.task.name, q.arch, r]);
      expect(p.seed).toBe(replicateSeed(opts.seed, q.task.name, q.arch, r));
    });
    // the rule of bench transfer's replicates: the seed of the string `<seed>|<task>|<arch>|replicate <r>`
    expect(three.pairs[n]!.seed).toBe(seedToU32(`${opts.seed}|${one.pairs[0]!.task.name}|${one.pairs[0]!.arch}|replicate 1`));
    expect(new Set(three.pairs.map((p) => p.seed)).size).toBe(3 * n);
    expect(() => planBuild({ ...opts, db: file, replicates: 0 }, () => 10)).toThrow(/replicates.*an integer ≥ 1/);

    const first = await buildDatabase({ ...opts, db: file });
    const seen: [number, boolean][] = [];
    const second = await buildDatabase({ ...opts, db: file, replicates: 2, onProgress: (p) => seen.push([p.replicate, p.accuracy !== undefined]) });
    expect([first.trained, second.trained, second.skipped]).toEqual([n, n, n]);
    // the records found (replicate 0), then the second trainings made
    expect(seen).toEqual([...new Array(n).fill([0, false]), ...new Array(n).fill([1, true])]);
    const again = await buildDatabase({ ...opts, db: file, replicates: 2 });
    expect([again.trained, again.skipped]).toEqual([0, 2 * n]);
    const db = MetaDatabase.open(file);
    const recs = db.records();
    db.close();
    expect(recs).toHaveLength(2 * n);
    for (const p of one.pairs) {
      const mine = recs.filter((r) => r.task === p.task.name && r.arch === p.arch).sort((a, b) => a.replicate - b.replicate);
      expect(mine.map((r) => r.replicate)).toEqual([0, 1]);
      expect(mine.map((r) => (r.extra as { seed: number }).seed)).toEqual([p.seed, replicateSeed(opts.seed, p.task.name, p.arch, 1)]);
      expect(mine[1]!.how).toBe('trained:@metad2a/arch-trainer (replicate 1 of metad2a db build)');
    }
  }, 240_000);

  it('stops cleanly on an aborted signal, with the plan (datasets, tasks) already stored', async () => {
    const file = path.join(tmp(), 'meta.sqlite');
    const ac = new AbortController();
    ac.abort();
    const r = await buildDatabase({ ...base, db: file, recipe, signal: ac.signal });
    expect([r.aborted, r.trained, r.skipped]).toEqual([true, 0, 0]);
    const db = MetaDatabase.open(file);
    expect(
      db
        .tasks()
        .map((t) => t.name)
        .sort(),
    ).toEqual(r.tasks.map((t) => t.name).sort());
    expect(db.records()).toHaveLength(0);
    db.close();
  });

  it('trains MBv3 subnets into records of space mbv3, and resumes', async () => {
    const file = path.join(tmp(), 'mbv3.sqlite');
    const opts = {
      db: file,
      space: 'mbv3' as const,
      datasets: ['builtin:digits'],
      numTasks: 1,
      classesPerTask: 3,
      trainPerClass: 8,
      testPerClass: 4,
      cellsPerTask: 2,
      goodCellShare: 0.5,
      seed: 2,
      recipe: getMbv3Recipe('mbv3-reduced', { epochs: 1, batchSize: 12 }),
    };
    const r = await buildDatabase(opts);
    expect([r.trained, r.skipped, r.metric]).toEqual([2, 0, 'top1-test@mbv3-reduced+epochs=1,batchSize=12']);
    const db = MetaDatabase.open(file);
    const records = db.records();
    db.close();
    expect(records).toHaveLength(2);
    expect(records.map((x) => x.arch).sort()).toEqual([...r.archs].sort());
    for (const x of records) {
      expect(x.space).toBe('mbv3');
      // 3 classes × 4 test images: multiples of 100/12
      expect(Math.abs((x.accuracy * 12) / 100 - Math.round((x.accuracy * 12) / 100))).toBeLessThan(1e-6);
      expect((x.recipe as { widthMult: number }).widthMult).toBe(0.25);
    }
    expect([(await buildDatabase(opts)).trained, (await buildDatabase(opts)).skipped]).toEqual([0, 2]);
  }, 120_000);

  it('refuses to resume onto records trained with other settings under the same recipe name', async () => {
    const file = path.join(tmp(), 'meta.sqlite');
    const opts = { ...base, numTasks: 1, db: file };
    expect((await buildDatabase({ ...opts, recipe })).trained).toBe(2);
    const changed = { ...recipe, epochs: 2 };
    await expect(buildDatabase({ ...opts, recipe: changed })).rejects.toThrow(
      new RegExp(`records of metric ${recipeMetric(recipe).replace(/[+]/g, '\\+')}: expected the recipe .*"epochs":2.*trained with .*"epochs":1`),
    );
    const db = MetaDatabase.open(file);
    expect(db.records()).toHaveLength(2);
    db.close();
  }, 120_000);

  it('resumes after its process is killed: skips finished pairs, loses none, duplicates none', async () => {
    const dir = tmp();
    const file = path.join(dir, 'meta.sqlite');
    const root = path.join(__dirname, '../../..');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers/build-db.ts'), JSON.stringify({ ...base, db: file, recipe: recipeSpec })], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let reported = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = [...d.toString().matchAll(/trained (\d+)/g)];
        if (m.length) reported = Number(m[m.length - 1]![1]);
        if (reported >= 1 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) =>
        signal === 'SIGKILL' && reported >= 1 ? resolve() : reject(new Error(`builder exited ${code}/${signal} after ${reported} pairs: ${stderr}`)),
      );
    }).finally(() => clearTimeout(guard));

    let db = MetaDatabase.open(file);
    const before = db.records();
    db.close();
    expect(before.length).toBeGreaterThanOrEqual(reported);
    expect(before.length).toBeLessThan(4);

    const progress: BuildProgress[] = [];
    const summary = await buildDatabase({ ...base, db: file, recipe, onProgress: (p) => progress.push(p) });
    expect(summary.skipped).toBe(before.length);
    expect(summary.trained).toBe(4 - before.length);
    expect(progress.at(-1)!.done).toBe(4);
    expect(progress.at(-1)!.etaMs).toBe(0);

    db = MetaDatabase.open(file);
    expect(db.integrityProblems()).toEqual([]);
    const after = db.records({ metric: recipeMetric(recipe) });
    // every pair exactly once; the records written before the kill are untouched
    expect(after).toHaveLength(4);
    expect(new Set(after.map((r) => `${r.task}|${r.arch}`)).size).toBe(4);
    for (const r of before) expect(after.find((x) => x.id === r.id)).toEqual(r);
    expect(new Set(after.map((r) => r.task))).toEqual(new Set(summary.tasks.map((t) => t.name)));
    expect(new Set(after.map((r) => r.arch))).toEqual(new Set(summary.archs));
    for (const r of after) {
      expect(r.space).toBe('nb201');
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(100);
      expect((r.recipe as { name: string }).name).toBe(recipe.name);
    }
    // digits tasks have 3 classes: 6 test images each → accuracies are multiples of 100/18
    for (const r of after) expect(Math.abs((r.accuracy * 18) / 100 - Math.round((r.accuracy * 18) / 100))).toBeLessThan(1e-6);
    db.close();

    // a third run has nothing left to do
    const again = await buildDatabase({ ...base, db: file, recipe });
    expect([again.trained, again.skipped]).toEqual([0, 4]);
  }, 240_000);
});

describe('named build plans', () => {
  it.each(Object.keys(BUILD_PLANS))('%s plans its tasks and pairs (class counts of the task sources)', (name) => {
    const opts = buildPlanOptions(name);
    const classes = new Map(taskSources().map((s) => [s.ref, s.numClasses]));
    const plan = planBuild({ ...opts, db: ':memory:' }, (ref) => classes.get(ref)!);
    expect(plan.tasks).toHaveLength(opts.numTasks);
    expect(new Set(plan.tasks.map((t) => t.name)).size).toBe(opts.numTasks);
    expect(plan.metric).toBe(recipeMetric(opts.recipe));
    if (name === 'nb201-heldout-v1') {
      expect(plan.pairs).toHaveLength(640);
      // 4 tasks of every held-out source
      const perSource = new Map<string, number>();
      for (const t of plan.tasks) perSource.set(t.dataset, (perSource.get(t.dataset) ?? 0) + 1);
      expect([...perSource.values()]).toEqual([4, 4, 4, 4, 4]);
    }
    if (name === 'nb201-heldout-dev-v1' || name === 'nb201-heldout-dev-v2') {
      expect(plan.pairs).toHaveLength(320);
      // 2 tasks of every held-out source, none with a class subset of the test plan's (nor, for v2, of dev-v1's)
      const test = planBuild({ ...buildPlanOptions('nb201-heldout-v1'), db: ':memory:' }, (ref) => classes.get(ref)!);
      const earlier = name === 'nb201-heldout-dev-v2' ? planBuild({ ...buildPlanOptions('nb201-heldout-dev-v1'), db: ':memory:' }, (ref) => classes.get(ref)!).tasks : [];
      const testNames = new Set([...test.tasks, ...earlier].map((t) => t.name));
      expect(plan.tasks.filter((t) => testNames.has(t.name))).toEqual([]);
      expect(new Set(plan.tasks.map((t) => t.dataset))).toEqual(new Set(test.tasks.map((t) => t.dataset)));
      const perSource = new Map<string, number>();
      for (const t of plan.tasks) perSource.set(t.dataset, (perSource.get(t.dataset) ?? 0) + 1);
      expect([...perSource.values()]).toEqual([2, 2, 2, 2, 2]);
    }
  });

  it('mbv3-v1 and mbv3-heldout-v1 measure the first tasks of the NB201 plans with MBv3 subnets (sources, exclusions, sizes, good share)', () => {
    const classes = new Map(taskSources().map((s) => [s.ref, s.numClasses]));
    const plan = (name: string) => planBuild({ ...buildPlanOptions(name), db: ':memory:' }, (ref) => classes.get(ref)!);
    const heldout = new Set(
      taskSources()
        .filter((s) => s.split === 'heldout')
        .map((s) => s.ref),
    );
    const train = taskSources()
      .filter((s) => s.split === 'train')
      .map((s) => s.ref);
    expect(heldout.size).toBe(5);
    expect(train).toHaveLength(16);
    const good = new Set(goodMbv3Subnets(GOOD_SUBNET_POOL));
    const perTask = (p: ReturnType<typeof plan>) => {
      const m = new Map<string, string[]>();
      for (const x of p.pairs) m.set(x.task.name, [...(m.get(x.task.name) ?? []), x.arch]);
      return m;
    };

    const db = plan('mbv3-v1');
    expect(db.space).toBe('mbv3');
    expect(db.metric).toBe('top1-test@mbv3-db');
    expect(db.pairs).toHaveLength(880);
    // the same class subsets as nb201-v1's first 220 tasks: one task list for both spaces
    expect(db.tasks).toEqual(plan('nb201-v1').tasks.slice(0, 220));
    const sources = new Map<string, number>();
    for (const t of db.tasks) sources.set(t.dataset, (sources.get(t.dataset) ?? 0) + 1);
    expect([...sources.keys()].sort()).toEqual([...train].sort());
    // round robin: 220 = 13·16 + 12, so 13 or 14 tasks per source
    expect([...sources.values()].every((n) => n === 13 || n === 14)).toBe(true);
    for (const t of db.tasks) {
      expect(heldout.has(t.dataset)).toBe(false);
      expect(t.classIds.length).toBeGreaterThanOrEqual(5);
      expect(t.classIds.length).toBeLessThanOrEqual(20);
    }
    let goodPairs = 0;
    for (const archs of perTask(db).values()) {
      expect(archs.length).toBeGreaterThanOrEqual(3);
      expect(archs.length).toBeLessThanOrEqual(5);
      // distinct networks, round(k · 0.4) of them from the good pool (1 of 3, 2 of 4 or 5)
      expect(new Set(archs.map((a) => mbv3ActiveKey((parseMbv3(a) as E.Right<Mbv3Config>).right))).size).toBe(archs.length);
      const g = archs.filter((a) => good.has(a)).length;
      expect(g).toBe(Math.round(archs.length * 0.4));
      goodPairs += g;
    }
    expect(goodPairs).toBe(367);

    const ho = plan('mbv3-heldout-v1');
    expect(ho.space).toBe('mbv3');
    expect(ho.metric).toBe('top1-test@mbv3-db');
    expect(ho.tasks).toEqual(plan('nb201-heldout-v1').tasks.slice(0, 10));
    const hoSources = new Map<string, number>();
    for (const t of ho.tasks) hoSources.set(t.dataset, (hoSources.get(t.dataset) ?? 0) + 1);
    expect([...hoSources.keys()].sort()).toEqual([...heldout].sort());
    expect([...hoSources.values()]).toEqual([2, 2, 2, 2, 2]);
    for (const archs of perTask(ho).values()) {
      expect(archs).toHaveLength(24);
      expect(new Set(archs.map((a) => mbv3ActiveKey((parseMbv3(a) as E.Right<Mbv3Config>).right))).size).toBe(24);
      // uniform draws only (goodCellShare 0): none of them is one of the good pool's
      expect(archs.filter((a) => good.has(a))).toEqual([]);
    }
  });

  // A named plan is a contract with the records already built (and committed) under it: any change
  // to the sampling of tasks, cells or seeds would retrain them as new pairs. These hashes pin it.
  it.each([
    ['nb201-v1', 3560, 'dda56ddb174345fe65000d482ddc872f6119c197c653d2aad7efa56ed889333c'],
    ['nb201-dense-v1', 2400, '2fbe6de487d40aa1ef1a4445182c95606fa35bd20a6aa595f76efed280a40979'],
    ['nb201-heldout-v1', 640, '43cbe73f13db042174955fe5804693c10992d55cd2fc35ab51bf22c76a801eea'],
    ['nb201-heldout-dev-v1', 320, 'af8825e3fb54ccea35f5747ab853d2d333b9263e5f8de469e27225bc689236f0'],
    ['nb201-heldout-dev-v2', 320, '195e8ad66d4eab1635ab782a4f8aaa7f5ea9308c94b36beebc9e702847ba32f3'],
    ['mbv3-v1', 880, '0c6b2325415fcecba62961004ed57603ea02abdcc244f15126add75f31917a10'],
    ['mbv3-heldout-v1', 240, '868d14da17bdd0325c10121989e4ce40cda11584c2044e3f1720ab1d85bb6a7d'],
  ])('%s plans exactly the pairs it always planned', (name, count, sha) => {
    const classes = new Map(taskSources().map((s) => [s.ref, s.numClasses]));
    const plan = planBuild({ ...buildPlanOptions(name), db: ':memory:' }, (ref) => classes.get(ref)!);
    expect(plan.pairs).toHaveLength(count);
    expect(
      createHash('sha256')
        .update(plan.pairs.map((p) => `${p.task.name}|${p.arch}|${p.seed}`).join('\n'))
        .digest('hex'),
    ).toBe(sha);
  });
});
