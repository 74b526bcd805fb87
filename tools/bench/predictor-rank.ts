/**
 * `npm run bench -- predictor-rank [--candidates 500] [--resamples 10] [--classes 10] [--hs 512] [--backend B] [--reps 3] [--json]`
 *
 * Times the search's ranking stage (`scoreGraphs` of `@metad2a/search`) on the NB201 meta-test workload (spec §3.6 step 2): N random
 * canonical NB201 cells, K resampled copies of a synthetic dataset of C classes × 50 rows of 512
 * features, official sizes (hs 512, nz 56). Reports the median of `reps` runs after one warm-up,
 * and the split between graph encoding, dataset encoding and the head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, modelSpecs, drawDatasetBatch, graphConfig, initBackend, describeBackend, type ArchGraph, type BackendName, type FeatureSet } from '@metad2a/core';
import { PredictorModel } from '@metad2a/perf-predictor';
import { nb201CellGraph } from '@metad2a/fixtures';
import { scoreGraphs } from '@metad2a/search';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const N = arg(args, 'candidates', 500);
  const K = arg(args, 'resamples', 10);
  const C = arg(args, 'classes', 10);
  const official = modelSpecs.get('nb201-official');
  const hs = arg(args, 'hs', official.predictor.hs);
  const dim = official.predictor.inputDim;
  const reps = arg(args, 'reps', 3);
  const bi = args.indexOf('--backend');
  const choice = await initBackend({ prefer: bi >= 0 ? (args[bi + 1] as BackendName) : undefined });
  const rng = new Rng(1);
  const keys = new Set<string>();
  const cands: ArchGraph[] = [];
  while (cands.length < N) {
    const ops = Array.from({ length: 6 }, () => rng.int(5));
    const k = ops.join('');
    if (keys.has(k)) continue;
    keys.add(k);
    cands.push(nb201CellGraph(ops));
  }
  const dataset: FeatureSet = {
    name: 'synthetic',
    dim,
    classes: Array.from({ length: C }, (_, c) => ({ label: String(c), count: 50, data: rng.uniformArray(50 * dim, -1, 1) })),
  };
  const model = new PredictorModel({ graphConfig: graphConfig(7, 8), hs, rng: new Rng(2), normalisation: official.normalisation! });
  await scoreGraphs(model, dataset, cands, { resamples: K, seed: 0 }); // warm-up
  const total: number[] = [];
  const graphs: number[] = [];
  const data: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    await scoreGraphs(model, dataset, cands, { resamples: K, seed: r });
    total.push(performance.now() - t0);
    t0 = performance.now();
    const g = model.encodeGraphs(cands);
    g.dataSync();
    graphs.push(performance.now() - t0);
    g.dispose();
    t0 = performance.now();
    const b = drawDatasetBatch(dataset, 20, K, new Rng(r));
    const x = tf.tensor3d(b.data, b.shape);
    const d = model.encodeDataset(x, b.layout);
    d.dataSync();
    data.push(performance.now() - t0);
    tf.dispose([x, d]);
  }
  const out = {
    backend: choice.name,
    candidates: N,
    resamples: K,
    classes: C,
    hs,
    rank_ms: median(total),
    graph_encoding_ms: median(graphs),
    dataset_encoding_ms: median(data),
    reps,
  };
  console.log(describeBackend(choice));
  console.log(
    `rank ${N} candidates × ${K} resamples (C = ${C}, hs = ${hs}): ${out.rank_ms.toFixed(0)} ms (median of ${reps}); graph encoding ${out.graph_encoding_ms.toFixed(0)} ms, dataset encoding ${out.dataset_encoding_ms.toFixed(0)} ms`,
  );
  if (args.includes('--json')) console.log(JSON.stringify(out));
  model.dispose();
}
