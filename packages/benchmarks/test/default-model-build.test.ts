/**
 * The default model's recipe (tools/default-model/build.ts) end to end on a tiny setting: every
 * phase runs the library functions of the `metad2a` commands; here with a synthetic training
 * database, a one-task held-out plan and one epoch of everything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, initBackend } from '@metad2a/core';
import { buildDatabase, buildPlanOptions, getRecipe } from '@metad2a/arch-trainer';
import { SHAPE_CLASSES } from '@metad2a/datasets';
import { MetaDatabase, builtinDatabaseDir } from '@metad2a/meta-trainer';
import { SEARCH_IMAGES_PER_CLASS, loadSearchFeatures, loadSearchModel } from '@metad2a/search';
import { mbv3, mbv3AccuracyOracle, nb201, nb201Table } from '@metad2a/search-spaces';
import { buildDefaultModel, defaultSettings, parseBuildArgs, type BuildSettings } from '../../../tools/default-model/build';
import { decodeStats } from '../../../tools/default-model/build-mbv3';
import type { TransferPlanOptions } from '../src';
import { tinyMbv3Plan } from './tiny-models';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

const RANDOM_CONV = 'random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32';

/** The tiny recipe of both spaces' runs: one epoch of everything, one search seed, 4 candidates, no proxies. */
const TINY = {
  metric: 'top1-test@synthetic',
  validShare: 0.34,
  priorEpochs: 1,
  predictorHs: 8,
  predictorEpochs: 1,
  generatorEpochs: 1,
  batchSize: 8,
  eval: { seeds: [0], top: 1, candidates: 4, resamples: 2, proxies: [], minRandomCells: 3, topDistance: 2 },
} as const;

/** A training database in `file`: 6 tasks of 3 shapes classes × 4 architectures of `space` drawn by `draw` (metric top1-test@synthetic). */
function syntheticTrainingDb(file: string, seed: number, space: string, draw: (rng: Rng) => { arch: string; accuracy: number }): void {
  const rng = new Rng(seed);
  const db = MetaDatabase.open(file);
  db.addDataset({ name: 'source:shapes', source: 'test', numClasses: SHAPE_CLASSES.length });
  for (let t = 0; t < 6; t++) {
    db.addTask({ name: `shapes/${t}`, dataset: 'source:shapes', classIds: rng.permutation(10).slice(0, 3) });
    for (let i = 0; i < 4; i++) db.addRecord({ task: `shapes/${t}`, space, ...draw(rng), metric: 'top1-test@synthetic', how: 'test' });
  }
  db.close();
}

