import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@metad2a/core';
import { MOBILENET_V2, createExtractor, loadFeatureSet, mobilenetProjection, type FeatureExtractor } from '@metad2a/datasets';

// one 224×224 image per pattern: a gradient, a checkerboard, a constant
function images(n: number): Float32Array {
  const S = 224;
  const x = new Float32Array(n * S * S * 3);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++)
        for (let c = 0; c < 3; c++) x[((k * S + i) * S + j) * 3 + c] = k % 3 === 0 ? (i + j) / (2 * S) : k % 3 === 1 ? ((i >> 4) + (j >> 4)) % 2 : 0.5 + 0.1 * c;
  return x;
}

describe('mobilenetv2 extractor (nsfwjs@4.4.0, from the installed package)', () => {
  let pooled: FeatureExtractor;
  let projected: FeatureExtractor;
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
    pooled = await createExtractor('mobilenetv2', { outputDim: 1280 });
    projected = await createExtractor('mobilenetv2');
  }, 300_000);
  afterAll(() => {
    pooled.dispose();
    projected.dispose();
  });

  test('1280-d pooled features of ReLU6 maps (in [0, 6]), image-dependent; default: the fixed 512-d projection of them', async () => {
    expect(pooled.dim).toBe(1280);
    expect(projected.dim).toBe(512);
    expect(pooled.inputSize).toBe(224);
    expect(pooled.normalisation).toBe('none');
    expect(pooled.id).toMatch(/^mobilenetv2:v1:nsfwjs@4\.4\.0:[0-9a-f]{32}:flatten_1:pooled$/);
    expect(projected.id).toMatch(/:proj512:seed=0$/);
    const x = images(3);
    const tensors = tf.memory().numTensors;
    const f = await pooled.extract(x, 3);
    const g = await projected.extract(x, 3);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(f.length).toBe(3 * 1280);
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...f)).toBeLessThanOrEqual(6);
    const row = (a: Float32Array, k: number, d: number): number[] => Array.from(a.subarray(k * d, (k + 1) * d));
    const dist = (a: number[], b: number[]): number => Math.hypot(...a.map((v, i) => v - b[i]!));
    expect(dist(row(f, 0, 1280), row(f, 1, 1280))).toBeGreaterThan(0.1);
    // the projection is pooled · P with the seeded P
    const P = mobilenetProjection(512, 0);
    for (let k = 0; k < 3; k++)
      for (const j of [0, 17, 511]) {
        let s = 0;
        for (let i = 0; i < 1280; i++) s += f[k * 1280 + i]! * P[i * 512 + j]!;
        expect(g[k * 512 + j]).toBeCloseTo(s, 3);
      }
    // deterministic; a batch equals its images one by one
    expect(Array.from(await pooled.extract(x.subarray(224 * 224 * 3, 2 * 224 * 224 * 3), 1))).toEqual(row(f, 1, 1280).map((v) => expect.closeTo(v, 4)));
  });

  test('its input convention (pixels in [0, 1]) is the default preprocessing', async () => {
    const seen: number[] = [];
    const spy: FeatureExtractor = {
      name: 'spy',
      id: 'spy:v1',
      dim: 1,
      inputSize: 8,
      normalisation: MOBILENET_V2.normalisation,
      extract: async (images, batch) => {
        seen.push(Math.min(...images), Math.max(...images));
        return new Float32Array(batch);
      },
      dispose: () => {},
    };
    await loadFeatureSet('builtin:digits', { extractor: spy, maxPerClass: 2, cache: false, progress: false });
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(1);
  });

  test('bad options are clear errors', async () => {
    await expect(createExtractor('mobilenetv2', { outputDim: 2000 })).rejects.toThrow(/outputDim.*\[1, 1280\]/);
    await expect(createExtractor('mobilenetv2', { inputSize: 32 })).rejects.toThrow(/inputSize.*224/);
  });
});
