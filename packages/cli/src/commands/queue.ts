import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'commander';
import { MetaD2AException, describeBackend, initBackend, makeError } from '@metad2a/core';
import { MetaDatabase } from '@metad2a/meta-trainer';
import {
  DEFAULT_QUEUE_NAME,
  DEFAULT_RETRY,
  describeLocation,
  enqueuePairs,
  openQueues,
  pairJobId,
  parseQueueUrl,
  queueStatus,
  startCollector,
  startPairWorker,
  type PairJobData,
  type QueueLocation,
  type QueueStatus,
  type RetryPolicy,
  type TrainedPair,
} from '@metad2a/db-queue';
import { CliUsageError, type CliIo } from '../io';
import { intInRange } from '../options';

/** `--queue URL` and `--queue-name NAME` → a location (bad input: a usage error naming the flag). */
export function queueLocation(url: string, name: string): QueueLocation {
  const l = parseQueueUrl(url, name);
  if (E.isLeft(l)) throw new CliUsageError(l.left.message);
  return l.right;
}

export const queueNameOption = ['--queue-name <name>', `name of the build's queues on the server (builds sharing one Redis database need their own)`, DEFAULT_QUEUE_NAME] as const;

/**
 * Run `work` with SIGINT/SIGTERM turned into promises: `first` resolves at the first signal (stop
 * gracefully), `second` at the next one (stop now). The handlers are removed afterwards.
 */
