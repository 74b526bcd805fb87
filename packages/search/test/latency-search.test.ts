import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend, modelSpecs, type GraphGenerator, type PreparedGraphDecoder } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { MBV3_GRAPH_CONFIG, mbv3, mbv3Latency, nb201Table, parseMbv3, parseNb201 } from '@metad2a/search-spaces';
import { formatSearchReport, manifestFromSpec, runSearch, searchReportJson, type SearchModel } from '../src';
import { fixtureNb201Model, syntheticFeatures } from './fixture-model';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

const right = <T>(x: E.Either<unknown, T>): T => {
  if (E.isLeft(x)) throw new Error(String(x.left));
  return x.right;
};

describe('latency-constrained search (NB201: HELP measurements)', () => {
  let model: SearchModel;
  const data = syntheticFeatures(5, 30, 1);
  beforeAll(() => {
    model = fixtureNb201Model();
  });
  afterAll(() => model.dispose());

  it('every ranked cell meets the budget; its printed latency is the measurement; over-budget cells were decoded and dropped', async () => {
    const device = 'titan_rtx_1';
    const free = await runSearch(model, data, { candidates: 40, resamples: 2, seed: 3, batchSize: 50, constraints: { device } });
    // the budget: the median latency of what this model generates without one
    const lat = free.ranking.map((c) => c.latencyMs!).sort((a, b) => a - b);
    const budget = lat[20]!;
    expect(lat[39]).toBeGreaterThan(budget);
    const r = await runSearch(model, data, { candidates: 20, resamples: 2, seed: 3, batchSize: 50, constraints: { latencyMaxMs: budget, device } });
    expect(r.ranking).toHaveLength(20);
    for (const c of r.ranking) {
      const measured = nb201Table().latency(right(parseNb201(c.arch)), device);
      expect(c.latencyMs).toBe(measured);
      expect(measured).toBeLessThanOrEqual(budget);
    }
    expect(r.generation.attempts).toBeGreaterThan(r.generation.valid);
    const text = formatSearchReport(r);
    expect(text).toContain(`constraints: ≤ ${budget} ms on titan_rtx_1`);
    expect(text).toMatch(/#\s+pred\.acc\s+pred\.pct\s+MFLOPs\s+Mparams\s+ms titan_rtx_1\s+C10 test/);
    const json = searchReportJson(r) as { top: { latencyMs: number }[]; settings: { constraints: unknown } };
    expect(json.settings.constraints).toEqual({ latencyMaxMs: budget, device: 'titan_rtx_1' });
    expect(json.top.every((c) => c.latencyMs <= budget)).toBe(true);
  });

  it('an infeasible budget, an unknown device and too many candidates for a budget fail before any generation', async () => {
    let decoded = 0;
    const onProgress = (): void => {
      decoded++;
    };
    await expect(runSearch(model, data, { constraints: { latencyMaxMs: 2, device: 'titan_rtx_1' }, onProgress })).rejects.toThrow(
      'search space nb201: latency budget (--latency-max): expected at least 2.48562 ms, the lowest latency any nb201 architecture reaches on titan_rtx_1 (measured), got 2 ms',
    );
    await expect(runSearch(model, data, { constraints: { latencyMaxMs: 5, device: 'h100' }, onProgress })).rejects.toThrow(
      /device \(--device\): expected one of 1080ti_1, .*got "h100"/,
    );
    // 2.5 ms on titan_rtx_1: only a handful of measured cells
    await expect(runSearch(model, data, { candidates: 500, constraints: { latencyMaxMs: 2.5, device: 'titan_rtx_1' }, onProgress })).rejects.toThrow(
      /candidates: expected at most \d+ \(exactly \d+ distinct nb201 architectures satisfy ≤ 2.5 ms on titan_rtx_1\), got 500/,
    );
    expect(decoded).toBe(0);
  });
});

/**
 * MBv3: no trained MBv3 generator exists yet (the fixture's untrained one decodes no valid
 * subnet), so the generator's set encoder is real but its decoder draws uniform subnets from the
 * decode rng — a test double for the decoder only; the constraint filter, ranking (the real
 * pred-mbv3 fixture predictor) and report are the product's.
 */
function samplingMbv3Model(): SearchModel {
  const gen = new GeneratorModel({ graphConfig: MBV3_GRAPH_CONFIG, seed: 0 });
  gen.loadParameters(GoldenFixture.load('gen-mbv3').params());
  const decode: PreparedGraphDecoder = (_z, batch, opts) => Array.from({ length: batch }, () => mbv3.encode(mbv3.sample(opts.rng!)));
  const generator = new Proxy(gen, {
    get: (t, p) => (p === 'preparedDecoder' ? () => decode : typeof Reflect.get(t, p) === 'function' ? (Reflect.get(t, p) as () => unknown).bind(t) : Reflect.get(t, p)),
  }) as GraphGenerator;
  const normalisation = modelSpecs.get('nb201-official').normalisation!;
  const predictor = new PredictorModel({ graphConfig: MBV3_GRAPH_CONFIG, hs: 64, rng: new Rng(0), normalisation });
  predictor.loadParameters(GoldenFixture.load('pred-mbv3').params());
  return {
    manifest: manifestFromSpec('mbv3-official', { predictorHs: 64, normalisation, provenance: { source: 'fixtures gen-mbv3 (set encoder) + pred-mbv3' } }),
    space: mbv3,
    generator,
    predictor,
    dispose: () => {
      gen.dispose();
      predictor.dispose();
    },
  };
}

describe('latency-constrained search (MBv3: the latency model)', () => {
  let model: SearchModel;
  const data = syntheticFeatures(4, 30, 2);
  beforeAll(() => {
    model = samplingMbv3Model();
  });
  afterAll(() => model.dispose());

  it('every ranked subnet meets the budget on the model; over-budget subnets never reach ranking; no tensor leaks', async () => {
    const budget = 5.5;
    const device = 'titan_rtx_1';
    await runSearch(model, data, { candidates: 3, resamples: 1, seed: 1, batchSize: 10 });
    const n0 = tf.memory().numTensors;
    const r = await runSearch(model, data, { candidates: 30, resamples: 2, seed: 4, batchSize: 20, constraints: { latencyMaxMs: budget, device } });
    expect(tf.memory().numTensors).toBe(n0);
    expect(r.ranking).toHaveLength(30);
    for (const c of r.ranking) {
      const ms = mbv3Latency.latencyMs(right(parseMbv3(c.arch)), device);
      expect(c.latencyMs).toBe(ms);
      expect(ms).toBeLessThanOrEqual(budget);
    }
    // uniform subnets: about a third are within 5.5 ms, the rest were dropped in generation
    expect(r.generation.valid).toBe(r.generation.unique);
    expect(r.generation.attempts).toBeGreaterThan(2 * r.generation.valid);
    await expect(runSearch(model, data, { constraints: { latencyMaxMs: 3, device } })).rejects.toThrow(
      /at least 3\.48\d+ ms, the lowest latency any mbv3 architecture reaches on titan_rtx_1 \(latency model\), got 3 ms/,
    );
  });
});
