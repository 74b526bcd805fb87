import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend, loadCheckpointSync, unwrap, type GraphConfig } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { MBV3_GRAPH_CONFIG, NB201_GRAPH_CONFIG, mbv3 } from '@metad2a/search-spaces';
import {
  RUN_FILES,
  loadTrainedParameters,
  meanGroupSpearman,
  metaTrainGenerator,
  metaTrainPredictor,
  runMetaTrainingEither,
  splitNormalisation,
  type LoopSpec,
  type MetaDatabase,
  type MetaTrainProgress,
  type TrainingEvent,
  type TrainingItem,
} from '../src';
import { TOY, addToyMbv3Records, buildToyDb, loadToyFeatures } from './helpers/toy-db';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-mt-'));
const gen = (seed: number, cfg: GraphConfig = NB201_GRAPH_CONFIG): GeneratorModel => new GeneratorModel({ graphConfig: cfg, hs: 8, nz: 8, inputDim: TOY.dim, seed });
const small = { perClass: 5, batchSize: 16, progress: 'never' as const };

function weights(m: { store: { toNamedArrays(): Record<string, { data: Float32Array }> } }): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.store.toNamedArrays()).map(([k, v]) => [k, Array.from(v.data)]));
}

describe('meta-training with the real models on MNIST/Fashion-MNIST tasks', () => {
  let db: MetaDatabase;
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
    db = buildToyDb({ tasks: 30, validTasks: 6 });
  });
  afterAll(() => db.close());

  test('predictor: training loss falls and validation Pearson rises over the first epochs; ckpt_max_corr is saved', async () => {
    const dir = tmp();
    const model = new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 16, nz: 8, inputDim: TOY.dim, rng: new Rng(1), normalisation: splitNormalisation(db, TOY.split) });
    const events: TrainingEvent[] = [];
    const res = await metaTrainPredictor(db, model, {
      ...small,
      split: TOY.split,
      epochs: 8,
      lr: 2e-3,
      batchSize: 8,
      runDir: dir,
      checkpointEvery: 3,
      onEvent: (e) => events.push(e),
    });
    const h = res.history;
    expect(h).toHaveLength(8);
    expect(res.steps).toBe(8 * Math.ceil(96 / 8));
    // the loss falls by two orders of magnitude (to about the targets' variance, 1e-4) ...
    expect(h[7]!.trainLoss).toBeLessThan(0.01 * h[0]!.trainLoss);
    // ... and the validation Pearson (unseen tasks) rises epoch after epoch (measured on wasm: −0.41 → 0.25)
    const r = h.map((e) => e.valid!.pearson!);
    expect(r[7]!).toBeGreaterThan(r[0]! + 0.5);
    expect(r[7]!).toBeGreaterThan(0.15);
    for (let e = 2; e < 8; e++) expect(r[e]!).toBeGreaterThan(r[e - 2]!);
    expect(res.best!.score).toBe(Math.max(...h.map((e) => e.valid!.pearson!)));
    for (const f of [RUN_FILES.last, RUN_FILES.maxCorr, 'ckpt_3.ckpt', 'ckpt_6.ckpt', RUN_FILES.log]) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    // the JSON-lines log holds the same events as the callback
    const lines = fs
      .readFileSync(path.join(dir, RUN_FILES.log), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrainingEvent);
    expect(lines.map((l) => l.event)).toEqual(events.map((e) => e.event));
    expect(lines.filter((l) => l.event === 'step')).toHaveLength(res.steps);
    expect(lines.filter((l) => l.event === 'epoch').map((l) => l.valid)).toEqual(h.map((e) => e.valid));
    // ckpt_max_corr loads into a fresh model and reproduces the best epoch's weights
    const again = new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 16, nz: 8, inputDim: TOY.dim, rng: new Rng(99), normalisation: model.normalisation });
    const meta = loadTrainedParameters(again, path.join(dir, RUN_FILES.maxCorr));
    expect(meta.epoch).toBe(res.best!.epoch);
    if (res.best!.epoch === 8) expect(weights(again)).toEqual(weights(model));
    again.dispose();
    model.dispose();
  });

  test('mean within-task Spearman: groups of < 3 are skipped, each group counts once', () => {
    // group a: perfect order (1); group b: reversed (−1); group c: two items (skipped); group d: 1,3,2 vs 1,2,3 (0.5)
    const pred = [1, 2, 3, 4, 3, 2, 1, 9, 8, 1, 3, 2];
    const target = [1, 2, 3, 4, 1, 2, 3, 1, 2, 1, 2, 3];
    const group = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'd', 'd', 'd'];
    expect(meanGroupSpearman(pred, target, group)).toBeCloseTo((1 - 1 + 0.5) / 3, 12);
    expect(meanGroupSpearman([1, 2], [2, 1], ['x', 'x'])).toBeNaN();
  });

  test('predictor: selectBy task-spearman keeps the epoch with the best mean within-task Spearman', async () => {
    const model = new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 16, nz: 8, inputDim: TOY.dim, rng: new Rng(1), normalisation: splitNormalisation(db, TOY.split) });
    const dir = tmp();
    const res = await metaTrainPredictor(db, model, { ...small, split: TOY.split, epochs: 4, lr: 2e-3, batchSize: 8, runDir: dir, selectBy: 'task-spearman' });
    const taskRho = res.history.map((e) => e.valid!.taskSpearman!);
    for (const r of taskRho) expect(Math.abs(r)).toBeLessThanOrEqual(1);
    expect(res.best!.score).toBe(Math.max(...taskRho));
    expect(res.best!.epoch).toBe(taskRho.indexOf(Math.max(...taskRho)) + 1);
    expect(loadTrainedParameters(model, path.join(dir, RUN_FILES.maxCorr)).selectBy).toBe('task-spearman');
    model.dispose();
  });

  test('predictor refuses a model built with another normalisation', async () => {
    const model = new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 8, nz: 8, inputDim: TOY.dim, rng: new Rng(1), normalisation: { mean: 70, std: 5 } });
    await expect(metaTrainPredictor(db, model, { ...small, split: TOY.split, epochs: 1 })).rejects.toThrow(
      /model.normalisation: expected the normalisation of split toy's training records/,
    );
    model.dispose();
  });

  test('generator: the teacher-forced loss falls over the first epochs; no tensor leak per step', async () => {
    const model = gen(1);
    const before = tf.memory().numTensors;
    await metaTrainGenerator(db, model, { ...small, split: TOY.split, epochs: 1, maxSteps: 1, validate: false });
    const leakShort = tf.memory().numTensors - before;
    const mid = tf.memory().numTensors;
    const res = await metaTrainGenerator(db, model, { ...small, split: TOY.split, epochs: 4, lr: 3e-3, pairs: { kind: 'best-per-task' } });
    // what stays behind does not grow with steps or epochs (it is per optimizer, see README)
    expect(tf.memory().numTensors - mid).toBe(leakShort);
    const h = res.history;
    expect(res.steps).toBe(4 * Math.ceil(24 / 16)); // one (best) record per training task
    expect(h[3]!.trainLoss).toBeLessThan(h[0]!.trainLoss - 1);
    expect(h[3]!.valid!.loss!).toBeLessThan(h[0]!.valid!.loss!);
    model.dispose();
  });

  test('resume: k steps straight = k/2 steps, stop, restart from last.ckpt, k/2 steps (identical weights)', async () => {
    const k = 4; // crosses an epoch boundary (2 batches per epoch)
    const opts = { ...small, split: TOY.split, epochs: 10, lr: 1e-3 };
    const a = gen(5);
    const ra = await metaTrainGenerator(db, a, { ...opts, runDir: tmp(), maxSteps: k });
    expect(ra).toMatchObject({ steps: k, stopped: true, epochs: 2 });
    const dir = tmp();
    const b1 = gen(5);
    expect((await metaTrainGenerator(db, b1, { ...opts, runDir: dir, maxSteps: k / 2 })).steps).toBe(k / 2);
    b1.dispose();
    const b2 = gen(77); // other initial weights: everything must come from the checkpoint
    const rb = await metaTrainGenerator(db, b2, { ...opts, runDir: dir, maxSteps: k, resume: true });
    expect(rb.steps).toBe(k);
    expect(weights(b2)).toEqual(weights(a));
    expect(rb.history).toEqual(ra.history.map((e) => ({ ...e, seconds: expect.any(Number) })));
    const log = fs.readFileSync(path.join(dir, RUN_FILES.log), 'utf8');
    expect(log).toMatch(/"event":"resume"/);
    a.dispose();
    b2.dispose();
  });

  test("init: a run starts from another run's checkpoint (its parameters, not its optimizer), and a resumed run ignores it", async () => {
    const opts = { ...small, split: TOY.split, epochs: 2, lr: 1e-3 };
    const a = gen(5);
    const dirA = tmp();
    await metaTrainGenerator(db, a, { ...opts, runDir: dirA, maxSteps: 2 });
    const ckpt = path.join(dirA, RUN_FILES.last);
    // b: other initial weights, started from A's checkpoint by `init`
    const b = gen(77);
    const dirB = tmp();
    await metaTrainGenerator(db, b, { ...opts, runDir: dirB, init: ckpt, maxSteps: 2 });
    // c: the same checkpoint loaded by hand, then trained with the same options
    const c = gen(9);
    loadTrainedParameters(c, ckpt);
    expect(weights(c)).toEqual(weights(a));
    await metaTrainGenerator(db, c, { ...opts, runDir: tmp(), maxSteps: 2 });
    expect(weights(b)).toEqual(weights(c));
    expect(weights(b)).not.toEqual(weights(a));
    // resuming b's run: its own last.ckpt holds everything, the (now missing) init file is not read
    const b2 = gen(78);
    const r = await metaTrainGenerator(db, b2, { ...opts, runDir: dirB, init: path.join(dirA, 'gone.ckpt'), resume: 'if-present', maxSteps: 3 });
    expect(r.steps).toBe(3);
    for (const m of [a, b, c, b2]) m.dispose();
  });

  test('abort between steps: rejects with Aborted, saves last.ckpt, keeps no tensors; resume ends at the weights of a straight run', async () => {
    // 2 batches per epoch: the abort falls mid-epoch, the resumed run crosses epoch boundaries
    const opts = { ...small, split: TOY.split, epochs: 4, lr: 1e-3 };
    const straight = gen(5);
    const rs = await metaTrainGenerator(db, straight, { ...opts, runDir: tmp() });
    const dir = tmp();
    const aborted = gen(5);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const seen: MetaTrainProgress[] = [];
    const written: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (written.push(String(s)), true)); // the progress bar
    const run = metaTrainGenerator(db, aborted, {
      ...opts,
      runDir: dir,
      progress: 'always',
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.stage === 'step' && p.done === 3) controller.abort('test');
      },
    });
    await expect(run)
      .rejects.toMatchObject({ error: { _tag: 'Aborted' } })
      .finally(() => stderr.mockRestore());
    expect(written[written.length - 1]).toBe('\rstopped after step 3, last.ckpt saved\n'); // the bar's line is ended
    expect(tf.memory().numTensors).toBe(before); // the optimizer's slots are released
    // progress: steps 1..3 of 8, with the epoch report after step 2
    expect(seen.map((p) => `${p.stage} ${p.done}/${p.total}`)).toEqual(['step 1/8', 'step 2/8', 'epoch 1/4', 'step 3/8']);
    expect(seen.every((p) => p.kind === 'generator')).toBe(true);
    const saved = unwrap(loadCheckpointSync(path.join(dir, RUN_FILES.last))).meta;
    expect(saved).toMatchObject({ step: 3, epoch: 1, stepInEpoch: 1 });
    expect(fs.readFileSync(path.join(dir, RUN_FILES.log), 'utf8')).toMatch(/"event":"end".*"aborted":true/);
    aborted.dispose();
    const resumed = gen(77);
    const rr = await metaTrainGenerator(db, resumed, { ...opts, runDir: dir, resume: true });
    expect(rr).toMatchObject({ phase: 'resumed', steps: 8, epochs: 4, stopped: false });
    expect(weights(resumed)).toEqual(weights(straight));
    expect(rr.history).toEqual(rs.history.map((e) => ({ ...e, seconds: expect.any(Number) })));
    // an already aborted signal trains nothing and writes nothing
    const none = tmp();
    const c2 = new AbortController();
    c2.abort();
    await expect(metaTrainGenerator(db, resumed, { ...opts, runDir: none, signal: c2.signal })).rejects.toMatchObject({ error: { _tag: 'Aborted' } });
    expect(fs.existsSync(path.join(none, RUN_FILES.last))).toBe(false);
    resumed.dispose();
    straight.dispose();
  });

  test('runMetaTrainingEither: bad options and an abort are Lefts that name what went wrong', async () => {
    const model = gen(1);
    const spec: LoopSpec = {
      kind: 'generator',
      store: model.store,
      trainable: model.store.names(),
      train: [{} as TrainingItem], // never drawn: both runs stop before their first step
      valid: [],
      batchLoss: () => tf.scalar(0),
      validate: () => ({ metrics: {} }),
      meta: {},
    };
    const bad = await runMetaTrainingEither(spec, { split: TOY.split, epochs: 0, progress: 'never' });
    expect(E.isLeft(bad) && bad.left).toMatchObject({ _tag: 'ValidationError', field: 'epochs', expected: 'a positive integer', got: '0' });
    const stop = new AbortController();
    stop.abort('not now');
    const aborted = await runMetaTrainingEither(spec, { split: TOY.split, epochs: 1, progress: 'never', signal: stop.signal });
    expect(E.isLeft(aborted) && aborted.left).toMatchObject({
      _tag: 'Aborted',
      source: 'generator meta-training',
      message: "generator meta-training: got aborted by the caller's AbortSignal (not now)",
    });
    model.dispose();
  });

  test('resume after SIGKILL: a run killed in a child process continues to the same weights as a straight run', async () => {
    const dir = tmp();
    const root = path.join(__dirname, '../../..');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers/train-child.ts'), dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const guard = setTimeout(() => child.kill('SIGKILL'), 100000);
    let killedAt = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = [...d.toString().matchAll(/checkpoint (\d+)/g)];
        if (m.length && killedAt === 0 && Number(m[m.length - 1]![1]) >= 2) {
          killedAt = Number(m[m.length - 1]![1]);
          child.kill('SIGKILL');
        }
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' && killedAt > 0 ? resolve() : reject(new Error(`trainer exited with ${code}/${signal}: ${stderr}`))));
    }).finally(() => clearTimeout(guard));
    // the child may have written a later checkpoint between its message and the kill: read it
    const saved = unwrap(loadCheckpointSync(path.join(dir, RUN_FILES.last))).meta.step as number;
    expect(saved).toBeGreaterThanOrEqual(killedAt);
    const k = saved + 3;
    const opts = { ...small, split: TOY.split, epochs: 50, lr: 1e-3 };
    const resumed = gen(77);
    const rr = await metaTrainGenerator(db, resumed, { ...opts, runDir: dir, maxSteps: k, resume: true });
    expect(rr.steps).toBe(k);
    const straight = gen(5);
    await metaTrainGenerator(db, straight, { ...opts, runDir: tmp(), maxSteps: k });
    expect(weights(resumed)).toEqual(weights(straight));
    resumed.dispose();
    straight.dispose();
  });

  test('MobileNetV3 space: a batch of tasks with different class counts (one group each) trains as the one-tape per-group loop does (predictor and generator)', async () => {
    // MBv3 episodes differ in way: a batch splits into groups by class count, and the predictor's
    // valueAndGradsOfGroups runs one tape per group with the graphs of all groups encoded in one
    // pass; the weights after 3 steps match those of the same model trained through loss() group
    // by group in one tape, up to float32 rounding
    const mdb = (await import('../src')).MetaDatabase.inMemory();
    const features = loadToyFeatures();
    mdb.addDataset({ name: TOY.dataset, source: 'toy', numClasses: TOY.classes, featureDim: TOY.dim });
    mdb.addFeatureSet(TOY.dataset, { name: TOY.dataset, dim: TOY.dim, classes: features.map((data, c) => ({ label: `c${c}`, count: TOY.perClassImages, data })) });
    const rng = new Rng(4);
    const ids: number[] = [];
    for (let t = 0; t < 24; t++) {
      const name = `ep-${t}`;
      mdb.addTask({ name, dataset: TOY.dataset, classIds: rng.sampleIndices(TOY.classes, 2 + (t % 4)) });
      ids.push(mdb.addRecord({ task: name, space: 'mbv3', arch: mbv3.format(mbv3.sample(rng)), accuracy: 60 + 20 * rng.uniform(), metric: 'random', how: 'test' }));
    }
    mdb.setSplit('ways', { train: ids, valid: [] });
    const make = (): PredictorModel =>
      new PredictorModel({ graphConfig: MBV3_GRAPH_CONFIG, hs: 16, nz: 8, inputDim: TOY.dim, rng: new Rng(6), normalisation: splitNormalisation(mdb, 'ways') });
    const grouped = make();
    const perGroup = make();
    const initial = weights(perGroup);
    const calls = { grouped: 0 };
    const spy = grouped.valueAndGradsOfGroups.bind(grouped);
    grouped.valueAndGradsOfGroups = (g, gr, y, names) => {
      calls.grouped++;
      expect(g.length).toBeGreaterThan(1);
      return spy(g, gr, y, names);
    };
    // the same model without valueAndGradsOfGroups: the trainer runs loss() per group in one tape
    const plain = Object.assign(Object.create(perGroup) as PredictorModel, { valueAndGradsOfGroups: undefined });
    const opts = { ...small, split: 'ways', epochs: 1, batchSize: 8, lr: 1e-2, validate: false, seed: 3 };
    const a = await metaTrainPredictor(mdb, grouped, opts);
    const b = await metaTrainPredictor(mdb, plain, opts);
    expect(a.steps).toBe(3); // 24 episodes, batches of 8
    expect(calls.grouped).toBe(3);
    expect(a.history[0]!.trainLoss).toBeCloseTo(b.history[0]!.trainLoss, 6);
    const wa = weights(grouped);
    const wb = weights(perGroup);
    let moved = 0;
    for (const [k, v] of Object.entries(wb)) {
      // a key bias shifts every score of a query equally, so softmax cancels it: its gradient is
      // zero but for rounding, which Adam scales up to steps of size lr (so compare it not at all)
      if (k.endsWith('fc_k.bias')) continue;
      for (let i = 0; i < v.length; i++) {
        expect(Math.abs(wa[k]![i]! - v[i]!)).toBeLessThan(1e-5);
        if (Math.abs(v[i]! - initial[k]![i]!) > 1e-3) moved++;
      }
    }
    expect(moved).toBeGreaterThan(100);
    grouped.dispose();
    perGroup.dispose();
    // the generator: one tape per group (store.valueAndGradsOfSum) against one tape over the sum
    const g1 = gen(8, MBV3_GRAPH_CONFIG);
    const g2 = gen(8, MBV3_GRAPH_CONFIG);
    let terms = 0;
    const sumOf = g1.store.valueAndGradsOfSum.bind(g1.store);
    g1.store.valueAndGradsOfSum = (ts, names) => {
      terms += ts.length;
      return sumOf(ts, names);
    };
    g2.store.valueAndGradsOfSum = (ts, names) => g2.store.valueAndGrads(() => tf.addN(ts.map((t) => t())) as tf.Scalar, names);
    const genOpts = { ...opts, pairs: { kind: 'all' as const } };
    const r1 = await metaTrainGenerator(mdb, g1, genOpts);
    const r2 = await metaTrainGenerator(mdb, g2, genOpts);
    expect(r1.steps).toBe(3);
    expect(terms).toBeGreaterThan(3); // batches of 8 episodes of 4 different ways: several groups per step
    expect(r1.history[0]!.trainLoss).toBeCloseTo(r2.history[0]!.trainLoss, 3);
    const w1 = weights(g1);
    for (const [k, v] of Object.entries(weights(g2))) {
      if (k.endsWith('fc_k.bias')) continue; // zero gradient but for rounding (see above)
      for (let i = 0; i < v.length; i++) expect(Math.abs(w1[k]![i]! - v[i]!)).toBeLessThan(1e-5);
    }
    g1.dispose();
    g2.dispose();
    mdb.close();
  });

  test('MobileNetV3 space: the same loop trains a generator on 22-vertex graphs', async () => {
    addToyMbv3Records(db);
    const model = gen(2, { nvt: 29, maxN: 22, startType: 0, endType: 1 });
    const res = await metaTrainGenerator(db, model, { ...small, split: 'toy-mbv3', epochs: 1, pairs: { kind: 'all' }, batchSize: 8, validate: false });
    expect(res.steps).toBe(3); // 24 training tasks, batches of 8
    // initial loss ≈ 21·ln 29 + 231·ln 2 ≈ 231 nats per graph (spec §9 item 16)
    expect(res.history[0]!.trainLoss).toBeGreaterThan(150);
    expect(res.history[0]!.trainLoss).toBeLessThan(300);
    await expect(metaTrainGenerator(db, gen(3), { ...small, split: 'toy-mbv3', epochs: 1 })).rejects.toThrow(
      /records of space mbv3: expected a model for graphs with nvt 29, maxN 22, got a model with nvt 7, maxN 8/,
    );
    model.dispose();
  });
});
