import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend, isMetaD2AException } from '@metad2a/core';
import { GoldenFixture, checkTensor } from '@metad2a/fixtures';
import * as E from 'fp-ts/lib/Either.js';
import { nb201Cost, parseNb201 } from '@metad2a/search-spaces';
import { TinyNetwork, cellToString, parseCell } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const ALL_NONE = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';
const CIFAR_OPT = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';

describe('cell strings', () => {
  it('parse and print round-trip, with ops in edge order e1..e6', () => {
    const c = parseCell(CIFAR_OPT);
    expect(c.ops).toEqual(['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_3x3', 'nor_conv_3x3']);
    expect(cellToString(c)).toBe(CIFAR_OPT);
  });
  it('reject malformed strings with a ParseError naming the position (search-spaces parser)', () => {
    for (const bad of ['', '|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|', '|none~1|+|none~0|none~1|+|none~0|none~1|none~2|', '|none~0|+|none~0|+|none~0|none~1|none~2|']) {
      let err: unknown;
      try {
        parseCell(bad);
      } catch (e) {
        err = e;
      }
      expect(isMetaD2AException(err, 'ParseError')).toBe(true);
    }
    expect(() => parseCell('|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|')).toThrow(/at position 1 \(node 1, input from node 0\): expected an operation/);
  });
});

