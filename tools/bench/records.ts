/**
 * `npm run bench:records -- [--json] [--recipe nb201-db] [--dataset builtin:mnist] [--tasks 2]
 * [--classes 10] [--archs 4] [--train-per-class 100] [--test-per-class 50] [--repeats 3]
 * [--torch-threads n] [--no-pytorch]`: records per hour of the meta-database builder
 * (`buildDatabase` of @metad2a/arch-trainer into a temporary SQLite file: task data preparation,
 * training every (task, cell) pair with the recipe, evaluation, one transaction per record) beside
 * the official PyTorch TinyNetwork training the same cells with the same recipe on inputs of the
 * same shapes (random data, so no loading cost on its side), run back to back in this process
 * tree, `--repeats` times alternately; medians are reported with the load average.
 *
 * Without PyTorch (`python3 -c 'import torch'` fails) the official figure is derived from the
 * training img/s of `docs/official-cpu-anchors.md` (the row of the recipe's network shape) and
 * the report says so. The machine may be shared: compare only figures of one run. Never a test.
 * The defaults are the shipped database's recipe and per-class counts (`nb201-db`, 100 + 50 images
 * per class) on 10-class tasks (the middle of its 5–20).
 *
 * `--workers N` (default 1) trains as `METAD2A_THREADS=<cores / N> metad2a db build --workers N`
 * does: N processes (with `TRAINING_NODE_FLAGS`), each taking every N-th pair of the plan
 * (`--shard k/N`) into one database file, with `METAD2A_THREADS` = cores / N each (at least 1;
 * an explicit `METAD2A_THREADS` wins); records per hour = all records over the wall
 * time from the first worker's start to the last one's end (process start-up excluded, as in the
 * one-process figure). PyTorch then also runs N processes at once (the same pairs split the same
 * way, its default threading each), so the ratio compares equal parallelism; run `--workers 1`
 * in the same session for the ratio against one PyTorch process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@metad2a/core';
import { TRAINING_NODE_FLAGS, buildDatabase, getRecipe, networkChannels, sampleArchitectures } from '@metad2a/arch-trainer';
import { spawn } from 'node:child_process';
import { anchorImgPerSec, machineLoad, median, runTorchParallel, torchPython, type TorchRecordsJob } from './reference/pytorch';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const num = (args: string[], name: string, dflt: number): number => {
  const v = arg(args, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

/** One `--workers` process of the benchmark: `buildDatabase` of shard k/N into the given file; prints {trained, startMs, endMs}. */
async function runShardWorker(args: string[]): Promise<void> {
  const [k, n] = arg(args, 'worker-shard')!.split('/').map(Number) as [number, number];
  const recipe = getRecipe(arg(args, 'recipe') ?? 'nb201-db');
  await initBackend({});
  const archs = sampleArchitectures(num(args, 'archs', 4), recipe, 2026);
  const startMs = Date.now();
  const s = await buildDatabase({
    db: arg(args, 'worker-db')!,
    datasets: [arg(args, 'dataset') ?? 'builtin:mnist'],
    numTasks: num(args, 'tasks', 2),
    classesPerTask: num(args, 'classes', 10),
    trainPerClass: num(args, 'train-per-class', 100),
    testPerClass: num(args, 'test-per-class', 50),
    archs,
    recipe,
    seed: Number(arg(args, 'worker-seed')),
    shard: { index: k, of: n },
  });
  console.log(JSON.stringify({ trained: s.trained, startMs, endMs: Date.now() }));
}

/** Our builder as N shard processes on one database file (as `db build --workers N`): records trained and wall seconds. */
async function buildInWorkers(args: string[], workers: number, db: string, seed: number): Promise<{ trained: number; secs: number; threads: number }> {
  const threads = Number(process.env.METAD2A_THREADS) > 0 ? Number(process.env.METAD2A_THREADS) : Math.max(1, Math.floor(os.cpus().length / workers));
  const results = await Promise.all(
    Array.from(
      { length: workers },
      (_, k) =>
        new Promise<{ trained: number; startMs: number; endMs: number }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
              ...TRAINING_NODE_FLAGS,
              ...process.execArgv,
              process.argv[1]!,
              'records',
              ...args,
              '--worker-shard',
              `${k}/${workers}`,
              '--worker-db',
              db,
              '--worker-seed',
              String(seed),
            ],
            { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, METAD2A_THREADS: String(threads) } },
          );
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => {
            if (code !== 0) reject(new Error(`records worker ${k}/${workers} exited with ${code}`));
            else resolve(JSON.parse(out.trim().split('\n').pop()!) as { trained: number; startMs: number; endMs: number });
          });
        }),
    ),
  );
  const secs = (Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs))) / 1000;
  return { trained: results.reduce((a, r) => a + r.trained, 0), secs, threads };
}

