import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, initBackend, zeroCostProxies, type NamedArray } from '@metad2a/core';
import { TinyNetwork } from '@metad2a/arch-trainer';
import { NASWOT, SYNFLOW, addActivationCodes, logAbsDeterminant, naswot, proxyBatch, scoreWithProxy, synflow } from '@metad2a/proxies';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const CONV3 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const NONE = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';

describe('NASWOT', () => {
  test('kernel and log-determinant of hand-made codes', () => {
    // codes (x > 0): [1,0,1], [1,1,0], [0,0,1] → K_ij = 3 − Hamming = [[3,1,2],[1,3,0],[2,0,3]], det 12
    const K = new Float64Array(9);
    const x = tf.tensor2d([
      [0.5, -1, 2],
      [1, 3, -0.1],
      [-2, 0, 4],
    ]);
    addActivationCodes(K, x);
    x.dispose();
    expect([...K]).toEqual([3, 1, 2, 1, 3, 0, 2, 0, 3]);
    expect(logAbsDeterminant(K, 3)).toBeCloseTo(Math.log(12), 12);
    // a second layer adds its own kernel: [1,1] and [0,1] → [[2,1],[1,2]] for two images
    const K2 = new Float64Array(4);
    const a = tf.tensor4d([1, 1, -1, 1], [2, 1, 1, 2]);
    addActivationCodes(K2, a);
    addActivationCodes(K2, a);
    a.dispose();
    expect([...K2]).toEqual([4, 2, 2, 4]);
    expect(logAbsDeterminant(K2, 2)).toBeCloseTo(Math.log(12), 12);
    // identical codes make the kernel singular
    expect(logAbsDeterminant(Float64Array.from([2, 2, 2, 2]), 2)).toBe(-Infinity);
    // a pivot is needed: det [[0,1],[1,0]] = −1 → log 1 = 0
    expect(logAbsDeterminant(Float64Array.from([0, 1, 1, 0]), 2)).toBe(0);
  });

  test('every ReLU module of the TinyNetwork is counted (diagonal = total units), equal to a naive kernel', () => {
    // C 2, N 1, 8×8: each of the 6 conv edges owns a ReLU: stage 1: 6 × 2·8·8, reduction 1: 128 + 4·4·4,
    // stage 2: 6 × 64, reduction 2: 64 + 8·2·2, stage 3: 6 × 32, lastact 32 → 1,664 units per image
    const net = new TinyNetwork({ arch: CONV3, C: 2, N: 1, numClasses: 3 }, new Rng(3));
    const x = tf.tensor4d(new Rng(4).normalArray(5 * 8 * 8 * 3), [5, 8, 8, 3]);
    const codes: Uint8Array[] = [];
    const seen = net.forward(x, { training: true, onReluInput: (t) => codes.push(Uint8Array.from(t.dataSync(), (v) => (v > 0 ? 1 : 0))) });
    tf.dispose([seen.features, seen.logits]);
    const { score, kernel } = naswot(net, x);
    for (let i = 0; i < 5; i++) expect(kernel[i * 5 + i]).toBe(1664);
    expect(codes.reduce((s, c) => s + c.length / 5, 0)).toBe(1664);
    const naive = new Float64Array(25);
    for (const c of codes) {
      const U = c.length / 5;
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 5; j++) {
          let same = 0;
          for (let u = 0; u < U; u++) same += c[i * U + u] === c[j * U + u] ? 1 : 0;
          naive[i * 5 + j] += same;
        }
    }
    expect([...kernel]).toEqual([...naive]);
    expect(score).toBeCloseTo(logAbsDeterminant(naive, 5), 10);
    x.dispose();
    net.dispose();
  });
});

describe('synflow', () => {
  /** A state dict with every value v (classifier bias 0). */
  const filled = (net: TinyNetwork, v: number): Record<string, NamedArray> =>
    Object.fromEntries(Object.entries(net.stateDict()).map(([k, a]) => [k, { shape: a.shape, data: new Float32Array(a.data.length).fill(k === 'classifier.bias' ? 0 : v) }]));

  test('hand-computed value of a tiny network (all weights −1: |θ| = 1)', () => {
    // C 1, N 0, 1 channel, 4×4 ones: stem map [4 6 6 4; 6 9 9 6; …]; block 1: conv path 338 + shortcut 6.25;
    // block 2: 11016 + 688.5 per channel; R = 4 · 11704.5 = 46818. Per layer Σθ∂R/∂θ = R through that layer:
    // stem 46818, block-1 convs 2 × 136·338, its shortcut 136·6.25, block-2 convs 2 × 44064, shortcut 2754, classifier 46818
    const net = new TinyNetwork({ arch: CONV3, C: 1, N: 0, numClasses: 1, inChannels: 1 }, new Rng(0));
    net.loadStateDict(filled(net, -1));
    const before = net.stateDict();
    expect(synflow(net, [4, 4, 1])).toBe(277304);
    // values restored (signs back)
    const after = net.stateDict();
    for (const k of Object.keys(before)) expect([...after[k]!.data]).toEqual([...before[k]!.data]);
    net.dispose();
  });

  test('a cell of `none` edges cuts every path: score 0', () => {
    const net = new TinyNetwork({ arch: NONE, C: 2, N: 1, numClasses: 3 }, new Rng(1));
    expect(synflow(net, [8, 8, 3])).toBe(0);
    net.dispose();
  });
});

describe('registry, batches, scoring', () => {
  test('registered by name; proxyBatch is seeded; scores are deterministic', () => {
    expect(zeroCostProxies.get('naswot')).toBe(NASWOT);
    expect(zeroCostProxies.get('synflow')).toBe(SYNFLOW);
    const b = proxyBatch('builtin:digits', { size: 8, inputSize: 8, seed: 1 });
    expect(b.shape).toEqual([8, 8, 8, 3]);
    expect(b.numClasses).toBe(10);
    expect([...proxyBatch('builtin:digits', { size: 8, inputSize: 8, seed: 1 }).images]).toEqual([...b.images]);
    const opts = { numClasses: 10, seed: 7, C: 2, N: 1 };
    const before = tf.memory().numTensors;
    const r = scoreWithProxy('naswot', [CONV3, NONE], b, opts);
    const again = scoreWithProxy('naswot', [CONV3, NONE], b, opts);
    expect([...r.scores]).toEqual([...again.scores]);
    expect(Number.isFinite(r.scores[0]!)).toBe(true);
    expect(scoreWithProxy('synflow', [NONE], b, opts).scores[0]).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('bad input is a clear error', () => {
    const bad = { images: new Float32Array(10), shape: [2, 2, 2, 3] as const };
    expect(() => NASWOT.score(CONV3, bad, { numClasses: 2, seed: 0 })).toThrow(/24 values|NHWC/);
    const one = { images: new Float32Array(12), shape: [1, 2, 2, 3] as const };
    expect(() => NASWOT.score(CONV3, one, { numClasses: 2, seed: 0 })).toThrow(MetaD2AException);
    expect(() => proxyBatch('builtin:digits', { size: 1, inputSize: 8, seed: 0 })).toThrow(/at least 2|≥ 2/);
    expect(() => zeroCostProxies.get('nope')).toThrow(/naswot, synflow/);
  });
});
