/**
 * @metad2a/db-queue — build a meta-database on many machines: (task, architecture) pairs as
 * BullMQ jobs on Redis, workers anywhere, one collector writing records idempotently.
 */
export { parseQueueUrl, describeLocation, DEFAULT_QUEUE_NAME, KEY_PREFIX, type QueueLocation } from './connection';
export { pairJobId, PAIR_JOB_FORMAT, DEFAULT_RETRY, type PairKey, type PairJobData, type PairResult, type RetryPolicy } from './jobs';
export { openQueues, checkReachable, type BuildQueues } from './queues';
export { enqueuePairs, type EnqueueReport } from './enqueue';
export { startPairWorker, type PairWorker, type PairWorkerOptions, type TrainedPair, type WorkerEvent } from './worker';
export { startCollector, type Collector, type CollectorOptions } from './collector';
export { queueStatus, THROUGHPUT_WINDOW, type QueueStatus, type StateCounts, type DeadLetter } from './status';
