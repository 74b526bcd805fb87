/**
 * Phases `eval` and `ship` of the default-model build (see build.ts): honest evaluation on the
 * held-out tasks, then the model directory and the evaluation table into packages/default-model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { Rng, seedToU32, spearman, writeFileAtomicSync } from '@metad2a/core';
import { recipeMetric, taskData, trainArchitecture } from '@metad2a/arch-trainer';
import { resolveDataset } from '@metad2a/datasets';
import { MetaDatabase, type TaskInfo } from '@metad2a/meta-trainer';
import { loadSearchModel, runSearch, scoreGraphs } from '@metad2a/search';
import { formatNb201, nb201, parseNb201, sampleNb201 } from '@metad2a/search-spaces';
import { DB, DB_PLAN, HELD_OUT_DATASET, OUT, RECIPE, WORK, log } from './build';

export const EVAL = { candidates: 100, resamples: 10, top: 5, randomCells: 3, seed: 0 };

export interface TaskEvaluation {
  readonly task: string;
  readonly classes: number;
  readonly metad2aTop1: number;
  readonly metad2aBestOfTop5: number;
  readonly randomMean: number;
  readonly databaseBest: number;
  readonly databaseMean: number;
  readonly predictorSpearman: number;
  readonly top1Arch: string;
  readonly searchSeconds: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function phaseEval(opts: { want: (p: string) => boolean }): Promise<void> {
  const evalFile = path.join(WORK, 'evaluation.json');
  if (opts.want('eval')) {
    const db = MetaDatabase.open(DB);
    const model = await loadSearchModel(path.join(WORK, 'model'));
    const metric = recipeMetric(RECIPE);
    const testIds = new Set(db.split('default').test);
    const heldOut = db.tasks().filter((t) => t.dataset === HELD_OUT_DATASET);
    const src = resolveDataset(HELD_OUT_DATASET);
    if (src.kind !== 'images') throw new Error(`${HELD_OUT_DATASET}: expected images`);
    const rows: TaskEvaluation[] = [];
    for (const task of heldOut) {
      const records = db.records({ task: task.name, space: 'nb201', metric });
      if (!records.every((r) => testIds.has(r.id))) throw new Error(`task ${task.name}: its records are not all in the test split`);
      const measured = new Map(records.map((r) => [r.arch, r.accuracy]));
      const data = taskData(src as never, { name: task.name, dataset: task.dataset, classIds: [...task.classIds] } as never, {
        trainPerClass: DB_PLAN.trainPerClass,
        testPerClass: DB_PLAN.testPerClass,
        inputSize: RECIPE.inputSize!,
        seed: DB_PLAN.seed,
      });
      const accuracyOf = async (arch: string): Promise<number> => {
        const known = measured.get(arch);
        if (known !== undefined) return known;
        const seed = seedToU32(`${DB_PLAN.seed}|${task.name}|${arch}`);
        const r = await trainArchitecture({ arch, train: data.train, test: data.test, recipe: RECIPE, seed });
        r.network.dispose();
        const acc = 100 * r.accuracy;
        db.addRecord({
          task: task.name,
          space: 'nb201',
          arch,
          accuracy: acc,
          metric: `${metric}|eval`,
          how: 'trained:tools/default-model evaluation',
          recipe: RECIPE,
          extra: { seed },
        });
        measured.set(arch, acc);
        return acc;
      };
      // evaluation trainings are cached in the database under the metric `<metric>|eval`
      for (const r of db.records({ task: task.name, space: 'nb201', metric: `${metric}|eval` })) measured.set(r.arch, r.accuracy);
      const featureSet = db.taskFeatureSet(task as TaskInfo);
      const res = await runSearch(model, featureSet, { candidates: EVAL.candidates, resamples: EVAL.resamples, top: EVAL.top, seed: EVAL.seed });
      const topAcc: number[] = [];
      for (const c of res.top) topAcc.push(await accuracyOf(c.arch));
      const rng = new Rng(`random|${task.name}`);
      const randomAcc: number[] = [];
      for (let i = 0; i < EVAL.randomCells; i++) randomAcc.push(await accuracyOf(formatNb201(sampleNb201(rng))));
      const dbAcc = records.map((r) => r.accuracy);
      const graphs = records.map((r) =>
        nb201.encode(
          E.getOrElseW(() => {
            throw new Error(r.arch);
          })(parseNb201(r.arch)),
        ),
      );
      const { scores } = await scoreGraphs(model.predictor, featureSet, graphs, { resamples: EVAL.resamples, seed: EVAL.seed });
      const rho = spearman(scores, dbAcc);
      const row: TaskEvaluation = {
        task: task.name,
        classes: task.classIds.length,
        metad2aTop1: topAcc[0]!,
        metad2aBestOfTop5: Math.max(...topAcc),
        randomMean: mean(randomAcc),
        databaseBest: Math.max(...dbAcc),
        databaseMean: mean(dbAcc),
        predictorSpearman: rho,
        top1Arch: res.top[0]!.arch,
        searchSeconds: res.timings.search,
      };
      rows.push(row);
      log(`eval ${JSON.stringify(row)}`);
    }
    model.dispose();
    db.close();
    const summary = {
      tasks: rows.length,
      heldOutDataset: HELD_OUT_DATASET,
      recipe: RECIPE,
      settings: EVAL,
      mean: {
        metad2aTop1: mean(rows.map((r) => r.metad2aTop1)),
        metad2aBestOfTop5: mean(rows.map((r) => r.metad2aBestOfTop5)),
        randomMean: mean(rows.map((r) => r.randomMean)),
        databaseBest: mean(rows.map((r) => r.databaseBest)),
        databaseMean: mean(rows.map((r) => r.databaseMean)),
        predictorSpearman: mean(rows.map((r) => r.predictorSpearman)),
      },
      rows,
    };
    writeFileAtomicSync(evalFile, `${JSON.stringify(summary, null, 2)}\n`);
  }
  if (opts.want('ship')) {
    fs.mkdirSync(OUT, { recursive: true });
    for (const f of ['model.json', 'generator.safetensors', 'predictor.safetensors']) fs.copyFileSync(path.join(WORK, 'model', f), path.join(OUT, f));
    fs.copyFileSync(evalFile, path.join(OUT, 'evaluation.json'));
    const dbSummary = path.join(WORK, 'db-summary.json');
    if (fs.existsSync(dbSummary)) fs.copyFileSync(dbSummary, path.join(OUT, 'database.json'));
    writeFileAtomicSync(path.join(OUT, 'EVALUATION.md'), evaluationMarkdown(JSON.parse(fs.readFileSync(evalFile, 'utf8'))));
    log(`ship: wrote ${OUT}`);
  }
}

/** The evaluation as a markdown table (written beside the model and quoted in the package README). */
export function evaluationMarkdown(ev: { rows: TaskEvaluation[]; mean: Record<string, number>; tasks: number; heldOutDataset: string }): string {
  const f = (x: number): string => x.toFixed(1);
  const lines = [
    `Held-out tasks: every task of \`${ev.heldOutDataset}\` (${ev.tasks} tasks; the data set was never seen in meta-training). Test accuracy (%) after training with the database recipe.`,
    '',
    '| task | classes | MetaD2A top-1 | MetaD2A best of top-5 | random cells (mean of 3) | database best | database mean | predictor Spearman |',
    '|---|---|---|---|---|---|---|---|',
    ...ev.rows.map(
      (r) =>
        `| ${r.task} | ${r.classes} | ${f(r.metad2aTop1)} | ${f(r.metad2aBestOfTop5)} | ${f(r.randomMean)} | ${f(r.databaseBest)} | ${f(r.databaseMean)} | ${r.predictorSpearman.toFixed(2)} |`,
    ),
    `| **mean** | | **${f(ev.mean.metad2aTop1!)}** | **${f(ev.mean.metad2aBestOfTop5!)}** | **${f(ev.mean.randomMean!)}** | **${f(ev.mean.databaseBest!)}** | **${f(ev.mean.databaseMean!)}** | **${ev.mean.predictorSpearman!.toFixed(2)}** |`,
  ];
  return `${lines.join('\n')}\n`;
}
