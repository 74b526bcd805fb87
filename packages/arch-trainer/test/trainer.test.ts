import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend, isMetaD2AException, unwrap } from '@metad2a/core';
import { mbv3ConfigFrom } from '@metad2a/search-spaces';
import {
  Mbv3Network,
  RECIPES,
  cosineLr,
  evaluate,
  getMbv3Recipe,
  getRecipe,
  loadNetwork,
  prepareBatch,
  recalibrateBatchNorm,
  saveNetwork,
  trainArchitecture,
  trainMbv3,
  type StatUpdate,
  type TrainProgress,
} from '../src';
import { barsDataset } from './toy-data';

// Training on tfjs-cpu is slow (its Conv2DBackpropFilter is a naive loop: seconds per step on a
// loaded machine), so these tests train on the native backend of @metad2a/tfjs-kernels when it is
// built, and on cpu otherwise. The golden forward test (network.test.ts) always runs on cpu.
beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

const ARCH = '|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|';
const recipe = getRecipe('tiny', { epochs: 3, batchSize: 16 });

describe('recipes', () => {
  it('official recipe is spec §3.7 and the cosine schedule is set per epoch to 0', () => {
    const o = RECIPES.official!;
    expect([o.C, o.N, o.epochs, o.batchSize, o.lr, o.momentum, o.nesterov, o.weightDecay, o.inputSize]).toEqual([16, 5, 200, 256, 0.1, 0.9, true, 5e-4, 32]);
    expect(RECIPES['official-mnist']!.epochs).toBe(50);
    expect(cosineLr(0.1, 0, 200)).toBeCloseTo(0.1, 12);
    expect(cosineLr(0.1, 100, 200)).toBeCloseTo(0.05, 12);
    expect(cosineLr(0.1, 199, 200)).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * 199) / 200)), 12);
    expect(() => getRecipe('nope')).toThrow(/one of official/);
  });

  it('mbv3-db is mbv3-reduced with the calibrated learning rate 0.1 (the MBv3 plans train with it)', () => {
    const db = getMbv3Recipe('mbv3-db');
    const { name: _a, lr: lrDb, ...restDb } = db;
    const { name: _b, lr: lrReduced, ...restReduced } = getMbv3Recipe('mbv3-reduced');
    expect([db.name, lrDb, lrReduced]).toEqual(['mbv3-db', 0.1, 0.05]);
    expect(restDb).toEqual(restReduced);
    expect([db.widthMult, db.epochs, db.batchSize, db.inputSize, db.weightDecay, db.recalibrateBatchNorm]).toEqual([0.25, 5, 32, 32, 4e-5, true]);
    expect(getMbv3Recipe('mbv3-db', { epochs: 3 }).name).toBe('mbv3-db+epochs=3');
  });
});

