import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, drawClassSamples } from '@metad2a/core';
import {
  builtinImages,
  createExtractor,
  createRandomConv,
  defaultCacheDir,
  extractFeatures,
  featureExtractors,
  loadFeatureSet,
  preprocessingFor,
  preprocessInto,
  RANDOM_CONV_DEFAULTS,
  resolveDataset,
  sampleDataset,
  ttyProgressBar,
  type FeatureExtractor,
} from '../src';
import { messageOf, tmpDir } from './helpers';

const cacheDir = tmpDir('cache');

/** Wraps an extractor and counts the images it is asked for. */
function counting(inner: FeatureExtractor): FeatureExtractor & { images: number } {
  const c = {
    ...inner,
    images: 0,
    extract: async (x: Float32Array, b: number) => {
      c.images += b;
      return inner.extract(x, b);
    },
  };
  return c;
}

describe('random-conv extractor', () => {
  it('is registered with identity; gives 512 non-negative features, deterministic from its seed', async () => {
    expect(featureExtractors.names()).toEqual(expect.arrayContaining(['identity', 'random-conv']));
    const ds = builtinImages('fashion-mnist');
    const p = preprocessingFor('fashion-mnist');
    const x = new Float32Array(2 * 32 * 32 * 3);
    preprocessInto(ds.image(0), p, x, 0);
    preprocessInto(ds.image(1), p, x, 32 * 32 * 3);
    const a = await createExtractor('random-conv', { seed: 3 });
    expect(a.dim).toBe(512);
    const fa = await a.extract(x, 2);
    const fb = await (await createExtractor('random-conv', { seed: 3 })).extract(x, 2);
    const fc = await (await createExtractor('random-conv', { seed: 4 })).extract(x, 2);
    expect(fa).toHaveLength(1024);
    expect(Array.from(fa)).toEqual(Array.from(fb));
    expect(Array.from(fa)).not.toEqual(Array.from(fc));
    expect(fa.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
    expect(fa.filter((v) => v > 0).length).toBeGreaterThan(100);
    // A batch of 2 equals the two images extracted one by one.
    const single = await a.extract(x.subarray(32 * 32 * 3), 1);
    expect(Array.from(single)).toEqual(Array.from(fa.subarray(512)));
    expect(a.id).toBe('random-conv:v1:seed=3:f=16:k=5:g=4:t=0.5:in=32');
    expect(() => createRandomConv({ ...RANDOM_CONV_DEFAULTS, grid: 3, seed: 0, inputSize: 32 })).toThrow(/grid: expected a divisor of inputSize − kernel \+ 1 = 28/);
  });

  it('gives the v1 features bit for bit (golden digest of three Fashion-MNIST images, seed 0)', async () => {
    // digest and values recorded with the v1 pixel-by-pixel loop; the filter-by-filter loop must not change one bit
    const ds = builtinImages('fashion-mnist');
    const p = preprocessingFor('fashion-mnist');
    const x = new Float32Array(3 * 32 * 32 * 3);
    for (let i = 0; i < 3; i++) preprocessInto(ds.image(i * 7), p, x, i * 32 * 32 * 3);
    const f = await (await createExtractor('random-conv', { seed: 0 })).extract(x, 3);
    expect(
      createHash('sha256')
        .update(Buffer.from(f.buffer, f.byteOffset, f.byteLength))
        .digest('hex'),
    ).toBe('17c810c6b6d35ddad9c01bf07c61a0b319156a30617ab7e0b2869feeabf9f9ce');
    expect(f[1000]).toBe(Math.fround(0.025071708485484123));
    expect(f[1535]).toBe(Math.fround(0.04506155848503113));
  });

  it('separates Fashion-MNIST classes better than raw pixels by nearest centroid (small subset)', async () => {
    const ds = builtinImages('fashion-mnist');
    const fsx = await extractFeatures(ds, await createExtractor('random-conv'), { preprocessing: preprocessingFor('fashion-mnist'), maxPerClass: 40, cacheDir, progress: false });
    // centroids from the first 20 images of each class, accuracy on the next 20
    const acc = (rows: (k: number, j: number) => Float32Array, dim: number): number => {
      const cent = Array.from({ length: 10 }, (_, k) => {
        const c = new Float64Array(dim);
        for (let j = 0; j < 20; j++) rows(k, j).forEach((v, d) => (c[d] += v / 20));
        return c;
      });
      let ok = 0;
      for (let k = 0; k < 10; k++)
        for (let j = 20; j < 40; j++) {
          const r = rows(k, j);
          const dist = cent.map((c) => c.reduce((s, v, d) => s + (v - r[d]!) ** 2, 0));
          if (dist.indexOf(Math.min(...dist)) === k) ok++;
        }
      return ok / 200;
    };
    const feat = acc((k, j) => fsx.classes[k]!.data.subarray(j * 512, (j + 1) * 512), 512);
    const byClass = Array.from({ length: 10 }, (_, k) =>
      Array.from(ds.labels.keys())
        .filter((i) => ds.labels[i] === k)
        .slice(0, 40),
    );
    const raw = acc((k, j) => Float32Array.from(ds.image(byClass[k]![j]!).data, (v) => v / 255), 784);
    expect(feat).toBeGreaterThan(0.6);
    expect(feat).toBeGreaterThanOrEqual(raw);
  });
});

describe('extraction with the feature cache', () => {
  it('extracts once, writes the cache atomically, and reads it back on the second run', async () => {
    const ds = builtinImages('digits');
    const ex = counting(await createExtractor('random-conv'));
    const calls: [number, number][] = [];
    const opts = { preprocessing: preprocessingFor('digits'), maxPerClass: 5, cacheDir, batchSize: 16, progress: (d: number, t: number) => calls.push([d, t]) };
    const a = await extractFeatures(ds, ex, opts);
    expect(ex.images).toBe(50);
    expect(calls[calls.length - 1]).toEqual([50, 50]);
    expect(calls.map((c) => c[0])).toEqual([16, 32, 48, 50]);
    expect(a.classes.map((c) => c.count)).toEqual(Array(10).fill(5));
    const files = fs.readdirSync(cacheDir);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.features.json')).length).toBeGreaterThanOrEqual(1);
    const b = await extractFeatures(ds, ex, opts);
    expect(ex.images).toBe(50); // nothing recomputed
    expect(Array.from(b.classes[7]!.data)).toEqual(Array.from(a.classes[7]!.data));
    // Another preprocessing is another cache entry.
    await extractFeatures(ds, ex, { ...opts, preprocessing: preprocessingFor('mnist') });
    expect(ex.images).toBe(100);
    // A damaged entry is recomputed.
    for (const f of fs.readdirSync(cacheDir).filter((f) => f.endsWith('.npy'))) fs.writeFileSync(path.join(cacheDir, f), 'garbage');
    await extractFeatures(ds, ex, opts);
    expect(ex.images).toBe(150);
  });

  it('chooses the cache folder from the option, METAD2A_CACHE_DIR, XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ METAD2A_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(path.join('/x', 'metad2a'));
    expect(defaultCacheDir({})).toMatch(/\.cache[/\\]metad2a$/);
  });

  it('draws a progress bar only on a TTY', () => {
    const out: string[] = [];
    expect(ttyProgressBar('x', { isTTY: false, write: (s) => out.push(s) })).toBeUndefined();
    const bar = ttyProgressBar('feat', { isTTY: true, write: (s) => out.push(s) }, 10)!;
    bar(5, 10);
    bar(10, 10);
    expect(out[out.length - 1]).toMatch(/^\rfeat \[##########\] 10\/10 100\.0% .*\n$/);
  });
});

describe('sampleDataset', () => {
  it('turns builtin:fashion-mnist into a class-contiguous [C*20, 512] sample in one call', async () => {
    const s = await sampleDataset('builtin:fashion-mnist', { perClass: 20, seed: 7, maxPerClass: 30, cacheDir, progress: false });
    expect(s.shape).toEqual([200, 512]);
    expect(s.data).toHaveLength(200 * 512);
    expect(s.layout).toEqual({ classes: 10, perClass: 20 });
    // every row of block k is a row of class k's features
    for (const k of [0, 9]) {
      const c = s.featureSet.classes[k]!;
      for (let r = k * 20; r < (k + 1) * 20; r++) {
        const row = s.data.subarray(r * 512, (r + 1) * 512);
        let found = false;
        for (let j = 0; j < c.count && !found; j++) found = c.data.subarray(j * 512, (j + 1) * 512).every((v, d) => v === row[d]);
        expect(found).toBe(true);
      }
    }
    const again = await sampleDataset('builtin:fashion-mnist', { perClass: 20, seed: 7, maxPerClass: 30, cacheDir, progress: false });
    expect(Array.from(again.data)).toEqual(Array.from(s.data));
    const other = await sampleDataset('builtin:fashion-mnist', { perClass: 20, rng: new Rng(8), maxPerClass: 30, cacheDir, progress: false });
    expect(Array.from(other.data)).not.toEqual(Array.from(s.data));
  });

  it('extracts only the drawn images: the same rows as drawing from the features of every image', async () => {
    const base = await createExtractor('random-conv');
    let images = 0;
    const counting = {
      ...base,
      id: base.id,
      name: base.name,
      dim: base.dim,
      inputSize: base.inputSize,
      extract: (batch: Float32Array, n: number) => ((images += n), base.extract(batch, n)),
      dispose: () => base.dispose(),
    };
    const s = await sampleDataset('builtin:fashion-mnist', { perClass: 20, seed: 3, extractor: counting, cache: false, progress: false });
    expect(images).toBe(200); // 10 classes × 20, not the 10,000 images of the set
    expect(s.featureSet.classes.map((c) => c.count)).toEqual(Array(10).fill(20));
    const all = await loadFeatureSet('builtin:fashion-mnist', { extractor: counting, maxPerClass: 60, cacheDir, progress: false });
    const reference = drawClassSamples(all, 20, new Rng(3));
    const limited = await sampleDataset('builtin:fashion-mnist', { perClass: 20, seed: 3, maxPerClass: 60, extractor: counting, cache: false, progress: false });
    expect(Array.from(limited.data)).toEqual(Array.from(reference));
    base.dispose();
  });

  it('fails clearly when a class has fewer rows than perClass, or on a wrong extractor for features', async () => {
    await expect(sampleDataset('builtin:digits', { perClass: 20, maxPerClass: 10, cacheDir, progress: false })).rejects.toThrow(
      /class 0 \(0\): expected at least 20 samples, got 10/,
    );
    const tiny = path.join(__dirname, 'data', 'tinybylabel.pt');
    await expect(loadFeatureSet(tiny, { extractor: 'random-conv' })).rejects.toThrow(/extractor: expected 'identity'/);
    const s = await sampleDataset(tiny, { perClass: 20, seed: 1 });
    expect(s.shape).toEqual([60, 8]);
  });

  it('reports unknown references and unknown extractors with the accepted forms', async () => {
    expect(messageOf(() => resolveDataset('builtin:cifar7'))).toMatch(/builtin datasets: cifar7: expected one of builtin:mnist, builtin:fashion-mnist, builtin:digits/);
    expect(messageOf(() => resolveDataset('/no/such/place'))).toMatch(
      /\/no\/such\/place: expected builtin:<mnist\|fashion-mnist\|digits>, source:<name> \(a rendered or procedural task source\), an image folder/,
    );
    await expect(createExtractor('resnet-9000')).rejects.toThrow(/feature extractor registry: resnet-9000: expected one of: identity, mobilenetv2, random-conv, tfjs-model/);
  });
});
