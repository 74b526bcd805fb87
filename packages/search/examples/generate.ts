/**
 * Generate architectures for a dataset in both search spaces, from the golden fixtures' weights
 * (official GeneratorModel, briefly warmed up on 4 graphs — not meta-trained, so expect low
 * diversity and many invalid graphs; load a real checkpoint for real use).
 *
 *   npx tsx packages/search/examples/generate.ts
 */
import { Rng, initBackend, describeBackend, type AnySearchSpace, type FeatureSet } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { mbv3, nb201 } from '@metad2a/search-spaces';
import { GeneratorModel } from '@metad2a/graph-generator';
import { generateCandidates } from '@metad2a/search';

/** A stand-in dataset: C classes of 100 random `dim`-wide "features" (use real ResNet-18 features in practice). */
function randomDataset(classes: number, seed: number, dim: number): FeatureSet {
  const rng = new Rng(seed);
  return { name: `random-${classes}`, dim, classes: Array.from({ length: classes }, (_, c) => ({ label: `c${c}`, count: 100, data: rng.normalArray(100 * dim) })) };
}

async function main(): Promise<void> {
  console.log(describeBackend(await initBackend({ prefer: 'wasm' })));
  const runs: [string, AnySearchSpace, number][] = [
    ['gen-nb201', nb201, 100],
    ['gen-mbv3', mbv3, 2],
  ];
  for (const [fixture, space, n] of runs) {
    const model = new GeneratorModel({ graphConfig: space.graphConfig, seed: 0 });
    model.loadParameters(GoldenFixture.load(fixture).params()); // official state_dict names
    const dataset = randomDataset(5, 1, model.inputDim); // the official 512-d width
    const t0 = performance.now();
    const res = await generateCandidates(model, dataset, n, { space, seed: 7, maxAttempts: 20000 });
    const ms = performance.now() - t0;
    console.log(`${space.name}: ${res.unique} unique valid of ${res.valid} valid / ${res.attempts} decoded graphs, ${res.batches} batches of 100, ${ms.toFixed(0)} ms`);
    for (const s of res.strings.slice(0, 3)) console.log(`  ${s}`);
    model.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
