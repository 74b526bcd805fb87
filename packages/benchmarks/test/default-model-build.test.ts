/**
 * The default model's recipe (tools/default-model/build.ts) end to end on a tiny setting: every
 * phase runs the library functions of the `metad2a` commands; here with a synthetic training
 * database, a one-task held-out plan and one epoch of everything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, initBackend } from '@metad2a/core';
import { buildDatabase, getRecipe } from '@metad2a/arch-trainer';
import { SHAPE_CLASSES } from '@metad2a/datasets';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { loadSearchModel } from '@metad2a/search';
import { nb201, nb201Table } from '@metad2a/search-spaces';
import { buildDefaultModel, defaultSettings, parseBuildArgs, type BuildSettings } from '../../../tools/default-model/build';
import type { TransferPlanOptions } from '../src';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

const RANDOM_CONV = 'random-conv:v1:seed=0:f=16:k=5:g=4:t=0.5:in=32';

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
    expect(d.settings.shipTo.endsWith(path.join('packages', 'default-model', 'models', 'nb201'))).toBe(true);
    const o = parseBuildArgs(['--work', '/tmp/w', '--extractor', 'mobilenetv2', '--generator-pairs', 'best:2', '--eval-seeds', '0,5', 'train', 'eval']);
    expect(o.phases).toEqual(['train', 'eval']);
    expect(o.settings).toMatchObject({ work: '/tmp/w', extractor: 'mobilenetv2', generatorPairs: { kind: 'best-per-task', count: 2 }, eval: { seeds: [0, 5] } });
    expect(parseBuildArgs(['--prior', 'none']).settings.prior).toBeNull();
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
    const rng = new Rng(3);
    const db = MetaDatabase.open(trainDb);
    db.addDataset({ name: 'source:shapes', source: 'test', numClasses: SHAPE_CLASSES.length });
    for (let t = 0; t < 6; t++) {
      db.addTask({ name: `shapes/${t}`, dataset: 'source:shapes', classIds: rng.permutation(10).slice(0, 3) });
      for (let i = 0; i < 4; i++) {
        const cell = nb201.sample(rng);
        db.addRecord({
          task: `shapes/${t}`,
          space: 'nb201',
          arch: nb201.format(cell),
          accuracy: nb201Table().record(cell).datasets.cifar10.testAccuracy,
          metric: 'top1-test@synthetic',
          how: 'test',
        });
      }
    }
    db.close();
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
      db: trainDb,
      heldoutDb,
      metric: 'top1-test@synthetic',
      validShare: 0.34,
      priorEpochs: 1,
      priorSources: ['nb201:cifar10'],
      predictorHs: 8,
      predictorEpochs: 1,
      generatorEpochs: 1,
      batchSize: 8,
      plan: { name: 'tiny-heldout', options: plan },
      eval: { seeds: [0], top: 1, candidates: 4, resamples: 2, proxies: [], minRandomCells: 3 },
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
    const model = await loadSearchModel(shipped);
    expect(model.manifest.extractor?.id).toBe(RANDOM_CONV);
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
