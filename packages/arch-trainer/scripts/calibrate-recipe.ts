/**
 * Recipe calibration for the meta-database (issue #17): for each candidate recipe, train the same
 * stratified cells on the same tasks with two seeds and report, per recipe:
 *   seed noise (std of one record's accuracy between seeds = std(a1 − a2)/√2), spread between cells
 *   (std over cells of the two-seed mean), their ratio, seed-to-seed Spearman per task, mean and
 *   max accuracy (saturation) and seconds per record.
 * Results are appended as JSON lines to the output file, so an interrupted run resumes.
 *
 *   npx tsx packages/arch-trainer/scripts/calibrate-recipe.ts <out.jsonl> <recipe-spec> [cells] [classes]
 *   recipe-spec: `<name>` or `<name>:epochs=10,C=8,…`, per-class counts as `train=60,test=40`.
 *   Environment: CALIB_SOURCES (comma-separated data set references), CALIB_TASKS (disjoint class
 *   subsets of `classes` classes per source, default 1), CALIB_SEEDS (trainings per cell, seeds
 *   1 … n, default 2), CALIB_CELLS (a file of NB201 cells, one per line, instead of the grid: e.g.
 *   the strong cells of the held-out evaluation, to ask whether a recipe separates them). With more
 *   than two seeds the summary's noise is pooled over all of them and `noiseShareOfMeans` is the
 *   part of the variance between the cells' means that is noise (σ²/n over the means' variance).
 *   An MBv3 recipe (`mbv3-reduced:epochs=3,widthMult=0.25`) calibrates OFA-MBv3 subnets (a
 *   size-stratified grid, `sampleMbv3Grid`); an NB201 one, NB201 cells (`sampleArchitectures`).
 */
import * as fs from 'node:fs';
import { initBackend, spearman } from '@metad2a/core';
import { resolveDataset, type ImageDataset as RawImages } from '@metad2a/datasets';
import '@metad2a/tfjs-kernels'; // the native backend (initBackend prefers it) and the training kernels
import { MBV3_RECIPES, databaseSpace, getMbv3Recipe, getRecipe, taskData, type DatabaseRecipe, type TaskPlan } from '../src/index';

const [out, spec = 'reduced', cellsArg = '20', classesArg = '10'] = process.argv.slice(2).filter((a) => a !== '--summary');
if (!out) {
  console.error('usage: calibrate-recipe.ts <out.jsonl> <recipe[:k=v,...]> [cells] [classes]');
  process.exit(2);
}
const [base, kv = ''] = spec.split(':');
const overrides: Record<string, number> = {};
let trainPerClass = 60;
let testPerClass = 40;
for (const pair of kv.split(',').filter(Boolean)) {
  const [k, v] = pair.split('=');
  if (k === 'train') trainPerClass = Number(v);
  else if (k === 'test') testPerClass = Number(v);
  else overrides[k!] = Number(v);
}
const spaceName = base! in MBV3_RECIPES ? 'mbv3' : 'nb201';
const recipe: DatabaseRecipe = spaceName === 'mbv3' ? getMbv3Recipe(base!, overrides) : getRecipe(base!, overrides);
const space = databaseSpace(spaceName, recipe);
const classes = Number(classesArg);
const SOURCES = (process.env.CALIB_SOURCES ?? 'source:glyphs-greek,source:textures,builtin:fashion-mnist').split(',');
const TASKS = Number(process.env.CALIB_TASKS ?? 1);
const SEEDS = Array.from({ length: Number(process.env.CALIB_SEEDS ?? 2) }, (_, i) => i + 1);
const CELLS_FILE = process.env.CALIB_CELLS;

