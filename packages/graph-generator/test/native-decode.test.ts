import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng, getGraphDecodeKernel, graphConfig } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { registerNativeBackend } from '@metad2a/tfjs-kernels';
import { GeneratorModel, decodeBatch, prepareDecoderWeights } from '../src';

// The native backend's graph decoding kernel against the TypeScript loop: same graphs, same
// draws (the rng ends in the same state), same logits and edge probabilities.
const native = registerNativeBackend();

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('native graph decoding kernel', () => {
  beforeAll(async () => {
    expect(native.ok).toBe(true);
    await tf.setBackend('native');
  });

  it('is registered for native only', () => {
    expect(getGraphDecodeKernel('native')).toBeDefined();
    expect(getGraphDecodeKernel('cpu')).toBeUndefined();
  });

  const spaces = [
    { name: 'NB201 fixture weights', cfg: graphConfig(7, 8), hs: 56, fixture: true },
    { name: 'MBv3-sized random weights', cfg: graphConfig(29, 22), hs: 12, fixture: false },
  ];
  for (const sp of spaces) {
    it(`equals the TypeScript decoder, stochastic and deterministic: ${sp.name}`, () => {
      const model = new GeneratorModel({ graphConfig: sp.cfg, hs: sp.hs, nz: sp.hs, inputDim: sp.fixture ? 512 : 16, seed: 3 });
      if (sp.fixture) model.loadParameters(GoldenFixture.load('gen-nb201').params(), { allowExtra: true });
      const w = prepareDecoderWeights(model.decoderWeights(), sp.cfg);
      const B = 150;
      const z = new Float32Array(B * sp.hs).map((_, i) => Math.sin(i * 0.37) * 1.3);
      for (const stochastic of [true, false]) {
        const rngA = new Rng(11);
        const rngB = new Rng(11);
        const modeA = stochastic ? ({ stochastic: true, rng: rngA } as const) : ({ stochastic: false } as const);
        const modeB = stochastic ? ({ stochastic: true, rng: rngB } as const) : ({ stochastic: false } as const);
        const js = decodeBatch(w, sp.cfg, z, B, modeA, { implementation: 'js' });
        const nat = decodeBatch(w, sp.cfg, z, B, modeB);
        expect(nat.graphs).toEqual(js.graphs);
        expect(rngB.state()).toEqual(rngA.state());
        expect(nat.typeLogits).toHaveLength(js.typeLogits.length);
        let worstLogit = 0;
        let nanMismatch = 0;
        js.typeLogits.forEach((v, i) => {
          if (Number.isNaN(v) !== Number.isNaN(nat.typeLogits[i]!)) nanMismatch++;
          else if (!Number.isNaN(v)) worstLogit = Math.max(worstLogit, Math.abs(v - nat.typeLogits[i]!));
        });
        expect(nanMismatch).toBe(0);
        expect(worstLogit).toBeLessThan(1e-5);
        let worstProb = 0;
        js.edgeProbs.forEach((v, i) => (worstProb = Math.max(worstProb, Math.abs(v - nat.edgeProbs[i]!))));
        expect(worstProb).toBeLessThan(1e-6);
        // the decoded population is not trivial: several distinct graphs, some edges added by draws
        expect(new Set(js.graphs.map((g) => JSON.stringify(g))).size).toBeGreaterThan(stochastic ? 10 : 1);
      }
      model.dispose();
    });
  }

  it('rejects a z that is too short with a clear error', () => {
    const cfg = graphConfig(7, 8);
    const model = new GeneratorModel({ graphConfig: cfg, hs: 8, nz: 8, inputDim: 4, seed: 1 });
    const w = prepareDecoderWeights(model.decoderWeights(), cfg);
    expect(() => decodeBatch(w, cfg, new Float32Array(8 * 3), 4, { stochastic: false })).toThrow(/decodeGraphs z: array has 24 elements, needs 32/);
    model.dispose();
  });
});