export async function run(args: string[]): Promise<void> {
  if (arg(args, 'worker-shard') !== undefined) return runShardWorker(args);
  const json = args.includes('--json');
  const say = json ? console.error : console.log;
  const recipe = getRecipe(arg(args, 'recipe') ?? 'nb201-db');
  const dataset = arg(args, 'dataset') ?? 'builtin:mnist';
  const tasks = num(args, 'tasks', 2);
  const classes = num(args, 'classes', 10);
  const archCount = num(args, 'archs', 4);
  const trainPerClass = num(args, 'train-per-class', 100);
  const testPerClass = num(args, 'test-per-class', 50);
  const repeats = num(args, 'repeats', 3);
  const workers = num(args, 'workers', 1);
  const torchThreads = arg(args, 'torch-threads') === undefined ? undefined : num(args, 'torch-threads', 1);
  if (recipe.inputSize === undefined) throw new Error(`recipe ${recipe.name} has no inputSize (the builder needs one)`);
  const backend = await initBackend({});
  const archs = sampleArchitectures(archCount, recipe, 2026);
  const records = tasks * archs.length;
  const inChannels = networkChannels({ shape: [1, recipe.inputSize, recipe.inputSize, 1] } as never, recipe);
  say(
    `records: recipe ${recipe.name} (C=${recipe.C} N=${recipe.N} ${recipe.inputSize}px batch ${recipe.batchSize} ${recipe.epochs} epochs), ${tasks} tasks of ${classes} classes of ${dataset} × ${archs.length} stratified cells = ${records} records, ${trainPerClass}/${testPerClass} train/test images per class; backend ${backend.tfName}; ${workers} process(es) each side`,
  );

  const usePytorch = !args.includes('--no-pytorch') && torchPython() !== null;
  const ours: number[] = [];
  const torch: number[] = [];
  const loads: number[][] = [];
  let torchThreadsUsed: number | undefined;
  for (let r = 0; r < repeats; r++) {
    if (usePytorch) {
      loads.push(machineLoad().loadavg);
      // the plan's pairs, task by task; process k takes pairs k, k+N, … (as our shards do)
      const pairs = Array.from({ length: tasks }, () => archs).flat();
      const job = (k: number): TorchRecordsJob => ({
        mode: 'records',
        C: recipe.C,
        N: recipe.N,
        hw: recipe.inputSize!,
        batch: recipe.batchSize,
        epochs: recipe.epochs,
        evalBatch: recipe.evalBatchSize,
        classes,
        train: classes * trainPerClass,
        test: classes * testPerClass,
        archs: pairs.filter((_, i) => i % workers === k),
        inChannels,
        threads: torchThreads,
      });
      const results = await runTorchParallel(Array.from({ length: Math.min(workers, pairs.length) }, (_, k) => job(k)));
      torchThreadsUsed = results[0]!.threads;
      // the processes run at once: the slowest one's training time is the wall time
      const secs = Math.max(...results.map((res) => res.record_s!.reduce((a, b) => a + b, 0)));
      torch.push((3600 * records) / secs);
      say(
        `  repeat ${r + 1}: PyTorch ${torch.at(-1)!.toFixed(0)} records/h (${(secs / records).toFixed(2)} s/record, ${results.length} process(es) × ${torchThreadsUsed} thread(s))`,
      );
    }
    loads.push(machineLoad().loadavg);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metad2a-bench-records-'));
    try {
      const db = path.join(dir, 'db.sqlite');
      const s =
        workers === 1
          ? await buildDatabase({ db, datasets: [dataset], numTasks: tasks, classesPerTask: classes, trainPerClass, testPerClass, archs, recipe, seed: 2026 + r }).then((b) => ({
              trained: b.trained,
              secs: b.wallMs / 1000,
              threads: undefined,
            }))
          : await buildInWorkers(args, workers, db, 2026 + r);
      if (s.trained !== records) throw new Error(`the builder trained ${s.trained} records, expected ${records}`);
      ours.push((3600 * s.trained) / s.secs);
      say(
        `  repeat ${r + 1}: ours    ${ours.at(-1)!.toFixed(0)} records/h (${(s.secs / records).toFixed(2)} s/record${s.threads === undefined ? '' : `, ${workers} processes × ${s.threads} kernel thread(s)`})`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  loads.push(machineLoad().loadavg);

  let official: { recordsPerHour: number; source: string };
  if (usePytorch) {
    official = {
      recordsPerHour: median(torch),
      source: `official PyTorch TinyNetwork run here, same cells and shapes, ${workers} process(es) × ${torchThreadsUsed} thread(s) (${torchThreads === undefined ? 'its default' : '--torch-threads'}), median of ${repeats}`,
    };
  } else {
    const row = `C=${recipe.C}, N=${recipe.N}, ${recipe.inputSize}×${recipe.inputSize}, batch ${recipe.batchSize}, all-conv3×3 cell, training`;
    const anchor = anchorImgPerSec(row);
    if (!anchor) throw new Error(`PyTorch is not installed and docs/official-cpu-anchors.md has no row "${row}"`);
    const imagesPerRecord = recipe.epochs * classes * trainPerClass;
    official = {
      recordsPerHour: (3600 * anchor.imgS) / imagesPerRecord,
      source: `PyTorch not installed: derived from docs/official-cpu-anchors.md "${row}" = ${anchor.imgS} img/s (all-conv cell: pessimistic for PyTorch; training only), ${imagesPerRecord} training images per record${workers > 1 ? '; a one-process figure, not scaled to --workers' : ''}`,
    };
    say(`  ${official.source}`);
  }
  const oursMedian = median(ours);
  const ratio = oursMedian / official.recordsPerHour;
  say(`ours ${oursMedian.toFixed(0)} records/h vs official ${official.recordsPerHour.toFixed(0)} records/h: ${ratio.toFixed(2)}× (load average ${JSON.stringify(loads)})`);
  const summary = {
    benchmark: 'records',
    recipe: recipe.name,
    plan: { dataset, tasks, classes, archs, trainPerClass, testPerClass, records },
    workers,
    backend: backend.tfName,
    records_per_hour: Math.round(oursMedian),
    official_records_per_hour: Math.round(official.recordsPerHour),
    official_source: official.source,
    ratio: Math.round(ratio * 100) / 100,
    per_repeat: { ours: ours.map(Math.round), pytorch: torch.map(Math.round) },
    loadavg: loads,
    cpus: os.cpus().length,
    note: 'shared machine: compare only within one run',
  };
  console.log(json ? JSON.stringify(summary) : `summary: ${JSON.stringify(summary)}`);
}
