import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend, seedToU32, unwrap } from '@metad2a/core';
import { buildDatabase, getRecipe, goodMbv3Subnets, planBuild, recipeMetric } from '@metad2a/arch-trainer';
import { GoldenFixture } from '@metad2a/fixtures';
import { loadFeatureSet } from '@metad2a/datasets';
import { MetaDatabase, addDatabaseFeatures } from '@metad2a/meta-trainer';
import { buildSearchModel, loadSearchModel, manifestFromSpec, type SearchModel } from '@metad2a/search';
import { canonicalKey, mbv3ActiveKey, nb201, parseMbv3, parseNb201, type Mbv3Config } from '@metad2a/search-spaces';
import {
  bootstrapMeanCI,
  groupOverlaps,
  nb201Winners,
  oneTrainingSearchOutcomes,
  overlapCount,
  percentileAmong,
  quantileSorted,
  runTransferBenchmark,
  transferMarkdown,
  transferSvg,
  winsTiesLosses,
  agreementOf,
  type TransferPlanOptions,
  type TransferResult,
  type TransferTaskResult,
} from '../src';
import { tinyMbv3Plan } from './tiny-models';

// training runs on the native backend of @metad2a/tfjs-kernels when it is built, else on cpu (slow)
beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

const key = (arch: string): string => canonicalKey((parseNb201(arch) as E.Right<Parameters<typeof canonicalKey>[0]>).right);

describe('transfer statistics', () => {
  it('percentile: mid-rank among the random cells', () => {
    const random = [60, 70, 70, 80, 90];
    expect(percentileAmong(75, random)).toBe(60); // 3 below
    expect(percentileAmong(70, random)).toBe(40); // 1 below + ½·2 equal
    expect(percentileAmong(95, random)).toBe(100);
    expect(percentileAmong(50, random)).toBe(0);
    expect(percentileAmong(60, random)).toBe(10);
    expect(percentileAmong(5, [5, 5, 5, 5])).toBe(50);
    expect(() => percentileAmong(1, [])).toThrow(/at least one value/);
    expect(() => percentileAmong(Number.NaN, [1])).toThrow(/finite/);
  });

  it('wins, ties and losses: a mean of one accuracy over seeds that differs from it in the last bit is a tie', () => {
    const a = 45.33;
    expect((a + a + a) / 3).toBeGreaterThan(a); // the float rounding a strict comparison counted as a win
    expect(winsTiesLosses([(a + a + a) / 3, (96.6 * 3) / 3, 90, 80.5], [a, 96.6, 89.9, 80.6])).toEqual({ wins: 1, ties: 2, losses: 1 });
    expect(() => winsTiesLosses([1], [])).toThrow('winsTiesLosses: 1 against 0 values');
  });

  it('random search with one training per cell: the best by each training in turn, judged by its other trainings', () => {
    // by training 0: A (its other trainings 80 against the reference's 88: below); by training 1 or 2: B (90: above)
    expect(
      oneTrainingSearchOutcomes(
        [
          [90, 80, 80],
          [85, 95, 95],
          [70, 70, 70],
        ],
        [88, 88, 88],
      ),
    ).toEqual(['below', 'above', 'above']);
    // by training 0 or 2: A (50 against 50: equal); by training 1: B (its others 40: below)
    expect(
      oneTrainingSearchOutcomes(
        [
          [50, 50, 50],
          [40, 60, 40],
        ],
        [50, 50, 50],
      ),
    ).toEqual(['equal', 'below', 'equal']);
    expect(() => oneTrainingSearchOutcomes([[1, 2]], [1])).toThrow('expected cells and a reference of the same ≥ 2 trainings, got 1 cells, 1 trainings');
    expect(() => oneTrainingSearchOutcomes([[1, 2, 3]], [1, 2])).toThrow(RangeError);
  });

  it("ranking agreement: the Spearman between tasks' scores of the same cells, over every pair; a shift of one task's level leaves it 1", () => {
    const a = [0.1, 0.5, 0.3, 0.9];
    const shifted = a.map((x) => x + 7); // another data set's level, the same ranking
    const reversed = a.map((x) => -x);
    const ag = agreementOf([a, shifted, reversed], ['s1', 's1', 's2']);
    // pairs: (a, shifted) 1, (a, reversed) −1, (shifted, reversed) −1
    expect(ag).toEqual({ cells: 4, pairs: 3, mean: -1 / 3, min: -1, betweenSources: -1 });
    expect(agreementOf([a, shifted], ['s', 's']).betweenSources).toBeNull();
    expect(() => agreementOf([a, a], ['s'])).toThrow("agreementOf: 2 tasks' scores against 1 sources");
  });

  it('type-7 quantile', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([10, 20, 30], 0.25)).toBe(15);
    expect(quantileSorted([10, 20, 30], 1)).toBe(30);
  });

  it('bootstrap interval of a mean: seeded, paired draws, exact', () => {
    const v = [10, 20, 30, 40];
    // recompute three resamples by hand with the same draws: Rng(seed).int(4), n per resample
    const rng = new Rng('s');
    const means = [0, 1, 2].map(() => (v[rng.int(4)]! + v[rng.int(4)]! + v[rng.int(4)]! + v[rng.int(4)]!) / 4).sort((a, b) => a - b);
    const small = bootstrapMeanCI(v, { resamples: 3, seed: 's', level: 0.5 });
    expect(small.mean).toBe(25);
    expect(small.lo).toBeCloseTo(quantileSorted(means, 0.25), 12);
    expect(small.hi).toBeCloseTo(quantileSorted(means, 0.75), 12);
    // golden: 10,000 resamples, seed 0
    const ci = bootstrapMeanCI([55, 62.5, 71, 80, 93, 97.5], { seed: 0 });
    expect(ci.mean).toBeCloseTo(76.5, 12);
    expect([ci.lo, ci.hi]).toEqual([GOLDEN_CI.lo, GOLDEN_CI.hi]);
    expect(bootstrapMeanCI([55, 62.5, 71, 80, 93, 97.5], { seed: 0 })).toEqual(ci);
    const same = bootstrapMeanCI([7, 7, 7], { seed: 3, resamples: 50 });
    expect([same.lo, same.mean, same.hi]).toEqual([7, 7, 7]);
  });

  it('top-k overlap within and between groups, over seeds', () => {
    expect(overlapCount(['a', 'b', 'c'], ['c', 'd', 'a'])).toBe(2);
    expect(overlapCount(['a', 'a'], ['a'])).toBe(1);
    const tops = (s0: string[], s1: string[]) =>
      new Map([
        [0, s0],
        [1, s1],
      ]);
    const o = groupOverlaps(
      [
        { name: 'x1', group: 'X', tops: tops(['a', 'b'], ['a', 'c']) },
        { name: 'x2', group: 'X', tops: tops(['a', 'd'], ['c', 'e']) },
        { name: 'y1', group: 'Y', tops: tops(['f', 'g'], ['a', 'g']) },
      ],
      ['X', 'Y'],
    );
    // X–X: (x1, x2) seed 0: {a} = 1, seed 1: {c} = 1 → 1
    // X–Y: (x1, y1): 0 and 1; (x2, y1): 0 and 0 → 1/4; Y–Y: no pair
    expect(o).toEqual([
      { a: 'X', b: 'X', mean: 1, pairs: 2 },
      { a: 'X', b: 'Y', mean: 0.25, pairs: 4 },
      { a: 'Y', b: 'Y', mean: null, pairs: 0 },
    ]);
  });
});

