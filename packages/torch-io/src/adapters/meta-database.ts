/**
 * MetaD2A's predictor meta-training database (spec §3.3): `meta_train_tasks_predictor.pt`
 * (records: accuracy, task index, igraph graph; the public copy also has `str`, `flops`,
 * `params`, `latency`, ...), `meta_train_tasks_predictor_idx.pt` (a permutation of the records:
 * the first 400 are validation, the rest training) and `meta_train_task_lst.pt` (tasks: 20
 * ImageNet32 class ids each, **1-based**) → plain records.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, fail, type ArchGraph, type MetaD2AError } from '@metad2a/core';
import { readPtSync } from '../torch-file';
import { PyDict, type PyValue, TorchTensor, describeValue, sequenceItems } from '../values';
import { archGraphFromIGraph } from './igraph';

export interface MetaTrainRecord {
  /** Position of the record in the file. */
  readonly index: number;
  /** Index into {@link PredictorMetaDatabase.tasks}. */
  readonly task: number;
  /** The task's ImageNet32 class ids exactly as stored: **1-based** (1..1000). */
  readonly classIds: readonly number[];
  /** The same classes as 0-based keys of `imgnet32bylabel.pt` (`classId − 1`, what the official loader indexes). */
  readonly featureKeys: readonly number[];
  /** NB201 architecture string, where the file has one (`str`). */
  readonly arch?: string;
  readonly graph: ArchGraph;
  /** Accuracy in % as stored. */
  readonly accuracy: number;
  /** Normalised costs as stored (divided by their maximum), where the file has them. */
  readonly flops?: number;
  readonly params?: number;
  readonly latency?: number;
}

export interface PredictorMetaDatabase {
  /** Records in file order. */
  readonly records: readonly MetaTrainRecord[];
  /** The task list: class ids per task, 1-based as stored. */
  readonly tasks: readonly (readonly number[])[];
  /** The stored permutation of record indices (`_idx.pt`). */
  readonly permutation: readonly number[];
  /** `permutation[:validCount]` (official: 400) and the rest. */
  readonly validIndices: readonly number[];
  readonly trainIndices: readonly number[];
}

/** Integers of a list / tuple / int tensor. */
function integers(v: PyValue | undefined, source: string, field: string): number[] {
  if (v instanceof TorchTensor) {
    if (v.shape.length !== 1) fail('ShapeMismatch', { source, field, expected: 'a 1-d tensor', got: `[${v.shape.join(', ')}]` });
    return Array.from(v.data as ArrayLike<number | bigint>, (x) => Number(x));
  }
  const items = sequenceItems(v);
  if (!items || !items.every((x) => typeof x === 'number' && Number.isInteger(x)))
    return fail('ParseError', { source, field, expected: 'a list of integers', got: describeValue(v) });
  return items as number[];
}

function numberAt(list: readonly PyValue[] | undefined, i: number, source: string, field: string): number | undefined {
  if (!list) return undefined;
  const x = list[i];
  if (typeof x === 'number') return x;
  if (x instanceof TorchTensor && x.numel === 1) return Number(x.data[0]!);
  return fail('ParseError', { source, field: `${field}[${i}]`, expected: 'a number', got: describeValue(x) });
}

export interface MetaDatabaseSources {
  /** Decoded `meta_train_tasks_predictor.pt`. */
  readonly records: PyValue;
  /** Decoded `meta_train_tasks_predictor_idx.pt`. */
  readonly permutation: PyValue;
  /** Decoded `meta_train_task_lst.pt`. */
  readonly tasks: PyValue;
}

