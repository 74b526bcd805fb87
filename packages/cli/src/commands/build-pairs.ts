import {
  asReplicate,
  dataSourceVersion as sourceVersionOf,
  datasetEntry,
  planBuild,
  taskData,
  trainPairRecord,
  type BuildDatabaseOptions,
  type DatabaseRecipe,
  type DatabaseSpaceName,
  type TaskPlan,
} from '@metad2a/arch-trainer';
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
  /** Which training of the pair (`db build --replicates`); absent: 0. */
  readonly replicate?: number;
  /** Absent in jobs queued before MBv3 builds existed: nb201. */
  readonly space?: DatabaseSpaceName;
  readonly recipe: DatabaseRecipe;
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

/** The version of a data source (the task source's declared version, else a hash of its images): see arch-trainer. */
export const dataSourceVersion = (ref: string): string => sourceVersionOf(ref, imagesOf(ref));

/** The jobs of a build: exactly the (task, cell, seed) pairs the local `buildDatabase` plans for the same options. */
export function planQueuedBuild(o: Omit<BuildDatabaseOptions, 'db' | 'shard' | 'onProgress' | 'signal'>): QueuedBuild {
  const plan = planBuild({ ...o, db: '' }, (r) => imagesOf(r).classNames.length);
  const tasks = plan.tasks;
  const jobs: PairJobData[] = plan.pairs.map(({ task, arch, seed, replicate = 0 }) => {
    const again = replicate > 0 ? { replicate } : {};
    const pair: PairSpec = { task, arch, seed, buildSeed: o.seed, ...again, space: plan.space, recipe: o.recipe, trainPerClass: o.trainPerClass, testPerClass: o.testPerClass };
    return {
      format: PAIR_JOB_FORMAT,
      key: { task: task.name, space: plan.space, arch, metric: plan.metric, ...again },
      pair,
      dataset: task.dataset,
      sourceVersion: dataSourceVersion(task.dataset),
    };
  });
  return {
    jobs,
    prepare: (db: MetaDatabase) => {
      for (const ref of new Set(tasks.map((t) => t.dataset))) {
        const d = imagesOf(ref);
        db.addDataset(datasetEntry(ref, d));
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
  if (lastTask?.key !== dataKey)
    lastTask = { key: dataKey, ...taskData(d, p.task, { trainPerClass: p.trainPerClass, testPerClass: p.testPerClass, inputSize: p.recipe.inputSize!, seed: p.buildSeed }) };
  const record = await trainPairRecord({ task: p.task, arch: p.arch, seed: p.seed }, lastTask, {
    space: p.space ?? 'nb201',
    recipe: p.recipe,
    metric: job.key.metric,
    sourceVersion: job.sourceVersion,
  });
  return {
    dataset: datasetEntry(p.task.dataset, d),
    task: { name: p.task.name, dataset: p.task.dataset, classIds: p.task.classIds },
    record: asReplicate(record, p.replicate ?? 0),
  };
}
