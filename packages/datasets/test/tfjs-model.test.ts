import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '@metad2a/core';
import { createExtractor, extractFeatures, fileSaveHandler, preprocessingFor, readImageFolder, tfjsModelKind } from '../src';
import { tmpDir } from './helpers';

const dir = tmpDir('tfjs');
beforeAll(() => initBackend({ prefer: 'cpu' }));

// A tiny Layers model on 8×8 images: 1×1 conv (linear, 4 maps) → global average pool 'gap' → dense 'logits' (2).
// Its GAP output is W^T·mean(pixels) + b, which the test computes by hand.
const W = [0.5, -1, 2, 0.25, 1, 0, -0.5, 3, -2, 1, 1, 0.5]; // [1,1,3,4] row-major (3 inputs × 4 filters)
const B = [0.1, -0.2, 0.3, 0];
const D = [1, -1, 0.5, 2, -0.5, 0, 1, 1]; // dense [4, 2]

async function saveTinyModel(where: string): Promise<void> {
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 1, name: 'conv' }),
      tfl.layers.globalAveragePooling2d({ name: 'gap' }),
      tfl.layers.dense({ units: 2, name: 'logits', useBias: false }),
    ],
  });
  m.getLayer('conv').setWeights([tf.tensor4d(W, [1, 1, 3, 4]), tf.tensor1d(B)]);
  m.getLayer('logits').setWeights([tf.tensor2d(D, [4, 2])]);
  await m.save(fileSaveHandler(where));
  m.dispose();
}

describe('tfjs-model extractor', () => {
  it('loads a saved Layers model from model.json, takes the named layer, and leaks no tensors', async () => {
    const where = path.join(dir, 'tiny');
    await saveTinyModel(where);
    const json = JSON.parse(fs.readFileSync(path.join(where, 'model.json'), 'utf8'));
    expect(tfjsModelKind(json)).toBe('layers');
    const x = new Float32Array(2 * 8 * 8 * 3).map((_, i) => Math.sin(i));
    const mean = [0, 1].map((b) =>
      [0, 1, 2].map((c) => {
        let s = 0;
        for (let p = 0; p < 64; p++) s += x[b * 192 + 3 * p + c]!;
        return s / 64;
      }),
    );
    const gap = mean.map((m) => [0, 1, 2, 3].map((f) => B[f]! + m.reduce((s, v, c) => s + v * W[c * 4 + f]!, 0)));
    const before = tf.memory().numTensors;
    const ex = await createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json'), outputLayer: 'gap' });
    expect([ex.dim, ex.inputSize]).toEqual([4, 8]);
    const f = await ex.extract(x, 2);
    gap.flat().forEach((v, i) => expect(f[i]).toBeCloseTo(v, 5));
    const full = await createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json') });
    expect(full.dim).toBe(2);
    const logits = await full.extract(x, 2);
    const want = gap.flatMap((g) => [0, 1].map((o) => g.reduce((s, v, k) => s + v * D[k * 2 + o]!, 0)));
    want.forEach((v, i) => expect(logits[i]).toBeCloseTo(v, 5));
    expect(ex.id).not.toBe(full.id);
    ex.dispose();
    full.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json'), outputLayer: 'nope' })).rejects.toThrow(
      /outputLayer: expected one of the layers: conv, gap, logits/,
    );
    await expect(createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json'), inputSize: 32 })).rejects.toThrow(/input shape: expected \[batch, 32, 32, 3\]/);
    await expect(createExtractor('tfjs-model', {})).rejects.toThrow(/modelPath: expected the path of a model.json/);
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['missing.bin'], weights: [] }] }));
    await expect(createExtractor('tfjs-model', { modelPath: path.join(dir, 'bad.json') })).rejects.toThrow(/weightsManifest\[0\]\.paths: expected a readable weight file/);
  });

  it('loads a Graph model (GraphDef JSON with weights) and runs a named node', async () => {
    const where = path.join(dir, 'graph');
    fs.mkdirSync(where, { recursive: true });
    const dims = (...s: number[]) => ({ dim: s.map((v) => ({ size: String(v) })) });
    const topology = {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims(-1, 4, 4, 3) } } },
        { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } } } },
        { name: 'mean', op: 'Mean', input: ['x', 'axes'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 2) } } } },
        { name: 'out', op: 'MatMul', input: ['mean', 'w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
      ],
      versions: { producer: 1 },
    };
    const weights = Buffer.concat([Buffer.from(new Int32Array([1, 2]).buffer), Buffer.from(new Float32Array([1, 0, 0, 1, 1, 1]).buffer)]);
    fs.writeFileSync(path.join(where, 'group1-shard1of1.bin'), weights);
    fs.writeFileSync(
      path.join(where, 'model.json'),
      JSON.stringify({
        format: 'graph-model',
        modelTopology: topology,
        weightsManifest: [
          {
            paths: ['group1-shard1of1.bin'],
            weights: [
              { name: 'axes', shape: [2], dtype: 'int32' },
              { name: 'w', shape: [3, 2], dtype: 'float32' },
            ],
          },
        ],
      }),
    );
    const x = new Float32Array(4 * 4 * 3).map((_, i) => i % 3); // channel c has value c everywhere
    const out = await createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json') });
    expect([out.dim, out.inputSize]).toEqual([2, 4]);
    expect(Array.from(await out.extract(x, 1))).toEqual([0 + 2, 1 + 2]); // mean (0,1,2) · w
    const mean = await createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json'), outputLayer: 'mean' });
    expect(Array.from(await mean.extract(x, 1))).toEqual([0, 1, 2]);
    out.dispose();
    mean.dispose();
  });

  it('turns an image folder into features with a user model (cached by model hash)', async () => {
    const where = path.join(dir, 'tiny2');
    await saveTinyModel(where);
    const root = path.join(dir, 'imgs');
    for (const c of ['a', 'b']) fs.mkdirSync(path.join(root, c), { recursive: true });
    const { PNG } = await import('pngjs');
    for (const [c, v] of [
      ['a', 10],
      ['b', 200],
    ] as const) {
      const png = new PNG({ width: 5, height: 5 });
      png.data.fill(v);
      for (let p = 0; p < 25; p++) png.data[4 * p + 3] = 255;
      fs.writeFileSync(path.join(root, c, '1.png'), PNG.sync.write(png));
    }
    const ex = await createExtractor('tfjs-model', { modelPath: path.join(where, 'model.json'), outputLayer: 'gap' });
    const fsx = await extractFeatures(readImageFolder(root), ex, { preprocessing: preprocessingFor('none', 8), cacheDir: path.join(dir, 'cache'), progress: false });
    // grey v → every channel v/255 → gap = b + (v/255)·ΣW[:, f]
    const col = [0, 1, 2, 3].map((f) => W[f]! + W[4 + f]! + W[8 + f]!);
    expect(fsx.classes.map((c) => c.label)).toEqual(['a', 'b']);
    fsx.classes.forEach((c, k) => col.forEach((s, f) => expect(c.data[f]).toBeCloseTo(B[f]! + ((k === 0 ? 10 : 200) / 255) * s, 5)));
    ex.dispose();
  });
});
