import { createHash } from 'node:crypto';
import type { DatasetInput, RecordInput, TaskInput } from '@metad2a/meta-trainer';

/** The key a record is stored under in the meta-database (UNIQUE there), and the identity of its job. */
export interface PairKey {
  readonly task: string;
  readonly space: string;
  readonly arch: string;
  readonly metric: string;
  /** Which training of the pair (`db build --replicates`); absent: 0, the pair's record. */
  readonly replicate?: number;
}

/**
 * Everything a worker needs to train one (task, architecture) pair exactly as a local build
 * would: the job is self-contained, so a worker needs only the data sources, not the plan.
 * `sourceVersion` is the version of the task's data source on the machine that planned the
 * build; a worker whose own version differs refuses the job.
 */
export interface PairJobData {
  readonly format: typeof PAIR_JOB_FORMAT;
  readonly key: PairKey;
  /** What the pair trainer of the build receives (the planned pair, the recipe, the seeds...), as JSON. */
  readonly pair: unknown;
  /** Dataset reference of the task and the version of its data source where it was planned. */
  readonly dataset: string;
  readonly sourceVersion: string;
}

export const PAIR_JOB_FORMAT = 'metad2a-pair-job/1';

/**
 * A finished pair on its way to the collector: the record to store (with its task and dataset,
 * so that a collector writing into a fresh file can add them) and who made it.
 */
export interface PairResult {
  readonly key: PairKey;
  readonly dataset: DatasetInput;
  readonly task: TaskInput;
  readonly record: RecordInput;
  readonly worker: string;
  readonly trainMs: number;
}

/**
 * The job id of a pair: derived from its record key only, so planning the same build again (or
 * from another machine) never queues a pair twice: BullMQ ignores an add whose id exists.
 */
export function pairJobId(key: PairKey): string {
  return `pair-${createHash('sha256')
    // replicate 0 keeps the id it had before replicates existed (queues planned then stay valid)
    .update(JSON.stringify(key.replicate ? [key.task, key.space, key.arch, key.metric, key.replicate] : [key.task, key.space, key.arch, key.metric]))
    .digest('hex')
    .slice(0, 40)}`;
}

/** Retries of a failing pair: attempts in all, and the first backoff (doubling each retry). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 10_000 };
