import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { enqueuePairs, openQueues, pairJobId, parseQueueUrl, queueStatus, startCollector, startPairWorker, type QueueLocation, type WorkerEvent } from '../src';
import { pairJobs, trainedPairOf } from './helpers/fake-pairs';
import { haveRedisServer, startRedis, type TestRedis } from './helpers/redis-server';

const root = path.join(__dirname, '../../..');
let redis: TestRedis;
beforeAll(async () => {
  if (!haveRedisServer()) throw new Error('redis-server is not installed: `.ci/run` installs it (apt-get install redis-server), or set REDIS_SERVER');
  redis = await startRedis();
});
afterAll(() => redis?.stop());

let queueNo = 0;
const location = (): QueueLocation => {
  const l = parseQueueUrl(redis.url, `test-${process.pid}-${++queueNo}`);
  if (E.isLeft(l)) throw new Error(l.left.message);
  return l.right;
};
const tmpDb = (): MetaDatabase => MetaDatabase.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-queue-')), 'meta.sqlite'));
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
/**
 * What a test opened (queues, database, workers, collectors, child processes), closed last-first
 * after it — also when an assertion failed midway, so a failed test never leaves a Redis
 * connection or a worker that keeps jest from exiting.
 */
const openInTest: (() => unknown)[] = [];
function opened<T extends { close(): Promise<void> | void }>(thing: T): T {
  openInTest.push(() => thing.close());
  return thing;
}
async function closeAll(): Promise<void> {
  const errors: unknown[] = [];
  for (let close = openInTest.pop(); close; close = openInTest.pop()) {
    try {
      await close();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
}
afterEach(closeAll);
/** A fresh queue and database for one test; `tearDown` closes them and the workers the test started. */
async function setUp() {
  const l = location();
  const q = opened(await openQueues(l));
  const db = opened(tmpDb());
  return { l, q, db, tearDown: closeAll };
}
const isRecordedIn = (db: MetaDatabase) => (k: { task: string; space: string; arch: string; metric: string }) => db.hasRecord(k);

describe('queue URLs', () => {
  it.each([
    ['redis://127.0.0.1:6390/2', { host: '127.0.0.1', port: 6390, db: 2, tls: false }],
    ['redis://cache.example', { host: 'cache.example', port: 6379, db: 0 }],
    ['rediss://u:p%40ss@[::1]:7000/1', { host: '::1', port: 7000, db: 1, tls: true, username: 'u', password: 'p@ss' }],
  ])('%s', (url, want) => {
    const l = parseQueueUrl(url);
    expect(E.isRight(l) && l.right).toMatchObject(want);
  });
  it.each([
    ['localhost:6379', /--queue: localhost:6379: expected the scheme redis:\/\/ or rediss:\/\/, got "localhost:"/],
    ['http://h:1/0', /expected the scheme redis:\/\/ or rediss:\/\//],
    ['redis://h:1/x', /expected a database number after the host/],
    ['not a url', /expected a URL redis:\/\/HOST:PORT\/DB/],
  ])('refuses %s', (url, msg) => {
    const l = parseQueueUrl(url);
    expect(E.isLeft(l) && l.left.message).toMatch(msg);
  });
  it('refuses a queue name that cannot go into Redis keys', () => {
    const l = parseQueueUrl('redis://h/0', 'a:b');
    expect(E.isLeft(l) && l.left.message).toMatch(/--queue-name: a:b: expected letters, digits/);
  });
  it('job ids come from the record key only', () => {
    const [a, b] = pairJobs(1, 2);
    expect(pairJobId(a!.key)).toBe(pairJobId({ ...a!.key }));
    expect(pairJobId(a!.key)).not.toBe(pairJobId(b!.key));
    expect(pairJobId(a!.key)).toMatch(/^pair-[0-9a-f]{40}$/);
    // a pair's record keeps the id it had before replicates existed; its further trainings get ids of their own
    expect(pairJobId({ ...a!.key, replicate: 0 })).toBe(pairJobId(a!.key));
    expect(pairJobId(a!.key)).toBe(
      `pair-${createHash('sha256')
        .update(JSON.stringify([a!.key.task, a!.key.space, a!.key.arch, a!.key.metric]))
        .digest('hex')
        .slice(0, 40)}`,
    );
    const again = [1, 2].map((replicate) => pairJobId({ ...a!.key, replicate }));
    expect(new Set([pairJobId(a!.key), ...again]).size).toBe(3);
  });
});

describe('a distributed build on a real redis-server', () => {
  it('an unreachable server is a named error, not a hang', async () => {
    const l = parseQueueUrl('redis://127.0.0.1:1/0');
    await expect(openQueues((l as E.Right<QueueLocation>).right)).rejects.toThrow(
      /redis:\/\/127\.0\.0\.1:1\/0 queue metad2a-db: expected a Redis server answering PING, got .*ECONNREFUSED/,
    );
  });

  it('two workers and a collector: every pair recorded once; planning again queues nothing; status counts', async () => {
    const { l, q, db, tearDown } = await setUp();
    const jobs = pairJobs(3, 4);
    expect(await enqueuePairs(q, jobs, isRecordedIn(db))).toEqual({ planned: 12, recorded: 0, queued: 12, alreadyQueued: 0, retried: 0 });
    expect(await enqueuePairs(q, [...jobs, jobs[0]!], isRecordedIn(db))).toEqual({ planned: 12, recorded: 0, queued: 0, alreadyQueued: 12, retried: 0 });
    const before = await queueStatus(q);
    expect(before.train).toEqual({ waiting: 12, active: 0, delayed: 0, completed: 0, failed: 0 });
    expect(before.pairsPerHour).toBeUndefined();
    const events: WorkerEvent[] = [];
    await Promise.all(
      ['w1', 'w2'].map(async (name) =>
        opened(
          await startPairWorker(l, {
            name,
            sourceVersion: () => 'v1',
            onEvent: (e) => events.push(e),
            trainPair: async (job) => (await new Promise((r) => setTimeout(r, 20)), trainedPairOf(job)),
          }),
        ),
      ),
    );
    const collector = opened(await startCollector(l, db));
    await until('12 records', () => db.counts().records === 12);
    await until('results completed', async () => (await q.results.getCompletedCount()) === 12);
    const recs = db.records();
    expect(recs.map((r) => [r.task, r.arch, r.accuracy]).sort()).toEqual(
      jobs
        .map((j) => {
          const { t, a } = j.pair as { t: number; a: number };
          return [j.key.task, j.key.arch, 10 * t + a + 0.5];
        })
        .sort(),
    );
    expect(collector.counts()).toEqual({ inserted: 12, existing: 0 });
    // both workers took jobs
    const by = new Set((await q.results.getCompleted(0, -1)).map((j) => j.data.worker));
    expect(by).toEqual(new Set(['w1', 'w2']));
    expect(events.filter((e) => e.kind === 'trained')).toHaveLength(12);
    const s = await queueStatus(q);
    expect(s.train).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 12, failed: 0 });
    expect(s.results).toMatchObject({ waiting: 0, completed: 12, failed: 0 });
    expect(s.workers).toBe(2);
    expect(s.pairsPerHour).toBeGreaterThan(0);
    expect(s.etaMs).toBe(0);
    // everything is recorded now: a re-plan finds it in the database
    expect(await enqueuePairs(q, jobs, isRecordedIn(db))).toMatchObject({ recorded: 12, queued: 0 });
    await tearDown();
  });

  it('a pair that keeps failing is retried with backoff, then dead-lettered with its error; a re-plan retries it', async () => {
    const { l, q, db, tearDown } = await setUp();
    const jobs = pairJobs(1, 3);
    await enqueuePairs(q, jobs, isRecordedIn(db), { attempts: 3, backoffMs: 200 });
    const starts: number[] = [];
    let healed = false;
    opened(
      await startPairWorker(l, {
        sourceVersion: () => 'v1',
        onEvent: (e) => e.kind === 'started' && e.arch === 'arch-1' && starts.push(Date.now()),
        trainPair: async (job) => {
          if (job.key.arch === 'arch-1' && !healed) throw new Error('out of memory while training arch-1');
          return trainedPairOf(job);
        },
      }),
    );
    opened(await startCollector(l, db));
    await until('the dead letter', async () => (await q.train.getFailedCount()) === 1);
    await until('2 records', () => db.counts().records === 2);
    expect(starts).toHaveLength(3);
    // exponential backoff: 200 ms, then 400 ms
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(190);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(390);
    const s = await queueStatus(q);
    expect(s.deadLetters).toEqual([
      { jobId: pairJobId(jobs[1]!.key), task: 'toy/t0', arch: 'arch-1', attempts: 3, error: 'out of memory while training arch-1', failedAt: expect.any(String) },
    ]);
    expect(s.train).toMatchObject({ completed: 2, failed: 1, waiting: 0 });
    healed = true;
    expect(await enqueuePairs(q, jobs, isRecordedIn(db), { attempts: 3, backoffMs: 200 })).toEqual({ planned: 3, recorded: 2, queued: 0, alreadyQueued: 0, retried: 1 });
    await until('3 records', () => db.counts().records === 3);
    expect((await queueStatus(q)).deadLetters).toEqual([]);
    await tearDown();
  });

  it('a worker whose data source has another version puts the job back and stops; a matching worker trains it', async () => {
    const { l, q, db, tearDown } = await setUp();
    await enqueuePairs(q, pairJobs(1, 2, 'glyphs-3'), isRecordedIn(db));
    let trainedByStale = 0;
    const stale = opened(await startPairWorker(l, { sourceVersion: () => 'glyphs-2', trainPair: async (job) => (trainedByStale++, trainedPairOf(job)) }));
    await stale.stopped;
    expect(trainedByStale).toBe(0);
    expect(stale.refusal()).toMatchObject({ kind: 'refused', dataset: 'toy', jobVersion: 'glyphs-3', ownVersion: 'glyphs-2' });
    expect((await queueStatus(q)).train).toMatchObject({ waiting: 2, failed: 0, completed: 0 });
    opened(await startPairWorker(l, { sourceVersion: () => 'glyphs-3', trainPair: async (job) => trainedPairOf(job) }));
    opened(await startCollector(l, db));
    await until('2 records', () => db.counts().records === 2);
    await tearDown();
  });

  it('a worker killed with SIGKILL mid-pair: its job stalls and another worker trains it', async () => {
    const { l, q, db, tearDown } = await setUp();
    await enqueuePairs(q, pairJobs(1, 1), isRecordedIn(db));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers/slow-worker.ts'), redis.url, '60000', l.name], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    opened({ close: () => void child.kill('SIGKILL') });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('started toy/t0') && resolve());
      child.on('exit', (code) => reject(new Error(`slow worker exited ${code}: ${err}`)));
    });
    expect((await queueStatus(q)).train.active).toBe(1);
    child.kill('SIGKILL');
    const events: WorkerEvent[] = [];
    opened(
      await startPairWorker(l, {
        sourceVersion: () => 'v1',
        lockMs: 1500,
        stalledIntervalMs: 500,
        name: 'rescuer',
        onEvent: (e) => events.push(e),
        trainPair: async (job) => trainedPairOf(job),
      }),
    );
    opened(await startCollector(l, db));
    await until('the record', () => db.counts().records === 1);
    // the collector inserts the record before its results job is marked completed
    await until('the result completed', async () => (await q.results.getCompletedCount()) === 1);
    expect(events.filter((e) => e.kind === 'started')).toEqual([expect.objectContaining({ attempt: 1 })]);
    const done = (await q.results.getCompleted(0, -1)).map((j) => j.data.worker);
    expect(done).toEqual(['rescuer']);
    await tearDown();
  }, 30_000);
});