describe('tools/default-model/build.ts', () => {
  it('parses the recipe: the defaults of the default model, flags override, unknown ones refused', () => {
    const d = parseBuildArgs([]);
    expect(d.phases).toEqual([]);
    expect(d.settings).toMatchObject({
      extractor: 'random-conv',
      perClass: 20,
      metric: 'top1-test@nb201-db',
      validShare: 0.15,
      seed: 2026,
      priorEpochs: 20,
      predictorHs: 128,
      predictorEpochs: 120,
      generatorEpochs: 400,
      generatorPairs: { kind: 'top-fraction-per-task', fraction: 0.2 },
      selectBy: 'pearson',
      plan: 'nb201-heldout-v1',
      eval: { seeds: [0, 1, 2] },
    });
    expect(d.settings.priorSources).toHaveLength(4);
    // no key of the MBv3 recipe: an NB201 work folder's build.json from before `--space` still matches
    expect(Object.keys(d.settings).filter((k) => ['space', 'priorTraining', 'validity'].includes(k))).toEqual([]);
    expect(parseBuildArgs(['--space', 'nb201']).settings).toEqual(d.settings);
    expect(d.settings.shipTo.endsWith(path.join('packages', 'default-model', 'models', 'nb201'))).toBe(true);
    const o = parseBuildArgs(['--work', '/tmp/w', '--extractor', 'mobilenetv2', '--generator-pairs', 'best:2', '--eval-seeds', '0,5', 'train', 'eval']);
    expect(o.phases).toEqual(['train', 'eval']);
    expect(o.settings).toMatchObject({ work: '/tmp/w', extractor: 'mobilenetv2', generatorPairs: { kind: 'best-per-task', count: 2 }, eval: { seeds: [0, 5] } });
    expect(parseBuildArgs(['--top-distance', '3']).settings.eval).toEqual({ seeds: [0, 1, 2], topDistance: 3 });
    expect(() => parseBuildArgs(['--top-distance', '-1'])).toThrow('build.ts: --top-distance: expected an integer ≥ 0, got "-1"');
    expect(parseBuildArgs(['--eval-replicates', '3']).settings.eval).toEqual({ seeds: [0, 1, 2], replicates: 3 });
    expect(() => parseBuildArgs(['--eval-replicates', '0'])).toThrow('build.ts: --eval-replicates: expected an integer ≥ 1, got "0"');
    expect(parseBuildArgs(['--replicates', 'mean']).settings.replicates).toBe('mean');
    expect(d.settings).not.toHaveProperty('replicates');
    expect(() => parseBuildArgs(['--replicates', 'median'])).toThrow('build.ts: --replicates: expected each or mean, got "median"');
    expect(parseBuildArgs(['--prior', 'none']).settings.prior).toBeNull();
    expect(parseBuildArgs(['--anchor', 'on']).settings.anchor).toBe(true);
    expect(parseBuildArgs(['--anchor', 'prior+choices']).settings.anchor).toBe('prior+choices');
    expect(() => parseBuildArgs(['--anchor', 'choices'])).toThrow('build.ts: --anchor: expected on, off or prior+choices, got "choices"');
    // --generator-from keeps a generator (the predictor alone is retrained): 0 generator epochs
    const shippedGenerator = path.resolve(__dirname, '../../default-model/models/nb201/generator.safetensors');
    expect(parseBuildArgs(['--generator-from', shippedGenerator]).settings).toMatchObject({ generatorFrom: shippedGenerator, generatorEpochs: 0 });
    expect(parseBuildArgs(['--generator-epochs', '7']).settings.generatorEpochs).toBe(7);
    expect(() => parseBuildArgs(['--generator-epochs', '0'])).toThrow('build.ts: --generator-epochs: expected an integer ≥ 1, got "0"');
    expect(() => parseBuildArgs(['--generator-from', shippedGenerator, '--generator-epochs', '5'])).toThrow(
      'build.ts: --generator-from: expected no --generator-epochs (the generator it names is kept, not trained), got "5"',
    );
    expect(() => parseBuildArgs(['--generator-from', '/nope.safetensors'])).toThrow('build.ts: --generator-from: expected a generator checkpoint');
    expect(() => parseBuildArgs(['--space', 'mbv3', '--generator-from', shippedGenerator])).toThrow('build.ts: --generator-from: expected only with --space nb201');
    expect(parseBuildArgs(['--prior', 'p.ckpt']).settings.prior).toBe(path.resolve('p.ckpt'));
    expect(() => parseBuildArgs(['--epochs', '3'])).toThrow('build.ts: --epochs: expected a known flag (see the header of build.ts), got unknown');
    expect(() => parseBuildArgs(['trian'])).toThrow('build.ts: phase: expected one of db, heldout, features, split, prior, train, eval, ship, got "trian"');
    expect(() => parseBuildArgs(['--generator-pairs', 'top:2'])).toThrow(
      '--generator-pairs: expected best:<k ≥ 1>, top:<fraction in (0, 1]>, min:<accuracy %> or all, got "top:2"',
    );
  });

  it('runs every phase on a tiny setting, resumes, refuses other settings in the same work folder, and ships a model that names its extractor', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-default-build-'));
    // training database: 6 tasks of 3 shapes classes × 4 NB201 cells (accuracy: the cell's CIFAR-10 accuracy)
    const trainDb = path.join(dir, 'train.sqlite');
    syntheticTrainingDb(trainDb, 3, 'nb201', (rng) => {
      const cell = nb201.sample(rng);
      return { arch: nb201.format(cell), accuracy: nb201Table().record(cell).datasets.cifar10.testAccuracy };
    });
    // held-out database: one digits task of 3 classes, 3 random cells trained with the tiny recipe
    const heldoutDb = path.join(dir, 'heldout.sqlite');
    const plan: TransferPlanOptions = {
      datasets: ['builtin:digits'],
      numTasks: 1,
      classesPerTask: 3,
      cellsPerTask: 3,
      goodCellShare: 0,
      recipe: getRecipe('tiny', { epochs: 2 }),
      trainPerClass: 12,
      testPerClass: 6,
      seed: 7,
    };
    expect((await buildDatabase({ ...plan, db: heldoutDb })).trained).toBe(3);

    const settings: BuildSettings = {
      ...defaultSettings(path.join(dir, 'work')),
      ...TINY,
      db: trainDb,
      heldoutDb,
      priorSources: ['nb201:cifar10'],
      plan: { name: 'tiny-heldout', options: plan },
      shipTo: path.join(dir, 'shipped'),
    };
    const lines: string[] = [];
    await buildDefaultModel(settings, [], { log: (l) => lines.push(l) });
    expect(lines).toContainEqual(expect.stringMatching(/^features db 1\/1 source:shapes: 10 classes × 512 in /));
    expect(lines).toContainEqual(expect.stringMatching(/^features heldout 1\/1 builtin:digits: 10 classes × 512 in /));
    expect(lines).toContain('split: {"name":"default-model","records":{"train":16,"valid":8,"test":0},"tasks":{"train":4,"valid":2,"test":0}}');

    const shipped = settings.shipTo;
    expect(fs.readdirSync(shipped).sort()).toEqual(['EVALUATION.md', 'evaluation.json', 'generator.safetensors', 'model.json', 'predictor.safetensors']);
    const manifest = JSON.parse(fs.readFileSync(path.join(shipped, 'model.json'), 'utf8'));
    const evaluation = JSON.parse(fs.readFileSync(path.join(shipped, 'evaluation.json'), 'utf8'));
    expect(manifest.extractor).toEqual({ name: 'random-conv', id: RANDOM_CONV, perClass: 20 });
    expect(manifest.predictor.config.hs).toBe(8);
    expect(manifest.provenance).toMatchObject({
      builtBy: 'tools/default-model/build.ts',
      db: { from: trainDb, counts: { datasets: 1, tasks: 6, records: 24, classFeatures: 10 } },
      heldout: { from: heldoutDb, counts: { tasks: 1, records: 3 + evaluation.trainings.trained, classFeatures: 10 }, plan: 'tiny-heldout' },
      featuresFrom: `${RANDOM_CONV}, first 20 images per class`,
      split: { name: 'default-model', records: { train: 16, valid: 8, test: 0 } },
      prior: { file: 'prior.ckpt', trainedHere: true },
      settings: { predictorHs: 8, predictorEpochs: 1, generatorEpochs: 1, seed: 2026, generatorPairs: { kind: 'top-fraction-per-task', fraction: 0.2 } },
      metaTrained: { split: 'default-model', prior: path.join(dir, 'work', 'prior.ckpt'), featuresFrom: `${RANDOM_CONV}, first 20 images per class` },
    });
    expect(evaluation.plan.name).toBe('tiny-heldout');
    expect(evaluation.tasks).toHaveLength(1);
    expect(evaluation.tasks[0].features).toBe(`database (${RANDOM_CONV}, first 20 images per class)`);
    expect(fs.readFileSync(path.join(shipped, 'EVALUATION.md'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'work', 'transfer-tiny-heldout.md'), 'utf8'));
    // the evaluated top-k rule ships as the model's search default
    expect(evaluation.settings.topDistance).toBe(2);
    expect(manifest.search).toEqual({ topDistance: 2 });
    const model = await loadSearchModel(shipped);
    expect(model.manifest.extractor?.id).toBe(RANDOM_CONV);
    expect(model.manifest.search).toEqual({ topDistance: 2 });
    model.dispose();

    // a rerun resumes: meta-training is complete, every pick has its record
    const again: string[] = [];
    await buildDefaultModel(settings, ['train', 'eval'], { log: (l) => again.push(l) });
    expect(again).toContain('train predictor: complete');
    expect(again).toContain('train generator: complete');
    expect(again.some((l) => l.startsWith('eval trained pick'))).toBe(false);

    // --prior none: no prior is trained or loaded, the predictor meta-trains from its seeded initialisation
    const none: string[] = [];
    const noPrior: BuildSettings = { ...settings, work: path.join(dir, 'work-none'), prior: null, shipTo: path.join(dir, 'shipped-none') };
    await buildDefaultModel(noPrior, ['db', 'heldout', 'features', 'split', 'prior', 'train'], { log: (l) => none.push(l) });
    expect(lines.some((l) => l.startsWith('prior'))).toBe(true);
    expect(none.some((l) => l.startsWith('prior'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'work-none', 'prior.ckpt'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'work-none', 'build.json'), 'utf8')).prior).toEqual({ file: null, trained: false });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'work-none', 'model', 'model.json'), 'utf8')).provenance.metaTrained.prior).toBeNull();

    // one work folder, one recipe
    await expect(buildDefaultModel({ ...settings, seed: 1 }, ['split'])).rejects.toThrow(
      `${path.join(dir, 'work', 'build.json')}: settings: expected the settings of this work folder's first run (seed 2026); pass them again, or use another --work, got seed 1`,
    );
  }, 300_000);
});

