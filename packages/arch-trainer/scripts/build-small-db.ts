// Builds the small real database described in the README and prints its statistics.
// Usage: npx tsx packages/arch-trainer/scripts/build-small-db.ts <db.sqlite> [tasks=12] [archs=12] [epochs=4] [trainPerClass=40] [testPerClass=30]
// Resumable: rerun the same command after an interruption.
import { initBackend } from '@metad2a/core';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { buildDatabase, databaseStats, getRecipe, recipeMetric } from '../src';

(async () => {
  const file = process.argv[2] ?? 'small-db.sqlite';
  const numTasks = Number(process.argv[3] ?? 12);
  const archs = Number(process.argv[4] ?? 12);
  const backend = await initBackend();
  const epochs = Number(process.argv[5] ?? 4);
  const trainPerClass = Number(process.argv[6] ?? 40);
  const testPerClass = Number(process.argv[7] ?? 30);
  const recipe = getRecipe('tiny', { epochs, batchSize: 32 });
  console.log(`backend ${backend.name}; recipe ${JSON.stringify(recipe)}`);
  const summary = await buildDatabase({
    db: file,
    datasets: ['builtin:mnist', 'builtin:fashion-mnist', 'builtin:digits'],
    numTasks,
    classesPerTask: 4,
    trainPerClass,
    testPerClass,
    archs,
    recipe,
    seed: 2026,
    onProgress: (p) => console.log(`${p.done}/${p.total} ${p.accuracy === undefined ? 'skipped' : `${p.accuracy.toFixed(1)}%`} ${p.task} ${p.arch} elapsed ${(p.elapsedMs / 1000).toFixed(0)}s eta ${(p.etaMs / 1000).toFixed(0)}s`),
  });
  console.log(`trained ${summary.trained}, skipped ${summary.skipped}, wall ${(summary.wallMs / 1000).toFixed(1)} s`);
  const db = MetaDatabase.open(file, { readonly: true });
  const stats = databaseStats(db.records({ metric: recipeMetric(recipe) }));
  db.close();
  console.log(JSON.stringify(stats, null, 2));
})();
