import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, isMetaD2AException } from '@metad2a/core';
import { RECIPES, cosineLr, evaluate, getRecipe, loadNetwork, saveNetwork, trainArchitecture, type TrainProgress } from '../src';
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