async function main(): Promise<void> {
  await initBackend();
  const cells = CELLS_FILE
    ? fs
        .readFileSync(CELLS_FILE, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : space.grid(Number(cellsArg), 17);
  const done = new Set(
    fs.existsSync(out!)
      ? fs.readFileSync(out!, 'utf8').split('\n').filter(Boolean).map((l) => {
          const r = JSON.parse(l) as { recipe: string; task: string; arch: string; seed: number; train: number };
          return `${r.recipe}|${r.train}|${r.task}|${r.arch}|${r.seed}`;
        })
      : [],
  );
  for (const ref of SOURCES) {
    const images = resolveDataset(ref) as RawImages;
    for (let k = 0; k < TASKS; k++) {
      const classIds = Array.from({ length: classes }, (_, i) => k * classes + i).filter((c) => c < images.classNames.length);
      if (classIds.length < 2) throw new Error(`${ref}: ${images.classNames.length} classes, not enough for task ${k + 1} of ${classes} classes`);
      const task: TaskPlan = { name: `${ref}/${classIds.join('-')}`, dataset: ref, classIds };
      const { train, test } = taskData(images, task, { trainPerClass, testPerClass, inputSize: recipe.inputSize!, seed: 5 });
      for (const arch of cells) {
        for (const seed of SEEDS) {
          if (done.has(`${recipe.name}|${trainPerClass}|${task.name}|${arch}|${seed}`)) continue;
          const t0 = Date.now();
          const r = await space.train(arch, { train, test }, seed);
          const line = { recipe: recipe.name, train: trainPerClass, test: testPerClass, task: task.name, arch, seed, accuracy: 100 * r.accuracy, ms: Date.now() - t0 };
          fs.appendFileSync(out!, `${JSON.stringify(line)}\n`);
          console.log(JSON.stringify(line));
        }
      }
    }
  }
  summarise();
}

function summarise(): void {
  type Row = { recipe: string; train: number; task: string; arch: string; seed: number; accuracy: number; ms: number };
  const rows = fs.readFileSync(out!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  const byRecipe = new Map<string, Row[]>();
  for (const r of rows) byRecipe.set(`${r.recipe} train=${r.train}`, [...(byRecipe.get(`${r.recipe} train=${r.train}`) ?? []), r]);
  for (const [name, rs] of byRecipe) {
    const tasks = [...new Set(rs.map((r) => r.task))];
    const seeds = [...new Set(rs.map((r) => r.seed))].sort((a, b) => a - b);
    // within-cell sums of squares over the seeds (pooled σ²); for two seeds Σ = d²/2 per cell
    let ss = 0;
    let df = 0;
    const spreads: number[] = [];
    const rhos: number[] = [];
    const means: number[] = [];
    const noiseShares: number[] = [];
    for (const t of tasks) {
      const archs = [...new Set(rs.filter((r) => r.task === t).map((r) => r.arch))];
      const trainings: number[][] = [];
      for (const a of archs) {
        const acc = seeds.map((sd) => rs.find((r) => r.task === t && r.arch === a && r.seed === sd)?.accuracy);
        if (acc.every((v) => v !== undefined)) trainings.push(acc as number[]);
      }
      if (trainings.length < 3) continue;
      const m = trainings.map((a) => a.reduce((s, v) => s + v, 0) / a.length);
      let taskSs = 0;
      trainings.forEach((a, i) => {
        for (const v of a) taskSs += (v - m[i]!) ** 2;
      });
      ss += taskSs;
      df += trainings.length * (seeds.length - 1);
      means.push(...m);
      const mu = m.reduce((s, v) => s + v, 0) / m.length;
      const variance = m.reduce((s, v) => s + (v - mu) ** 2, 0) / (m.length - 1);
      spreads.push(Math.sqrt(variance));
      noiseShares.push(taskSs / (trainings.length * (seeds.length - 1)) / seeds.length / variance);
      rhos.push(
        spearman(
          trainings.map((a) => a[0]!),
          trainings.map((a) => a[1]!),
        ),
      );
      console.log(
        `  ${name} ${t}: cells ${trainings.length}, spread ${spreads.at(-1)!.toFixed(2)}, seed ρ ${rhos.at(-1)!.toFixed(3)}, noise share of the means ${noiseShares.at(-1)!.toFixed(2)}, mean ${mu.toFixed(1)}`,
      );
    }
    const noise = Math.sqrt(ss / df);
    const spread = spreads.reduce((s, v) => s + v, 0) / spreads.length;
    console.log(
      JSON.stringify({
        recipe: name,
        tasks: spreads.length,
        seeds: seeds.length,
        cellsMeasured: means.length,
        seedNoise: +noise.toFixed(2),
        cellSpread: +spread.toFixed(2),
        ratio: +(spread / noise).toFixed(2),
        seedSpearman: rhos.map((r) => +r.toFixed(3)),
        noiseShareOfMeans: noiseShares.map((r) => +r.toFixed(2)),
        meanAccuracy: +(means.reduce((s, v) => s + v, 0) / means.length).toFixed(1),
        maxAccuracy: +Math.max(...means).toFixed(1),
        secondsPerRecord: +(rs.reduce((s, r) => s + r.ms, 0) / rs.length / 1000).toFixed(2),
      }),
    );
  }
}

if (process.argv.includes('--summary')) summarise();
else void main();
