import * as fs from 'node:fs';
import * as path from 'node:path';
import { calibratedAccuracy, initBackend, Rng, unwrap } from '@metad2a/core';
import { generateCandidates, loadSearchFeatures, loadSearchModel, runSearch, type SearchModel } from '@metad2a/search';
import { mbv3, mbv3AccuracyOracle, mbv3ActiveKey, mbv3Cost, type Mbv3Config } from '@metad2a/search-spaces';
import { defaultModelDir, defaultModelSpaces } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

interface HeldOutEvaluation {
  plan: { name: string };
  settings: { seeds: number[] };
  methods: string[];
  tasks: { source: string; random: { count: number }; seeds: unknown[]; methods: Record<string, { accuracy: number; percentile: number }>; bestKnown: { accuracy: number } }[];
  summary: {
    group: string;
    tasks: number;
    percentile: Record<string, { lo: number; mean: number; hi: number }>;
    predictionMae: { mean: number };
    predictionBias: { mean: number };
  }[];
  trainings: { trained: number; reused: number };
}

/** What every shipped held-out evaluation (`bench transfer`'s result, 3 seeds over 5 held-out sources) holds; returns its overall summary. */
function expectHeldOutEvaluation(ev: HeldOutEvaluation, want: { plan: string; tasks: number; randomCells: (n: number) => void }): HeldOutEvaluation['summary'][number] {
  expect(ev.plan.name).toBe(want.plan);
  expect(ev.settings.seeds).toEqual([0, 1, 2]);
  expect(ev.tasks).toHaveLength(want.tasks);
  expect(new Set(ev.tasks.map((t) => t.source)).size).toBe(5);
  for (const t of ev.tasks) {
    want.randomCells(t.random.count);
    expect(t.seeds).toHaveLength(3);
    for (const m of ev.methods) {
      expect(t.methods[m]!.accuracy).toBeLessThanOrEqual(t.bestKnown.accuracy);
      expect(t.methods[m]!.percentile).toBeGreaterThanOrEqual(0);
      expect(t.methods[m]!.percentile).toBeLessThanOrEqual(100);
    }
    expect(t.methods['metad2a-best-of-top']!.accuracy).toBeGreaterThanOrEqual(t.methods['metad2a-top1']!.accuracy);
  }
  const all = ev.summary.find((g) => g.group === 'all')!;
  expect(all.tasks).toBe(want.tasks);
  expect(all.percentile['metad2a-top1']!.lo).toBeLessThanOrEqual(all.percentile['metad2a-top1']!.mean);
  expect(all.percentile['metad2a-top1']!.hi).toBeGreaterThanOrEqual(all.percentile['metad2a-top1']!.mean);
  return all;
}

