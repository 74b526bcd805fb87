import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import type { Command } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import { describeBackend, initBackend, searchSpaces } from '@metad2a/core';
import {
  BUILD_PLANS,
  DATABASE_SPACES,
  MBV3_RECIPES,
  TRAINING_NODE_FLAGS,
  buildDatabase,
  buildPlanOptions,
  databaseStats,
  getMbv3Recipe,
  getRecipe,
  priorAgreement,
  replicateNoise,
  RECIPES,
  recipeMetric,
  type DatabaseRecipe,
  type DatabaseSpaceName,
} from '@metad2a/arch-trainer';
import {
  MetaDatabase,
  addDatabaseFeatures,
  exportCsv,
  exportDir,
  exportJson,
  importExportDir,
  importOfficialNb201PredictorDb,
  importOfficialNb201PredictorPt,
  importRecordsCsv,
  makeTaskSplit,
  meanOfReplicates,
  resolveDatabase,
  type MetaRecord,
  type ResolvedDatabase,
} from '@metad2a/meta-trainer';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';
import { taskSources, ttyProgressBar } from '@metad2a/datasets';
import { MetaD2AException, makeError } from '@metad2a/core';
import { planQueuedBuild, trainQueuedPair, dataSourceVersion } from './build-pairs';
import { DEFAULT_RETRY, queueLocation, queueNameOption, registerQueueCommands, retryOptions, runQueuedBuild } from './queue';

function rangeOption(flag: string, v: string, min: number): number | [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  if (!m) throw new CliUsageError(`${flag} must be N or MIN-MAX (e.g. 4-6), got '${v}'`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < min || hi < lo) throw new CliUsageError(`${flag} must be N or MIN-MAX with ${min} ≤ MIN ≤ MAX, got '${v}'`);
  return m[2] === undefined ? lo : [lo, hi];
}
const classRange = (v: string) => rangeOption('--classes', v, 2);

function parseShard(v: string): { index: number; of: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new CliUsageError(`--shard must be K/N with 0 ≤ K < N, got '${v}'`);
  return { index: Number(m[1]), of: Number(m[2]) };
}

/** `train-sources` / `heldout-sources` expand to the task sources of that split. */
function datasetList(v: string): string[] {
  return v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .flatMap((x) =>
      x === 'train-sources'
        ? taskSources()
            .filter((s) => s.split === 'train')
            .map((s) => s.ref)
        : x === 'heldout-sources'
          ? taskSources()
              .filter((s) => s.split === 'heldout')
              .map((s) => s.ref)
          : [x],
    );
}

/** `1h05m` / `12m`: a duration for progress lines ('?' when unknown). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const m = Math.round(ms / 60000);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m`;
}

/** Re-run this command as `n` processes with `--shard k/n` (same plan, disjoint pairs, one database file), with the training processes' Node options. */
async function runWorkers(n: number, io: CliIo): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '--workers' || a.startsWith('--workers='));
  args.splice(i, args[i]!.includes('=') ? 1 : 2);
  const codes = await Promise.all(
    Array.from(
      { length: n },
      (_, k) =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, [...TRAINING_NODE_FLAGS, ...process.execArgv, process.argv[1]!, ...args, '--shard', `${k}/${n}`], {
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
        }),
    ),
  );
  const failed = codes.filter((c) => c !== 0).length;
  io.stderr.write(`[db build] ${n - failed} of ${n} worker processes finished cleanly\n`);
  if (failed > 0) throw new Error(`${failed} of ${n} db build worker processes failed (rerun to resume: recorded pairs are skipped)`);
}