/** A hand-made result (two sources, three tasks, two seeds) for the renderers. */
function syntheticResult(): TransferResult {
  const cell = (arch: string, accuracy: number, percentile: number) => ({ arch, accuracy, percentile });
  const task = (name: string, source: string, p: number[]): TransferTaskResult => {
    const m = (i: number) => ({ accuracy: 50 + p[i]! / 4, percentile: p[i]! });
    return {
      task: name,
      source,
      classes: 3,
      features: 'extractor random-conv',
      random: { count: 30, planned: 32, mean: 60, best: 75, cells: [] },
      references: { 'nb201-cifar10': cell('c10', 70, p[2]!), 'nb201-imagenet16-120': cell('in16', 71, p[3]!) },
      bestKnown: cell('best', 76, 100),
      seeds: [0, 1].map((seed) => ({
        seed,
        top: [cell(`t${seed}`, 60 + seed, p[0]! + 10 * seed)],
        top1PredictedPercentile: 95 + seed,
        bestOfTop: cell(`t${seed}`, 60 + seed, p[1]!),
        proxies: { naswot: { ...cell('n', 55, p[4]!), score: 1 } },
        spearman: 0.25,
        predictionError: { mae: 3 + seed, bias: -1 },
        candidates: 8,
        searchSeconds: 1,
      })),
      methods: { 'metad2a-top1': m(0), 'metad2a-best-of-top': m(1), 'nb201-cifar10': m(2), 'nb201-imagenet16-120': m(3), 'proxy:naswot': m(4), 'best-known': m(5) },
      spearman: 0.25,
      predictionError: { mae: 3.5, bias: -1 },
    };
  };
  const tasks = [
    task('builtin:digits/0-1-2', 'builtin:digits', [85, 96.7, 40, 63.3, 20, 100]),
    task('builtin:digits/3-4-5', 'builtin:digits', [70, 90, 50, 50, 35, 100]),
    task('source:shapes/1-2-9', 'source:shapes', [55, 81.7, 10, 93.3, 75, 100]),
  ];
  const ci = (mean: number) => ({ mean, lo: mean - 5, hi: mean + 5, n: 3, level: 0.95, resamples: 100, seed: '0|all' });
  const methods = ['metad2a-top1', 'metad2a-best-of-top', 'nb201-cifar10', 'nb201-imagenet16-120', 'proxy:naswot', 'best-known'] as const;
  const byMethod = (v: number) => Object.fromEntries(methods.map((m) => [m, ci(v)])) as TransferResult['summary'][number]['percentile'];
  return {
    plan: { name: 'tiny-test', space: 'nb201', recipe: getRecipe('tiny'), metric: 'top1-test@tiny', seed: 7, tasks: 3 },
    model: { name: 'fixture', predicts: 'test' },
    settings: {
      seeds: [0, 1],
      top: 3,
      candidates: 8,
      resamples: 2,
      minRandomCells: 30,
      proxies: { names: ['naswot'], pool: 'the candidates of each MetaD2A search (8 generated cells per seed)', batch: 8, seed: 0, network: { C: 4, N: 1 } },
      bootstrap: { resamples: 100, seed: 0, level: 0.95 },
      rerank: null,
    },
    methods: [...methods],
    tasks,
    summary: [
      { group: 'builtin:digits', tasks: 2, percentile: byMethod(70), accuracy: byMethod(65), spearman: ci(0.25), predictionMae: ci(3.5), predictionBias: ci(-1) },
      { group: 'all', tasks: 3, percentile: byMethod(60), accuracy: byMethod(64), spearman: ci(0.25), predictionMae: ci(3.5), predictionBias: ci(-1) },
    ],
    perSeed: [
      { seed: 0, top1Percentile: 70, top1PredictedPercentile: 95, bestOfTopPercentile: 89.4, spearman: 0.25 },
      { seed: 1, top1Percentile: 80, top1PredictedPercentile: 96, bestOfTopPercentile: 89.4, spearman: 0.25 },
    ],
    wins: [{ against: 'nb201-both', wins: 2, tasks: 3, percentileDifference: { ...ci(-0.04), lo: -12.25, hi: 9.96 } }],
    rankingAgreement: { cells: 90, pairs: 3, mean: 0.9996, min: 0.9989, betweenSources: 0.9991 },
    overlap: [
      { a: 'builtin:digits', b: 'builtin:digits', mean: 1.5, pairs: 2 },
      { a: 'builtin:digits', b: 'source:shapes', mean: 0.25, pairs: 4 },
      { a: 'source:shapes', b: 'source:shapes', mean: null, pairs: 0 },
    ],
    trainings: { trained: 4, reused: 2, trainSeconds: 3 },
    machine: { cpu: 'test cpu', cores: 2, memoryGiB: 4, platform: 'test', node: 'v20', backend: 'cpu', date: '2026-12-05T00:00:00.000Z', loadAverage1m: 1 },
  };
}