describe('TinyNetwork', () => {
  it('has the spec §3.7 parameter counts at C=16, N=5, 10 classes', () => {
    const counts: Array<[string, number]> = [
      [ALL_CONV, 1_531_546],
      [ALL_NONE, 73_306],
      [CIFAR_OPT, 1_288_506],
      ['|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|', 101_306],
    ];
    for (const [arch, n] of counts) {
      const net = new TinyNetwork({ arch, C: 16, N: 5, numClasses: 10 }, new Rng(1));
      expect(net.parameterCount()).toBe(n);
      net.dispose();
    }
  });

  it('agrees with the analytic parameter count of @metad2a/search-spaces for other shapes', () => {
    const cases: Array<[string, number, number, number, number]> = [
      [CIFAR_OPT, 4, 1, 3, 1],
      ['|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|', 8, 2, 7, 3],
      [ALL_NONE, 6, 3, 2, 3],
    ];
    for (const [arch, C, N, classes, inC] of cases) {
      const net = new TinyNetwork({ arch, C, N, numClasses: classes, inChannels: inC }, new Rng(2));
      const cell = parseNb201(arch);
      if (E.isLeft(cell)) throw new Error(cell.left.message);
      expect(net.parameterCount()).toBe(nb201Cost(cell.right, { channels: C, cellsPerStage: N, classes, inputChannels: inC }).params);
      net.dispose();
    }
  });

  it('reproduces the tinynet-nb201 fixture (eval-mode logits and pooled features) with the official names', () => {
    const fx = GoldenFixture.load('tinynet-nb201');
    const cfg = fx.manifest.config as { C: number; N: number; num_classes: number };
    const models = (fx.manifest as unknown as { models: Array<{ prefix: string; arch_str: string }> }).models;
    const x = fx.tensor('input.x');
    for (const m of models) {
      const net = new TinyNetwork({ arch: m.arch_str, C: cfg.C, N: cfg.N, numClasses: cfg.num_classes }, new Rng(0));
      const params = fx.params(m.prefix);
      // every official name is a parameter or buffer of ours, and vice versa
      expect(Object.keys(net.stateShapes()).sort()).toEqual(Object.keys(params).sort());
      net.loadStateDict(params, `tinynet-nb201 ${m.prefix}*`);
      const before = tf.memory().numTensors;
      const input = tf.tidy(() => tf.transpose(tf.tensor4d(x.data, x.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
      const { features, logits } = net.forward(input);
      for (const [name, t] of [
        ['logits', logits],
        ['features', features],
      ] as const) {
        const c = checkTensor(fx, `expected.${m.prefix}${name}`, t.dataSync());
        expect(c.message).toMatch(/<=/);
      }
      tf.dispose([input, features, logits]);
      expect(tf.memory().numTensors).toBe(before);
      net.dispose();
    }
  });

  it('reports every mismatching name at once when loading a wrong state_dict', () => {
    const net = new TinyNetwork({ arch: ALL_NONE, C: 4, N: 1, numClasses: 3 }, new Rng(0));
    const sd = net.stateDict();
    delete sd['stem.1.running_var'];
    sd['classifier.weight'] = { shape: [2, 16], data: new Float32Array(32) };
    sd['bogus'] = { shape: [1], data: new Float32Array(1) };
    expect(() => net.loadStateDict(sd, 'bad.ckpt')).toThrow(
      /3 mismatches[\s\S]*shape of classifier.weight: expected \[3, 16\], got \[2, 16\][\s\S]*missing: stem.1.running_var[\s\S]*unexpected: bogus/,
    );
    net.dispose();
  });

  it('updates BatchNorm running stats in training mode like PyTorch (momentum 0.1, unbiased variance)', () => {
    const net = new TinyNetwork({ arch: ALL_NONE, C: 2, N: 0, numClasses: 2, inChannels: 1 }, new Rng(3));
    const rng = new Rng(9);
    const x = tf.tensor4d(rng.uniformArray(2 * 4 * 4, -1, 1), [2, 4, 4, 1]);
    const updates: import('../src').StatUpdate[] = [];
    const out = net.forward(x, { training: true, statUpdates: updates });
    // stem conv output statistics, computed independently
    const conv = tf.tidy(() => tf.conv2d(x, tf.transpose(net.store.get('stem.0.weight'), [2, 3, 1, 0]) as tf.Tensor4D, 1, 'same'));
    const v = conv.dataSync();
    const mean = [0, 0];
    for (let i = 0; i < v.length; i++) mean[i % 2]! += v[i]! / 32;
    const ss = [0, 0];
    for (let i = 0; i < v.length; i++) ss[i % 2]! += (v[i]! - mean[i % 2]!) ** 2;
    net.applyStatUpdates(updates);
    const rm = net.buffers.get('stem.1.running_mean').dataSync();
    const rv = net.buffers.get('stem.1.running_var').dataSync();
    for (let c = 0; c < 2; c++) {
      expect(rm[c]).toBeCloseTo(0.1 * mean[c]!, 5);
      expect(rv[c]).toBeCloseTo(0.9 + 0.1 * (ss[c]! / 31), 5);
    }
    tf.dispose([x, conv, out.features, out.logits]);
    net.dispose();
  });
});

describe('training step on the native backend', () => {
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it('gives the cpu loss, gradients and running statistics (fused BatchNorm, shared ReLUs)', async () => {
    const rng = new Rng(21);
    const x = rng.uniformArray(3 * 8 * 8 * 3, -1, 1);
    const labels = [0, 2, 1];
    const step = (): { loss: number; grads: Record<string, Float32Array>; stats: Record<string, Float32Array> } => {
      const net = new TinyNetwork({ arch: CIFAR_OPT, C: 4, N: 1, numClasses: 3 }, new Rng(5));
      const updates: import('../src').StatUpdate[] = [];
      const xt = tf.tensor4d(x, [3, 8, 8, 3]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 3));
      const { value, grads } = net.store.valueAndGrads(() => tf.losses.softmaxCrossEntropy(y, net.forward(xt, { training: true, statUpdates: updates }).logits) as tf.Scalar);
      net.applyStatUpdates(updates);
      const out = {
        loss: value.dataSync()[0]!,
        grads: Object.fromEntries([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array])),
        stats: Object.fromEntries([...net.buffers.entries()].map(([k, v]) => [k, v.dataSync() as Float32Array])),
      };
      tf.dispose([xt, y, value, ...grads.values()]);
      net.dispose();
      return out;
    };
    await initBackend({ prefer: 'cpu' });
    const expected = step();
    await initBackend({ prefer: 'native' });
    const before = tf.memory().numTensors;
    const actual = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(actual.loss).toBeCloseTo(expected.loss, 5);
    for (const group of ['grads', 'stats'] as const) {
      expect(Object.keys(actual[group]).sort()).toEqual(Object.keys(expected[group]).sort());
      for (const [k, e] of Object.entries(expected[group])) {
        const a = actual[group][k]!;
        const scale = Math.max(1e-3, ...Array.from(e, Math.abs));
        const worst = Math.max(...Array.from(e, (v, i) => Math.abs(a[i]! - v)));
        if (!(worst <= 1e-4 * scale)) throw new Error(`${group} ${k}: max |native - cpu| ${worst} (scale ${scale})`);
      }
    }
  });
});
