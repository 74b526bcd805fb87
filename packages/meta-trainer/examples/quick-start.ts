// Run from the repository root: npx tsx packages/meta-trainer/examples/quick-start.ts
import { Rng, initBackend } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { NB201_GRAPH_CONFIG, nb201 } from '@metad2a/search-spaces';
import { MetaDatabase, importOfficialNb201PredictorDb, metaTrainGenerator, metaTrainPredictor, splitNormalisation } from '@metad2a/meta-trainer';

async function main(): Promise<void> {
  await initBackend({ prefer: 'wasm' });

  // 1. The official NB201 predictor database (shipped with the package): records, tasks, split.
  const official = MetaDatabase.inMemory();
  const report = importOfficialNb201PredictorDb(official);
  console.log(report.records, report.tasks, report.split, splitNormalisation(official, report.split.name));
  console.log(report.warnings[0]); // its tasks have no image features: training on them is refused
  official.close();

  // 2. Your own database: a dataset with per-class features, tasks, (task, architecture, accuracy) records.
  const rng = new Rng(0);
  const db = MetaDatabase.open('/tmp/metad2a-quick-start.sqlite');
  if (db.counts().records === 0) {
    db.addDataset({ name: 'my-images', source: 'example: random 64-d features', numClasses: 10, featureDim: 64 });
    db.addFeatureSet('my-images', {
      name: 'my-images',
      dim: 64,
      classes: Array.from({ length: 10 }, (_, c) => ({ label: `class-${c}`, count: 30, data: rng.normalArray(30 * 64, c / 10) })),
    });
    const ids: number[] = [];
    for (let t = 0; t < 40; t++) {
      const name = `my-task-${t}`;
      db.addTask({ name, dataset: 'my-images', classIds: rng.sampleIndices(10, 5) });
      ids.push(
        db.addRecord({
          task: name,
          space: 'nb201',
          arch: nb201.format(nb201.sample(rng)),
          accuracy: 50 + 40 * rng.uniform(),
          metric: 'top1-test',
          how: 'example',
          recipe: { epochs: 0 },
        }),
      );
    }
    db.setSplit('main', { train: ids.slice(8), valid: ids.slice(0, 8) });
  }

  // 3. Meta-train both models (tiny sizes and 2 epochs here; the defaults are the official ones).
  const opts = { split: 'main', epochs: 2, perClass: 10, batchSize: 8, checkpointEvery: 1 };
  const generator = new GeneratorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 16, nz: 16, inputDim: 64, seed: 1 });
  const g = await metaTrainGenerator(db, generator, { ...opts, runDir: '/tmp/metad2a-quick-start/generator', pairs: { kind: 'best-per-task' } });
  console.log(
    'generator',
    g.history.map((e) => e.trainLoss),
  );
  const predictor = new PredictorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 32, nz: 16, inputDim: 64, rng: new Rng(1), normalisation: splitNormalisation(db, 'main') });
  const p = await metaTrainPredictor(db, predictor, { ...opts, runDir: '/tmp/metad2a-quick-start/predictor' });
  console.log(
    'predictor',
    p.history.map((e) => e.valid),
    'best',
    p.best,
  );
  db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
