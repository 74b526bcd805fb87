import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { planBuild, taskData, trainArchitecture, type BuildDatabaseOptions, type TaskPlan, type TrainRecipe } from '@metad2a/arch-trainer';
import { resolveDataset, type ImageDataset } from '@metad2a/datasets';
import type { MetaDatabase } from '@metad2a/meta-trainer';
import { PAIR_JOB_FORMAT, type PairJobData, type TrainedPair } from '@metad2a/db-queue';
import type { QueuedBuild } from './queue';

/** What a queued pair carries besides its key: exactly what the local builder trains it with. */
interface PairSpec {
  readonly task: TaskPlan;
  readonly arch: string;
  /** The pair's training seed, and the build seed that draws the task's images. */
  readonly seed: number;
  readonly buildSeed: number;
  readonly recipe: TrainRecipe;
  readonly trainPerClass: number;
  readonly testPerClass: number;
}

const images = new Map<string, ImageDataset>();
function imagesOf(ref: string): ImageDataset {
  let d = images.get(ref);
  if (!d) {
    const s = resolveDataset(ref);
    if (s.kind !== 'images') throw new Error(`${ref}: an image dataset is needed to train (got precomputed features)`);
    images.set(ref, (d = s));
  }
  return d;
}

const versions = new Map<string, string>();
/**
 * The version of a data source: a hash of its class names, labels and every image's pixels, so
 * two machines agree exactly when their images are the same bytes (wherever the files live).
 */
export function dataSourceVersion(ref: string): string {
  let v = versions.get(ref);
  if (v === undefined) {
    const d = imagesOf(ref);
    const h = createHash('sha256').update(JSON.stringify(d.classNames)).update(new Uint8Array(d.labels.buffer, d.labels.byteOffset, d.labels.byteLength));
    for (let i = 0; i < d.size; i++) {
      const im = d.image(i);
      h.update(`${im.width}x${im.height}x${im.channels}`).update(im.data);
    }
    versions.set(ref, (v = `sha256:${h.digest('hex').slice(0, 16)}`));
  }
  return v;
}

/** The jobs of a build: exactly the (task, cell, seed) pairs the local `buildDatabase` plans for the same options. */
export function planQueuedBuild(o: Omit<BuildDatabaseOptions, 'db' | 'shard' | 'onProgress' | 'signal'>): QueuedBuild {
  const plan = planBuild({ ...o, db: '' }, (r) => imagesOf(r).classNames.length);
  const tasks = plan.tasks;
  const jobs: PairJobData[] = plan.pairs.map(({ task, arch, seed }) => {
    const pair: PairSpec = { task, arch, seed, buildSeed: o.seed, recipe: o.recipe, trainPerClass: o.trainPerClass, testPerClass: o.testPerClass };
    return { format: PAIR_JOB_FORMAT, key: { task: task.name, space: 'nb201', arch, metric: plan.metric }, pair, dataset: task.dataset, sourceVersion: dataSourceVersion(task.dataset) };
  });
  return {
    jobs,
    prepare: (db: MetaDatabase) => {
      for (const ref of new Set(tasks.map((t) => t.dataset))) {
        const d = imagesOf(ref);
        db.addDataset({ name: ref, source: d.name, numClasses: d.classNames.length, note: 'images; tasks of the arch-trainer database builder' });
      }
      db.addTasks(tasks.map((t) => ({ name: t.name, dataset: t.dataset, classIds: t.classIds })));
    },
  };
}

let lastTask: { key: string; train: ReturnType<typeof taskData>['train']; test: ReturnType<typeof taskData>['test'] } | undefined;
/** Train one queued pair as the local builder does (same images, same seeds, same record). */
export async function trainQueuedPair(job: PairJobData): Promise<TrainedPair> {
  const p = job.pair as PairSpec;
  const d = imagesOf(p.task.dataset);
  const dataKey = JSON.stringify([p.task, p.buildSeed, p.trainPerClass, p.testPerClass, p.recipe.inputSize]);
  if (lastTask?.key !== dataKey) lastTask = { key: dataKey, ...taskData(d, p.task, { trainPerClass: p.trainPerClass, testPerClass: p.testPerClass, inputSize: p.recipe.inputSize!, seed: p.buildSeed }) };
  const { train, test } = lastTask;
  const r = await trainArchitecture({ arch: p.arch, train, test, recipe: p.recipe, seed: p.seed });
  r.network.dispose();
  return {
    dataset: { name: p.task.dataset, source: d.name, numClasses: d.classNames.length, note: 'images; tasks of the arch-trainer database builder' },
    task: { name: p.task.name, dataset: p.task.dataset, classIds: p.task.classIds },
    record: {
      task: p.task.name,
      space: 'nb201',
      arch: p.arch,
      accuracy: 100 * r.accuracy,
      metric: job.key.metric,
      how: 'trained:@metad2a/arch-trainer',
      recipe: p.recipe,
      extra: { seed: p.seed, trainImages: train.shape[0], testImages: test.shape[0], finalTrainLoss: r.finalTrainLoss, trainMs: r.trainMs, backend: tf.getBackend(), sourceVersion: job.sourceVersion },
    },
  };
}
