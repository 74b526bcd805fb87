/**
 * `npm run fuzz [-- --cases N --seed S]`: the long seeded fuzz run of issue #19 (default 2,100
 * cases, 300 per format: .pt, IDX, CSV, JSON, .npy, checkpoint, model directory). Each case runs in
 * a worker thread with a 1 GiB heap cap; a case still running after 5 s is stopped and counted as a
 * hang, a worker that runs out of heap (or a case whose heap + typed-array memory grows by more
 * than 1 GiB) as a peak over 1 GB. Prints the counts by outcome, per format and in total, and every
 * unnamed exception with its case (replay: the same --seed and case number).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { OUTCOMES, caseSpec, fuzzTargets, type Outcome } from './targets';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const CASES = arg('cases', 2100);
const SEED = arg('seed', 19);
const HANG_MS = 5000;
const GB = 2 ** 30;

async function main(): Promise<void> {
  const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-fuzz-'));
  const targets = fuzzTargets(scratchRoot);
  const seeds = new Map(targets.map((t) => [t.format, t.seeds()]));
  const counts = new Map<string, Record<Outcome, number>>();
  const count = (format: string, o: Outcome): void => {
    const c = counts.get(format) ?? (Object.fromEntries(OUTCOMES.map((x) => [x, 0])) as Record<Outcome, number>);
    c[o]++;
    counts.set(format, c);
  };
  const unnamed: string[] = [];
  let slowest = { ms: 0, what: '' };
  let worker: Worker | undefined;
  const start = (): Promise<Worker> =>
    new Promise((resolve) => {
      // workers do not inherit tsx's loader: register it inside (CommonJS), then load the TypeScript worker
      const boot = `require('tsx/cjs/api').register(); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`;
      const w = new Worker(boot, { eval: true, workerData: { scratchRoot }, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
      w.once('message', () => resolve(w));
    });
  const t0 = Date.now();
  for (let i = 0; i < CASES; i++) {
    const spec = caseSpec(targets, (t) => seeds.get(t.format)!, SEED, i);
    worker ??= await start();
    const w = worker;
    const r = await new Promise<{ outcome: Outcome; ms: number; detail?: string; grown?: number }>((resolve) => {
      const timer = setTimeout(() => resolve({ outcome: 'hang > 5 s', ms: HANG_MS }), HANG_MS);
      const done = (x: { outcome: Outcome; ms: number; detail?: string; grown?: number }): void => {
        clearTimeout(timer);
        w.removeAllListeners('message');
        w.removeAllListeners('error');
        resolve(x);
      };
      w.on('message', (m) => done(m));
      w.on('error', (e) =>
        done({
          outcome: /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(String((e as { code?: string }).code ?? e)) ? 'peak > 1 GB' : 'unnamed exception',
          ms: 0,
          detail: String(e),
        }),
      );
      w.postMessage({ i, ...spec });
    });
    let outcome = r.outcome;
    if (outcome !== 'hang > 5 s' && (r.grown ?? 0) > GB) outcome = 'peak > 1 GB';
    if (r.outcome === 'hang > 5 s' || r.outcome === 'peak > 1 GB' || (r.outcome === 'unnamed exception' && !r.detail?.startsWith('Error'))) {
      await w.terminate();
      worker = undefined;
    }
    count(spec.format, outcome);
    if (outcome === 'unnamed exception') unnamed.push(`case ${i} (${spec.format}, seed ${spec.seedIndex}, mutation ${spec.caseSeed}): ${r.detail}`);
    if (r.ms > slowest.ms) slowest = { ms: r.ms, what: `case ${i} (${spec.format})` };
    if ((i + 1) % 300 === 0) process.stderr.write(`${i + 1}/${CASES} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  await worker?.terminate();
  const total = Object.fromEntries(OUTCOMES.map((o) => [o, [...counts.values()].reduce((a, c) => a + c[o], 0)])) as Record<Outcome, number>;
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lines = [
    `fuzz: ${CASES} cases, seed ${SEED}, ${((Date.now() - t0) / 1000).toFixed(0)} s; slowest case ${slowest.ms.toFixed(0)} ms (${slowest.what})`,
    '',
    `| format | ${OUTCOMES.join(' | ')} |`,
    `|---|${OUTCOMES.map(() => '---:').join('|')}|`,
  ];
  for (const [f, c] of counts) lines.push(`| ${pad(f, 10)} | ${OUTCOMES.map((o) => c[o]).join(' | ')} |`);
  lines.push(`| **total** | ${OUTCOMES.map((o) => total[o]).join(' | ')} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const u of unnamed) process.stdout.write(`\nunnamed exception: ${u}\n`);
  fs.rmSync(scratchRoot, { recursive: true, force: true });
  process.exitCode = total['unnamed exception'] + total['hang > 5 s'] + total['peak > 1 GB'] > 0 ? 1 : 0;
}

void main();