/** Build the database from the three decoded objects. */
export function predictorMetaDatabaseFromPt(src: MetaDatabaseSources, opts: { validCount?: number; source?: string } = {}): PredictorMetaDatabase {
  const source = opts.source ?? 'meta-training database';
  const validCount = opts.validCount ?? 400;
  const tasksList = sequenceItems(src.tasks) ?? fail('ParseError', { source: `${source} task list`, expected: 'a list of tasks', got: describeValue(src.tasks) });
  const tasks = tasksList.map((t, i) => integers(t, `${source} task list`, `task ${i}`));
  tasks.forEach((t, i) => {
    if (!t.every((c) => c >= 1)) fail('ParseError', { source: `${source} task list`, field: `task ${i}`, expected: '1-based class ids (>= 1)', got: t.join(', ') });
  });
  const d = src.records;
  if (!(d instanceof PyDict)) return fail('ParseError', { source, field: 'records', expected: 'a dict of lists (acc, task, g/graph, ...)', got: describeValue(d) });
  const list = (k: string, required: boolean): readonly PyValue[] | undefined => {
    const v = d.get(k);
    if (v === undefined && !required) return undefined;
    return sequenceItems(v) ?? fail('ParseError', { source, field: k, expected: 'a list', got: describeValue(v) });
  };
  const acc = list('acc', true)!;
  const task = integers(d.get('task'), source, 'task');
  const graphs = list(d.has('g') ? 'g' : 'graph', true)!;
  const strs = list('str', false);
  const flops = list('flops', false);
  const params = list('params', false);
  const latency = list('latency', false);
  const n = acc.length;
  for (const [k, l] of [
    ['task', task],
    ['g', graphs],
    ['str', strs],
    ['flops', flops],
    ['params', params],
    ['latency', latency],
  ] as const) {
    if (l && l.length !== n) fail('ParseError', { source, field: k, expected: `${n} entries (as many as acc)`, got: String(l.length) });
  }
  const records: MetaTrainRecord[] = [];
  for (let i = 0; i < n; i++) {
    const t = task[i]!;
    if (t < 0 || t >= tasks.length) fail('ParseError', { source, field: `task[${i}]`, expected: `a task index < ${tasks.length}`, got: String(t) });
    const classIds = tasks[t]!;
    const arch = strs?.[i];
    if (arch !== undefined && typeof arch !== 'string') fail('ParseError', { source, field: `str[${i}]`, expected: 'an architecture string', got: describeValue(arch) });
    records.push({
      index: i,
      task: t,
      classIds,
      featureKeys: classIds.map((c) => c - 1),
      ...(arch !== undefined ? { arch } : {}),
      graph: archGraphFromIGraph(graphs[i], `${source}: g[${i}]`),
      accuracy: numberAt(acc, i, source, 'acc')!,
      ...(flops ? { flops: numberAt(flops, i, source, 'flops')! } : {}),
      ...(params ? { params: numberAt(params, i, source, 'params')! } : {}),
      ...(latency ? { latency: numberAt(latency, i, source, 'latency')! } : {}),
    });
  }
  const permutation = integers(src.permutation, `${source} permutation`, 'indices');
  const seen = new Uint8Array(n);
  if (permutation.length !== n || !permutation.every((p) => p >= 0 && p < n && seen[p]++ === 0)) {
    fail('ParseError', { source: `${source} permutation`, expected: `a permutation of 0..${n - 1}`, got: `${permutation.length} indices, not a permutation` });
  }
  return { records, tasks, permutation, validIndices: permutation.slice(0, validCount), trainIndices: permutation.slice(validCount) };
}

/** The three official file names (a `.gz` copy of each is accepted too). */
export const META_DATABASE_FILES = {
  records: 'meta_train_tasks_predictor.pt',
  permutation: 'meta_train_tasks_predictor_idx.pt',
  tasks: 'meta_train_task_lst.pt',
} as const;

function existing(dir: string, name: string): string {
  for (const p of [path.join(dir, name), path.join(dir, `${name}.gz`)]) if (fs.existsSync(p)) return p;
  return fail('IoError', { source: dir, field: name, expected: `${name} (or ${name}.gz)`, got: 'no such file' });
}

/** Read the predictor database from a folder holding the three official files. */
export function readPredictorMetaDatabase(dir: string, opts: { validCount?: number } = {}): E.Either<MetaD2AError, PredictorMetaDatabase> {
  try {
    const files = {
      records: existing(dir, META_DATABASE_FILES.records),
      permutation: existing(dir, META_DATABASE_FILES.permutation),
      tasks: existing(dir, META_DATABASE_FILES.tasks),
    };
    return E.right(
      predictorMetaDatabaseFromPt(
        { records: readPtSync(files.records).root, permutation: readPtSync(files.permutation).root, tasks: readPtSync(files.tasks).root },
        { ...opts, source: files.records },
      ),
    );
  } catch (err) {
    if (err instanceof MetaD2AException) return E.left(err.error);
    throw err;
  }
}
