/**
 * Images → features: preprocess, run an extractor batch by batch (with a TTY progress bar), and
 * cache the result on disk keyed by (data set, extractor, preprocessing, subset), so that a second
 * run reads the features back instead of recomputing them.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCacheDir, fail, type ClassFeatures, type FeatureSet } from '@metad2a/core';
import type { FeatureExtractor } from './extractor';
import { indicesByClass, type ImageDataset } from './images';
import { preprocessInto, preprocessingKey, type Preprocessing } from './preprocess';
import { ttyProgressBar, type ProgressCallback } from './progress';
import { readFeatureFile, writeFeatureFile } from './readers/feature-file';

/** The feature cache folder: `opts.cacheDir`, else {@link defaultCacheDir} of `@metad2a/core`. */
export { defaultCacheDir };

export interface ExtractOptions {
  readonly preprocessing: Preprocessing;
  /** Use only the first `maxPerClass` images of each class (file order); default all. */
  readonly maxPerClass?: number;
  /** Images per extractor call (default 64). */
  readonly batchSize?: number;
  /** `true`: a bar on stderr when it is a TTY (the default); `false`: none; or your own callback. */
  readonly progress?: boolean | ProgressCallback;
  /** Cache folder (see {@link defaultCacheDir}); `cache: false` turns the cache off. */
  readonly cacheDir?: string;
  readonly cache?: boolean;
}

/** The cache key of an extraction: a hash of what determines its features. */
export function featureCacheKey(ds: Pick<ImageDataset, 'fingerprint'>, extractor: Pick<FeatureExtractor, 'id'>, p: Preprocessing, maxPerClass?: number): string {
  const ident = JSON.stringify({ v: 1, data: ds.fingerprint, extractor: extractor.id, preprocessing: preprocessingKey(p), maxPerClass: maxPerClass ?? null });
  return crypto.createHash('sha256').update(ident).digest('hex').slice(0, 32);
}

/** Where an extraction's features are cached (`<cacheDir>/<key>.features.json`). */
export function featureCachePath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.features.json`);
}

/** Extract (or read back from the cache) the features of every class of an image data set. */
export async function extractFeatures(ds: ImageDataset, extractor: FeatureExtractor, opts: ExtractOptions): Promise<FeatureSet> {
  const p = opts.preprocessing;
  if (p.size !== extractor.inputSize) {
    fail('ValidationError', { source: `extractor ${extractor.name}`, field: 'preprocessing.size', expected: `its input size ${extractor.inputSize}`, got: String(p.size) });
  }
  const useCache = opts.cache !== false;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const key = featureCacheKey(ds, extractor, p, opts.maxPerClass);
  const cached = featureCachePath(cacheDir, key);
  if (useCache && fs.existsSync(cached)) {
    try {
      const f = readFeatureFile(cached).featureSet;
      if (f.dim === extractor.dim && f.classes.length === ds.classNames.length) return { ...f, name: ds.name };
    } catch {
      /* a damaged cache entry is recomputed and overwritten */
    }
  }
  const byClass = indicesByClass(ds).map((idx) => (opts.maxPerClass !== undefined ? idx.slice(0, opts.maxPerClass) : idx));
  const order = byClass.flat();
  const total = order.length;
  const progress = opts.progress === false ? undefined : typeof opts.progress === 'function' ? opts.progress : ttyProgressBar(`features ${ds.name}`);
  const B = Math.max(1, opts.batchSize ?? 64);
  const px = p.size * p.size * 3;
  const all = new Float32Array(total * extractor.dim);
  for (let s = 0; s < total; s += B) {
    const n = Math.min(B, total - s);
    const batch = new Float32Array(n * px);
    for (let k = 0; k < n; k++) preprocessInto(ds.image(order[s + k]!), p, batch, k * px);
    const f = await extractor.extract(batch, n);
    if (f.length !== n * extractor.dim)
      fail('ShapeMismatch', { source: `extractor ${extractor.name}`, field: 'output', expected: `${n}×${extractor.dim} values for ${n} images`, got: String(f.length) });
    all.set(f, s * extractor.dim);
    progress?.(s + n, total);
  }
  let row = 0;
  const classes: ClassFeatures[] = byClass.map((idx, k) => {
    const data = all.subarray(row * extractor.dim, (row + idx.length) * extractor.dim);
    row += idx.length;
    return { label: ds.classNames[k]!, count: idx.length, data };
  });
  const out: FeatureSet = { name: ds.name, dim: extractor.dim, classes };
  if (useCache) writeFeatureFile(cached, out, { extractor: extractor.id, preprocessing: preprocessingKey(p) });
  return out;
}
