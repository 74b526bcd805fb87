import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { MetaD2AException, ioError } from '@metad2a/core';
import { connectionOptions, describeLocation, KEY_PREFIX, type QueueLocation } from './connection';
import type { PairJobData, PairResult } from './jobs';

/** The two queues of a build: training jobs (one per pair), and results on their way to the collector. */
export interface BuildQueues {
  readonly location: QueueLocation;
  readonly train: Queue<PairJobData, PairResult>;
  readonly results: Queue<PairResult, { inserted: boolean }>;
  close(): Promise<void>;
}

export const resultsQueueName = (l: QueueLocation): string => `${l.name}-results`;

/**
 * Fail fast, with a named error, when nothing answers at the location (BullMQ's clients would
 * otherwise retry forever and the command would hang without a word).
 */
export async function checkReachable(l: QueueLocation, timeoutMs = 5000): Promise<void> {
  const client = new IORedis({
    ...connectionOptions(l),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let socketError: Error | undefined;
  client.on('error', (e: Error) => (socketError ??= e)); // says why connect() failed (ECONNREFUSED, ENOTFOUND...)
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${JSON.stringify(pong)}`);
  } catch (err) {
    const why = socketError?.message ?? ((err as Error).message || String(err));
    throw new MetaD2AException(ioError({ source: describeLocation(l), expected: 'a Redis server answering PING', got: why, cause: err }));
  } finally {
    client.disconnect();
  }
}

export async function openQueues(l: QueueLocation): Promise<BuildQueues> {
  await checkReachable(l);
  const train = new Queue<PairJobData, PairResult>(l.name, { connection: connectionOptions(l), prefix: KEY_PREFIX });
  const results = new Queue<PairResult, { inserted: boolean }>(resultsQueueName(l), { connection: connectionOptions(l), prefix: KEY_PREFIX });
  // connection errors surface as failed calls of the commands that use these queues
  train.on('error', () => undefined);
  results.on('error', () => undefined);
  await Promise.all([train.waitUntilReady(), results.waitUntilReady()]);
  return {
    location: l,
    train,
    results,
    close: async () => {
      await Promise.all([train.close(), results.close()]);
    },
  };
}
