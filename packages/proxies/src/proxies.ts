import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, validationError, zeroCostProxies, type ImageBatch, type ZeroCostProxy, type ZeroCostProxyOptions } from '@metad2a/core';
import { TinyNetwork, splitImages, type ImageDataset } from '@metad2a/arch-trainer';
import { naswot } from './naswot';
import { synflow } from './synflow';

/** NB201's benchmark network: C 16, N 5 (the TinyNetwork both proxies were published on). */
export const NB201_PROXY_NETWORK = { C: 16, N: 5 } as const;

function checkBatch(batch: ImageBatch, source: string): void {
  const [n, h, w, c] = batch.shape;
  if (!batch.shape.every((s) => Number.isInteger(s) && s > 0) || batch.images.length !== n * h * w * c) {
    throw new MetaD2AException(
      validationError({
        source,
        field: 'batch',
        expected: 'NHWC images matching shape [n, height, width, channels]',
        got: `${batch.images.length} values for [${batch.shape.join(', ')}]`,
      }),
    );
  }
}

/** The TinyNetwork of an NB201 cell with seeded initial weights, for the batch's channels. */
function networkFor(arch: string, batch: ImageBatch, opts: ZeroCostProxyOptions): TinyNetwork {
  return new TinyNetwork(
    { arch, C: opts.C ?? NB201_PROXY_NETWORK.C, N: opts.N ?? NB201_PROXY_NETWORK.N, numClasses: opts.numClasses, inChannels: batch.shape[3] },
    new Rng(opts.seed),
  );
}

export const NASWOT: ZeroCostProxy = {
  spaces: ['nb201'],
  score(arch, batch, opts) {
    checkBatch(batch, `naswot of ${arch}`);
    if (batch.shape[0] < 2)
      throw new MetaD2AException(
        validationError({
          source: `naswot of ${arch}`,
          field: 'batch',
          expected: 'at least 2 images (the score is a log-determinant over image pairs)',
          got: String(batch.shape[0]),
        }),
      );
    const net = networkFor(arch, batch, opts);
    const x = tf.tensor4d(batch.images, [...batch.shape]);
    try {
      return naswot(net, x).score;
    } finally {
      x.dispose();
      net.dispose();
    }
  },
};

export const SYNFLOW: ZeroCostProxy = {
  spaces: ['nb201'],
  score(arch, batch, opts) {
    checkBatch(batch, `synflow of ${arch}`);
    const net = networkFor(arch, batch, opts);
    try {
      return synflow(net, [batch.shape[1], batch.shape[2], batch.shape[3]]);
    } finally {
      net.dispose();
    }
  },
};

/** Register `naswot` and `synflow` in core's `zeroCostProxies` (idempotent). */
export function registerZeroCostProxies(): void {
  if (!zeroCostProxies.has('naswot'))
    zeroCostProxies.register('naswot', NASWOT, { description: 'NASWOT (Mellor et al. 2021): log-determinant of the binary ReLU-code kernel of a minibatch, untrained network' });
  if (!zeroCostProxies.has('synflow'))
    zeroCostProxies.register('synflow', SYNFLOW, { description: 'synflow (Tanaka et al. 2020): Σ|θ·∂R/∂θ| of the |θ| BN-free network on an all-ones input' });
}

/**
 * A minibatch of a data set for the proxies: `size` images drawn (seeded) from the whole data set,
 * preprocessed as the database recipe's training images (`splitImages` of `@metad2a/arch-trainer`:
 * resize to `inputSize`, grey → RGB, normalisation).
 */
export function proxyBatch(ref: string, opts: { size: number; inputSize: number; seed: number }): ImageBatch & { numClasses: number } {
  if (!Number.isInteger(opts.size) || opts.size < 2)
    throw new MetaD2AException(validationError({ source: `proxy batch of ${ref}`, field: 'size', expected: 'an integer ≥ 2', got: String(opts.size) }));
  const { train } = splitImages(ref, { inputSize: opts.inputSize, maxPerClass: opts.size + 1, seed: opts.seed });
  return { ...proxyBatchOf(train, { size: opts.size, seed: `${opts.seed}|proxy-batch`, source: `proxy batch of ${ref}` }), numClasses: train.numClasses };
}

/** `size` rows of preprocessed images (e.g. a task's training set), drawn by a seeded permutation, as a proxy minibatch. */
export function proxyBatchOf(images: ImageDataset, opts: { size: number; seed: number | string; source: string }): ImageBatch {
  const [n, h, w, c] = images.shape;
  if (!Number.isInteger(opts.size) || opts.size < 2 || opts.size > n)
    throw new MetaD2AException(validationError({ source: opts.source, field: 'size', expected: `an integer in [2, ${n}] (the images available)`, got: String(opts.size) }));
  const rows = new Rng(opts.seed).permutation(n).slice(0, opts.size);
  const per = h * w * c;
  const out = new Float32Array(opts.size * per);
  rows.forEach((r, i) => out.set(images.images.subarray(r * per, (r + 1) * per), i * per));
  return { images: out, shape: [opts.size, h, w, c] };
}

/** Scores of many cells with one proxy (by registry name), with the wall time per cell. */
export function scoreWithProxy(name: string, archs: readonly string[], batch: ImageBatch, opts: ZeroCostProxyOptions): { scores: Float64Array; msPerCell: number } {
  registerZeroCostProxies();
  const proxy = zeroCostProxies.get(name);
  const t0 = Date.now();
  const scores = Float64Array.from(archs, (a) => proxy.score(a, batch, opts));
  return { scores, msPerCell: archs.length ? (Date.now() - t0) / archs.length : 0 };
}
