/**
 * Child process of queue.test.ts: a pair worker whose training takes argv[3] ms (a timer, so the
 * lock keeps being renewed), printing `started <task>` when it takes a job. The test kills it with
 * SIGKILL mid-job to check that the queue gives the job to another worker.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseQueueUrl, startPairWorker } from '../../src';
import { trainedPairOf } from './fake-pairs';

const loc = parseQueueUrl(process.argv[2]!, process.argv[4]);
if (E.isLeft(loc)) throw new Error(loc.left.message);
void startPairWorker(loc.right, {
  sourceVersion: () => 'v1',
  lockMs: 1500,
  stalledIntervalMs: 500,
  name: 'slow-worker',
  onEvent: (e) => process.stdout.write(`${e.kind} ${'task' in e ? e.task : e.error}\n`),
  trainPair: async (job) => {
    await new Promise((r) => setTimeout(r, Number(process.argv[3])));
    return trainedPairOf(job);
  },
});
