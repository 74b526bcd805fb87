/**
 * `npm run bench -- generator [--backend wasm] [--classes 10] [--n 500] [--json]`: the graph
 * generator's parts with the golden fixtures' weights — batched JS decode of 100 graphs (NB201 and
 * MBv3), one teacher-forced loss + gradient at batch 32 (NB201), and a seeded generate of n
 * NB201 architectures for a random C-class dataset (set encoding included). Prints medians.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, describeBackend, graphConfig, initBackend, type BackendName, type FeatureSet } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { GeneratorModel, decodeBatch, prepareDecoderWeights } from '@metad2a/graph-generator';
import { generateCandidates } from '@metad2a/search';
import { nb201 } from '@metad2a/search-spaces';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const opt = (k: string, d: string): string => {
    const i = args.indexOf(`--${k}`);
    return i >= 0 && args[i + 1] ? args[i + 1]! : d;
  };
  const backend = opt('backend', 'wasm') as BackendName;
  const classes = Number(opt('classes', '10'));
  const n = Number(opt('n', '500'));
  console.log(describeBackend(await initBackend({ prefer: backend })));
  const out: Record<string, number> = {};
  const models: Record<string, GeneratorModel> = {};
  for (const [name, nvt, maxN] of [
    ['gen-nb201', 7, 8],
    ['gen-mbv3', 29, 22],
  ] as const) {
    const m = new GeneratorModel({ graphConfig: graphConfig(nvt, maxN), seed: 0 });
    m.loadParameters(GoldenFixture.load(name).params());
    models[name] = m;
    const w = prepareDecoderWeights(m.decoderWeights(), m.graphConfig);
    const z = new Rng(1).normalArray(100 * m.latentDim);
    const ts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      decodeBatch(w, m.graphConfig, z, 100, { stochastic: true, rng: new Rng(i) });
      ts.push(performance.now() - t);
    }
    out[`decode100_${name}_ms`] = median(ts);
  }
  const gen = models['gen-nb201']!;
  const fx = GoldenFixture.load('gen-nb201');
  const graphs = (fx.manifest.graphs as { types: number[]; edges: [number, number][] }[]).map((g) => ({ types: g.types, edges: g.edges }));
  const batch = Array.from({ length: 32 }, (_, i) => graphs[i % graphs.length]!);
  const x = tf.randomNormal([32, 400, gen.inputDim]) as tf.Tensor3D;
  const ts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const { value, grads } = gen.store.valueAndGrads(() => gen.loss(x, { classes: 20, perClass: 20 }, batch).loss, gen.usedParameterNames());
    value.dataSync();
    value.dispose();
    grads.forEach((g) => g.dispose());
    ts.push(performance.now() - t);
  }
  x.dispose();
  out.loss_grad_b32_nb201_ms = median(ts);
  const rng = new Rng(5);
  const d = gen.inputDim;
  const ds: FeatureSet = { name: 'random', dim: d, classes: Array.from({ length: classes }, (_, c) => ({ label: `c${c}`, count: 200, data: rng.normalArray(200 * d) })) };
  const t = performance.now();
  const res = await generateCandidates(gen, ds, n, { space: nb201, seed: 0 });
  out[`generate${n}_nb201_c${classes}_ms`] = performance.now() - t;
  out.generate_batches = res.batches;
  out.generate_attempts = res.attempts;
  for (const m of Object.values(models)) m.dispose();
  for (const [k, v] of Object.entries(out)) console.log(`${k}: ${Number.isInteger(v) ? v : v.toFixed(1)}`);
  if (args.includes('--json')) console.log(JSON.stringify(out));
}
