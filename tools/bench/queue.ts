/**
 * `npm run bench:queue -- [--json] [--workers 1,2] [--tasks 4] [--archs 4] [--recipe tiny]`:
 * throughput of a distributed meta-database build (`metad2a db build --queue` + N `metad2a worker`
 * processes on this machine) against a throwaway redis-server on a free loopback port. For each
 * worker count: a fresh queue and database, the same plan (builtin:digits tasks), wall time from
 * the plan being queued to the last record collected, and pairs per hour. Workers start before
 * the plan is queued, so their start-up is not counted. The machine may be shared: give the load
 * average with the figures. Never a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { startRedis } from '../../packages/db-queue/test/helpers/redis-server';

const root = path.join(__dirname, '../..');
const bin = path.join(root, 'packages/cli/src/bin.ts');

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
}

function cli(argv: string[], onOut: (s: string) => void): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', bin, ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout!.on('data', (d: Buffer) => onOut(d.toString()));
  c.stderr!.on('data', (d: Buffer) => onOut(d.toString()));
  return c;
}

export async function run(args: string[]): Promise<void> {
  const counts = arg(args, 'workers', '1,2').split(',').map(Number);
  const plan = [
    '--datasets',
    'builtin:digits',
    '--tasks',
    arg(args, 'tasks', '4'),
    '--classes',
    '4',
    '--archs',
    arg(args, 'archs', '4'),
    '--recipe',
    arg(args, 'recipe', 'tiny'),
    '--train-per-class',
    '40',
    '--test-per-class',
    '30',
    '--seed',
    '1',
  ];
  const pairs = Number(arg(args, 'tasks', '4')) * Number(arg(args, 'archs', '4'));
  const redis = await startRedis();
  const rows: { workers: number; pairs: number; wallS: number; pairsPerHour: number; meanPairTrainS: number; load1: number }[] = [];
  try {
    for (const n of counts) {
      const name = `bench-${n}-${process.pid}`;
      const q = ['--queue', redis.url, '--queue-name', name];
      let ready = 0;
      const workers = Array.from({ length: n }, () => cli(['worker', ...q], (s) => (ready += (s.match(/^worker on /gm) ?? []).length)));
      while (ready < n) await new Promise((r) => setTimeout(r, 100));
      const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-bench-queue-')), 'meta.sqlite');
      let t0 = 0;
      let log = '';
      const collector = cli(['db', 'build', '--db', db, ...plan, ...q], (s) => {
        log += s;
        if (!t0 && /queued now/.test(log)) t0 = Date.now();
      });
      const code = await new Promise<number | null>((r) => collector.on('exit', r));
      const wallS = (Date.now() - t0) / 1000;
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => new Promise((r) => w.on('exit', r))));
      if (code !== 0) throw new Error(`db build --queue exited ${code}:\n${log}`);
      const d = MetaDatabase.open(db, { readonly: true });
      const trainMs = d.records().map((r) => (r.extra as { trainMs: number }).trainMs);
      d.close();
      const meanPairTrainS = trainMs.reduce((a, b) => a + b, 0) / trainMs.length / 1000;
      const row = { workers: n, pairs, wallS, pairsPerHour: (pairs / wallS) * 3600, meanPairTrainS, load1: os.loadavg()[0]! };
      rows.push(row);
      console.log(
        `${n} worker(s): ${pairs} pairs in ${wallS.toFixed(1)} s = ${row.pairsPerHour.toFixed(0)} pairs/h; training time per pair ${meanPairTrainS.toFixed(2)} s (1-min load average ${row.load1.toFixed(1)} on ${os.cpus().length} cores)`,
      );
    }
  } finally {
    await redis.stop();
  }
  if (args.includes('--json')) console.log(JSON.stringify({ rows }));
}
