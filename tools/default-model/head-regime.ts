/**
 * Where a predictor's head works, and whether its ranking can depend on the data set (#18). The
 * head is the official `Linear(2nz → hs) → tanh → Linear(hs → 1)` on `[D; G]`: while its
 * pre-activations stay where tanh is linear (|x| ≲ 0.3), the score is a sum of a data-set term and a
 * cell term, so every data set gets the same ranking. For each data set (its first `--per-class`
 * feature rows per class, one draw, as `metad2a search` extracts them) and every NB201 cell this
 * prints the spread of D across the data sets, the spread of each half of the first layer's
 * pre-activation, the |pre-activation| quantiles over (data set, cell) pairs, and the Spearman
 * between two data sets' full scores (head + prior anchor) over all 15,625 cells.
 *
 *   npx tsx tools/default-model/head-regime.ts [--model packages/default-model/models/nb201] \
 *     [--datasets builtin:mnist,builtin:digits,source:shapes,source:glyphs-latin-sans,source:textures] [--per-class 20]
 */
import * as tf from '@tensorflow/tfjs-core';
import { anchorOffsets, fail, initBackend, spearman } from '@metad2a/core';
import { PredictorModel } from '@metad2a/perf-predictor';
import { loadSearchFeatures, loadSearchModel } from '@metad2a/search';
import { enumerateNb201, nb201 } from '@metad2a/search-spaces';
import { toolFlags } from './tool-flags';
import '@metad2a/tfjs-kernels';

const { arg, integer } = toolFlags('head-regime');

const meanOf = (v: readonly number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
const sd = (v: readonly number[]): number => {
  const m = meanOf(v);
  return Math.sqrt(meanOf(v.map((x) => (x - m) ** 2)));
};
/** Mean over the columns of `rows` of each column's sd over the rows. */
const meanColumnSd = (rows: readonly (readonly number[])[]): number => meanOf(rows[0]!.map((_, j) => sd(rows.map((r) => r[j]!))));

async function main(): Promise<void> {
  await initBackend();
  const dir = arg('model') ?? 'packages/default-model/models/nb201';
  const datasets = (arg('datasets') ?? 'builtin:mnist,builtin:digits,source:shapes,source:glyphs-latin-sans,source:textures').split(',');
  const perClass = integer('per-class', 20);
  const model = await loadSearchModel(dir);
  const p = model.predictor;
  if (!(p instanceof PredictorModel) || model.space.name !== 'nb201')
    fail('ValidationError', { source: 'head-regime', field: '--model', expected: 'an NB201 model with the official predictor head', got: dir });
  const cells = [...enumerateNb201()];
  const graphs = cells.map((c) => nb201.encode(c));
  const anchor = anchorOffsets(p.anchor, nb201, cells);
  const { nz, hs } = p;
  // every cell's graph embedding once (kept for the data sets' scores), and its half of the first layer's pre-activation
  const G = p.encodeGraphs(graphs); // [N, nz]
  const graphHalf = tf.tidy(() => tf.matMul(G, tf.slice(p.predFc0.weight, [0, nz], [hs, nz]), false, true).arraySync() as number[][]); // [N, hs]
  const D: number[][] = [];
  const dataHalf: number[][] = [];
  const scores: Float64Array[] = [];
  for (const name of datasets) {
    const f = await loadSearchFeatures(model, name);
    const x = new Float32Array(f.classes.length * perClass * f.dim);
    f.classes.forEach((c, i) => {
      if (c.count < perClass) fail('ValidationError', { source: `head-regime: ${name}`, field: `class ${c.label}`, expected: `at least ${perClass} rows`, got: String(c.count) });
      x.set(c.data.subarray(0, perClass * f.dim), i * perClass * f.dim);
    });
    const r = tf.tidy(() => {
      const d = p.encodeDataset(tf.tensor3d(x, [1, f.classes.length * perClass, f.dim]), { classes: f.classes.length, perClass });
      const a = tf.add(tf.matMul(d, tf.slice(p.predFc0.weight, [0, 0], [hs, nz]), false, true), p.predFc0.bias!);
      const s = p.scorePairs(d, G);
      return { d: (d.arraySync() as number[][])[0]!, a: (a.arraySync() as number[][])[0]!, s: (s.arraySync() as number[][])[0]! };
    });
    D.push(r.d);
    dataHalf.push(r.a);
    scores.push(Float64Array.from(r.s, (v, i) => v + (anchor?.[i] ?? 0)));
  }
  G.dispose();
  const pre: number[] = [];
  for (const a of dataHalf) for (let n = 0; n < graphHalf.length; n += 25) for (let j = 0; j < hs; j++) pre.push(Math.abs(a[j]! + graphHalf[n]![j]!));
  pre.sort((u, v) => u - v);
  const q = (f: number) => pre[Math.min(pre.length - 1, Math.floor(f * pre.length))]!;
  const agreement = datasets.flatMap((a, i) => datasets.slice(i + 1).map((b, k) => ({ a, b, spearman: spearman(scores[i]!, scores[i + 1 + k]!) })));
  const first = datasets.map((name, i) => ({ dataset: name, cell: nb201.format(cells[scores[i]!.indexOf(Math.max(...scores[i]!))]!) }));
  console.log(
    JSON.stringify(
      {
        model: dir,
        datasets,
        cells: cells.length,
        datasetEmbedding: { meanAbs: meanOf(D.flat().map(Math.abs)), sdAcrossDatasets: meanColumnSd(D) },
        preActivation: {
          datasetHalfSdAcrossDatasets: meanColumnSd(dataHalf),
          cellHalfSdAcrossCells: meanColumnSd(graphHalf),
          absMedian: q(0.5),
          absP95: q(0.95),
          shareAbove2: pre.filter((v) => v > 2).length / pre.length,
        },
        agreement,
        firstCell: first,
      },
      null,
      1,
    ),
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
