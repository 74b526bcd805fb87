import type { BuildQueues } from './queues';
import { DEFAULT_RETRY, pairJobId, type PairJobData, type PairKey, type RetryPolicy } from './jobs';

export interface EnqueueReport {
  /** Pairs in the plan. */
  readonly planned: number;
  /** Pairs the meta-database already has: not queued. */
  readonly recorded: number;
  /** Pairs added to the queue by this call. */
  readonly queued: number;
  /** Pairs already waiting, running, or trained and awaiting collection (a re-plan). */
  readonly alreadyQueued: number;
  /** Dead-lettered pairs put back to wait (re-running a build retries what failed before). */
  readonly retried: number;
}

/**
 * Queue the pairs of a plan that have no record yet, each under the job id of its record key
 * ({@link pairJobId}), with retries and exponential backoff. Planning again is safe: a pair
 * already in the queue is left alone, a dead-lettered one is retried.
 */
export async function enqueuePairs(
  q: BuildQueues,
  jobs: readonly PairJobData[],
  isRecorded: (key: PairKey) => boolean,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<EnqueueReport> {
  let recorded = 0;
  let alreadyQueued = 0;
  let retried = 0;
  const fresh: PairJobData[] = [];
  const seen = new Set<string>();
  for (const data of jobs) {
    const id = pairJobId(data.key);
    if (seen.has(id)) continue; // a plan that names a pair twice trains it once
    seen.add(id);
    if (isRecorded(data.key)) {
      recorded++;
      continue;
    }
    const state = await q.train.getJobState(id);
    if (state === 'unknown') fresh.push(data);
    else if (state === 'failed') {
      await (await q.train.getJob(id))!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried++;
    } else alreadyQueued++;
  }
  for (let i = 0; i < fresh.length; i += 500) {
    await q.train.addBulk(
      fresh.slice(i, i + 500).map((data) => ({
        name: 'pair',
        data,
        opts: { jobId: pairJobId(data.key), attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.backoffMs }, removeOnComplete: false, removeOnFail: false },
      })),
    );
  }
  return { planned: seen.size, recorded, queued: fresh.length, alreadyQueued, retried };
}
