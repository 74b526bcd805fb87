import * as tf from '@tensorflow/tfjs-core';
import { graphConfig, initBackend, isMetaD2AException, type FeatureSet } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { mbv3, nb201, type Nb201Cell } from '@metad2a/search-spaces';
import { GeneratorModel } from '@metad2a/graph-generator';
import { generateCandidates, sampleCandidates } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' }); // the set encoder of 16 batches × [100, 60, 512] is ~80× slower on the cpu backend
});

/** The fixture's inputs as a dataset: class c = rows 20c..20c+19 of every batch row (4 × 20 = 80 per class). */
function fixtureDataset(fx: GoldenFixture): FeatureSet {
  const X = fx.tensor('input.X');
  const [B, rows, d] = X.shape as [number, number, number];
  const C = (fx.manifest.config as { classes: number }).classes;
  const per = rows / C;
  return {
    name: `${fx.name} input.X`,
    dim: d,
    classes: Array.from({ length: C }, (_, c) => {
      const data = new Float32Array(B * per * d);
      for (let b = 0; b < B; b++) data.set(X.data.subarray((b * rows + c * per) * d, (b * rows + (c + 1) * per) * d), b * per * d);
      return { label: `class ${c}`, count: B * per, data };
    }),
  };
}

describe('generateCandidates (NB201, fixture weights)', () => {
  let model: GeneratorModel;
  let dataset: FeatureSet;
  beforeAll(async () => {
    const fx = GoldenFixture.load('gen-nb201');
    model = new GeneratorModel({ graphConfig: graphConfig(7, 8), seed: 0 });
    model.loadParameters(fx.params());
    dataset = fixtureDataset(fx);
  });
  afterAll(() => model.dispose());

  it('returns 500 unique valid architectures, reproducibly from the seed', async () => {
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const a = await generateCandidates(model, dataset, 500, { space: nb201, seed: 42 });
    const ms = performance.now() - t0;
    console.log(`generate 500: ${ms.toFixed(0)} ms, ${a.batches} batches, ${a.attempts} graphs, ${a.valid} valid`);
    expect(a.strings).toHaveLength(500);
    expect(new Set(a.strings).size).toBe(500);
    a.graphs.forEach((g, i) => {
      expect(nb201.isValid(g)).toBe(true);
      expect(nb201.format(a.architectures[i] as Nb201Cell)).toBe(a.strings[i]);
    });
    expect(a.valid).toBeLessThanOrEqual(a.attempts);
    expect(tf.memory().numTensors).toBe(before);
    const b = await generateCandidates(model, dataset, 500, { space: nb201, seed: 42 });
    expect(b.strings).toEqual(a.strings);
    const c = await generateCandidates(model, dataset, 50, { space: nb201, seed: 43 });
    expect(c.strings).not.toEqual(a.strings.slice(0, 50));
  });

  it('gives the same candidates with and without the projection cache of the first SAB', async () => {
    const before = tf.memory().numTensors;
    const cached = await generateCandidates(model, dataset, 60, { space: nb201, seed: 5, batchSize: 20 });
    const plain = await generateCandidates(model, dataset, 60, { space: nb201, seed: 5, batchSize: 20, projectionCache: false });
    expect(cached.strings).toEqual(plain.strings);
    expect(cached.attempts).toBe(plain.attempts);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops with a clear error when the attempts run out, and rejects a space of other graphs', async () => {
    let err: unknown;
    try {
      await generateCandidates(model, dataset, 500, { space: nb201, seed: 1, maxAttempts: 150 });
    } catch (e) {
      err = e;
    }
    expect(isMetaD2AException(err, 'ValidationError')).toBe(true);
    expect((err as Error).message).toMatch(/500 unique valid nb201 architectures within 150 decoded graphs.*after 150 graphs/);
    await expect(generateCandidates(model, dataset, 5, { space: mbv3, seed: 1 })).rejects.toThrow(/nvt 7 and maxN 8/);
  });

  it('ends with a clear message when generation stops finding new architectures (no hang even with a huge maxAttempts)', async () => {
    // a space with only 3 distinct architectures: the 4th never comes
    const three = { ...nb201, format: (c: Nb201Cell) => `class ${c[0]! % 3}` };
    let err: unknown;
    const t0 = performance.now();
    try {
      await generateCandidates(model, dataset, 4, { space: three, seed: 1, maxAttempts: 1e12, maxStallAttempts: 300 });
    } catch (e) {
      err = e;
    }
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(isMetaD2AException(err, 'ValidationError')).toBe(true);
    expect((err as Error).message).toMatch(
      /generate: maxStallAttempts: expected 4 unique valid nb201 architectures, got [0-3] unique after \d+ graphs and no new one in the last \d+ \(generation stopped finding new architectures/,
    );
  });

  it('pools the resamples into one set per graph in the MBv3 protocol (resampling: pooled)', async () => {
    const seen: number[] = [];
    const r = await generateCandidates(model, dataset, 3, { space: nb201, seed: 9, batchSize: 10, resampling: 'pooled', onProgress: (p) => seen.push(p.attempts) });
    expect(r.strings).toHaveLength(3);
    expect(new Set(r.strings).size).toBe(3);
    expect(r.attempts).toBe(r.batches); // one graph per iteration
    expect(seen).toEqual(Array.from({ length: r.batches }, (_, i) => i + 1));
    expect((await generateCandidates(model, dataset, 3, { space: nb201, seed: 9, batchSize: 10, resampling: 'pooled' })).strings).toEqual(r.strings);
  });

  it('sampleCandidates: exactly the requested decodes, drawn as generation draws them, every valid one kept with its repeats', async () => {
    const before = tf.memory().numTensors;
    const gen = await generateCandidates(model, dataset, 40, { space: nb201, seed: 11, batchSize: 20 });
    const seen: number[] = [];
    const s = await sampleCandidates(model, dataset, gen.attempts, { space: nb201, seed: 11, batchSize: 20, onProgress: (p) => seen.push(p.done) });
    // the same decodes in the same order: generation stopped at its 40th new architecture, the sample at the same decode
    expect(s.attempts).toBe(gen.attempts);
    expect(s.strings).toEqual(gen.strings);
    expect(s.valid).toBe(gen.valid);
    expect(s.batches).toBe(gen.batches);
    expect(seen).toEqual(Array.from({ length: s.batches }, (_, i) => Math.min(20 * (i + 1), gen.attempts)));
    // members: every valid decode in order, repeats kept; the distinct ones are `strings` in first-seen order
    expect(s.members).toHaveLength(s.valid);
    const keys = s.members.map((c) => nb201.format(c as Nb201Cell));
    expect([...new Set(keys)]).toEqual(s.strings);
    expect(s.unique).toBe(s.strings.length);
    // a count that is no multiple of the batch: the first `decodes` of the same decodes
    const fewer = gen.attempts - 5;
    const odd = await sampleCandidates(model, dataset, fewer, { space: nb201, seed: 11, batchSize: 20 });
    expect([odd.attempts, odd.batches]).toEqual([fewer, Math.ceil(fewer / 20)]);
    expect(odd.members.map((c) => nb201.format(c as Nb201Cell))).toEqual(keys.slice(0, odd.valid));
    expect(odd.valid).toBeGreaterThanOrEqual(s.valid - 5);
    expect(tf.memory().numTensors).toBe(before);
    await expect(sampleCandidates(model, dataset, 0, { space: nb201, seed: 1 })).rejects.toThrow(/sample: decodes: expected a positive integer, got 0/);
    await expect(sampleCandidates(model, dataset, 5, { space: mbv3, seed: 1 })).rejects.toThrow(/nvt 7 and maxN 8/);
  });
});