describe('transfer report', () => {
  it('SVG: deterministic bytes (golden hash), one marker per method and task, goal lines', () => {
    const svg = transferSvg(syntheticResult());
    expect(svg).toBe(transferSvg(syntheticResult()));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // 5 methods (best known left out) × 3 tasks, each marker titled with its value
    expect((svg.match(/<title>/g) ?? []).length).toBe(15);
    expect(svg).toContain('<title>shapes/1-2-9 · NB201 ImageNet16-120 winner: 93.3</title>');
    expect(svg).not.toContain('best known');
    expect(svg).toContain('goal: top-1 ≥ 80');
    expect(svg).toContain('digits/3-4-5');
    expect(createHash('sha256').update(svg).digest('hex')).toBe(GOLDEN_SVG_SHA256);
  });

  it('markdown: summary per source, per seed, wins, overlap matrix, one row per task', () => {
    const md = transferMarkdown(syntheticResult());
    expect(md).toContain('| digits | 2 | 70.0 [65.0, 75.0] |');
    expect(md).toContain('| **all** | 3 | 60.0 [55.0, 65.0] |');
    expect(md).toContain('| 1 | 80.0 | 96.0 | 89.4 | 0.25 |');
    expect(md).toContain('both NB201 winners on 2 of 3 tasks');
    expect(md).toContain('**Its percentile minus theirs** (mean over tasks [95 % interval]): both NB201 winners +0.0 [−12.3, +10.0].');
    expect(md).toContain("same 90 cells (every task's random cells), mean 1.000 over 3 task pairs (lowest 0.999; tasks of different sources 0.999)");
    expect(md).toContain('| digits | 1.50 | 0.25 |');
    expect(md).toContain('| shapes | 0.25 | — |');
    expect(md).toContain('| digits/0-1-2 | 30, 60.0, 75.0 | 71.3 (85.0) | 74.2 (96.7) |');
    expect(md).toContain('NASWOT top-1');
    expect(md).toContain('digits mean absolute error 3.5 [-1.5, 8.5], bias -1.0 [-6.0, 4.0]; **all** mean absolute error 3.5 [-1.5, 8.5]');
  });
});

