import { Rng, graphConfig, initBackend } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { GeneratorModel, decodeBatch } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' }); // the set encoder of 16 batches × [100, 60, 512] is ~80× slower on the cpu backend
});

describe('decodeBatch (NB201, fixture weights)', () => {
  let model: GeneratorModel;
  beforeAll(() => {
    model = new GeneratorModel({ graphConfig: graphConfig(7, 8), seed: 0 });
    model.loadParameters(GoldenFixture.load('gen-nb201').params());
  });
  afterAll(() => model.dispose());

  it('decodes a whole batch stochastically: seeded, at most maxN vertices, END last when complete, edges forward', () => {
    const w = model.decoderWeights();
    const z = new Float32Array(64 * 56).map((_, i) => Math.sin(i) * 0.7);
    const a = decodeBatch(w, model.graphConfig, z, 64, { stochastic: true, rng: new Rng(5) });
    const b = decodeBatch(w, model.graphConfig, z, 64, { stochastic: true, rng: new Rng(5) });
    expect(b.graphs).toEqual(a.graphs);
    for (const g of a.graphs) {
      expect(g.types.length).toBeLessThanOrEqual(8);
      expect(g.types[0]).toBe(0);
      expect(g.types[g.types.length - 1]).toBe(1); // complete, or ended early by a sampled END
      expect(g.types.slice(1, -1)).not.toContain(1);
      for (const [s, t] of g.edges) expect(s).toBeLessThan(t);
      // every vertex but END has a successor: END collected the dangling ones
      const out = new Set(g.edges.map(([s]) => s));
      for (let v = 0; v < g.types.length - 1; v++) expect(out.has(v)).toBe(true);
    }
    // the batch decode equals decoding each graph on its own with the draws it would see
    const det = decodeBatch(w, model.graphConfig, z, 64, { stochastic: false });
    for (let i = 0; i < 64; i += 9) {
      const one = decodeBatch(w, model.graphConfig, z.subarray(i * 56, (i + 1) * 56), 1, { stochastic: false });
      expect(one.graphs[0]).toEqual(det.graphs[i]);
    }
  });

  it('preparedDecoder decodes as decodeBatch with the same draws', () => {
    const z = new Float32Array(16 * 56).map((_, i) => Math.cos(i) * 0.5);
    const prepared = model.preparedDecoder();
    expect(prepared(z, 16, { stochastic: true, rng: new Rng(3) })).toEqual(
      decodeBatch(model.decoderWeights(), model.graphConfig, z, 16, { stochastic: true, rng: new Rng(3) }).graphs,
    );
    expect(() => prepared(z, 16, { stochastic: true })).toThrow(/an Rng for stochastic decoding/);
  });
});
