import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { initBackend, isMetaD2AException } from '@metad2a/core';
import { loadSearchModelEither, runSearch, runSearchEither, type SearchProgress } from '../src';
import { fixtureNb201Model, syntheticFeatures } from './fixture-model';

/** Recorded with the synchronous search before the API became asynchronous: the same seed must give the same result. */
const golden = JSON.parse(fs.readFileSync(path.join(__dirname, 'golden', 'search-seed-2026.json'), 'utf8')) as {
  arch: string[];
  score: number[];
  gen: { attempts: number; valid: number; unique: number; batches: number };
};

let model: ReturnType<typeof fixtureNb201Model>;
const data = syntheticFeatures(4, 30, 11);
const opts = { candidates: 25, resamples: 3, seed: 2026, batchSize: 40 };

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  model = fixtureNb201Model();
});
afterAll(() => model.dispose());

describe('runSearch, asynchronous', () => {
  it('gives the ranking recorded before the API became asynchronous, for the same seed', async () => {
    const r = await runSearch(model, data, opts);
    expect(r.ranking.map((c) => c.arch)).toEqual(golden.arch);
    expect(r.ranking.map((c) => c.score)).toEqual(golden.score.map((x) => Math.fround(x)));
    expect(r.generation).toEqual(golden.gen);
  });

  it('reports each stage in order with done ≤ total, and yields to the event loop between steps', async () => {
    const seen: SearchProgress[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await runSearch(model, data, { ...opts, onProgress: (p) => seen.push(p) });
    } finally {
      clearInterval(timer);
    }
    const gen = seen.filter((p) => p.stage === 'generate');
    const rank = seen.filter((p) => p.stage === 'rank');
    expect(gen).toHaveLength(golden.gen.batches);
    expect(gen.map((p) => p.done)).toEqual([...gen.map((p) => p.done)].sort((a, b) => a - b));
    expect(gen.at(-1)).toMatchObject({ done: 25, total: 25, attempts: golden.gen.attempts, valid: golden.gen.valid, batches: golden.gen.batches });
    expect(seen.indexOf(rank[0]!)).toBe(gen.length); // all of generation, then ranking
    expect(rank).toEqual([{ stage: 'rank', done: 0, total: 25 }]); // 25 graphs: one graph batch, encoded with the scoring
    // then the reference cells of the predicted percentile: 200 draws, the distinct ones in one graph batch
    const reference = seen.filter((p) => p.stage === 'reference');
    expect(seen.slice(gen.length + rank.length)).toEqual(reference);
    expect(reference).toHaveLength(1);
    expect(reference[0]!.total).toBeGreaterThan(190);
    expect(reference[0]!.total).toBeLessThanOrEqual(200);
    expect(ticks).toBeGreaterThan(0);
  });

  it('an aborted signal rejects with an Aborted MetaD2AException and keeps no tensors, at every step', async () => {
    await runSearch(model, data, { ...opts, candidates: 5 }); // fills the models' cached weight layouts
    const steps = golden.gen.batches + 1;
    for (let at = 0; at <= steps; at++) {
      const before = tf.memory().numTensors;
      const ctl = new AbortController();
      let n = 0;
      if (at === 0) ctl.abort('stopped by the test');
      const err = await runSearch(model, data, { ...opts, signal: ctl.signal, onProgress: () => ++n === at && ctl.abort('stopped by the test') }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isMetaD2AException(err, 'Aborted')).toBe(true);
      expect((err as Error).message).toBe("search: got aborted by the caller's AbortSignal (stopped by the test)");
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('Either variants: expected failures as a Left, results as a Right', async () => {
    const bad = await runSearchEither(model, data, { ...opts, candidates: 0 });
    expect(E.isLeft(bad) && bad.left).toMatchObject({ _tag: 'ValidationError', message: 'search options: candidates: expected a positive integer, got 0' });
    const ok = await runSearchEither(model, data, { ...opts, candidates: 3 });
    expect(E.isRight(ok) && ok.right.ranking).toHaveLength(3);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-empty-'));
    const missing = await loadSearchModelEither(dir);
    expect(E.isLeft(missing) && missing.left._tag).toBe('NotFound');
    expect(E.isLeft(missing) && missing.left.message).toMatch(/model\.json: expected a model directory/);
  });
});
