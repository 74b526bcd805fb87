/**
 * A research tool for the default model's top-5 (#18): `metad2a bench transfer` with the predictor
 * replaced by the mean of several predictors' scores (an ensemble) and/or its prior anchor's weight
 * scaled, over the first model's generator and candidates. It writes the same reports as the CLI,
 * to compare with `compare-transfer.ts` on the dev plans before any test measurement.
 *
 *   npx tsx tools/default-model/ensemble-transfer.ts --members dirA[,dirB,…] --plan nb201-heldout-dev-v1 \
 *     --db dev.sqlite --out dir [--anchor-scale 1] [--seeds 0,1,2] [--replicates 1] [--proxies none|naswot,synflow --proxy-batch 64 --proxy-pool all] [--name 'what the report calls the model']
 *
 * Members are model directories (`tools/default-model/build.ts` output, or
 * `packages/default-model/models/nb201`) with the same graph encoding, normalisation and a
 * prior-only anchor of the same prior; the ensemble's anchor weight is their mean weight times
 * `--anchor-scale`. Picks the database lacks are trained into it with the plan's recipe (as the
 * CLI does). The ensemble ranks without the set encoder's row-projection fast path (slower, the
 * same scores).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTransferBenchmark, transferMarkdown, transferSvg, writeReport } from '@metad2a/benchmarks';
import { fail, initBackend, type PerfPredictor } from '@metad2a/core';
import { loadSearchModel } from '@metad2a/search';
import { toolFlags } from './tool-flags';
import '@metad2a/tfjs-kernels';

const { arg, required } = toolFlags('ensemble-transfer');

/** A predictor whose score is the mean of its members' (embeddings side by side), anchored on their mean anchor weight × scale. */
function ensemblePredictor(members: readonly PerfPredictor[], anchorScale: number): PerfPredictor {
  const first = members[0]!;
  const widths = members.map((m) => m.nz);
  const anchors = members.map((m, i) => {
    const a = m.anchor;
    if (!a || a.choices || a.prior !== first.anchor?.prior)
      fail('ValidationError', {
        source: 'ensemble-transfer',
        field: `member ${i} anchor`,
        expected: `a prior-only anchor on '${first.anchor?.prior}'`,
        got: JSON.stringify(a ?? null),
      });
    return a;
  });
  const meanOf = (parts: (i: number) => tf.Tensor2D): tf.Tensor2D => tf.div(tf.addN(members.map((_, i) => parts(i))), members.length) as tf.Tensor2D;
  const unsupported = (what: string) => (): never => fail('Unsupported', { source: 'ensemble-transfer', field: what, expected: 'search and ranking only', got: what });
  return {
    graphConfig: first.graphConfig,
    normalisation: first.normalisation,
    nz: widths.reduce((a, b) => a + b, 0),
    inputDim: first.inputDim,
    // no row-projection capability: rankings encode the resampled data sets with encodeDataset
    setEncoder: { kind: 'ensemble' } as unknown as PerfPredictor['setEncoder'],
    fromSetEncoding: unsupported('fromSetEncoding'),
    encodeDataset: (x, layout) =>
      tf.tidy(
        () =>
          tf.concat(
            members.map((m) => m.encodeDataset(x, layout)),
            1,
          ) as tf.Tensor2D,
      ),
    encodeGraphs: (graphs) =>
      tf.tidy(
        () =>
          tf.concat(
            members.map((m) => m.encodeGraphs(graphs)),
            1,
          ) as tf.Tensor2D,
      ),
    head: (d, g) =>
      tf.tidy(() => {
        const [ds, gs] = [tf.split(d, widths, 1) as tf.Tensor2D[], tf.split(g, widths, 1) as tf.Tensor2D[]];
        return meanOf((i) => members[i]!.head(ds[i]!, gs[i]!));
      }),
    scorePairs: (d, g) =>
      tf.tidy(() => {
        const [ds, gs] = [tf.split(d, widths, 1) as tf.Tensor2D[], tf.split(g, widths, 1) as tf.Tensor2D[]];
        return meanOf((i) => members[i]!.scorePairs(ds[i]!, gs[i]!));
      }),
    predict: unsupported('predict'),
    loss: unsupported('loss'),
    normalise: (a) => first.normalise(a),
    denormalise: (s) => first.denormalise(s),
    anchor: { prior: anchors[0]!.prior, weight: (anchorScale * anchors.reduce((s, a) => s + a.weight, 0)) / anchors.length },
    ...(first.calibration ? { calibration: first.calibration } : {}),
    parameters: () => new Map(),
    loadParameters: unsupported('loadParameters'),
    dispose: () => {
      for (const m of members) m.dispose();
    },
  };
}

async function main(): Promise<void> {
  const dirs = required('members').split(',');
  const anchorScale = Number(arg('anchor-scale') ?? 1);
  if (!(anchorScale >= 0)) fail('ValidationError', { source: 'ensemble-transfer', field: '--anchor-scale', expected: 'a number ≥ 0', got: String(arg('anchor-scale')) });
  const seeds = (arg('seeds') ?? '0,1,2').split(',').map(Number);
  const replicates = Number(arg('replicates') ?? 1);
  const proxyList = arg('proxies') ?? 'none';
  const proxies = proxyList === 'none' ? [] : proxyList.split(',');
  const proxyBatch = arg('proxy-batch') === undefined ? undefined : Number(arg('proxy-batch'));
  const proxyPool = arg('proxy-pool') === undefined ? undefined : Number(arg('proxy-pool'));
  const plan = required('plan');
  const db = required('db');
  const out = required('out');
  await initBackend({ prefer: 'native' });
  const models = await Promise.all(dirs.map((d) => loadSearchModel(d)));
  const model = {
    ...models[0]!,
    predictor: ensemblePredictor(
      models.map((m) => m.predictor),
      anchorScale,
    ),
  };
  try {
    const run = await runTransferBenchmark({
      model,
      modelName: arg('name') ?? `ensemble of ${dirs.join(', ')} (anchor weight × ${anchorScale})`,
      db,
      plan,
      seeds,
      replicates,
      proxies,
      ...(proxyBatch !== undefined ? { proxyBatch } : {}),
      ...(proxyPool !== undefined ? { proxyPool } : {}),
      onProgress: (p) => process.stderr.write(p.phase === 'select' ? `searched ${p.index}/${p.tasks} ${p.task}\n` : `trained pick ${p.done}/${p.total}\n`),
    });
    if (run.status !== 'complete') fail('Aborted', { source: 'ensemble-transfer', field: 'run', expected: 'complete', got: run.status });
    const files = writeReport(out, `transfer-${plan}`, { markdown: transferMarkdown(run.result), json: run.result, svg: transferSvg(run.result) });
    console.log(`wrote ${files.join(', ')}`);
  } finally {
    model.predictor.dispose();
    for (const m of models) m.generator.dispose();
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