describe('trainArchitecture', () => {
  const train = barsDataset(64, 3, 8, 1);
  const test = barsDataset(30, 3, 8, 2);

  it('learns a toy task, reports progress with ETA, is deterministic per seed, and leaks no tensors per step', async () => {
    const progress: TrainProgress[] = [];
    const live: number[] = [];
    const a = await trainArchitecture({
      arch: ARCH,
      train,
      test,
      recipe,
      seed: 7,
      onProgress: (p) => {
        progress.push(p);
        if (p.phase === 'train' && p.step > 1) live.push(tf.memory().numTensors);
      },
    });
    expect(a.steps).toBe(3 * 4);
    expect(progress.filter((p) => p.phase === 'train').map((p) => p.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(progress.at(-2)!.etaMs).toBe(0);
    expect(progress[0]!.lr).toBeCloseTo(0.1, 12);
    expect(progress.at(-2)!.lr).toBeCloseTo(cosineLr(0.1, 2, 3), 12);
    expect(progress.at(-1)!.phase).toBe('eval');
    // no tensor is left behind by a training step or by evaluation
    expect(new Set(live).size).toBe(1);
    // chance is 1/3; the bars are easy
    expect(a.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(a.finalTrainLoss).toBeLessThan(progress[0]!.loss);
    expect(a.accuracy).toBe(evaluate(a.network, test, recipe).accuracy);
    // training moved the BatchNorm running statistics
    expect(Array.from(a.network.buffers.get('lastact.0.running_var').dataSync()).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    a.network.dispose();
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const short = getRecipe('tiny', { epochs: 1, batchSize: 64 });
    const run = async (seed: number) => {
      const r = await trainArchitecture({ arch: ARCH, train, test, recipe: short, seed });
      const w = Array.from(r.network.store.get('classifier.weight').dataSync());
      r.network.dispose();
      return { loss: r.finalTrainLoss, w };
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(b).toEqual(a);
    expect(c.w).not.toEqual(a.w);
  });

  it('saves a trained network that loads back and predicts the same', async () => {
    const r = await trainArchitecture({ arch: ARCH, train, test, recipe: getRecipe('tiny', { epochs: 1, batchSize: 64 }), seed: 3 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-trainer-'));
    const file = path.join(dir, 'net.ckpt');
    saveNetwork(file, r.network, { recipe, info: { accuracy: r.accuracy } });
    const { network, meta } = loadNetwork(file);
    expect(meta.config).toEqual(r.network.config);
    expect(meta.info).toEqual({ accuracy: r.accuracy });
    const x = tf.tensor4d(test.images.slice(0, 4 * 64), [4, 8, 8, 1]);
    const y1 = r.network.forward(x).logits;
    const y2 = network.forward(x).logits;
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    tf.dispose([x, y1, y2]);
    network.dispose();
    r.network.dispose();
    fs.writeFileSync(path.join(dir, 'bad.ckpt'), 'not a checkpoint');
    expect(() => loadNetwork(path.join(dir, 'bad.ckpt'))).toThrow(/bad\.ckpt/);
  });

  it('rejects bad datasets with errors naming the field', async () => {
    const broken = { ...train, labels: Int32Array.from(train.labels, (y, i) => (i === 5 ? 9 : y)) };
    let err: unknown;
    try {
      await trainArchitecture({ arch: ARCH, train: broken, test, recipe, seed: 1 });
    } catch (e) {
      err = e;
    }
    expect(isMetaD2AException(err, 'ValidationError')).toBe(true);
    expect((err as Error).message).toMatch(/labels\[5\]/);
  });
});

describe('trainMbv3 (OFA-MBv3 subnets through the same training loop)', () => {
  const mbTrain = barsDataset(96, 3, 16, 11);
  const mbTest = barsDataset(48, 3, 16, 12);
  const mbRecipe = getMbv3Recipe('mbv3-reduced', { epochs: 3, batchSize: 16, inputSize: 16 });
  const subnet = unwrap(
    mbv3ConfigFrom({ ks: [3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5], e: [3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4], d: [2, 3, 2, 2, 2] }),
  );

  it('learns the toy task, deterministic per seed, no tensor left behind by a step or evaluation', async () => {
    const live: number[] = [];
    const progress: TrainProgress[] = [];
    const a = await trainMbv3({
      config: subnet,
      train: mbTrain,
      test: mbTest,
      recipe: mbRecipe,
      seed: 3,
      onProgress: (p) => {
        progress.push(p);
        if (p.phase === 'train' && p.step > 1) live.push(tf.memory().numTensors);
      },
    });
    expect(a.steps).toBe(3 * 6);
    expect(new Set(live).size).toBe(1);
    expect(a.network).toBeInstanceOf(Mbv3Network);
    expect(a.network.config.widthMult).toBe(0.25);
    expect(progress[0]!.lr).toBeCloseTo(0.05, 12);
    expect(a.finalTrainLoss).toBeLessThan(progress[0]!.loss);
    // chance is 1/3; BatchNorm recalibrated on the training set before evaluation (OFA)
    expect(a.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(a.accuracy).toBe(evaluate(a.network, mbTest, mbRecipe).accuracy);
    a.network.dispose();
    // a whole run (training, BatchNorm recalibration, evaluation) leaves only its network behind
    const n0 = tf.memory().numTensors;
    const b = await trainMbv3({ config: subnet, train: mbTrain, test: mbTest, recipe: mbRecipe, seed: 3 });
    expect([b.accuracy, b.finalTrainLoss]).toEqual([a.accuracy, a.finalTrainLoss]);
    b.network.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('recalibrateBatchNorm sets running statistics to the batch-size-weighted mean of batch statistics', async () => {
    const net = new Mbv3Network({ config: subnet, numClasses: 3, widthMult: 0.25, inChannels: 1 }, new Rng(2));
    const r = { ...mbRecipe, batchSize: 64 }; // 96 images: batches of 64 and 32
    recalibrateBatchNorm(net, mbTrain, r);
    const expected = new Map<string, Float64Array>();
    for (const [start, size] of [
      [0, 64],
      [64, 32],
    ] as const) {
      const x = prepareBatch(tf.tensor4d(mbTrain.images.subarray(start * 256, (start + size) * 256), [size, 16, 16, 1]), r);
      const updates: StatUpdate[] = [];
      tf.tidy(() => {
        net.forward(x, { training: true, statUpdates: updates });
      });
      for (const u of updates) {
        const m = u.mean.dataSync();
        const acc = expected.get(u.prefix) ?? new Float64Array(m.length);
        m.forEach((v, c) => {
          acc[c]! += (v * size) / 96;
        });
        expected.set(u.prefix, acc);
        tf.dispose([u.mean, u.variance]);
      }
      x.dispose();
    }
    expect(expected.size).toBeGreaterThan(30);
    for (const [prefix, m] of expected) {
      const got = net.buffers.get(`${prefix}.running_mean`).dataSync();
      m.forEach((v, c) => expect(got[c]).toBeCloseTo(v, 4));
    }
    net.dispose();
  });

  it('names the recipe and the subnet problems', async () => {
    expect(() => getMbv3Recipe('mbv3-huge')).toThrow(/MBv3 recipe: expected one of mbv3-reduced, mbv3-db, got "mbv3-huge"/);
    await expect(trainMbv3({ config: subnet, train: mbTrain, test: barsDataset(12, 4, 16, 1), recipe: mbRecipe, seed: 1 })).rejects.toThrow(
      /trainMbv3: test.numClasses: expected 3 \(as train\), got 4/,
    );
  });
});
