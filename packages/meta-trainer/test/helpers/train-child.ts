/**
 * Child process of meta-train.test.ts: meta-trains the toy generator with a resume checkpoint
 * after every step and prints `checkpoint <step>` after each one is written, until it is killed
 * (or reaches 100 steps).
 */
import { initBackend } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { NB201_GRAPH_CONFIG } from '@metad2a/search-spaces';
import { metaTrainGenerator } from '../../src';
import { TOY, buildToyDb } from './toy-db';

async function main(): Promise<void> {
  await initBackend({ prefer: 'wasm' });
  const db = buildToyDb({ tasks: 30, validTasks: 6 });
  const model = new GeneratorModel({ graphConfig: NB201_GRAPH_CONFIG, hs: 8, nz: 8, inputDim: TOY.dim, seed: 5 });
  await metaTrainGenerator(db, model, {
    split: TOY.split,
    perClass: 5,
    batchSize: 16,
    progress: 'never',
    epochs: 50,
    lr: 1e-3,
    runDir: process.argv[2]!,
    saveEverySteps: 1,
    maxSteps: 100,
    onEvent: (e) => {
      if (e.event === 'checkpoint' && String(e.file).endsWith('last.ckpt')) process.stdout.write(`checkpoint ${String(e.step)}\n`);
    },
  });
}
void main();
