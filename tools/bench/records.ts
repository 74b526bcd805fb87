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
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@metad2a/core';
import { buildDatabase, getRecipe, networkChannels, sampleArchitectures } from '@metad2a/arch-trainer';
import { anchorImgPerSec, machineLoad, median, runTorch, torchPython } from './reference/pytorch';
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

export async function run(args: string[]): Promise<void> {
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
  const torchThreads = arg(args, 'torch-threads') === undefined ? undefined : num(args, 'torch-threads', 1);
  if (recipe.inputSize === undefined) throw new Error(`recipe ${recipe.name} has no inputSize (the builder needs one)`);
  const backend = await initBackend({});
  const archs = sampleArchitectures(archCount, recipe, 2026);
  const records = tasks * archs.length;
  const inChannels = networkChannels({ shape: [1, recipe.inputSize, recipe.inputSize, 1] } as never, recipe);
  say(
    `records: recipe ${recipe.name} (C=${recipe.C} N=${recipe.N} ${recipe.inputSize}px batch ${recipe.batchSize} ${recipe.epochs} epochs), ${tasks} tasks of ${classes} classes of ${dataset} × ${archs.length} stratified cells = ${records} records, ${trainPerClass}/${testPerClass} train/test images per class; backend ${backend.tfName}`,
  );

  const usePytorch = !args.includes('--no-pytorch') && torchPython() !== null;
  const ours: number[] = [];
  const torch: number[] = [];
  const loads: number[][] = [];
  let torchThreadsUsed: number | undefined;
  for (let r = 0; r < repeats; r++) {
    if (usePytorch) {
      loads.push(machineLoad().loadavg);
      const res = runTorch({
        mode: 'records',
        C: recipe.C,
        N: recipe.N,
        hw: recipe.inputSize,
        batch: recipe.batchSize,
        epochs: recipe.epochs,
        evalBatch: recipe.evalBatchSize,
        classes,
        train: classes * trainPerClass,
        test: classes * testPerClass,
        archs: Array.from({ length: tasks }, () => archs).flat(),
        inChannels,
        threads: torchThreads,
      });
      torchThreadsUsed = res.threads;
      const secs = res.record_s!.reduce((a, b) => a + b, 0);
      torch.push((3600 * records) / secs);
      say(`  repeat ${r + 1}: PyTorch ${torch.at(-1)!.toFixed(0)} records/h (${(secs / records).toFixed(2)} s/record, ${res.threads} thread(s))`);
    }
    loads.push(machineLoad().loadavg);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metad2a-bench-records-'));
    try {
      const s = await buildDatabase({
        db: path.join(dir, 'db.sqlite'),
        datasets: [dataset],
        numTasks: tasks,
        classesPerTask: classes,
        trainPerClass,
        testPerClass,
        archs,
        recipe,
        seed: 2026 + r,
      });
      if (s.trained !== records) throw new Error(`the builder trained ${s.trained} records, expected ${records}`);
      ours.push((3600 * s.trained) / (s.wallMs / 1000));
      say(`  repeat ${r + 1}: ours    ${ours.at(-1)!.toFixed(0)} records/h (${(s.wallMs / 1000 / records).toFixed(2)} s/record)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  loads.push(machineLoad().loadavg);

  let official: { recordsPerHour: number; source: string };
  if (usePytorch) {
    official = {
      recordsPerHour: median(torch),
      source: `official PyTorch TinyNetwork run here, same cells and shapes, ${torchThreadsUsed} thread(s) (${torchThreads === undefined ? 'its default' : '--torch-threads'}), median of ${repeats}`,
    };
  } else {
    const row = `C=${recipe.C}, N=${recipe.N}, ${recipe.inputSize}×${recipe.inputSize}, batch ${recipe.batchSize}, all-conv3×3 cell, training`;
    const anchor = anchorImgPerSec(row);
    if (!anchor) throw new Error(`PyTorch is not installed and docs/official-cpu-anchors.md has no row "${row}"`);
    const imagesPerRecord = recipe.epochs * classes * trainPerClass;
    official = {
      recordsPerHour: (3600 * anchor.imgS) / imagesPerRecord,
      source: `PyTorch not installed: derived from docs/official-cpu-anchors.md "${row}" = ${anchor.imgS} img/s (all-conv cell: pessimistic for PyTorch; training only), ${imagesPerRecord} training images per record`,
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
