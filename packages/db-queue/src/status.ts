import type { BuildQueues } from './queues';

export interface StateCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
}

/** A pair that kept failing: the queue's failed set is the build's dead-letter list. */
export interface DeadLetter {
  readonly jobId: string;
  readonly task: string;
  readonly arch: string;
  readonly attempts: number;
  readonly error: string;
  readonly failedAt?: string;
}

export interface QueueStatus {
  /** Training jobs by state (`completed`: trained). */
  readonly train: StateCounts;
  /** Results by state (`completed`: in the meta-database; `waiting`: trained, not yet collected). */
  readonly results: StateCounts;
  /** Workers connected to the training queue now. */
  readonly workers: number;
  /** Pairs trained per hour over the latest completions (up to {@link THROUGHPUT_WINDOW}); undefined with fewer than 2. */
  readonly pairsPerHour?: number;
  /** Time left at that rate for the waiting, delayed and active pairs (ms). */
  readonly etaMs?: number;
  readonly deadLetters: readonly DeadLetter[];
}

/** Completions the throughput is measured over. */
export const THROUGHPUT_WINDOW = 50;

async function counts(q: BuildQueues['train'] | BuildQueues['results']): Promise<StateCounts> {
  const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
  return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
}

/** Where a distributed build stands: counts per state, throughput, ETA and the dead-letter list with each error. */
export async function queueStatus(q: BuildQueues): Promise<QueueStatus> {
  const [train, results] = await Promise.all([counts(q.train), counts(q.results)]);
  let workers = 0;
  try {
    workers = (await q.train.getWorkers()).length;
  } catch {
    workers = -1; // CLIENT LIST is disabled on some managed Redis services
  }
  const done = (await q.train.getCompleted(0, THROUGHPUT_WINDOW - 1)).map((j) => j.finishedOn ?? 0).filter((t) => t > 0);
  let pairsPerHour: number | undefined;
  if (done.length >= 2) {
    const span = Math.max(...done) - Math.min(...done);
    if (span > 0) pairsPerHour = ((done.length - 1) / span) * 3_600_000;
  }
  const left = train.waiting + train.delayed + train.active;
  const failed = await q.train.getFailed(0, -1);
  return {
    train,
    results,
    workers,
    ...(pairsPerHour !== undefined ? { pairsPerHour, etaMs: (left / pairsPerHour) * 3_600_000 } : {}),
    deadLetters: failed.map((j) => ({
      jobId: j.id!,
      task: j.data.key.task,
      arch: j.data.key.arch,
      attempts: j.attemptsMade,
      error: j.failedReason ?? '(no reason recorded)',
      ...(j.finishedOn ? { failedAt: new Date(j.finishedOn).toISOString() } : {}),
    })),
  };
}