async function withSignals<T>(work: (first: Promise<void>, second: Promise<void>) => Promise<T>): Promise<T> {
  const resolvers: Array<() => void> = [];
  const first = new Promise<void>((r) => resolvers.push(r));
  const second = new Promise<void>((r) => resolvers.push(r));
  let n = 0;
  const onSignal = () => resolvers[Math.min(n++, 1)]!();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(first, second);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The collector's lock, and a stalled check at half of it. */
const collectorLock = (lockMs: number) => ({ lockMs, stalledIntervalMs: Math.max(250, Math.round(lockMs / 2)) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface QueuedBuild {
  /** The plan's jobs, one per pair. */
  readonly jobs: readonly PairJobData[];
  /** Datasets and tasks of the plan, stored before any record (records need their task). */
  prepare(db: MetaDatabase): void;
}

/**
 * `db build --queue`: queue the plan's pairs that have no record, then collect results into the
 * database until every pair is recorded or dead-lettered. Returns the number of missing pairs
 * (0: complete); the caller turns a non-zero count into the exit status.
 */
export async function runQueuedBuild(
  io: CliIo,
  dbFile: string,
  loc: QueueLocation,
  build: QueuedBuild,
  opts: { retry: RetryPolicy; collectLockMs?: number; pollMs?: number },
): Promise<{ recorded: number; missing: number; wallMs: number }> {
  const t0 = Date.now();
  const db = MetaDatabase.open(dbFile);
  const q = await openQueues(loc).catch((e) => {
    db.close();
    throw e;
  });
  try {
    build.prepare(db);
    const rep = await enqueuePairs(q, build.jobs, (k) => db.hasRecord(k), opts.retry);
    io.stderr.write(
      `queue ${describeLocation(loc)}: ${rep.planned} pairs planned, ${rep.recorded} already recorded, ${rep.queued} queued now, ${rep.alreadyQueued} already queued, ${rep.retried} dead-lettered pairs retried\n`,
    );
    const keys = build.jobs.map((j) => j.key);
    const ids = new Set(keys.map(pairJobId));
    const recordedCount = () => keys.filter((k) => db.hasRecord(k)).length;
    let reported = -1;
    const collector = await startCollector(loc, db, {
      ...(opts.collectLockMs !== undefined ? collectorLock(opts.collectLockMs) : {}),
      onConnectionError: (m) => io.stderr.write(`queue ${describeLocation(loc)}: ${m} (reconnecting)\n`),
    });
    let deadPlanned: QueueStatus['deadLetters'] = [];
    let recorded = 0;
    let interrupted = false;
    try {
      await withSignals(async (stop) => {
        void stop.then(() => (interrupted = true));
        for (;;) {
          recorded = recordedCount();
          const s = await queueStatus(q);
          deadPlanned = s.deadLetters.filter((d) => ids.has(d.jobId) && !db.hasRecord(build.jobs.find((j) => pairJobId(j.key) === d.jobId)!.key));
          if (recorded !== reported) {
            reported = recorded;
            const rate = s.pairsPerHour !== undefined ? `, ${s.pairsPerHour.toFixed(0)} pairs/h, ETA ${(s.etaMs! / 60000).toFixed(1)} min` : '';
            io.stderr.write(
              `recorded ${recorded}/${keys.length}; queue: ${s.train.waiting} waiting, ${s.train.active} training, ${s.train.delayed} to retry, ${s.train.failed} dead-lettered; ${s.workers} workers${rate}\n`,
            );
          }
          if (recorded + deadPlanned.length >= keys.length || interrupted) return;
          await sleep(opts.pollMs ?? 1000);
        }
      });
    } finally {
      await collector.close();
    }
    const missing = keys.length - recorded;
    const wallMs = Date.now() - t0;
    io.stdout.write(`recorded ${recorded} of ${keys.length} planned pairs (${collector.counts().inserted} collected by this run), wall ${(wallMs / 1000).toFixed(1)} s\n`);
    if (missing > 0) {
      io.stdout.write(
        interrupted
          ? `interrupted: ${missing} pairs not recorded yet; the workers keep training, and \`metad2a db collect\` or this command again collects them\n`
          : `missing ${missing} pairs: dead-lettered after ${opts.retry.attempts} attempts (rerun this command to retry them):\n${deadPlanned.map((d) => `  ${d.task} ${d.arch}: ${d.error}`).join('\n')}\n`,
      );
    }
    return { recorded, missing, wallMs };
  } finally {
    await q.close();
    db.close();
  }
}

export function registerQueueCommands(
  program: Command,
  db: Command,
  io: CliIo,
  trainPair: (job: PairJobData) => Promise<TrainedPair>,
  sourceVersion: (dataset: string) => string,
): void {
  program
    .command('worker')
    .description('train the pairs of distributed `db build --queue` runs: take jobs from the queue, train, send results back (until Ctrl-C / SIGTERM)')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT/DB (any Redis-compatible server)')
    .option(...queueNameOption)
    .option('--concurrency <n>', 'pairs trained at once by this process', intInRange('--concurrency', 1, 64), 1)
    .option('--lock-seconds <s>', 'a job whose worker stops renewing its lock for this long goes back to the queue', intInRange('--lock-seconds', 1, 86_400), 120)
    .option('--stalled-check-seconds <s>', 'how often to look for jobs of dead workers', intInRange('--stalled-check-seconds', 1, 3600), 30)
    .action(async (f: { queue: string; queueName: string; concurrency: number; lockSeconds: number; stalledCheckSeconds: number }) => {
      const loc = queueLocation(f.queue, f.queueName);
      const backend = await initBackend();
      io.stderr.write(`${describeBackend(backend)}\n`);
      let trained = 0;
      let failed = 0;
      const w = await startPairWorker(loc, {
        trainPair,
        sourceVersion,
        concurrency: f.concurrency,
        lockMs: f.lockSeconds * 1000,
        stalledIntervalMs: f.stalledCheckSeconds * 1000,
        onEvent: (e) => {
          if (e.kind === 'started') io.stdout.write(`started ${e.task} ${e.arch} (attempt ${e.attempt})\n`);
          else if (e.kind === 'trained') io.stdout.write(`trained ${++trained}: ${e.task} ${e.arch} ${e.accuracy.toFixed(2)}% in ${(e.trainMs / 1000).toFixed(1)} s\n`);
          else if (e.kind === 'failed') io.stdout.write(`failed ${++failed}: ${e.task} ${e.arch}: ${e.error}${e.willRetry ? ' (will be retried)' : ' (dead-lettered)'}\n`);
          else if (e.kind === 'connection') io.stderr.write(`queue ${describeLocation(loc)}: ${e.error} (reconnecting)\n`);
        },
      });
      io.stderr.write(`worker on ${describeLocation(loc)}, concurrency ${f.concurrency}\n`);
      const forced = await withSignals(async (stop, now) => {
        await Promise.race([stop, w.stopped]);
        if (!w.refusal()) io.stderr.write('stopping: the pairs in progress finish first (signal again to stop at once; they then go back to the queue when their lock expires)\n');
        return Promise.race([w.close().then(() => false), now.then(() => true)]);
      });
      if (forced) {
        await w.forceClose();
        io.stdout.write(`worker stopped at once: ${trained} pairs trained, ${failed} failures; the pairs it had taken go back to the queue when their lock expires\n`);
        return;
      }
      const r = w.refusal();
      if (r) {
        throw new MetaD2AException(
          makeError('ValidationError', {
            source: `data source ${r.dataset}`,
            field: 'version',
            expected: `${r.jobVersion} (the version the build was planned with)`,
            got: `${r.ownVersion} on this machine; the job went back to the queue and this worker stopped: install the same data sources as the planner`,
          }),
        );
      }
      io.stdout.write(`worker stopped: ${trained} pairs trained, ${failed} failures\n`);
    });

  db.command('collect')
    .description('write the results of a distributed build into a meta-database (idempotent; any number of restarts)')
    .requiredOption('--db <file>', 'meta-database file (created if missing)')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT/DB')
    .option(...queueNameOption)
    .option('--follow', 'keep collecting until Ctrl-C / SIGTERM (default: stop when nothing is queued, training or waiting to be collected)')
    .option('--collect-lock-seconds <s>', 'a result whose collector died is collected again after this long', intInRange('--collect-lock-seconds', 1, 3600), 30)
    .action(async (f: { db: string; queue: string; queueName: string; follow?: boolean; collectLockSeconds: number }) => {
      const loc = queueLocation(f.queue, f.queueName);
      const d = MetaDatabase.open(f.db);
      try {
        const q = await openQueues(loc);
        const collector = await startCollector(loc, d, {
          ...collectorLock(f.collectLockSeconds * 1000),
          onConnectionError: (m) => io.stderr.write(`queue ${describeLocation(loc)}: ${m} (reconnecting)\n`),
        });
        try {
          await withSignals(async (stop) => {
            let stopped = false;
            void stop.then(() => (stopped = true));
            while (!stopped) {
              const s = await queueStatus(q);
              const pending = s.train.waiting + s.train.active + s.train.delayed + s.results.waiting + s.results.active + s.results.delayed;
              if (!f.follow && pending === 0) return;
              await sleep(1000);
            }
          });
        } finally {
          await collector.close();
          await q.close();
        }
        const c = collector.counts();
        io.stdout.write(`collected ${c.inserted} new records, ${c.existing} already recorded\n`);
      } finally {
        d.close();
      }
    });

  db.command('status')
    .description("a distributed build's progress: waiting/training/trained/dead-lettered pairs, results to collect, workers, throughput, ETA and each dead letter's error")
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT/DB')
    .option(...queueNameOption)
    .option('--json', 'print JSON')
    .action(async (f: { queue: string; queueName: string; json?: boolean }) => {
      const loc = queueLocation(f.queue, f.queueName);
      const q = await openQueues(loc);
      let s: QueueStatus;
      try {
        s = await queueStatus(q);
      } finally {
        await q.close();
      }
      if (f.json) {
        io.stdout.write(`${JSON.stringify({ location: describeLocation(loc), ...s }, null, 2)}\n`);
        return;
      }
      io.stdout.write(`${describeLocation(loc)}: ${s.workers < 0 ? 'workers unknown' : `${s.workers} workers`}\n`);
      io.stdout.write(
        `  pairs:   ${s.train.waiting} waiting, ${s.train.active} training, ${s.train.delayed} waiting to retry, ${s.train.completed} trained, ${s.train.failed} dead-lettered\n`,
      );
      io.stdout.write(
        `  results: ${s.results.waiting + s.results.delayed} to collect, ${s.results.active} being written, ${s.results.completed} collected, ${s.results.failed} failed\n`,
      );
      io.stdout.write(
        s.pairsPerHour !== undefined
          ? `  throughput ${s.pairsPerHour.toFixed(1)} pairs/h, ETA ${(s.etaMs! / 60000).toFixed(1)} min\n`
          : '  throughput: not enough finished pairs yet\n',
      );
      for (const d of s.deadLetters) io.stdout.write(`  dead letter ${d.task} ${d.arch} after ${d.attempts} attempts: ${d.error}\n`);
    });
}

export const retryOptions = (attempts: number, backoffSeconds: number): RetryPolicy => ({ attempts, backoffMs: backoffSeconds * 1000 });
export { DEFAULT_RETRY };
