import * as os from 'node:os';
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { DatasetInput, RecordInput, TaskInput } from '@metad2a/meta-trainer';
import { connectionOptions, KEY_PREFIX, type QueueLocation } from './connection';
import { PAIR_JOB_FORMAT, pairJobId, type PairJobData, type PairResult } from './jobs';
import { checkReachable, resultsQueueName } from './queues';

/** What training one pair gives: the record and the task and dataset it belongs to. */
export interface TrainedPair {
  readonly dataset: DatasetInput;
  readonly task: TaskInput;
  readonly record: RecordInput;
}

export interface PairWorkerOptions {
  /** Trains one pair from its job data (the `pair` field is what the planner put there). */
  readonly trainPair: (job: PairJobData) => Promise<TrainedPair>;
  /** This machine's version of a data source (by dataset reference); a job made with another is refused. */
  readonly sourceVersion: (dataset: string) => string;
  /** Pairs trained at once by this process (default 1: training uses every core already). */
  readonly concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (ms). The worker renews it every half of this while
   * it trains; a worker that dies stops renewing, and after this long (plus up to
   * `stalledIntervalMs`) the job is back in the queue for another worker. Longer than the longest
   * stretch training keeps the event loop busy (default 120 s).
   */
  readonly lockMs?: number;
  /** How often this worker looks for jobs whose lock expired (default 30 s). */
  readonly stalledIntervalMs?: number;
  /** Name shown in the jobs it runs (default `<host>:<pid>`). */
  readonly name?: string;
  readonly onEvent?: (e: WorkerEvent) => void;
}

export type WorkerEvent =
  | { readonly kind: 'started'; readonly task: string; readonly arch: string; readonly jobId: string; readonly attempt: number }
  | { readonly kind: 'trained'; readonly task: string; readonly arch: string; readonly jobId: string; readonly accuracy: number; readonly trainMs: number }
  | { readonly kind: 'failed'; readonly task: string; readonly arch: string; readonly jobId: string; readonly error: string; readonly willRetry: boolean }
  | {
      readonly kind: 'refused';
      readonly task: string;
      readonly arch: string;
      readonly jobId: string;
      readonly dataset: string;
      readonly jobVersion: string;
      readonly ownVersion: string;
    }
  /** Redis did not answer (the clients keep reconnecting; the message repeats only when it changes). */
  | { readonly kind: 'connection'; readonly error: string };

export interface PairWorker {
  /** Resolves when the worker has stopped: after {@link close}, or after it refused a job (see `refusal`). */
  readonly stopped: Promise<void>;
  /** Set when the worker stopped itself because its data sources differ from the plan's. */
  refusal(): Extract<WorkerEvent, { kind: 'refused' }> | undefined;
  /** Stop taking jobs; the jobs in progress finish first. */
  close(): Promise<void>;
  /** Stop now, without waiting for the jobs in progress or for Redis (their locks expire and the queue gives them to other workers). */
  forceClose(): Promise<void>;
}

/**
 * A worker of a distributed build: takes pair jobs from the queue, trains them, and hands each
 * result to the collector through the results queue (job id = the pair's, so a pair trained
 * twice, e.g. after a stall, is collected once). Failures are retried by the queue with backoff;
 * a job whose data-source version differs from this machine's goes back to the queue untouched
 * and the worker stops, so one misconfigured machine cannot fail the build's jobs.
 */
export async function startPairWorker(l: QueueLocation, opts: PairWorkerOptions): Promise<PairWorker> {
  await checkReachable(l);
  const name = opts.name ?? `${os.hostname()}:${process.pid}`;
  const results = new Queue<PairResult>(resultsQueueName(l), { connection: connectionOptions(l), prefix: KEY_PREFIX });
  let refusal: Extract<WorkerEvent, { kind: 'refused' }> | undefined;
  let worker: Worker<PairJobData, PairResult> | undefined;
  const stopSoon = () => setImmediate(() => void worker?.close());

  const processJob = async (job: Job<PairJobData, PairResult>, token?: string): Promise<PairResult> => {
    const d = job.data;
    const ids = { task: d.key.task, arch: d.key.arch, jobId: job.id! };
    if (d.format !== PAIR_JOB_FORMAT) throw new Error(`job format ${JSON.stringify(d.format)}: this worker reads ${PAIR_JOB_FORMAT} (update the worker or the planner)`);
    let own: string;
    try {
      own = opts.sourceVersion(d.dataset);
    } catch (err) {
      throw new Error(`data source ${d.dataset} is not readable on worker ${name}: ${(err as Error).message}`);
    }
    if (own !== d.sourceVersion) {
      refusal = { kind: 'refused', ...ids, dataset: d.dataset, jobVersion: d.sourceVersion, ownVersion: own };
      opts.onEvent?.(refusal);
      await job.moveToWait(token);
      stopSoon();
      throw new WaitingError();
    }
    opts.onEvent?.({ kind: 'started', ...ids, attempt: job.attemptsMade + 1 });
    const t0 = Date.now();
    const trained = await opts.trainPair(d);
    const result: PairResult = { key: d.key, dataset: trained.dataset, task: trained.task, record: trained.record, worker: name, trainMs: Date.now() - t0 };
    await results.add('result', result, { jobId: pairJobId(d.key), attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
    opts.onEvent?.({ kind: 'trained', ...ids, accuracy: trained.record.accuracy, trainMs: result.trainMs });
    return result;
  };

  worker = new Worker<PairJobData, PairResult>(l.name, processJob, {
    connection: connectionOptions(l),
    prefix: KEY_PREFIX,
    concurrency: opts.concurrency ?? 1,
    lockDuration: opts.lockMs ?? 120_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: 2,
    name,
  });
  worker.on('failed', (job, err) => {
    if (!job || err instanceof WaitingError || err.name === 'WaitingError') return;
    opts.onEvent?.({
      kind: 'failed',
      task: job.data.key.task,
      arch: job.data.key.arch,
      jobId: job.id!,
      error: err.message,
      willRetry: job.attemptsMade < (job.opts.attempts ?? 1),
    });
  });
  // connection errors: ioredis reconnects and BullMQ resumes; say so once per distinct message
  let lastConnectionError = '';
  const onError = (err: Error) => {
    if (err.message === lastConnectionError) return;
    lastConnectionError = err.message;
    opts.onEvent?.({ kind: 'connection', error: err.message });
  };
  worker.on('error', onError);
  results.on('error', onError);
  await worker.waitUntilReady();
  const stopped = new Promise<void>((resolve) => worker!.once('closed', () => resolve()));
  return {
    stopped: stopped.then(() => results.close()),
    refusal: () => refusal,
    close: async () => {
      await worker!.close();
      await results.close();
    },
    forceClose: async () => {
      await Promise.race([Promise.all([worker!.close(true), results.disconnect()]), new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}
