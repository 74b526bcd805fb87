/**
 * A split of a database's records by task: every record of a task lands in one part, so the
 * validation Pearson measures data sets the model did not learn from. Validation tasks are drawn
 * per data set (the same share of each source), test tasks are the tasks of named data sets (held
 * out whole). Seeded: the same database and options give the same split.
 */
import { MetaD2AException, Rng, validationError } from '@metad2a/core';
import type { MetaDatabase } from '../database/meta-database';

export interface TaskSplitOptions {
  /** Name the split is stored under (replacing a split of that name). */
  readonly name: string;
  /** Only records of this metric (e.g. `top1-test@nb201-db`); default every record. */
  readonly metric?: string;
  /** Only records of this search space; default every record. */
  readonly space?: string;
  /** Share of each data set's tasks that validates, in [0, 1) (rounded; at least one task of a data set with two or more when > 0). */
  readonly validShare: number;
  /** Data sets whose tasks are the test part (held out whole). */
  readonly testDatasets?: readonly string[];
  readonly seed: number;
}

export interface TaskSplitSummary {
  readonly name: string;
  readonly records: { readonly train: number; readonly valid: number; readonly test: number };
  readonly tasks: { readonly train: number; readonly valid: number; readonly test: number };
}

export function makeTaskSplit(db: MetaDatabase, opts: TaskSplitOptions): TaskSplitSummary {
  if (!(opts.validShare >= 0 && opts.validShare < 1))
    throw new MetaD2AException(validationError({ source: 'task split', field: 'validShare', expected: 'a share in [0, 1)', got: String(opts.validShare) }));
  const records = db.records({ ...(opts.metric !== undefined ? { metric: opts.metric } : {}), ...(opts.space !== undefined ? { space: opts.space } : {}) });
  if (records.length === 0)
    throw new MetaD2AException(
      validationError({ source: db.file, field: 'records', expected: `records${opts.metric !== undefined ? ` of metric ${opts.metric}` : ''} to split`, got: 'none' }),
    );
  const datasetOf = new Map(db.tasks().map((t) => [t.name, t.dataset]));
  const test = new Set(opts.testDatasets ?? []);
  const unknown = [...test].filter((d) => ![...datasetOf.values()].includes(d));
  if (unknown.length > 0) throw new MetaD2AException(validationError({ source: db.file, field: 'testDatasets', expected: 'data sets of the database', got: unknown.join(', ') }));
  const tasksByDataset = new Map<string, string[]>();
  for (const task of new Set(records.map((r) => r.task))) {
    const d = datasetOf.get(task)!;
    tasksByDataset.set(d, [...(tasksByDataset.get(d) ?? []), task]);
  }
  const rng = new Rng(opts.seed);
  const partOf = new Map<string, 'train' | 'valid' | 'test'>();
  for (const d of [...tasksByDataset.keys()].sort()) {
    const tasks = tasksByDataset.get(d)!.sort();
    if (test.has(d)) {
      for (const t of tasks) partOf.set(t, 'test');
      continue;
    }
    const nValid = opts.validShare > 0 && tasks.length >= 2 ? Math.max(1, Math.round(opts.validShare * tasks.length)) : 0;
    const valid = new Set(rng.shuffle([...tasks]).slice(0, nValid));
    for (const t of tasks) partOf.set(t, valid.has(t) ? 'valid' : 'train');
  }
  const parts = { train: [] as number[], valid: [] as number[], test: [] as number[] };
  for (const r of records) parts[partOf.get(r.task)!].push(r.id);
  db.setSplit(opts.name, parts);
  const count = (p: 'train' | 'valid' | 'test') => [...partOf.values()].filter((x) => x === p).length;
  return {
    name: opts.name,
    records: { train: parts.train.length, valid: parts.valid.length, test: parts.test.length },
    tasks: { train: count('train'), valid: count('valid'), test: count('test') },
  };
}