describe('runTransferBenchmark on a tiny plan (tiny recipe, fixture weights)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transfer-'));
  const db = path.join(dir, 'heldout.sqlite');
  const planOptions: TransferPlanOptions = {
    datasets: ['builtin:digits', 'source:shapes'],
    numTasks: 2,
    classesPerTask: 3,
    cellsPerTask: 6,
    goodCellShare: 0,
    recipe: getRecipe('tiny', { epochs: 8 }),
    trainPerClass: 24,
    testPerClass: 12,
    seed: 7,
  };
  const plan = { name: 'tiny-test', options: planOptions };
  let model: SearchModel;
  const common = () => ({
    model,
    modelName: 'fixture gen-nb201 + pred-nb201',
    db,
    plan,
    seeds: [0, 1],
    top: 3,
    candidates: 8,
    resamples: 2,
    minRandomCells: 6,
    proxyBatch: 8,
    bootstrap: { resamples: 200, seed: 0 },
  });
  beforeAll(async () => {
    model = buildSearchModel(manifestFromSpec('nb201-official', { predictorHs: 64 }), {
      generator: GoldenFixture.load('gen-nb201').params(),
      predictor: GoldenFixture.load('pred-nb201').params(),
    });
    const s = await buildDatabase({ ...planOptions, db });
    expect(s.trained).toBe(12);
  });
  afterAll(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses an extractor other than the model's before any work, naming it and the model's", async () => {
    await expect(runTransferBenchmark({ ...common(), extractor: 'mobilenetv2' })).rejects.toThrow(
      "fixture gen-nb201 + pred-nb201: extractor: expected the model's extractor, random-conv (the model names no extractor: models without the field were meta-trained on random-conv features)",
    );
  });

  it('refuses a plan whose random cells are not measured yet, naming the task and the counts', async () => {
    await expect(runTransferBenchmark({ ...common(), minRandomCells: 7 })).rejects.toThrow(/at least 7 measured random cells of plan tiny-test.*6 of 6/);
  });

  it('refuses records of another recipe under the same name (they would mix two recipes)', async () => {
    const changed = { name: 'tiny-test', options: { ...planOptions, recipe: { ...planOptions.recipe, lr: 0.2 } } };
    await expect(runTransferBenchmark({ ...common(), plan: changed })).rejects.toThrow(/records of metric top1-test@tiny\+epochs=8: expected the recipe .*"lr":0.2/);
  });

  it("a pick that is a planned, unmeasured random cell is trained as the plan's pair (the build then skips it)", async () => {
    const winners = nb201Winners();
    const gridDb = path.join(dir, 'grid.sqlite');
    const grid: TransferPlanOptions = {
      ...planOptions,
      cellsPerTask: undefined,
      archs: [
        winners.cifar10,
        ...planBuild({ ...planOptions, db })
          .pairs.slice(0, 5)
          .map((p) => p.arch),
      ],
    };
    // half the pairs: the odd ones, so the winner (pair 0 of each task's six) is not measured
    await buildDatabase({ ...grid, db: gridDb, shard: { index: 1, of: 2 } });
    const run = await runTransferBenchmark({ ...common(), db: gridDb, plan: { name: 'grid', options: grid }, minRandomCells: 3, seeds: [0], top: 1, proxies: [] });
    if (run.status !== 'complete') throw new Error('expected a result');
    const built = planBuild({ ...grid, db: gridDb });
    const d = MetaDatabase.open(gridDb, { readonly: true });
    const metric = recipeMetric(grid.recipe);
    const picked = new Set<string>();
    for (const t of run.result.tasks) {
      const rec = d.records({ task: t.task, metric }).find((r) => r.arch === winners.cifar10)!;
      expect((rec.extra as { seed: number }).seed).toBe(built.pairs.find((p) => p.task.name === t.task && p.arch === winners.cifar10)!.seed);
      for (const a of [winners.cifar10, winners['imagenet16-120'], t.seeds[0]!.top[0]!.arch]) picked.add(`${t.task}|${key(a)}`);
    }
    d.close();
    const unmeasuredPlanned = built.pairs.filter((p, i) => i % 2 === 0 && !picked.has(`${p.task.name}|${key(p.arch)}`)).length;
    const rest = await buildDatabase({ ...grid, db: gridDb });
    expect(rest.trained).toBe(unmeasuredPlanned);
  });

  it('trains each missing pick once, resumes after a stop, and measures every number from records', async () => {
    const stopper = new AbortController();
    const progress: number[] = [];
    const first = await runTransferBenchmark({
      ...common(),
      signal: stopper.signal,
      onProgress: (p) => {
        if (p.phase !== 'train') return;
        progress.push(p.done);
        expect(p.etaMs).toBeGreaterThanOrEqual(0);
        if (p.done === 2) stopper.abort();
      },
    });
    if (first.status !== 'stopped') throw new Error('expected a stop');
    expect(first.trained).toBe(2);
    expect(progress).toEqual([1, 2]);
    const totalPicks = first.trained + first.remaining;

    let trainedEvents = 0;
    const second = await runTransferBenchmark({ ...common(), onProgress: (p) => void (p.phase === 'train' && trainedEvents++) });
    if (second.status !== 'complete') throw new Error('expected a result');
    const r = second.result;
    expect(r.trainings.trained).toBe(first.remaining);
    expect(trainedEvents).toBe(first.remaining);

    // the number of trainings, recomputed from the result: distinct computations picked per task, minus the plan's random cells
    const built = planBuild({ ...planOptions, db });
    const winners = nb201Winners();
    let needed = 0;
    for (const t of r.tasks) {
      const randomKeys = new Set(built.pairs.filter((p) => p.task.name === t.task).map((p) => key(p.arch)));
      const picks = new Set(
        [winners.cifar10, winners['imagenet16-120'], ...t.seeds.flatMap((s) => [...s.top.map((c) => c.arch), ...Object.values(s.proxies).map((c) => c.arch)])].map(key),
      );
      needed += [...picks].filter((k) => !randomKeys.has(k)).length;
    }
    expect(totalPicks).toBe(needed);
    expect(r.trainings.reused + r.trainings.trained).toBe(
      r.tasks.reduce(
        (a, t) =>
          a +
          new Set([winners.cifar10, winners['imagenet16-120'], ...t.seeds.flatMap((s) => [...s.top.map((c) => c.arch), ...Object.values(s.proxies).map((c) => c.arch)])].map(key))
            .size,
        0,
      ),
    );

    // every figure is a record of the database, with the recipe's metric
    const d = MetaDatabase.open(db, { readonly: true });
    try {
      const metric = recipeMetric(planOptions.recipe);
      expect(d.records({ metric }).length).toBe(12 + totalPicks);
      for (const t of r.tasks) {
        const recs = d.records({ task: t.task, metric });
        const accOf = (arch: string) => recs.find((x) => key(x.arch) === key(arch))!.accuracy;
        const randomAcc = built.pairs.filter((p) => p.task.name === t.task).map((p) => recs.find((x) => x.arch === p.arch)!.accuracy);
        expect(t.random.count).toBe(6);
        for (const s of t.seeds) {
          expect(s.top).toHaveLength(3);
          expect(s.top[0]!.accuracy).toBe(accOf(s.top[0]!.arch));
          expect(s.top[0]!.percentile).toBe(percentileAmong(accOf(s.top[0]!.arch), randomAcc));
          expect(s.bestOfTop.accuracy).toBe(Math.max(...s.top.map((c) => accOf(c.arch))));
          expect(Object.keys(s.proxies)).toEqual(['naswot', 'synflow']);
          expect(s.top1PredictedPercentile).toBeGreaterThanOrEqual(0);
          expect(s.top1PredictedPercentile).toBeLessThanOrEqual(100);
          // printed − measured over the random cells: |mean| ≤ mean of |·|
          expect(Number.isFinite(s.predictionError.mae)).toBe(true);
          expect(Math.abs(s.predictionError.bias)).toBeLessThanOrEqual(s.predictionError.mae + 1e-12);
          if (new Set(randomAcc).size === 1) expect(s.spearman).toBeNaN();
          else {
            expect(s.spearman).toBeGreaterThanOrEqual(-1);
            expect(s.spearman).toBeLessThanOrEqual(1);
          }
        }
        expect(t.bestKnown.accuracy).toBe(Math.max(...recs.map((x) => x.accuracy)));
        expect(t.references['nb201-cifar10']!.accuracy).toBe(accOf(winners.cifar10));
        expect(t.methods['metad2a-top1']!.percentile).toBeCloseTo((t.seeds[0]!.top[0]!.percentile + t.seeds[1]!.top[0]!.percentile) / 2, 12);
        expect(t.features).toBe('extractor random-conv');
        expect(recs.filter((x) => x.how.includes('bench transfer')).length).toBeGreaterThan(0);
      }
    } finally {
      d.close();
    }
    expect(r.tasks.map((t) => t.source)).toEqual(['builtin:digits', 'source:shapes']);
    expect(r.summary.map((g) => g.group)).toEqual(['builtin:digits', 'source:shapes', 'all']);
    expect(transferMarkdown(r)).toContain('| **all** | 2 |');
    const all = r.summary[2]!;
    expect(all.percentile['metad2a-top1']!.mean).toBeCloseTo((r.tasks[0]!.methods['metad2a-top1']!.percentile + r.tasks[1]!.methods['metad2a-top1']!.percentile) / 2, 12);
    expect(all.predictionMae.mean).toBeCloseTo((r.tasks[0]!.predictionError.mae + r.tasks[1]!.predictionError.mae) / 2, 12);
    expect(r.tasks[0]!.predictionError.bias).toBeCloseTo((r.tasks[0]!.seeds[0]!.predictionError.bias + r.tasks[0]!.seeds[1]!.predictionError.bias) / 2, 12);
    const w = r.wins.find((x) => x.against === 'proxy:naswot')!;
    const diffs = r.tasks.map((t) => t.methods['metad2a-top1']!.accuracy - t.methods['proxy:naswot']!.accuracy);
    expect(w.wins).toBe(diffs.filter((d) => d > 1e-9).length);
    expect(w.ties).toBe(diffs.filter((d) => Math.abs(d) <= 1e-9).length);
    const pd = r.tasks.map((t) => t.methods['metad2a-top1']!.percentile - t.methods['proxy:naswot']!.percentile);
    expect(w.percentileDifference!.mean).toBeCloseTo((pd[0]! + pd[1]!) / 2, 12);
    expect(w.percentileDifference!.seed).toBe(all.percentile['metad2a-top1']!.seed); // paired with the summaries' resampled tasks
    // the ranking agreement: both tasks scored every task's random cells (one per computation); one pair, of two sources
    const ag = r.rankingAgreement!;
    expect(ag.cells).toBe(new Set(built.pairs.map((p) => key(p.arch))).size);
    expect(ag.pairs).toBe(1);
    expect(ag.min).toBe(ag.mean);
    expect(ag.betweenSources).toBe(ag.mean);
    expect(Math.abs(ag.mean)).toBeLessThanOrEqual(1);
    expect(r.overlap.map((o) => [o.a, o.b, o.pairs])).toEqual([
      ['builtin:digits', 'builtin:digits', 0],
      ['builtin:digits', 'source:shapes', 2],
      ['source:shapes', 'source:shapes', 0],
    ]);

    // a third run trains nothing and gives the same table
    const third = await runTransferBenchmark(common());
    if (third.status !== 'complete') throw new Error('expected a result');
    expect(third.result.trainings.trained).toBe(0);
    const timeless = (ts: readonly TransferTaskResult[]) => ts.map((t) => ({ ...t, seeds: t.seeds.map(({ searchSeconds: _, ...s }) => s) }));
    expect(timeless(third.result.tasks)).toEqual(timeless(r.tasks));
    expect(third.result.summary).toEqual(r.summary);

    // --proxy-pool 1: the proxies can only choose MetaD2A's top-1, which is recorded already
    const narrow = await runTransferBenchmark({ ...common(), proxyPool: 1 });
    if (narrow.status !== 'complete') throw new Error('expected a result');
    expect(narrow.result.trainings.trained).toBe(0);
    expect(narrow.result.settings.proxies.pool).toBe("the first 1 of each MetaD2A search's ranking of 8 generated cells");
    for (const t of narrow.result.tasks) for (const s of t.seeds) for (const p of Object.values(s.proxies)) expect(p.arch).toBe(s.top[0]!.arch);

    // the re-ranking stage at weight 1 over the first 3 = synflow's pick among those 3 (already trained: MetaD2A's top-3)
    const rr = await runTransferBenchmark({ ...common(), proxyPool: 3, rerank: { proxy: 'synflow', top: 3, weight: 1 } });
    if (rr.status !== 'complete') throw new Error('expected a result');
    expect(rr.result.trainings.trained).toBe(0);
    expect(rr.result.methods.slice(0, 3)).toEqual(['metad2a-top1', 'metad2a-best-of-top', 'rerank:synflow']);
    for (const t of rr.result.tasks) {
      for (const s of t.seeds) expect(s.rerankTop1!.arch).toBe(s.proxies.synflow!.arch);
      expect(t.methods['rerank:synflow']!.accuracy).toBeCloseTo(t.methods['proxy:synflow']!.accuracy, 12);
    }
    expect(transferMarkdown(rr.result)).toContain("MetaD2A re-ranked by synflow, top-1: the search's re-ranking stage");

    // --top-distance 3: the trained top-3 is the one `metad2a search --top-distance 3` prints (each cell 3 edges from every better one)
    const spread = await runTransferBenchmark({ ...common(), proxies: [], topDistance: 3 });
    if (spread.status !== 'complete') throw new Error('expected a result');
    expect(spread.result.settings.topDistance).toBe(3);
    expect(transferMarkdown(spread.result)).toContain('(as `metad2a search --top-distance 3` chooses it');
    for (const t of spread.result.tasks) {
      for (const s of t.seeds) {
        const cells = s.top.map((c) => unwrap(nb201.parse(c.arch)));
        for (const [i, a] of cells.entries()) for (const b of cells.slice(i + 1)) expect(nb201.distance!(a, b)).toBeGreaterThanOrEqual(3);
        expect(s.bestOfTop.accuracy).toBe(Math.max(...s.top.map((c) => c.accuracy)));
      }
    }

    // features stored in the database by the model's extractor (`metad2a db features`) are the ones searched with
    const copy = path.join(dir, 'heldout-with-features.sqlite');
    fs.copyFileSync(db, copy);
    const withFeatures = MetaDatabase.open(copy);
    let from: string;
    try {
      from = (await addDatabaseFeatures(withFeatures, { extractor: 'random-conv', perClass: 20 })).from;
    } finally {
      withFeatures.close();
    }
    expect(from).toBe('random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32, first 20 images per class');
    const stored = await runTransferBenchmark({ ...common(), db: copy, proxies: [] });
    if (stored.status !== 'complete') throw new Error('expected a result');
    expect(stored.result.tasks.map((t) => t.features)).toEqual([`database (${from})`, `database (${from})`]);

    // features of another origin are not the model's: the task's are extracted with the model's extractor, and the table says so
    const writable = MetaDatabase.open(db);
    try {
      for (const ref of ['builtin:digits', 'source:shapes'])
        writable.addFeatureSet(ref, await loadFeatureSet(ref, { maxPerClass: 20 }), { from: 'random-conv, first 20 images per class' });
    } finally {
      writable.close();
    }
    const other = await runTransferBenchmark({ ...common(), proxies: [] });
    if (other.status !== 'complete') throw new Error('expected a result');
    expect(other.result.tasks.map((t) => t.features)).toEqual([
      "extractor random-conv (the database's features come from random-conv, first 20 images per class)",
      "extractor random-conv (the database's features come from random-conv, first 20 images per class)",
    ]);
  }, 300_000); // three runs of the tiny plan: ~50 s on an idle 2-core machine, over 120 s at load 10

  it('replicates: every random cell and pick is trained R times with seeds of its own, its accuracy is their mean; a stop resumes; replicates 1 reads replicate 0 only', async () => {
    const copy = path.join(dir, 'replicates.sqlite');
    fs.copyFileSync(db, copy);
    const opts = { ...common(), db: copy, proxies: [], seeds: [0], top: 2, replicates: 3 };
    await expect(runTransferBenchmark({ ...opts, replicates: 0 })).rejects.toThrow('bench transfer: replicates: expected a positive integer, got 0');
    // a stop inside the random cells' replicates (phase 0) keeps what was trained
    const stopper = new AbortController();
    const first = await runTransferBenchmark({
      ...opts,
      signal: stopper.signal,
      onProgress: (p) => {
        if (p.phase === 'train' && p.done === 3) stopper.abort();
      },
    });
    if (first.status !== 'stopped') throw new Error('expected a stop');
    expect(first.trained).toBe(3);
    // the plan's 12 random cells need replicates 1 and 2: 24 trainings in phase 0, three of them done
    expect(first.remaining).toBe(21);
    const replicatesSeen: number[] = [];
    const run = await runTransferBenchmark({ ...opts, onProgress: (p) => void (p.phase === 'train' && replicatesSeen.push(p.replicate)) });
    if (run.status !== 'complete') throw new Error('expected a result');
    const r = run.result;
    expect(r.settings.replicates).toBe(3);
    // the 21 random-cell trainings left (replicates 1 and 2), then every pick not measured yet three times
    expect(replicatesSeen.slice(0, 21).every((x) => x > 0)).toBe(true);
    expect(r.trainings.trained).toBe(replicatesSeen.length);
    expect(transferMarkdown(r)).toContain("every cell's accuracy (random cells and picks) is the mean of 3 trainings with different seeds (replicate 0 the plan's record)");
    const d = MetaDatabase.open(copy, { readonly: true });
    try {
      const metric = recipeMetric(planOptions.recipe);
      const built = planBuild({ ...planOptions, db: copy });
      for (const t of r.tasks) {
        const recs = d.records({ task: t.task, metric });
        const trainings = (arch: string) => recs.filter((x) => key(x.arch) === key(arch)).sort((a, b) => a.replicate - b.replicate);
        const meanOf = (arch: string) => {
          const rs = trainings(arch);
          expect(rs.map((x) => x.replicate)).toEqual([0, 1, 2]);
          return (rs[0]!.accuracy + rs[1]!.accuracy + rs[2]!.accuracy) / 3;
        };
        for (const p of built.pairs.filter((q) => q.task.name === t.task)) {
          const rs = trainings(p.arch);
          // replicate 0 is the plan's pair; the others have seeds of their own
          expect(rs.map((x) => (x.extra as { seed: number }).seed)).toEqual([
            p.seed,
            seedToU32(`7|${t.task}|${p.arch}|replicate 1`),
            seedToU32(`7|${t.task}|${p.arch}|replicate 2`),
          ]);
          expect(rs.every((x) => x.arch === p.arch)).toBe(true);
        }
        const randomAcc = built.pairs.filter((q) => q.task.name === t.task).map((q) => meanOf(q.arch));
        expect(t.random.cells.map((c) => c.accuracy)).toEqual(randomAcc);
        for (const c of t.seeds[0]!.top) {
          expect(c.accuracy).toBeCloseTo(meanOf(c.arch), 12);
          expect(c.percentile).toBe(percentileAmong(c.accuracy, randomAcc));
        }
        expect(t.references['nb201-cifar10']!.accuracy).toBeCloseTo(meanOf(nb201Winners().cifar10), 12);
        // random search with one training per random cell, against each winner: recomputed from the records
        for (const [ref, arch] of [
          ['nb201-cifar10', nb201Winners().cifar10],
          ['nb201-imagenet16-120', nb201Winners()['imagenet16-120']],
        ] as const) {
          const acc = (a: string) => trainings(a).map((x) => x.accuracy);
          const expected = [0, 1, 2].map((k) => {
            const pick = built.pairs.filter((q) => q.task.name === t.task).reduce((b, q) => (acc(q.arch)[k]! > acc(b.arch)[k]! ? q : b));
            const others = (v: number[]) => (v.reduce((x, y) => x + y, 0) - v[k]!) / 2;
            const d = others(acc(pick.arch)) - others(acc(arch));
            return d > 1e-9 ? 'above' : d >= -1e-9 ? 'equal' : 'below';
          });
          expect(t.oneTrainingSearch?.[ref]).toEqual(expected);
        }
        // the best known: the best mean over the computations measured three times
        const keys = [...new Set(recs.map((x) => key(x.arch)))].filter((k) => recs.filter((x) => key(x.arch) === k).length === 3);
        expect(t.bestKnown.accuracy).toBeCloseTo(Math.max(...keys.map((k) => meanOf(recs.find((x) => key(x.arch) === k)!.arch))), 12);
      }
      const outcomes = r.tasks.flatMap((t) => t.oneTrainingSearch!['nb201-cifar10']!);
      const c10 = r.oneTrainingSearch!.find((o) => o.against === 'nb201-cifar10')!;
      expect(c10).toEqual({
        against: 'nb201-cifar10',
        above: outcomes.filter((o) => o === 'above').length,
        equal: outcomes.filter((o) => o === 'equal').length,
        below: outcomes.filter((o) => o === 'below').length,
        comparisons: 3 * r.tasks.length,
      });
      expect(transferMarkdown(r)).toContain(`More accurate than NB201 CIFAR-10 winner in ${c10.above} of ${c10.comparisons} (as accurate in ${c10.equal}; `);
      // a rerun trains nothing and gives the same table
      const again = await runTransferBenchmark(opts);
      if (again.status !== 'complete') throw new Error('expected a result');
      expect(again.result.trainings.trained).toBe(0);
      expect(again.result.summary).toEqual(r.summary);
      // replicates 1 on the same database reads replicate 0 only: the plan's records
      const one = await runTransferBenchmark({ ...opts, replicates: 1 });
      if (one.status !== 'complete') throw new Error('expected a result');
      expect(one.result.trainings.trained).toBe(0);
      expect(one.result).not.toHaveProperty('oneTrainingSearch');
      expect(transferMarkdown(one.result)).not.toContain('Random search that trains each random cell once');
      for (const t of one.result.tasks) {
        expect(t).not.toHaveProperty('oneTrainingSearch');
        const recs = d.records({ task: t.task, metric }).filter((x) => x.replicate === 0);
        for (const c of [...t.random.cells, ...t.seeds[0]!.top]) expect(c.accuracy).toBe(recs.find((x) => key(x.arch) === key(c.arch))!.accuracy);
      }
    } finally {
      d.close();
    }
  }, 300_000);
});

