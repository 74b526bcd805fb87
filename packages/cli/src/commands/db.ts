import * as fs from 'node:fs';
import type { Command } from 'commander';
import { describeBackend, initBackend } from '@metad2a/core';
import { buildDatabase, databaseStats, getRecipe, RECIPES, recipeMetric } from '@metad2a/arch-trainer';
import { MetaDatabase, exportCsv, exportJson, importOfficialNb201PredictorDb, importOfficialNb201PredictorPt, importRecordsCsv } from '@metad2a/meta-trainer';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';
import { ttyProgressBar } from '@metad2a/datasets';
import { MetaD2AException, makeError } from '@metad2a/core';
import { planQueuedBuild, trainQueuedPair, dataSourceVersion } from './build-pairs';
import { DEFAULT_RETRY, queueLocation, queueNameOption, registerQueueCommands, retryOptions, runQueuedBuild } from './queue';

function classRange(v: string): number | [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  if (!m) throw new CliUsageError(`--classes must be N or MIN-MAX (e.g. 4-6), got '${v}'`);
  return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])];
}

export function registerDb(program: Command, io: CliIo): void {
  const db = program.command('db').description('the meta-database (SQLite): build, import, export, inspect');

  db.command('build')
    .description('train NB201 cells on class-subset tasks of image datasets and record their accuracies (resumable: rerun to continue)')
    .requiredOption('--db <file>', 'meta-database file (created if missing)')
    .option('--space <name>', 'search space (only nb201 can be trained here)', oneOf('--space', ['nb201'] as const), 'nb201')
    .option('--datasets <refs>', 'comma-separated image dataset references', 'builtin:mnist,builtin:fashion-mnist,builtin:digits')
    .option('--tasks <n>', 'number of tasks', intInRange('--tasks', 1), 12)
    .option('--classes <n|min-max>', 'classes per task', '4')
    .option('--archs <n>', 'number of NB201 cells (size-stratified sample)', intInRange('--archs', 1, 15625), 12)
    .option('--recipe <name>', `training recipe: ${Object.keys(RECIPES).join(', ')}`, 'tiny')
    .option('--epochs <n>', 'override the recipe epochs', intInRange('--epochs', 1))
    .option('--train-per-class <n>', 'training images per class', intInRange('--train-per-class', 1), 40)
    .option('--test-per-class <n>', 'test images per class', intInRange('--test-per-class', 1), 30)
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 0)
    .option('--queue <url>', 'distribute the training: queue the pairs on redis://HOST:PORT/DB for `metad2a worker` processes and collect their results here')
    .option(...queueNameOption)
    .option('--attempts <n>', 'with --queue: tries per pair before it is dead-lettered', intInRange('--attempts', 1, 100), DEFAULT_RETRY.attempts)
    .option('--backoff-seconds <s>', 'with --queue: wait before the first retry (doubling each retry)', intInRange('--backoff-seconds', 0, 86_400), DEFAULT_RETRY.backoffMs / 1000)
    .option('--collect-lock-seconds <s>', 'with --queue: a result whose collector died is collected again after this long', intInRange('--collect-lock-seconds', 1, 3600), 30)
    .action(async (f: { db: string; datasets: string; tasks: number; classes: string; archs: number; recipe: string; epochs?: number; trainPerClass: number; testPerClass: number; seed: number; queue?: string; queueName: string; attempts: number; backoffSeconds: number; collectLockSeconds: number }) => {
      const recipe = getRecipe(f.recipe, f.epochs !== undefined ? { epochs: f.epochs } : {});
      if (f.queue !== undefined) {
        const loc = queueLocation(f.queue, f.queueName);
        const build = planQueuedBuild({
          datasets: f.datasets.split(',').map((x) => x.trim()).filter(Boolean),
          numTasks: f.tasks,
          classesPerTask: classRange(f.classes),
          archs: f.archs,
          trainPerClass: f.trainPerClass,
          testPerClass: f.testPerClass,
          recipe,
          seed: f.seed,
        });
        const r = await runQueuedBuild(io, f.db, loc, build, { retry: retryOptions(f.attempts, f.backoffSeconds), collectLockMs: f.collectLockSeconds * 1000 });
        if (r.missing > 0) throw new MetaD2AException(makeError('NotFound', { source: f.db, field: 'records', expected: `all ${build.jobs.length} planned pairs`, got: `${r.recorded} (${r.missing} missing, listed above)` }));
        return;
      }
      const backend = await initBackend();
      io.stderr.write(`${describeBackend(backend)}\n`);
      const bar = ttyProgressBar('training', io.stderr);
      const s = await buildDatabase({
        db: f.db,
        datasets: f.datasets.split(',').map((x) => x.trim()).filter(Boolean),
        numTasks: f.tasks,
        classesPerTask: classRange(f.classes),
        trainPerClass: f.trainPerClass,
        testPerClass: f.testPerClass,
        archs: f.archs,
        recipe,
        seed: f.seed,
        onProgress: (p) => {
          bar?.(p.done, p.total, p.accuracy !== undefined ? `${p.accuracy.toFixed(1)}% ${p.task}` : 'skipped');
        },
      });
      const d = MetaDatabase.open(f.db, { readonly: true });
      const stats = databaseStats(d.records({ metric: recipeMetric(recipe) }));
      d.close();
      io.stdout.write(`trained ${s.trained} pairs, skipped ${s.skipped} already recorded, wall ${(s.wallMs / 1000).toFixed(1)} s\n${JSON.stringify(stats, null, 2)}\n`);
    });

  registerQueueCommands(program, db, io, trainQueuedPair, dataSourceVersion);

  db.command('import-official')
    .description("import MetaD2A's official NB201 predictor database (4,630 records over 3,031 tasks; tasks have no image features)")
    .requiredOption('--db <file>', 'meta-database file (created if missing)')
    .option('--from <dir>', 'folder with the raw meta_train_tasks_predictor.pt, _idx.pt and meta_train_task_lst.pt (default: the copy shipped with @metad2a/meta-trainer)')
    .action((f: { db: string; from?: string }) => {
      const d = MetaDatabase.open(f.db);
      try {
        const r = f.from ? importOfficialNb201PredictorPt(d, f.from) : importOfficialNb201PredictorDb(d);
        io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        io.stdout.write('note: the official database has no image features (ImageNet32 features are not available offline); training refuses tasks without features until you add them.\n');
      } finally {
        d.close();
      }
    });

  db.command('export')
    .description('export the records as JSON or CSV')
    .requiredOption('--db <file>', 'meta-database file')
    .requiredOption('--out <file>', 'output file')
    .option('--format <f>', 'json or csv', oneOf('--format', ['json', 'csv'] as const), 'json')
    .action((f: { db: string; out: string; format: 'json' | 'csv' }) => {
      if (!fs.existsSync(f.db)) throw new CliUsageError(`--db ${f.db}: no such file`);
      const d = MetaDatabase.open(f.db, { readonly: true });
      try {
        if (f.format === 'json') exportJson(d, f.out);
        else exportCsv(d, f.out);
      } finally {
        d.close();
      }
      io.stdout.write(`wrote ${f.out}\n`);
    });

  db.command('import-csv')
    .description("import records from a CSV export ('db export --format csv', RFC 4180) into a database whose datasets exist")
    .requiredOption('--db <file>', 'meta-database file')
    .requiredOption('--csv <file>', 'CSV file with the columns task, dataset, class_ids, space, arch, accuracy, metric, how (created_at, replicate optional)')
    .action((f: { db: string; csv: string }) => {
      if (!fs.existsSync(f.db)) throw new CliUsageError(`--db ${f.db}: no such file`);
      const d = MetaDatabase.open(f.db);
      try {
        const r = importRecordsCsv(d, f.csv);
        io.stdout.write(`${JSON.stringify({ tasks: r.tasks, records: r.records.length, inserted: r.records.length - r.alreadyPresent, alreadyPresent: r.alreadyPresent })}\n`);
      } finally {
        d.close();
      }
    });

  db.command('stats')
    .description('counts and, for trained records, accuracy spread and rank agreement')
    .requiredOption('--db <file>', 'meta-database file')
    .action((f: { db: string }) => {
      if (!fs.existsSync(f.db)) throw new CliUsageError(`--db ${f.db}: no such file`);
      const d = MetaDatabase.open(f.db, { readonly: true });
      try {
        io.stdout.write(`${JSON.stringify({ counts: d.counts(), splits: d.splitNames(), integrity: d.integrityProblems() }, null, 2)}\n`);
      } finally {
        d.close();
      }
    });
}