describe('tools/default-model/build.ts --space mbv3 (issue #23)', () => {
  it("parses MBv3's recipe (plans mbv3-v1 / mbv3-heldout-v1, build-mbv3.ts's OFA-oracle prior) and refuses what only NB201 has", async () => {
    const d = parseBuildArgs(['--space', 'mbv3']).settings;
    expect(d).toMatchObject({
      space: 'mbv3',
      metric: 'top1-test@mbv3-db',
      plan: 'mbv3-heldout-v1',
      priorSources: ['ofa:imagenet-oracle'],
      priorEpochs: 8,
      priorTraining: { batchSize: 64, lr: 0.002, heldOutFraction: 0.1, oracleSamples: 20000 },
      predictorHs: 128,
      anchor: false,
      eval: { seeds: [0, 1, 2], proxies: [], minRandomCells: 24 },
      validity: { datasets: ['builtin:fashion-mnist', 'builtin:digits'], decodes: 1000 },
      generatorPrior: { poolDepth: 'any', good: 1000, epochs: 80, lr: 1e-3 },
      generatorLr: 1e-5,
    });
    // the generator prior: epochs, none, and refusals that name the flag
    expect(parseBuildArgs(['--space', 'mbv3', '--generator-prior-epochs', '120', '--generator-lr', '3e-4']).settings).toMatchObject({
      generatorPrior: { poolDepth: 'any', good: 1000, epochs: 120, lr: 1e-3 },
      generatorLr: 3e-4,
    });
    expect(parseBuildArgs(['--space', 'mbv3', '--generator-prior', 'none']).settings.generatorPrior).toBeNull();
    expect(() => parseBuildArgs(['--space', 'mbv3', '--generator-prior', 'big'])).toThrow(
      `build.ts: --generator-prior: expected 'none' (no generator prior) or the flag left out, got "big"`,
    );
    expect(() => parseBuildArgs(['--space', 'mbv3', '--generator-prior', 'none', '--generator-prior-epochs', '3'])).toThrow(
      'build.ts: --generator-prior-epochs: expected no --generator-prior none, got "3"',
    );
    expect(() => parseBuildArgs(['--space', 'mbv3', '--generator-lr', '0'])).toThrow('build.ts: --generator-lr: expected a learning rate > 0, got "0"');
    expect(() => parseBuildArgs(['--generator-prior-epochs', '3'])).toThrow(
      'build.ts: --generator-prior: expected only with --space mbv3 (NB201 generators need no grammar prior), got "3"',
    );
    // NB201's recipe has neither (so a work folder from before them still matches its build.json)
    expect(parseBuildArgs([]).settings).not.toHaveProperty('generatorPrior');
    expect(parseBuildArgs([]).settings).not.toHaveProperty('generatorLr');
    expect(d.work.endsWith(path.join('.tmp', 'default-model-mbv3-meta'))).toBe(true);
    expect(d.shipTo.endsWith(path.join('packages', 'default-model', 'models', 'mbv3'))).toBe(true);
    // the evaluation asks for every uniform subnet the held-out plan measures per task, no more
    expect(buildPlanOptions('mbv3-heldout-v1').cellsPerTask).toBe(24);
    expect(parseBuildArgs(['--space', 'mbv3', '--eval-seeds', '4']).settings.eval).toEqual({ seeds: [4], proxies: [], minRandomCells: 24 });
    expect(() => parseBuildArgs(['--space', 'darts'])).toThrow('build.ts: --space: expected nb201 or mbv3, got "darts"');
    expect(() => parseBuildArgs(['--space', 'mbv3', '--anchor', 'on'])).toThrow(
      "default-model build: --anchor: expected off for --space mbv3 (the anchor is NB201's table score; mbv3 has no table), got on",
    );
    expect(() => parseBuildArgs(['--space', 'mbv3', '--anchor', 'prior+choices'])).toThrow(
      "default-model build: --anchor: expected off for --space mbv3 (the anchor is NB201's table score; mbv3 has no table), got prior+choices",
    );
    expect(() => parseBuildArgs(['--space', 'mbv3', '--proxy-batch', '32'])).toThrow(
      "default-model build: proxies: expected none for --space mbv3 (the zero-cost proxies score NB201's TinyNetwork; the mbv3 evaluation compares with OFA's predictor's best instead), got --proxy-batch",
    );
    expect(() => parseBuildArgs(['--space', 'mbv3', '--prior-sources', 'nb201:cifar10'])).toThrow(
      'build.ts: --prior-sources: expected some of ofa:imagenet-oracle (space mbv3), got "nb201:cifar10"',
    );
    // settings made in code are checked too, before the work folder is made
    await expect(buildDefaultModel({ ...d, work: path.join(os.tmpdir(), 'md2a-never-made'), eval: { seeds: [0] } }, ['db'])).rejects.toThrow(/, got naswot, synflow$/);
    expect(fs.existsSync(path.join(os.tmpdir(), 'md2a-never-made'))).toBe(false);
  });

  it('imports the committed mbv3-v1 export, and names the folder and the commands of a held-out export not built yet', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-mbv3-build-db-'));
    const lines: string[] = [];
    await buildDefaultModel(defaultSettings(work, 'mbv3'), ['db'], { log: (l) => lines.push(l) });
    const state = JSON.parse(fs.readFileSync(path.join(work, 'build.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(builtinDatabaseDir('mbv3'), 'manifest.json'), 'utf8'));
    expect(state.db.from).toBe(path.join('packages', 'meta-trainer', 'data', 'mbv3-measured'));
    expect(state.db.counts).toMatchObject({ datasets: 16, tasks: 220, records: manifest.counts.records });
    const db = MetaDatabase.open(path.join(work, 'db.sqlite'), { readonly: true });
    expect(new Set(db.records().map((r) => `${r.space} ${r.metric}`))).toEqual(new Set(['mbv3 top1-test@mbv3-db']));
    db.close();
    const heldoutExport = path.join(__dirname, '../../meta-trainer/data/mbv3-heldout-measured/manifest.json');
    if (!fs.existsSync(heldoutExport))
      // not built yet (2026-12-06): the error says how to build it
      await expect(buildDefaultModel(defaultSettings(work, 'mbv3'), ['heldout'])).rejects.toThrow(
        'default-model build: --heldout-db: expected the committed export of plan mbv3-heldout-v1, packages/meta-trainer/data/mbv3-heldout-measured (builtin:mbv3-heldout: build it with `tools/meta-database/build.sh mbv3-heldout-v1`, then export it with `tools/meta-database/export.sh mbv3-heldout-v1`), or --heldout-db <file>, a meta-database, got no packages/meta-trainer/data/mbv3-heldout-measured/manifest.json',
      );
    else {
      await buildDefaultModel(defaultSettings(work, 'mbv3'), ['heldout'], { log: () => undefined });
      expect(JSON.parse(fs.readFileSync(path.join(work, 'build.json'), 'utf8')).heldout.from).toBe(path.join('packages', 'meta-trainer', 'data', 'mbv3-heldout-measured'));
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs every phase on a tiny MBv3 setting: OFA-oracle prior, meta-training in MBv3, the transfer evaluation against OFA, the validity of the decodes, ship', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-mbv3-build-'));
    // training database: 6 tasks of 3 shapes classes × 4 uniform subnets (accuracy: OFA's ImageNet estimate)
    const trainDb = path.join(dir, 'train.sqlite');
    const oracle = mbv3AccuracyOracle();
    syntheticTrainingDb(trainDb, 5, 'mbv3', (rng) => {
      const subnet = mbv3.sample(rng);
      return { arch: mbv3.format(subnet), accuracy: 100 * oracle.predict(subnet) };
    });
    // held-out database: one digits task of 3 classes, 3 random subnets trained with a one-epoch reduced recipe
    const heldoutDb = path.join(dir, 'heldout.sqlite');
    const plan = tinyMbv3Plan();
    expect((await buildDatabase({ ...plan, db: heldoutDb })).trained).toBe(3);

    const settings: BuildSettings = {
      ...defaultSettings(path.join(dir, 'work'), 'mbv3'),
      ...TINY,
      db: trainDb,
      heldoutDb,
      priorTraining: { batchSize: 64, lr: 2e-3, heldOutFraction: 0.1, oracleSamples: 200 },
      plan: { name: 'tiny-mbv3-heldout', options: plan },
      validity: { datasets: ['builtin:digits'], decodes: 20 },
      // the generator prior (the oracle's best of 20,000 subnets, 80 epochs) costs minutes: the real build runs it
      generatorPrior: null,
      shipTo: path.join(dir, 'shipped'),
    };
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    await buildDefaultModel(settings, ['db', 'heldout', 'features', 'split', 'prior', 'train'], { log });
    expect(lines).toContain('split: {"name":"default-model","records":{"train":16,"valid":8,"test":0},"tasks":{"train":4,"valid":2,"test":0}}');
    // the OFA-oracle prior: 180 subnets trained on, 20 held out and measured
    expect(lines).toContainEqual(expect.stringMatching(/^prior epoch 1\/1 loss \S+ held-out Spearman ofa:imagenet-oracle -?\d\.\d{3} /));
    expect(lines).toContainEqual(expect.stringMatching(/^prior: 180 samples of 180 cells in /));
    const trained = JSON.parse(fs.readFileSync(path.join(dir, 'work', 'model', 'model.json'), 'utf8'));
    expect(trained).toMatchObject({ space: 'mbv3', predictor: { config: { hs: 8 } }, provenance: { metaTrained: { split: 'default-model', anchor: null } } });
    // one generator epoch on 6 subnets decodes no valid 22-vertex subnet, so the evaluation searches with
    // the shipped MBv3 generator (same official sizes) in its place: eval and ship, not generator quality, are tested here
    fs.copyFileSync(path.join(__dirname, '../../default-model/models/mbv3/generator.safetensors'), path.join(dir, 'work', 'model', 'generator.safetensors'));
    await buildDefaultModel(settings, ['eval', 'ship'], { log });

    const shipped = settings.shipTo;
    expect(fs.readdirSync(shipped).sort()).toEqual(['EVALUATION.md', 'evaluation.json', 'generator.safetensors', 'model.json', 'predictor.safetensors']);
    const manifest = JSON.parse(fs.readFileSync(path.join(shipped, 'model.json'), 'utf8'));
    const evaluation = JSON.parse(fs.readFileSync(path.join(shipped, 'evaluation.json'), 'utf8'));
    expect(evaluation.plan).toMatchObject({ name: 'tiny-mbv3-heldout', space: 'mbv3' });
    expect(evaluation.methods).toEqual(['metad2a-top1', 'metad2a-best-of-top', 'ofa-oracle-best', 'best-known']);
    // the validity, recomputed here through the same stage with the shipped model
    const model = await loadSearchModel(shipped);
    const expected = await decodeStats(model, await loadSearchFeatures(model, 'builtin:digits', { maxPerClass: SEARCH_IMAGES_PER_CLASS }), 20, 2026);
    model.dispose();
    expect(expected.valid).toBeGreaterThanOrEqual(18);
    const validity = [{ dataset: 'builtin:digits', decodes: 20, valid: expected.valid, validShare: expected.valid / 20, distinctSubnets: expected.distinctSubnets }];
    expect(manifest.space).toBe('mbv3');
    expect(manifest.provenance).toMatchObject({
      builtBy: 'tools/default-model/build.ts',
      db: { from: trainDb, counts: { datasets: 1, tasks: 6, records: 24, classFeatures: 10 } },
      heldout: { from: heldoutDb, counts: { tasks: 1, records: 3 + evaluation.trainings.trained }, plan: 'tiny-mbv3-heldout' },
      split: { name: 'default-model', records: { train: 16, valid: 8, test: 0 } },
      prior: { file: 'prior.ckpt', trainedHere: true },
      generatorValidity: validity,
      settings: { space: 'mbv3', priorSources: ['ofa:imagenet-oracle'], predictorHs: 8 },
    });
    expect(lines).toContain(
      `eval generator validity builtin:digits: ${expected.valid}/20 valid (${((100 * expected.valid) / 20).toFixed(1)} %, goal ≥ 90 %), ${expected.distinctSubnets} distinct subnets`,
    );
    const md = fs.readFileSync(path.join(shipped, 'EVALUATION.md'), 'utf8');
    expect(md.startsWith(fs.readFileSync(path.join(dir, 'work', 'transfer-tiny-mbv3-heldout.md'), 'utf8'))).toBe(true);
    expect(md).toContain(`| builtin:digits | ${expected.valid} / 20 | ${((100 * expected.valid) / 20).toFixed(1)} % | ${expected.distinctSubnets} |`);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