describe('the embedded default model', () => {
  it('ships for nb201 and mbv3, each a complete model directory within the size budget', () => {
    expect(defaultModelSpaces()).toEqual(['mbv3', 'nb201']);
    expect(defaultModelDir('darts')).toBeUndefined();
    for (const space of ['nb201', 'mbv3']) {
      const dir = defaultModelDir(space)!;
      const files = fs.readdirSync(dir).sort();
      expect(files).toEqual(expect.arrayContaining(['EVALUATION.md', 'evaluation.json', 'generator.safetensors', 'model.json', 'predictor.safetensors']));
      const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
      expect(bytes).toBeLessThan(space === 'mbv3' ? 4 * 1024 * 1024 : 25 * 1024 * 1024);
    }
  });

  it('loads and searches: N unique valid NB201 cells, deterministic for a seed', async () => {
    const model = await loadSearchModel(defaultModelDir('nb201')!);
    expect(model.manifest.space).toBe('nb201');
    expect([...model.generator.parameters().values()].reduce((n, v) => n + v.size, 0)).toBe(304200);
    const rng = new Rng(5);
    const data = { name: 'toy', dim: 512, classes: [0, 1, 2, 3].map((c) => ({ label: String(c), count: 25, data: rng.normalArray(25 * 512, c * 0.1) })) };
    const a = await runSearch(model, data, { candidates: 20, resamples: 2, seed: 3 });
    const b = await runSearch(model, data, { candidates: 20, resamples: 2, seed: 3 });
    expect(a.ranking).toHaveLength(20);
    expect(new Set(a.ranking.map((c) => c.arch)).size).toBe(20);
    expect(b.ranking.map((c) => c.arch)).toEqual(a.ranking.map((c) => c.arch));
    model.dispose();
  });

  it('records its held-out transfer evaluation (metad2a bench transfer on plan nb201-heldout-v1) and its extractor', () => {
    const dir = defaultModelDir('nb201')!;
    const ev = JSON.parse(fs.readFileSync(path.join(dir, 'evaluation.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(manifest.extractor.name).toBe('random-conv');
    expect(manifest.provenance.builtBy).toBe('tools/default-model/build.ts');
    // 20 tasks over the 5 held-out sources, none of them a meta-training source
    const all = expectHeldOutEvaluation(ev, { plan: 'nb201-heldout-v1', tasks: 20, randomCells: (n) => expect(n).toBeGreaterThanOrEqual(30) });
    // the printed accuracy's error on the held-out random cells is measured (issue #18 item 6)
    expect(all.predictionMae.mean).toBeGreaterThanOrEqual(Math.abs(all.predictionBias.mean));
    // the official top-k (no search default): the spread top-5 chosen on plan nb201-heldout-dev-v1
    // (--top-distance 3) measured no better here (packages/default-model/README.md), so it did not ship
    expect(manifest.search).toBeUndefined();
    expect(ev.settings.topDistance ?? 0).toBe(0);
    // each cell's accuracy is the mean of 3 trainings (session 17), and the README reports these numbers
    expect(ev.settings.replicates).toBe(3);
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const ci = (x: { mean: number; lo: number; hi: number }) => `${x.mean.toFixed(1)}** [${x.lo.toFixed(1)}, ${x.hi.toFixed(1)}]`;
    expect(readme).toContain(`| **mean of 3 trainings per cell** | **${ci(all.percentile['metad2a-top1']!)} | **${ci(all.percentile['metad2a-best-of-top']!)} |`);
    // the yardstick of the wins (random search that trains each random cell once), as the README reports it
    const yard = (ref: string) => ev.oneTrainingSearch.find((o: { against: string }) => o.against === ref);
    expect([yard('nb201-cifar10').comparisons, yard('nb201-imagenet16-120').comparisons]).toEqual([60, 60]);
    expect(readme).toContain(`more accurate than the CIFAR-10 winner in **${yard('nb201-cifar10').above} of 60** comparisons`);
    expect(readme).toContain(`than the ImageNet16-120 winner in **${yard('nb201-imagenet16-120').above} of 60**`);
  });
});

describe("the NB201 default model's printed accuracies", () => {
  it('are calibrated on its validation tasks: within (0, 100) % on the main job, in score order, with no warning', async () => {
    const model = await loadSearchModel(defaultModelDir('nb201')!);
    const c = model.manifest.predictor.calibration!;
    expect(c.kind).toBe('logistic');
    expect(c.slope).toBeGreaterThan(0);
    expect(c.fittedOn).toBe('537 validation records (96 tasks) of split default-model');
    expect(model.predictor.calibration).toEqual(c);
    const r = await runSearch(model, await loadSearchFeatures(model, 'builtin:digits'), { candidates: 100, top: 5, resamples: 3, seed: 0 });
    expect(r.warnings).toEqual([]);
    expect(r.predicts).toContain('calibrated on 537 validation records (96 tasks) of split default-model');
    for (const x of r.ranking) {
      expect(x.predictedAccuracy).toBeCloseTo(calibratedAccuracy(c, x.score), 9);
      expect(x.outOfRange).toBe(false);
    }
    const accs = r.ranking.map((x) => x.predictedAccuracy);
    expect([...accs].sort((a, b) => b - a)).toEqual(accs);
    model.dispose();
  });
});

describe('the embedded MBv3 (OFA) default model', () => {
  let model: SearchModel;
  let fashion: Awaited<ReturnType<typeof loadSearchFeatures>>;
  beforeAll(async () => {
    model = await loadSearchModel(defaultModelDir('mbv3')!);
    fashion = await loadSearchFeatures(model, 'builtin:fashion-mnist');
  });
  afterAll(() => model.dispose());

  it('says what it is: meta-trained on builtin:mbv3 from an OFA-oracle prior, its generator from a grammar prior, calibrated', () => {
    const m = model.manifest;
    expect(m.space).toBe('mbv3');
    expect(m.extractor?.name).toBe('random-conv');
    expect(m.provenance.builtBy).toBe('tools/default-model/build.ts');
    expect(m.predictor.predicts).toMatch(/^top1-test@mbv3-db \(%\) after training with \{"name":"mbv3-db"/);
    expect(m.predictor.predicts).toContain('the 755 training records of split default-model');
    const p = m.provenance as unknown as {
      db: { from: string; counts: { records: number } };
      metaTrained: { prior: string | null; generatorInit: string; generatorLr: number };
      generatorPrior: unknown;
      generatorValidity: { valid: number; decodes: number }[];
    };
    expect(p.db.from).toBe('packages/meta-trainer/data/mbv3-measured');
    expect(p.db.counts.records).toBe(880);
    expect(p.metaTrained.prior).not.toBeNull(); // the OFA-oracle architecture prior
    expect(p.metaTrained.generatorInit).toMatch(/generator-prior/);
    expect(p.metaTrained.generatorLr).toBe(1e-5);
    expect(p.generatorPrior).toMatchObject({ poolDepth: 'any', good: 1000, epochs: 80 });
    // the predictor reads in the measured accuracy's percent (the database's mean, not the oracle's ~81)
    expect(m.predictor.normalisation.mean).toBeGreaterThan(30);
    expect(m.predictor.normalisation.mean).toBeLessThan(45);
    expect(m.predictor.calibration).toMatchObject({ kind: 'logistic', fittedOn: '125 validation records (32 tasks) of split default-model' });
    for (const v of p.generatorValidity) expect(v.valid / v.decodes).toBeGreaterThanOrEqual(0.9);
  });

  it('decodes ≥ 90 % valid 22-vertex subnets (200 distinct subnets from seeded decodes of fashion-mnist)', async () => {
    const r = await generateCandidates(model.generator, fashion, 200, { space: model.space, seed: 11 });
    expect(r.unique).toBe(200);
    expect(r.valid / r.attempts).toBeGreaterThanOrEqual(0.9);
    for (const g of r.graphs) expect(g.types).toHaveLength(22);
    // distinct networks, not only distinct encodings (inactive slots do not count)
    expect(new Set((r.architectures as Mbv3Config[]).map(mbv3ActiveKey)).size).toBeGreaterThanOrEqual(190);
  });

  it('searches: 5 distinct valid subnets whose cost and oracle accuracy are mbv3Cost and the OFA oracle', async () => {
    const r = await runSearch(model, fashion, { candidates: 100, top: 5, resamples: 3, seed: 0 });
    expect(r.top).toHaveLength(5);
    expect(new Set(r.top.map((c) => mbv3ActiveKey(unwrap(mbv3.parse(c.arch))))).size).toBe(5);
    for (const c of r.top) {
      const config = unwrap(mbv3.parse(c.arch));
      expect(mbv3.isValid(mbv3.encode(config))).toBe(true);
      const cost = mbv3Cost(config);
      expect(c.cost!.mflops).toBeCloseTo(cost.mflops, 6);
      expect(c.cost!.mparams).toBeCloseTo(cost.params / 1e6, 9);
      expect(c.facts).toEqual({ kind: 'mbv3', oracleTop1: 100 * mbv3AccuracyOracle().predict(config) });
      expect(c.outOfRange).toBe(false);
    }
    const again = await runSearch(model, fashion, { candidates: 100, top: 5, resamples: 3, seed: 0 });
    expect(again.top.map((c) => c.arch)).toEqual(r.top.map((c) => c.arch));
  });

  it('records its held-out transfer evaluation (plan mbv3-heldout-v1: 10 tasks, 24 random subnets each, 3 seeds)', () => {
    const ev = JSON.parse(fs.readFileSync(path.join(defaultModelDir('mbv3')!, 'evaluation.json'), 'utf8'));
    expect(ev.methods).toEqual(['metad2a-top1', 'metad2a-best-of-top', 'ofa-oracle-best', 'best-known']);
    expectHeldOutEvaluation(ev, { plan: 'mbv3-heldout-v1', tasks: 10, randomCells: (n) => expect(n).toBe(24) });
    expect(ev.trainings.trained + ev.trainings.reused).toBe(160);
  });
});
