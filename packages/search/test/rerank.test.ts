import * as E from 'fp-ts/lib/Either.js';
import { zeroCostProxies, type ImageBatch } from '@metad2a/core';
import { parseModelManifest, predictionTarget, rerankCandidates } from '@metad2a/search';

const SCORES: Record<string, number> = { a: 1, b: 5, c: 3, d: Number.NaN, e: 100 };
zeroCostProxies.register('test-lookup', { spaces: ['nb201'], score: (arch) => SCORES[arch]! }, { replace: true });
const batch: ImageBatch = { images: new Float32Array(12), shape: [1, 2, 2, 3] };
const ranking = ['a', 'b', 'c', 'd', 'e'].map((arch, i) => ({ arch, rank: i + 1, score: 10 - i }));
const opts = { proxy: 'test-lookup', batch, numClasses: 2, seed: 0 };

describe('rerankCandidates', () => {
  test('combined rank of the first k, by hand; the rest keep their order', async () => {
    // top 4: predictor ranks a1 b2 c3 d4; proxy ranks b1 c2 a3 d4 (NaN last)
    // weight 0.5: a 2, b 1.5, c 2.5, d 4 → b, a, c, d; then e
    const r = await rerankCandidates(ranking, { ...opts, top: 4, weight: 0.5 });
    expect(r.ranking.map((c) => c.arch)).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(r.ranking.map((c) => c.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(r.ranking.map((c) => c.proxyScore)).toEqual([5, 1, 3, Number.NaN, undefined]);
    expect(r.ranking[0]!.score).toBe(9);
    // weight 0: the predictor's order; weight 1: the proxy's
    expect((await rerankCandidates(ranking, { ...opts, top: 4, weight: 0 })).ranking.map((c) => c.arch)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await rerankCandidates(ranking, { ...opts, top: 5, weight: 1 })).ranking.map((c) => c.arch)).toEqual(['e', 'b', 'c', 'a', 'd']);
    // top 2: a (1, 2) and b (2, 1) both combine to 1.5: ties keep the predictor order
    expect((await rerankCandidates(ranking, { ...opts, top: 2, weight: 0.5 })).ranking.map((c) => c.arch)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('bad options', async () => {
    await expect(rerankCandidates(ranking, { ...opts, top: 0, weight: 0.5 })).rejects.toThrow(/top: expected a positive integer/);
    await expect(rerankCandidates(ranking, { ...opts, top: 2, weight: 1.5 })).rejects.toThrow(/weight: expected a number in \[0, 1\]/);
    await expect(rerankCandidates(ranking, { ...opts, proxy: 'nope', top: 2, weight: 0.5 })).rejects.toThrow(/zero-cost proxy registry/);
  });
});

describe('what a model predicts', () => {
  const manifest = (predicts?: unknown): unknown => ({
    format: 'metad2a-model/1',
    space: 'nb201',
    generator: { checkpoint: 'g', config: { hs: 56, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' } },
    predictor: {
      checkpoint: 'p',
      config: { hs: 64, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' },
      normalisation: { mean: 70, std: 5 },
      ...(predicts === undefined ? {} : { predicts }),
    },
  });
  test('the manifest field, or a plain warning', () => {
    const m = parseModelManifest(manifest('top1-test@tiny (%) after training with recipe tiny'), 'model.json');
    expect(E.isRight(m) && predictionTarget(m.right)).toBe('top1-test@tiny (%) after training with recipe tiny');
    const old = parseModelManifest(manifest(), 'model.json');
    expect(E.isRight(old) && predictionTarget(old.right)).toMatch(/unknown scale/);
    const bad = parseModelManifest(manifest(3), 'model.json');
    expect(E.isLeft(bad) && bad.left.message).toMatch(/predictor\.predicts/);
  });
});