describe('runTransferBenchmark on an MBv3 plan (the embedded MBv3 model, issue #23)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transfer-mbv3-'));
  const db = path.join(dir, 'heldout.sqlite');
  const planOptions = tinyMbv3Plan();
  const plan = { name: 'tiny-mbv3', options: planOptions };
  let model: SearchModel;
  const common = () => ({ model, modelName: 'embedded mbv3', db, plan, seeds: [0], top: 1, candidates: 4, resamples: 2, minRandomCells: 3, bootstrap: { resamples: 50, seed: 0 } });
  beforeAll(async () => {
    model = await loadSearchModel(path.join(__dirname, '../../default-model/models/mbv3'));
    expect((await buildDatabase({ ...planOptions, db })).trained).toBe(3);
  });
  afterAll(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses the NB201-only proxies and another space's model before any work", async () => {
    await expect(runTransferBenchmark({ ...common(), proxies: ['naswot'] })).rejects.toThrow(
      "plan tiny-mbv3: proxies: expected none for a plan of space mbv3 (the zero-cost proxies score NB201's TinyNetwork), got naswot",
    );
    const nb201Model = buildSearchModel(manifestFromSpec('nb201-official', { predictorHs: 64 }), {
      generator: GoldenFixture.load('gen-nb201').params(),
      predictor: GoldenFixture.load('pred-nb201').params(),
    });
    try {
      await expect(runTransferBenchmark({ ...common(), model: nb201Model, proxies: [] })).rejects.toThrow(
        /space: expected an mbv3 model \(plan tiny-mbv3 trains mbv3 architectures\), got nb201/,
      );
    } finally {
      nb201Model.dispose();
    }
  });

  it("trains MetaD2A's pick and OFA's predictor's best as MBv3 records, and measures them among the random subnets", async () => {
    const run = await runTransferBenchmark({ ...common(), proxies: [] });
    if (run.status !== 'complete') throw new Error('expected a result');
    const r = run.result;
    expect(r.plan.space).toBe('mbv3');
    expect(r.methods).toEqual(['metad2a-top1', 'metad2a-best-of-top', 'ofa-oracle-best', 'best-known']);
    expect(r.wins.map((w) => w.against)).toEqual(['ofa-oracle-best']);
    expect(r.settings.proxies.network).toBeNull();
    const [t] = r.tasks;
    const best = goodMbv3Subnets(1)[0]!;
    expect(t!.references['ofa-oracle-best']!.arch).toBe(best);
    const d = MetaDatabase.open(db, { readonly: true });
    const records = d.records({ task: t!.task, space: 'mbv3', metric: recipeMetric(planOptions.recipe) });
    d.close();
    const active = (a: string) => mbv3ActiveKey((parseMbv3(a) as E.Right<Mbv3Config>).right);
    const accOf = (a: string) => records.find((x) => active(x.arch) === active(a))!.accuracy;
    expect(t!.references['ofa-oracle-best']!.accuracy).toBe(accOf(best));
    expect(t!.seeds[0]!.top[0]!.accuracy).toBe(accOf(t!.seeds[0]!.top[0]!.arch));
    // 3 random subnets, then every pick the database lacked: at most the top-1 and the reference
    expect(records.length).toBe(3 + r.trainings.trained);
    expect(r.trainings.trained).toBeGreaterThanOrEqual(1);
    expect(r.trainings.trained + r.trainings.reused).toBe(new Set([best, t!.seeds[0]!.top[0]!.arch].map(active)).size);
    expect(t!.methods['ofa-oracle-best']!.percentile).toBe(
      percentileAmong(
        accOf(best),
        t!.random.cells.map((c) => c.accuracy),
      ),
    );
    expect(transferMarkdown(r)).toContain("OFA predictor's best: the subnet OFA's ImageNet accuracy predictor rates best");
  });
});

const GOLDEN_CI = { lo: 64.33333333333333, hi: 88.66666666666667 };
const GOLDEN_SVG_SHA256 = 'a0901fb97075446506acff06bb94be6d15289f3293cf1e0acebb172e84c03998';