export function registerDb(program: Command, io: CliIo): void {
  const db = program.command('db').description('the meta-database (SQLite): build, import, export, inspect');

  db.command('build')
    .description('train NB201 cells or MBv3 subnets on class-subset tasks of image datasets and record their accuracies (resumable: rerun to continue)')
    .requiredOption('--db <file>', 'meta-database file (created if missing)')
    .option('--plan <name>', `a named build (${Object.keys(BUILD_PLANS).join(', ')}): fixes every option below except --workers/--shard`)
    .option('--space <name>', `search space: ${DATABASE_SPACES.join(', ')}`, oneOf('--space', DATABASE_SPACES), 'nb201')
    .option(
      '--datasets <refs>',
      "comma-separated image dataset references, or 'train-sources' / 'heldout-sources' for the task sources of that split (`metad2a db sources`)",
      'builtin:mnist,builtin:fashion-mnist,builtin:digits',
    )
    .option('--tasks <n>', 'number of tasks', intInRange('--tasks', 1), 12)
    .option('--classes <n|min-max>', 'classes per task', '4')
    .option('--archs <n>', 'grid mode: number of architectures (size-stratified sample), each trained on every task', intInRange('--archs', 1, 15625))
    .option(
      '--cells-per-task <n|min-max>',
      "per-task mode: architectures drawn per task (a share from the space's good pool, the rest uniform); the default when --archs is absent: 3-8",
    )
    .option('--good-share <x>', "per-task mode: share of architectures from the space's good pool (NB201: best on its table; MBv3: best by OFA's accuracy predictor)", '0.4')
    .option(
      '--recipe <name>',
      `training recipe: for nb201 ${Object.keys(RECIPES).join(', ')} (default tiny); for mbv3 ${Object.keys(MBV3_RECIPES).join(', ')} (default mbv3-reduced)`,
    )
    .option('--epochs <n>', 'override the recipe epochs', intInRange('--epochs', 1))
    .option('--train-per-class <n>', 'training images per class', intInRange('--train-per-class', 1), 40)
    .option('--test-per-class <n>', 'test images per class', intInRange('--test-per-class', 1), 30)
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 0)
    .option(
      '--replicates <n>',
      "trainings per pair: the plan's record and n-1 more with seeds of their own, stored as replicates (every pair's second training comes before any third); allowed with --plan and --queue",
      intInRange('--replicates', 1, 20),
      1,
    )
    .option('--workers <n>', 'train in this many processes (each takes every n-th pair of the plan; all write the same file)', intInRange('--workers', 1, 64), 1)
    .option('--shard <k/n>', 'train only the pairs k, k+n, k+2n… of the plan (what each --workers process runs)')
    .option('--queue <url>', 'distribute the training: queue the pairs on redis://HOST:PORT/DB for `metad2a worker` processes and collect their results here')
    .option(...queueNameOption)
    .option('--attempts <n>', 'with --queue: tries per pair before it is dead-lettered', intInRange('--attempts', 1, 100), DEFAULT_RETRY.attempts)
    .option('--backoff-seconds <s>', 'with --queue: wait before the first retry (doubling each retry)', intInRange('--backoff-seconds', 0, 86_400), DEFAULT_RETRY.backoffMs / 1000)
    .option('--collect-lock-seconds <s>', 'with --queue: a result whose collector died is collected again after this long', intInRange('--collect-lock-seconds', 1, 3600), 30)
    .action(
      async (f: {
        db: string;
        plan?: string;
        space: DatabaseSpaceName;
        datasets: string;
        tasks: number;
        classes: string;
        archs?: number;
        cellsPerTask?: string;
        goodShare: string;
        recipe?: string;
        epochs?: number;
        trainPerClass: number;
        testPerClass: number;
        seed: number;
        replicates: number;
        workers: number;
        shard?: string;
        queue?: string;
        queueName: string;
        attempts: number;
        backoffSeconds: number;
        collectLockSeconds: number;
      }) => {
        const overrides = f.epochs !== undefined ? { epochs: f.epochs } : {};
        const recipe: DatabaseRecipe = f.space === 'mbv3' ? getMbv3Recipe(f.recipe ?? 'mbv3-reduced', overrides) : getRecipe(f.recipe ?? 'tiny', overrides);
        const goodShare = Number(f.goodShare);
        if (!(goodShare >= 0 && goodShare <= 1)) throw new CliUsageError(`--good-share must be a number in [0, 1], got '${f.goodShare}'`);
        const shard = f.shard === undefined ? undefined : parseShard(f.shard);
        if (f.workers > 1) {
          if (shard) throw new CliUsageError('--workers and --shard exclude each other (--workers starts one --shard process per worker)');
          return runWorkers(f.workers, io);
        }
        const planOptions =
          f.plan !== undefined
            ? buildPlanOptions(f.plan)
            : {
                space: f.space,
                datasets: datasetList(f.datasets),
                numTasks: f.tasks,
                classesPerTask: classRange(f.classes),
                trainPerClass: f.trainPerClass,
                testPerClass: f.testPerClass,
                ...(f.archs !== undefined
                  ? { archs: f.archs }
                  : { cellsPerTask: f.cellsPerTask === undefined ? ([3, 8] as const) : rangeOption('--cells-per-task', f.cellsPerTask, 1), goodCellShare: goodShare }),
                recipe,
                seed: f.seed,
              };
        const planned = { ...planOptions, replicates: f.replicates };
        if (f.queue !== undefined) {
          if (shard) throw new CliUsageError('--queue and --shard exclude each other (queue workers take the pairs)');
          const loc = queueLocation(f.queue, f.queueName);
          const build = planQueuedBuild(planned);
          const r = await runQueuedBuild(io, f.db, loc, build, { retry: retryOptions(f.attempts, f.backoffSeconds), collectLockMs: f.collectLockSeconds * 1000 });
          if (r.missing > 0)
            throw new MetaD2AException(
              makeError('NotFound', {
                source: f.db,
                field: 'records',
                expected: `all ${build.jobs.length} planned pairs`,
                got: `${r.recorded} (${r.missing} missing, listed above)`,
              }),
            );
          return;
        }
        const backend = await initBackend();
        io.stderr.write(`${describeBackend(backend)}${shard ? ` (shard ${shard.index}/${shard.of})` : ''}\n`);
        const bar = ttyProgressBar('training', io.stderr);
        const tag = shard ? `[db build ${shard.index}/${shard.of}]` : '[db build]';
        const s = await buildDatabase({
          ...planned,
          db: f.db,
          shard,
          onProgress: (p) => {
            if (bar) bar(p.done, p.total, p.accuracy !== undefined ? `${p.accuracy.toFixed(1)}% ${p.task}` : 'skipped');
            else if (p.accuracy !== undefined)
              io.stderr.write(
                `${tag} ${new Date().toISOString()} ${p.done}/${p.total} trained ${p.trained} skipped ${p.skipped} ${p.accuracy.toFixed(2)}% ${p.task} ${p.arch}${p.replicate > 0 ? ` replicate ${p.replicate}` : ''} eta ${formatDuration(p.etaMs)}\n`,
              );
          },
        });
        const d = MetaDatabase.open(f.db, { readonly: true });
        const stats = databaseStats(d.records({ metric: recipeMetric(planned.recipe) }));
        d.close();
        io.stdout.write(`trained ${s.trained} pairs, skipped ${s.skipped} already recorded, wall ${(s.wallMs / 1000).toFixed(1)} s\n${JSON.stringify(stats, null, 2)}\n`);
      },
    );

  registerQueueCommands(program, db, io, trainQueuedPair, dataSourceVersion);

  db.command('sources')
    .description('the named task sources (rendered scripts, procedural colour images, shipped data sets) with their split, classes and version')
    .option('--json', 'print JSON')
    .action((f: { json?: boolean }) => {
      const rows = taskSources().map((s) => ({ name: s.name, ref: s.ref, split: s.split, domain: s.domain, classes: s.numClasses, version: s.version, licence: s.licence }));
      if (f.json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else for (const r of rows) io.stdout.write(`${r.ref.padEnd(28)} ${r.split.padEnd(8)} ${r.domain.padEnd(12)} ${String(r.classes).padStart(3)} classes  ${r.version}\n`);
    });

  db.command('import-official')
    .description("import MetaD2A's official NB201 predictor database (4,630 records over 3,031 tasks; tasks have no image features)")
    .requiredOption('--db <file>', 'meta-database file (created if missing)')
    .option('--from <dir>', 'folder with the raw meta_train_tasks_predictor.pt, _idx.pt and meta_train_task_lst.pt (default: the copy shipped with @metad2a/meta-trainer)')
    .action((f: { db: string; from?: string }) => {
      const d = MetaDatabase.open(f.db);
      try {
        const r = f.from ? importOfficialNb201PredictorPt(d, f.from) : importOfficialNb201PredictorDb(d);
        io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        io.stdout.write(
          'note: the official database has no image features (ImageNet32 features are not available offline); training refuses tasks without features until you add them.\n',
        );
      } finally {
        d.close();
      }
    });

  db.command('export')
    .description('export the records as JSON or CSV, or the whole database as an export folder (the shipped, diff-friendly form; `db import` reads it back)')
    .requiredOption('--db <file|builtin:name>', 'meta-database file or builtin:nb201')
    .requiredOption('--out <path>', 'output file (json, csv) or folder (dir)')
    .option('--format <f>', 'json, csv or dir', oneOf('--format', ['json', 'csv', 'dir'] as const), 'json')
    .option('--about <file>', 'with --format dir: a JSON file carried into the manifest as `about` (recipe, calibration…)')
    .option('--without-features', 'with --format dir: leave the class features out (the records alone; `db features` re-makes them)')
    .option('--without-replicates', "with --format dir: each (task, architecture, metric)'s first training alone (replicate 0), without further trainings")
    .action((f: { db: string; out: string; format: 'json' | 'csv' | 'dir'; about?: string; withoutFeatures?: boolean; withoutReplicates?: boolean }) => {
      const d = openExisting(f.db, io.env);
      try {
        if (f.format === 'json') exportJson(d, f.out);
        else if (f.format === 'csv') exportCsv(d, f.out);
        else {
          const about = f.about === undefined ? undefined : readJsonFile(f.about, '--about');
          const m = exportDir(d, f.out, about, { withoutFeatures: f.withoutFeatures === true, withoutReplicates: f.withoutReplicates === true });
          io.stdout.write(`${JSON.stringify(m.counts)}\n`);
        }
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

  db.command('import')
    .description('load an export folder (`db export --format dir`) into a database; checksums and counts are verified, present records are skipped')
    .requiredOption('--db <file>', 'meta-database file (created if missing)')
    .requiredOption('--from <dir>', 'export folder')
    .action((f: { db: string; from: string }) => {
      if (!fs.existsSync(f.from)) throw new CliUsageError(`--from ${f.from}: no such folder`);
      const d = MetaDatabase.open(f.db);
      try {
        io.stdout.write(`${JSON.stringify(importExportDir(f.from, d))}\n`);
      } finally {
        d.close();
      }
    });

  db.command('features')
    .description(
      'extract the class features of every data set of the database with one extractor (the first --per-class images of each class); resumable: data sets that have them are skipped, features from another extractor are refused',
    )
    .requiredOption('--db <file>', 'meta-database file')
    .option('--extractor <name>', 'feature extractor', 'random-conv')
    .option('--per-class <n>', 'images per class (the first n of each class)', intInRange('--per-class', 1), 20)
    .action(async (f: { db: string; extractor: string; perClass: number }) => {
      const backend = await initBackend();
      io.stderr.write(`${describeBackend(backend)}\n`);
      const d = MetaDatabase.open(f.db);
      try {
        const r = await addDatabaseFeatures(d, {
          extractor: f.extractor,
          perClass: f.perClass,
          onDataset: (p) =>
            io.stderr.write(
              `[db features] ${p.index}/${p.total} ${p.dataset}: ${p.classes} classes × ${p.dim} ${p.already ? '(already there)' : `in ${p.seconds.toFixed(1)} s`}\n`,
            ),
        });
        io.stdout.write(`${JSON.stringify(r)}\n`);
      } finally {
        d.close();
      }
    });

  db.command('split')
    .description(
      "split a database's records by task (every record of a task in one part) for meta-training: the same share of each data set's tasks validates, --test-datasets are held out whole; seeded",
    )
    .requiredOption('--db <file>', 'meta-database file')
    .requiredOption('--name <split>', 'name to store the split under (replaces a split of that name)')
    .option('--metric <metric>', 'only records of this metric (e.g. top1-test@nb201-db)')
    .option('--valid <share>', "share of each data set's tasks that validates, in [0, 1)", '0.15')
    .option('--test-datasets <a,b>', 'data sets whose tasks form the test part')
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 2026)
    .action((f: { db: string; name: string; metric?: string; valid: string; testDatasets?: string; seed: number }) => {
      const validShare = Number(f.valid);
      if (f.valid.trim() === '' || !(validShare >= 0 && validShare < 1)) throw new CliUsageError(`--valid must be a share in [0, 1), got '${f.valid}'`);
      const d = MetaDatabase.open(f.db);
      try {
        const s = makeTaskSplit(d, {
          name: f.name,
          validShare,
          seed: f.seed,
          ...(f.metric !== undefined ? { metric: f.metric } : {}),
          ...(f.testDatasets !== undefined ? { testDatasets: f.testDatasets.split(',').map((x) => x.trim()) } : {}),
        });
        io.stdout.write(`${JSON.stringify(s)}\n`);
      } finally {
        d.close();
      }
    });

  db.command('stats')
    .description('counts (records, tasks, sources), the recipe and its calibrated seed noise, and for trained records accuracy spread and rank agreement')
    .requiredOption('--db <file|builtin:name>', 'meta-database file or builtin:nb201')
    .option('--json', 'print only JSON')
    .action((f: { db: string; json?: boolean }) => {
      const resolved = resolveDatabaseRef(f.db, io.env);
      const d = MetaDatabase.open(resolved.file, { readonly: true });
      try {
        const records = d.records();
        const tasks = new Map(d.tasks().map((t) => [t.name, t.dataset]));
        const recipes = [...new Map(records.filter((r) => r.recipe !== undefined).map((r) => [JSON.stringify(r.recipe), r.recipe])).values()];
        const about = (resolved.manifest?.about ?? {}) as { seedNoise?: unknown };
        const trainings = records.filter((r) => r.how.startsWith('trained:'));
        // a pair trained several times (--replicates) counts once, with its mean
        const trained = meanOfReplicates(trainings);
        const agreement = priorAgreements(trained);
        const noise = (which: (r: MetaRecord) => boolean) => {
          const n = replicateNoise(trainings.filter(which));
          return n.pairs > 0 ? { replicateNoise: n } : {};
        };
        const summary = {
          records: records.length,
          tasks: new Set(records.map((r) => r.task)).size,
          sources: new Set(records.map((r) => tasks.get(r.task))).size,
          recipe: recipes.length === 1 ? recipes[0] : recipes.length === 0 ? null : recipes,
          seedNoise: about.seedNoise ?? null,
          counts: d.counts(),
          splits: d.splitNames(),
          integrity: d.integrityProblems(),
          ...(trained.length > 0
            ? {
                trainedStats: databaseStats(trained, (t) => tasks.get(t) ?? t),
                priorAgreement: agreement(() => true),
                ...noise(() => true),
                perSource: Object.fromEntries(
                  [...new Set(trained.map((r) => tasks.get(r.task) ?? r.task))].sort().map((src) => {
                    const mine = (r: MetaRecord) => tasks.get(r.task) === src;
                    return [src, { ...databaseStats(trained.filter(mine)), priorAgreement: agreement(mine), ...noise(mine) }];
                  }),
                ),
              }
            : {}),
          ...(resolved.manifest ? { about: resolved.manifest.about ?? null } : {}),
        };
        io.stdout.write(`${JSON.stringify(summary, null, f.json ? undefined : 2)}\n`);
      } finally {
        d.close();
      }
    });
}

/**
 * Per prior score of the records' spaces (NB201: its table's), the within-task rank agreement of
 * records `which` selects: how much the tasks order their cells like the benchmark does.
 */
function priorAgreements(records: readonly MetaRecord[]) {
  const scorers = new Map<string, { id: string; score: (arch: string) => number | undefined }>();
  for (const name of new Set(records.map((r) => r.space))) {
    const space = searchSpaces.has(name) ? searchSpaces.get(name) : undefined;
    const prior = space?.prior;
    if (!space || !prior) continue;
    const cache = new Map<string, number | undefined>();
    scorers.set(name, {
      id: prior.id,
      score: (arch) => {
        if (!cache.has(arch)) {
          const parsed = space.parse(arch);
          cache.set(arch, E.isRight(parsed) ? prior.score(parsed.right) : undefined);
        }
        return cache.get(arch);
      },
    });
  }
  return (which: (r: MetaRecord) => boolean) =>
    Object.fromEntries(
      [...scorers].map(([name, s]) => [
        s.id,
        priorAgreement(
          records.filter((r) => r.space === name && which(r)),
          s.score,
        ),
      ]),
    );
}

/** `builtin:<name>` → the rebuilt SQLite file; a path must exist. */
function resolveDatabaseRef(ref: string, env: CliIo['env']): ResolvedDatabase {
  if (!ref.startsWith('builtin:') && !fs.existsSync(ref)) throw new CliUsageError(`--db ${ref}: no such file`);
  return resolveDatabase(ref, env);
}

function openExisting(ref: string, env: CliIo['env']): MetaDatabase {
  return MetaDatabase.open(resolveDatabaseRef(ref, env).file, { readonly: true });
}

function readJsonFile(file: string, flag: string): unknown {
  if (!fs.existsSync(file)) throw new CliUsageError(`${flag} ${file}: no such file`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliUsageError(`${flag} ${file}: not JSON (${(e as Error).message})`);
  }
}
