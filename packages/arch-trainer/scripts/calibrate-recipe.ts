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

async function main(): Promise<void> {
  await initBackend();
  const cells = space.grid(Number(cellsArg), 17);
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
    const classIds = Array.from({ length: Math.min(classes, images.classNames.length) }, (_, i) => i);
    const task: TaskPlan = { name: `${ref}/${classIds.join('-')}`, dataset: ref, classIds };
    const { train, test } = taskData(images, task, { trainPerClass, testPerClass, inputSize: recipe.inputSize!, seed: 5 });
    for (const arch of cells) {
      for (const seed of [1, 2]) {
        if (done.has(`${recipe.name}|${trainPerClass}|${task.name}|${arch}|${seed}`)) continue;
        const t0 = Date.now();
        const r = await space.train(arch, { train, test }, seed);
        const line = { recipe: recipe.name, train: trainPerClass, test: testPerClass, task: task.name, arch, seed, accuracy: 100 * r.accuracy, ms: Date.now() - t0 };
        fs.appendFileSync(out!, `${JSON.stringify(line)}\n`);
        console.log(JSON.stringify(line));
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
    const diffs: number[] = [];
    const spreads: number[] = [];
    const rhos: number[] = [];
    const means: number[] = [];
    for (const t of tasks) {
      const archs = [...new Set(rs.filter((r) => r.task === t).map((r) => r.arch))];
      const a1: number[] = [];
      const a2: number[] = [];
      for (const a of archs) {
        const s1 = rs.find((r) => r.task === t && r.arch === a && r.seed === 1);
        const s2 = rs.find((r) => r.task === t && r.arch === a && r.seed === 2);
        if (!s1 || !s2) continue;
        a1.push(s1.accuracy);
        a2.push(s2.accuracy);
        diffs.push(s1.accuracy - s2.accuracy);
      }
      if (a1.length < 3) continue;
      const m = a1.map((v, i) => (v + a2[i]!) / 2);
      means.push(...m);
      const mu = m.reduce((s, v) => s + v, 0) / m.length;
      spreads.push(Math.sqrt(m.reduce((s, v) => s + (v - mu) ** 2, 0) / (m.length - 1)));
      rhos.push(spearman(a1, a2));
      console.log(`  ${name} ${t}: cells ${a1.length}, spread ${spreads.at(-1)!.toFixed(2)}, seed ρ ${rhos.at(-1)!.toFixed(3)}, mean ${mu.toFixed(1)}`);
    }
    const noise = Math.sqrt(diffs.reduce((s, d) => s + d * d, 0) / diffs.length / 2);
    const spread = spreads.reduce((s, v) => s + v, 0) / spreads.length;
    console.log(
      JSON.stringify({
        recipe: name,
        tasks: spreads.length,
        pairs: diffs.length,
        seedNoise: +noise.toFixed(2),
        cellSpread: +spread.toFixed(2),
        ratio: +(spread / noise).toFixed(2),
        seedSpearman: rhos.map((r) => +r.toFixed(3)),
        meanAccuracy: +(means.reduce((s, v) => s + v, 0) / means.length).toFixed(1),
        maxAccuracy: +Math.max(...means).toFixed(1),
        secondsPerRecord: +(rs.reduce((s, r) => s + r.ms, 0) / rs.length / 1000).toFixed(2),
      }),
    );
  }
}

if (process.argv.includes('--summary')) summarise();
else void main();
