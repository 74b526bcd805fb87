/**
 * Named database builds: every option of a build, fixed, so that any machine, shard, queue worker
 * or later session that builds `nb201-v1` trains exactly the same (task, cell, seed) pairs.
 */
import { MetaD2AException, notFound } from '@metad2a/core';
import { taskSources } from '@metad2a/datasets';
import type { BuildDatabaseOptions } from './database-builder';
import { getRecipe } from './recipe';

export interface NamedBuildPlan {
  readonly description: string;
  readonly options: () => Omit<BuildDatabaseOptions, 'db' | 'shard' | 'onProgress' | 'signal'>;
}

const sourcesOf = (split: 'train' | 'heldout') =>
  taskSources()
    .filter((s) => s.split === split)
    .map((s) => s.ref);

export const BUILD_PLANS: Readonly<Record<string, NamedBuildPlan>> = {
  'nb201-v1': {
    description:
      'the shipped NB201 meta-database: 640 tasks of 5–20 classes round robin over the 16 training sources, 3–8 cells per task (40 % from the 100 NB201-good cells), recipe nb201-db, 100 training + 50 test images per class (3,560 pairs)',
    options: () => ({
      datasets: sourcesOf('train'),
      numTasks: 640,
      classesPerTask: [5, 20],
      cellsPerTask: [3, 8],
      goodCellShare: 0.4,
      recipe: getRecipe('nb201-db'),
      trainPerClass: 100,
      testPerClass: 50,
      seed: 2026,
    }),
  },
  'nb201-heldout-v1': {
    description:
      'transfer evaluation: 4 tasks of 5–10 classes per held-out source (Latin letters sans/serif, MNIST, digits, shapes), 32 cells per task drawn uniformly over the distinct computations, recipe nb201-db, 100 training + 50 test images per class (640 pairs)',
    options: () => ({
      datasets: sourcesOf('heldout'),
      numTasks: 20,
      // a range: MNIST, digits and shapes have exactly 10 classes, so 10 classes per task would give each of them one distinct task, not 4
      classesPerTask: [5, 10],
      cellsPerTask: 32,
      goodCellShare: 0,
      recipe: getRecipe('nb201-db'),
      trainPerClass: 100,
      testPerClass: 50,
      seed: 4048,
    }),
  },
};

export function buildPlanOptions(name: string): Omit<BuildDatabaseOptions, 'db' | 'shard' | 'onProgress' | 'signal'> {
  const p = BUILD_PLANS[name];
  if (!p) throw new MetaD2AException(notFound({ source: 'database build plans', field: name, expected: `one of ${Object.keys(BUILD_PLANS).join(', ')}`, got: 'an unknown plan' }));
  return p.options();
}
