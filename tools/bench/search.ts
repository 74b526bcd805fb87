/**
 * `npm run bench:search [-- --json] [--runs N] [--backend B] [--only cifar10|cifar100]`
 *
 * The NB201 search at the official sizes (generator hs 56, predictor hs 512) on a CIFAR-10-shaped
 * input (10 classes) and a CIFAR-100-shaped one (100 classes): 500 unique valid candidates,
 * 10 resamples × 20 rows per class, 512-d features. Weights: the official-code golden fixtures
 * gen-nb201 (official size) and pred-nb201-full (hs 512, read from its state_dict.pt); features:
 * synthetic, 40 rows per class. Reports the median wall time of generation + ranking (the paper's
 * search time) and its ratio to the official PyTorch code on this CPU (docs/official-cpu-anchors.md:
 * ~35 s and ~131 s). Then the same search with the TRAINED default model
 * (`@metad2a/default-model`, what `metad2a search` uses) on the CIFAR-10-shaped input: its
 * generation time and decoded-graph count (how many decodes 500 distinct cells took) are
 * reported separately (`default_model`). With --json the last line is one JSON object.
 */
import * as path from 'node:path';
import { describeBackend, initBackend, type BackendName } from '@metad2a/core';
import { GoldenFixture, fixturesRoot } from '@metad2a/fixtures';
import { buildSearchModel, loadSearchModel, manifestFromSpec, runSearch, type SearchTimings } from '@metad2a/search';
import { defaultModelDir } from '@metad2a/default-model';
import { readStateDictSync } from '@metad2a/torch-io';
import { syntheticFeatures } from '../../packages/search/test/fixture-model';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

const OFFICIAL_S = { cifar10: 35, cifar100: 131 } as const;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const prefer = args.includes('--backend') ? (args[args.indexOf('--backend') + 1] as BackendName) : undefined;
  const backend = await initBackend({ prefer });
  const log = (s: string): void => {
    if (!json) console.log(s);
    else console.error(s);
  };
  log(describeBackend(backend));
  const model = buildSearchModel(manifestFromSpec('nb201-official', { provenance: { source: 'fixtures gen-nb201 + pred-nb201-full' } }), {
    generator: GoldenFixture.load('gen-nb201').params(),
    predictor: readStateDictSync(path.join(fixturesRoot(), 'pred-nb201-full', 'state_dict.pt')),
  });
  const out: Record<string, unknown> = { backend: backend.name, runs };
  for (const [name, classes] of [
    ['cifar10', 10],
    ['cifar100', 100],
  ] as const) {
    if (only && only !== name) continue;
    const data = syntheticFeatures(classes, 40, 1);
    await runSearch(model, data, { candidates: 50, resamples: 2, seed: 999 }); // warm-up (kernels, caches)
    const times: number[] = [];
    let last: SearchTimings | undefined;
    for (let r = 0; r < runs; r++) {
      const res = await runSearch(model, data, { candidates: 500, resamples: 10, seed: r });
      times.push(res.timings.search);
      last = res.timings;
      log(
        `${name} run ${r + 1}: search ${res.timings.search.toFixed(2)} s (generation ${res.timings.generation.toFixed(2)} s over ${res.generation.attempts} decoded graphs, ranking ${res.timings.ranking.toFixed(2)} s)`,
      );
    }
    const m = median(times);
    log(`${name}: median ${m.toFixed(2)} s vs official PyTorch ~${OFFICIAL_S[name]} s on this CPU → ${(OFFICIAL_S[name] / m).toFixed(1)}× faster`);
    out[`${name}_s`] = m;
    out[`${name}_ratio_vs_official`] = OFFICIAL_S[name] / m;
    out[`${name}_last_timings`] = last;
  }
  model.dispose();
  if (!only || only === 'cifar10') {
    const dir = defaultModelDir('nb201');
    if (!dir) {
      out.default_model = { error: 'no embedded nb201 default model' };
    } else {
      const trained = await loadSearchModel(dir);
      const data = syntheticFeatures(10, 40, 1);
      const gen: number[] = [];
      const rank: number[] = [];
      let attempts = 0;
      for (let r = 0; r < runs; r++) {
        const res = await runSearch(trained, data, { candidates: 500, resamples: 10, seed: r });
        gen.push(res.timings.generation);
        rank.push(res.timings.ranking);
        attempts = res.generation.attempts;
        log(
          `default model (trained) run ${r + 1}: generation ${res.timings.generation.toFixed(2)} s over ${res.generation.attempts} decoded graphs for ${res.generation.unique} distinct cells, ranking ${res.timings.ranking.toFixed(2)} s`,
        );
      }
      out.default_model = { dir, generation_s: median(gen), ranking_s: median(rank), decoded_graphs_last_run: attempts, official_generation_s: 3.4 };
      log(
        `default model (trained): median generation ${median(gen).toFixed(2)} s (official PyTorch: 3.4 s for 500 cells with the official model), ranking ${median(rank).toFixed(2)} s`,
      );
      trained.dispose();
    }
  }
  if (json) console.log(JSON.stringify(out));
}
