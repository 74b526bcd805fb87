import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase, type MetaRecord } from '@metad2a/meta-trainer';
import { haveRedisServer, startRedis, type TestRedis } from '../../db-queue/test/helpers/redis-server';

// A distributed build against a real redis-server: the collector (`db build --queue`) and two
// `metad2a worker` processes, a worker and the collector killed with SIGKILL mid-build and
// restarted; one data source (a relative path) that the workers cannot read from where they run:
// its pairs dead-letter, and succeed on a rerun once a worker that has it runs. The records must
// equal a local build's of the same plan.

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'packages/cli/src/bin.ts');
const tsx = `file://${path.join(root, 'node_modules/tsx/dist/loader.mjs')}`;
const spawned: ChildProcess[] = [];

interface Proc {
  readonly child: ChildProcess;
  out: string;
  err: string;
  readonly exited: Promise<number | null>;
}

/** `metad2a <argv>` in its own process, from the sources (tsx with the repository's tsconfig, wherever it runs). */
function metad2a(argv: readonly string[], cwd = root): Proc {
  const child = spawn(process.execPath, ['--import', tsx, bin, ...argv], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METAD2A_BACKEND: 'native', TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') },
  });
  spawned.push(child);
  const p: Proc = { child, out: '', err: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.err += d.toString()));
  return p;
}

