/**
 * `meta-train --resume` per phase (issue #19): a run killed in the predictor phase resumes the
 * predictor, then starts the generator (which had no checkpoint yet); a finished phase is skipped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, initBackend } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { NB201_GRAPH_CONFIG } from '@metad2a/search-spaces';
import { RUN_FILES, metaTrainModels, metaTrainPredictor, splitNormalisation, type MetaDatabase } from '../src';
import { TOY, buildToyDb } from './helpers/toy-db';

const small = { perClass: 5, batchSize: 16, progress: 'never' as const, split: TOY.split };
const weights = (m: { store: { toNamedArrays(): Record<string, { data: Float32Array }> } }): Record<string, number[]> =>
  Object.fromEntries(Object.entries(m.store.toNamedArrays()).map(([k, v]) => [k, Array.from(v.data)]));

describe('meta-training both models, resumable per phase', () => {
  let db: MetaDatabase;
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
    db = buildToyDb({ tasks: 20, validTasks: 4 });
  });
  afterAll(() => db.close());
  const models = (seed: number): { predictor: PredictorModel; generator: GeneratorModel } => ({
    predictor: new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 8, nz: 8, inputDim: TOY.dim, rng: new Rng(seed), normalisation: splitNormalisation(db, TOY.split) }),
    generator: new GeneratorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 8, nz: 8, inputDim: TOY.dim, seed }),
  });

  test('killed in the predictor phase: --resume finishes the predictor, starts the generator, ends where a straight run ends', async () => {
    const straightDir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-phases-'));
    const a = models(1);
    const ra = await metaTrainModels(db, { ...a, runsDir: straightDir, predictorEpochs: 3, generatorEpochs: 2, options: small });
    expect(ra.predictor.phase).toBe('started');
    expect(ra.generator.phase).toBe('started');

    // the interrupted run: the predictor stopped after 3 steps (as a kill after a saved step), no generator run yet
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-phases-'));
    const b = models(1);
    await metaTrainPredictor(db, b.predictor, { ...small, epochs: 3, runDir: path.join(dir, 'predictor'), maxSteps: 3 });
    expect(fs.existsSync(path.join(dir, 'generator', RUN_FILES.last))).toBe(false);
    const c = models(55); // other initial weights: the predictor's come from its checkpoint
    const rc = await metaTrainModels(db, { ...c, runsDir: dir, predictorEpochs: 3, generatorEpochs: 2, options: small, resume: true });
    expect(rc.predictor.phase).toBe('resumed');
    expect(rc.predictor.result.steps).toBe(ra.predictor.result.steps);
    expect(rc.generator.phase).toBe('started');
    expect(weights(c.predictor)).toEqual(weights(a.predictor));

    // everything finished: both phases are skipped, nothing is trained, the weights are the runs'
    const d = models(77);
    const rd = await metaTrainModels(db, { ...d, runsDir: dir, predictorEpochs: 3, generatorEpochs: 2, options: small, resume: true });
    expect(rd.predictor.phase).toBe('complete');
    expect(rd.generator.phase).toBe('complete');
    expect(rd.generator.result.steps).toBe(rc.generator.result.steps);
    expect(weights(d.generator)).toEqual(weights(c.generator));
    const log = fs.readFileSync(path.join(dir, 'generator', RUN_FILES.log), 'utf8');
    expect(log.match(/"event":"step"/g)).toHaveLength(rc.generator.result.steps);
    for (const m of [a, b, c, d]) {
      m.predictor.dispose();
      m.generator.dispose();
    }
  }, 300_000);

  test('generatorEpochs 0 keeps the generatorOptions.init generator (predictor retrained only); without a checkpoint it is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-phases-'));
    const a = models(3);
    await metaTrainModels(db, { ...a, runsDir: dir, predictorEpochs: 1, generatorEpochs: 1, options: small });
    const init = path.join(dir, 'generator', RUN_FILES.last);
    const b = models(4); // other initial weights: the kept generator's come from the checkpoint
    expect(weights(b.generator)).not.toEqual(weights(a.generator));
    const phases: string[] = [];
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-phases-'));
    const r = await metaTrainModels(db, {
      ...b,
      runsDir: dir2,
      predictorEpochs: 1,
      generatorEpochs: 0,
      generatorOptions: { init },
      options: small,
      onPhase: (m, p) => phases.push(`${m}:${p}`),
    });
    expect([r.predictor.phase, r.generator.phase]).toEqual(['started', 'kept']);
    expect([r.generator.result.epochs, r.generator.result.steps]).toEqual([0, 0]);
    expect(phases).toEqual(['predictor:started', 'generator:kept']);
    expect(weights(b.generator)).toEqual(weights(a.generator));
    expect(fs.existsSync(path.join(dir2, 'generator'))).toBe(false);
    const c = models(5);
    await expect(
      metaTrainModels(db, { ...c, runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-phases-')), predictorEpochs: 1, generatorEpochs: 0, options: small }),
    ).rejects.toThrow(/generatorEpochs: expected at least 1, or 0 with a generator checkpoint to keep \(generatorOptions.init\), got 0 and no checkpoint/);
    for (const m of [a, b, c]) {
      m.predictor.dispose();
      m.generator.dispose();
    }
  }, 300_000);

  test('resume: true on a single phase without its checkpoint is still a named error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-phases-'));
    const m = models(2);
    await expect(metaTrainPredictor(db, m.predictor, { ...small, epochs: 1, runDir: dir, resume: true })).rejects.toThrow(
      /last\.ckpt: expected the resume checkpoint of an earlier run, got no such file/,
    );
    m.predictor.dispose();
    m.generator.dispose();
  });
});
