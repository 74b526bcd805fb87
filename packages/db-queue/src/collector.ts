import { Worker } from 'bullmq';
import type { MetaDatabase } from '@metad2a/meta-trainer';
import { connectionOptions, KEY_PREFIX, type QueueLocation } from './connection';
import type { PairResult } from './jobs';
import { checkReachable, resultsQueueName } from './queues';

export interface CollectorOptions {
  /** Called after each result is in the database (`inserted` false: the key was already recorded). */
  readonly onRecord?: (r: PairResult, inserted: boolean) => void;
  /** Lock of a result being written (short: a write takes milliseconds); a killed collector's result is taken again after it. */
  readonly lockMs?: number;
  readonly stalledIntervalMs?: number;
  /** Redis did not answer (the client keeps reconnecting; called again only when the message changes). */
  readonly onConnectionError?: (message: string) => void;
}

export interface Collector {
  /** Records inserted, and results whose key was already recorded, since the start. */
  counts(): { readonly inserted: number; readonly existing: number };
  close(): Promise<void>;
}

/**
 * The collector: the one process that writes results into the meta-database. It consumes the
 * results queue one job at a time; each result's dataset, task and record are written in one
 * transaction, idempotently (keyed by task, architecture, metric), and only then is the result
 * job completed. A collector killed mid-write leaves its result job active; once its lock expires
 * the queue hands it to the next collector, whose write of the same key changes nothing.
 */
export async function startCollector(l: QueueLocation, db: MetaDatabase, opts: CollectorOptions = {}): Promise<Collector> {
  await checkReachable(l);
  let inserted = 0;
  let existing = 0;
  const worker = new Worker<PairResult, { inserted: boolean }>(
    resultsQueueName(l),
    async (job) => {
      const r = job.data;
      const [w] = db.transaction(() => {
        db.addDataset(r.dataset);
        db.addTask(r.task);
        return db.putRecords([r.record]);
      });
      if (w!.inserted) inserted++;
      else existing++;
      opts.onRecord?.(r, w!.inserted);
      return { inserted: w!.inserted };
    },
    {
      connection: connectionOptions(l),
      prefix: KEY_PREFIX,
      concurrency: 1,
      lockDuration: opts.lockMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 15_000,
      maxStalledCount: 10,
      name: `collector:${process.pid}`,
    },
  );
  let lastConnectionError = '';
  worker.on('error', (err: Error) => {
    // connection errors: ioredis reconnects and BullMQ resumes; say so once per distinct message
    if (err.message !== lastConnectionError) opts.onConnectionError?.((lastConnectionError = err.message));
  });
  await worker.waitUntilReady();
  return {
    counts: () => ({ inserted, existing }),
    close: () => worker.close(),
  };
}