async function until(what: string, cond: () => boolean, procs: readonly Proc[], timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out waiting for ${what}\n${procs.map((p) => `--- ${p.child.spawnargs.slice(3).join(' ')}\n${p.out}\n${p.err}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A small IDX image dataset (4 classes × 20 grey 8×8 images of noisy bars), seeded. */
function writeIdx(dir: string): string {
  const n = 80;
  const px = new Uint8Array(n * 64);
  const labels = new Uint8Array(n);
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    labels[i] = c;
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++)
        px[i * 64 + y * 8 + x] = Math.min(255, ((c < 2 ? (c === 0 ? y : x) : c === 2 ? x + y : Math.abs(x - y)) % 4 < 2 ? 180 : 40) + Math.floor(60 * rnd()));
  }
  const header = (magic: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic, 0);
    dims.forEach((d, k) => b.writeUInt32BE(d, 4 + 4 * k));
    return b;
  };
  fs.writeFileSync(path.join(dir, 'bars-images-idx3-ubyte'), Buffer.concat([header(0x803, [n, 8, 8]), px]));
  fs.writeFileSync(path.join(dir, 'bars-labels-idx1-ubyte'), Buffer.concat([header(0x801, [n]), labels]));
  return 'bars-images-idx3-ubyte';
}

let redis: TestRedis;
beforeAll(async () => {
  if (!haveRedisServer()) throw new Error('redis-server is not installed: `.ci/run` installs it (apt-get install redis-server), or set REDIS_SERVER');
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
});

const key = (r: MetaRecord) => `${r.task}|${r.arch}|${r.metric}`;
const fingerprint = (r: MetaRecord) => [key(r), r.accuracy, (r.extra as { finalTrainLoss: number }).finalTrainLoss];

describe('metad2a db build --queue with two workers', () => {
  it('a worker and the collector killed mid-build, a source the workers lack: dead letters, then exactly the local build', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-queue-'));
    const idx = writeIdx(dir); // a path relative to dir: the planner (cwd dir) reads it, workers started in the repository cannot
    const plan = [
      '--datasets',
      `builtin:digits,${idx}`,
      '--tasks',
      '4',
      '--classes',
      '3',
      '--archs',
      '2',
      '--epochs',
      '2',
      '--train-per-class',
      '12',
      '--test-per-class',
      '6',
      '--seed',
      '5',
    ];
    const local = metad2a(['db', 'build', '--db', 'local.sqlite', ...plan], dir);
    const q = ['--queue', redis.url, '--queue-name', 'cli-test'];
    const build = ['db', 'build', '--db', 'queued.sqlite', ...plan, ...q, '--attempts', '2', '--backoff-seconds', '1', '--collect-lock-seconds', '2'];
    // a lock long enough that a live worker on a loaded machine keeps it; a killed one's pair is back within ~11 s
    const worker = ['worker', ...q, '--lock-seconds', '10', '--stalled-check-seconds', '1'];

    let collector = metad2a(build, dir);
    await until('the plan to be queued', () => /8 queued now/.test(collector.err), [collector]);
    const workers = [metad2a(worker), metad2a(worker)];
    const all = () => [collector, ...workers, local];
    // either worker may take the digits pairs first (the other one may only see the bars pairs it cannot read)
    const trainingDigits = () => workers.findIndex((w) => /started builtin:digits/.test(w.out));
    await until('a worker to start a digits pair', () => trainingDigits() >= 0, all());
    const victim = trainingDigits();
    workers[victim]!.child.kill('SIGKILL');
    await until('a record collected', () => /recorded [1-9]\/8/.test(collector.err), all());
    collector.child.kill('SIGKILL');
    expect(await workers[victim]!.exited).toBe(null);
    expect(await collector.exited).toBe(null);
    workers[victim] = metad2a(worker);
    collector = metad2a(build, dir);
    const code = await collector.exited;
    // the pairs of the source the workers lack are dead-lettered with their error; the build says what is missing
    expect(collector.out).toMatch(/recorded 4 of 8 planned pairs/);
    expect(collector.out).toMatch(/missing 4 pairs: dead-lettered after 2 attempts/);
    expect(collector.out).toMatch(/bars-images-idx3-ubyte\/\d-\d-\d \S+: data source bars-images-idx3-ubyte is not readable on worker/);
    expect(collector.err).toMatch(/error: queued\.sqlite: records: expected all 8 planned pairs, got 4 \(4 missing, listed above\)/);
    expect(collector.err).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
    const status = metad2a(['db', 'status', ...q, '--json']);
    expect(await status.exited).toBe(0);
    const s = JSON.parse(status.out);
    expect(s.train).toMatchObject({ completed: 4, failed: 4, waiting: 0, active: 0 });
    expect(s.deadLetters).toHaveLength(4);
    for (const d of s.deadLetters) expect(d).toMatchObject({ attempts: 2, error: expect.stringMatching(/is not readable on worker/) });
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);

    // a worker that has the source; the same command retries the dead letters and completes the build
    const w3 = metad2a(worker, dir);
    const again = metad2a(build, dir);
    expect(await again.exited).toBe(0);
    expect(again.err).toMatch(/8 pairs planned, 4 already recorded, 0 queued now, 0 already queued, 4 dead-lettered pairs retried/);
    expect(again.out).toMatch(/recorded 8 of 8 planned pairs/);
    w3.child.kill('SIGTERM');
    expect(await w3.exited).toBe(0);
    expect(await local.exited).toBe(0);

    const a = MetaDatabase.open(path.join(dir, 'local.sqlite'), { readonly: true });
    const b = MetaDatabase.open(path.join(dir, 'queued.sqlite'), { readonly: true });
    const ra = a.records();
    const rb = b.records();
    expect(ra).toHaveLength(8);
    expect(rb).toHaveLength(8);
    expect(new Set(rb.map(key)).size).toBe(8);
    expect(rb.map(fingerprint).sort()).toEqual(ra.map(fingerprint).sort());
    expect(
      b
        .tasks()
        .map((t) => [t.name, t.classIds])
        .sort(),
    ).toEqual(
      a
        .tasks()
        .map((t) => [t.name, t.classIds])
        .sort(),
    );
    expect(b.integrityProblems()).toEqual([]);
    a.close();
    b.close();
  }, 240_000);
});

describe('metad2a db build --queue --replicates', () => {
  it("queues every pair's further trainings: a worker records exactly the local build's replicates", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-queue-rep-'));
    const plan = [
      '--datasets',
      'builtin:digits',
      '--tasks',
      '1',
      '--classes',
      '3',
      '--archs',
      '2',
      '--epochs',
      '1',
      '--train-per-class',
      '12',
      '--test-per-class',
      '6',
      '--seed',
      '5',
    ];
    const local = metad2a(['db', 'build', '--db', 'local.sqlite', ...plan, '--replicates', '2'], dir);
    const q = ['--queue', redis.url, '--queue-name', 'cli-test-replicates'];
    // the plan's records first, then their second trainings queued by the same command with --replicates 2
    const first = metad2a(['db', 'build', '--db', 'queued.sqlite', ...plan, ...q], dir);
    const worker = metad2a(['worker', ...q, '--lock-seconds', '10']);
    expect(await first.exited).toBe(0);
    const second = metad2a(['db', 'build', '--db', 'queued.sqlite', ...plan, ...q, '--replicates', '2'], dir);
    expect(await second.exited).toBe(0);
    expect(second.err).toMatch(/4 pairs planned, 2 already recorded, 2 queued now/);
    expect(second.out).toMatch(/recorded 4 of 4 planned pairs/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await local.exited).toBe(0);
    const read = (f: string) => {
      const db = MetaDatabase.open(path.join(dir, f), { readonly: true });
      const r = db.records().map((x) => [...fingerprint(x), x.replicate, x.how, (x.extra as { seed: number }).seed]);
      db.close();
      return r.sort();
    };
    const queued = read('queued.sqlite');
    expect(queued).toHaveLength(4);
    expect(queued.map((r) => r[3]).sort()).toEqual([0, 0, 1, 1]);
    expect(queued).toEqual(read('local.sqlite'));
  }, 240_000);
});
