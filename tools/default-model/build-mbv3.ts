/**
 * The recipe of the embedded MobileNetV3 (OFA) default model of `@metad2a/default-model`, offline,
 * in one work folder. There is no MBv3 meta-database yet, so nothing here is meta-trained on MBv3
 * records measured on a data set: the predictor is the architecture prior on OFA's ImageNet
 * accuracy predictor, the generator learns the subnets that predictor rates best.
 *
 *   npx tsx tools/default-model/build-mbv3.ts [--work .tmp/default-model-mbv3] [options] [phase...]
 *
 * Phases (with none given, all in order; each resumable — run it again after a stop):
 *   tasks      the data sets and class-subset tasks of the committed NB201 meta-database export
 *              (`builtin:nb201`, plan nb201-v1: 640 tasks over 16 sources) imported into <work>/db.sqlite;
 *              only its data sets and tasks are used (its NB201 records stay, unused)
 *   features   their class features: `--extractor` (random-conv), the first `--per-class` (20) images per class
 *   prior      the predictor: `trainArchitecturePriorFile` on source `ofa:imagenet-oracle` — OFA's
 *              accuracy predictor on `--oracle-samples` (20000) distinct uniform subnets (seed `--seed`),
 *              `--prior-held-out` (0.1) of them kept out to measure Spearman, `--prior-epochs` (8),
 *              batch `--prior-batch` (64), lr `--prior-lr` (0.002), `--predictor-hs` (128)
 *   pairs      the generator's training pairs: a second sample of `--pool` (20000) distinct subnets (seed
 *              `--seed` + 1) of `--pool-depth full` (depth 4 in every stage, kernels and expands uniform),
 *              the `--good` (1000) best by the oracle; each task of `--pair-classes` (10) classes (0: every
 *              task) gets `--per-task` (30) of
 *              them, drawn with the seed, as records of metric `ofa-oracle-top1@imagenet-224` (the oracle's
 *              ImageNet estimate, not a measurement on the task); split `mbv3-generator` by task (`--valid` 0.1)
 *   generator  `metaTrainGenerator` on those pairs (all of them): `--generator-epochs` (40), lr
 *              `--generator-lr` (0.001), batch `--batch-size` (32), seed; runs in <work>/generator
 *   assemble   the model directory <work>/model: the generator's last weights, a predictor of the
 *              `mbv3-official` sizes at `--predictor-hs` with the prior's graph side and head (its set
 *              encoder keeps its seeded initialisation), normalised by the prior's oracle normalisation
 *   check      <work>/check.json and check.md: per data set of `--check-datasets` (builtin:fashion-mnist,
 *              builtin:digits), `--decodes` (1000) seeded generator decodes made by the search's
 *              `sampleCandidates` (valid share, distinct subnets,
 *              oracle top-1 of the valid ones against a uniform sample), the predictor's Spearman with the
 *              oracle on `--check-subnets` (1000) uniform subnets, and `metad2a search`'s top 5 (seed 0),
 *              with the overlap of the data sets' top 5
 *   ship       the model into packages/default-model/models/mbv3 (`--ship-to`): its two checkpoints,
 *              model.json with the build's provenance, evaluation.json (the check) and EVALUATION.md
 *
 * The settings are stored in <work>/build.json at the first run; a later run with other settings
 * is refused (use another --work).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, Rng, fail, loadCheckpointSync, modelSpecs, spearman, unwrap, validationError, writeFileAtomicSync, type FeatureSet } from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import {
  RUN_FILES,
  addDatabaseFeatures,
  builtinDatabaseDir,
  importExportDir,
  loadArchitecturePrior,
  loadTrainedParameters,
  makeTaskSplit,
  mbv3OracleSamples,
  metaTrainGenerator,
  splitFeatureOrigin,
  trainArchitecturePriorFile,
} from '@metad2a/meta-trainer';
import { PredictorModel } from '@metad2a/perf-predictor';
import {
  SEARCH_IMAGES_PER_CLASS,
  loadSearchFeatures,
  loadSearchModel,
  parseModelManifest,
  runSearch,
  sampleCandidates,
  saveSearchModel,
  scoreGraphs,
  type SearchModel,
} from '@metad2a/search';
import { MBV3_DEPTHS, MBV3_STAGES, mbv3, mbv3AccuracyOracle, mbv3ActiveKey, mbv3Cost, sampleMbv3, type Mbv3Config } from '@metad2a/search-spaces';
import { openBuildState, readBuildArgs, replaceDirectory, runBuildMain, withDb, withDbAsync } from './work-folder';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels

export const MBV3_PHASES = ['tasks', 'features', 'prior', 'pairs', 'generator', 'assemble', 'check', 'ship'] as const;
export type Mbv3Phase = (typeof MBV3_PHASES)[number];

const ROOT = path.resolve(__dirname, '../..');
export const MBV3_SHIP_DIR = path.join(ROOT, 'packages/default-model/models/mbv3');
/** The records the generator learns from: the oracle's estimate, named so that no one takes it for a measurement on the task. */
export const ORACLE_METRIC = 'ofa-oracle-top1@imagenet-224';
export const GENERATOR_SPLIT = 'mbv3-generator';
const ORACLE_SOURCE = 'ofa:imagenet-oracle';

export interface Mbv3BuildSettings {
  readonly work: string;
  readonly extractor: string;
  readonly perClass: number;
  readonly seed: number;
  readonly predictorHs: number;
  readonly oracleSamples: number;
  readonly priorEpochs: number;
  readonly priorBatch: number;
  readonly priorLr: number;
  readonly priorHeldOut: number;
  readonly pool: number;
  /**
   * `full`: the pool's subnets have depth 4 in every stage (kernels and expands uniform), the good
   * ones are the best; `uniform`: one drawn depth (2, 3, 4) for all five stages, the best of each
   * depth equally; `any`: uniform subnets, the best overall.
   */
  readonly poolDepth: 'full' | 'uniform' | 'any';
  /** Only tasks of this many classes get pairs (one class count: one set-encoder pass per generator step); 0: every task. */
  readonly pairClasses: number;
  readonly good: number;
  readonly perTask: number;
  readonly validShare: number;
  readonly generatorEpochs: number;
  readonly generatorLr: number;
  readonly batchSize: number;
  readonly checkDatasets: readonly string[];
  readonly decodes: number;
  readonly checkSubnets: number;
  readonly shipTo: string;
}

export function defaultMbv3Settings(work = path.join(ROOT, '.tmp/default-model-mbv3')): Mbv3BuildSettings {
  return {
    work: path.resolve(work),
    extractor: 'random-conv',
    perClass: 20,
    seed: 2026,
    predictorHs: 128,
    oracleSamples: 20000,
    priorEpochs: 8,
    priorBatch: 64,
    priorLr: 2e-3,
    priorHeldOut: 0.1,
    pool: 20000,
    poolDepth: 'full',
    pairClasses: 10,
    good: 1000,
    perTask: 30,
    validShare: 0.1,
    generatorEpochs: 40,
    generatorLr: 1e-3,
    batchSize: 32,
    checkDatasets: ['builtin:fashion-mnist', 'builtin:digits'],
    decodes: 1000,
    checkSubnets: 1000,
    shipTo: MBV3_SHIP_DIR,
  };
}

interface Mbv3BuildState {
  readonly settings: Mbv3BuildSettings;
  tasks?: { readonly from: string; readonly counts: unknown };
  features?: { readonly from: string; readonly datasets: number };
  prior?: { readonly trainCells: number; readonly heldOutSamples: number; readonly seconds: number; readonly last: unknown };
  pairs?: {
    readonly pool: number;
    readonly good: number;
    readonly goodMinOracle: number;
    readonly goodMeanOracle: number;
    readonly poolMedianOracle: number;
    readonly split: unknown;
  };
  generator?: { readonly epochs: number; readonly steps: number; readonly last: unknown };
  assemble?: { readonly model: string };
  check?: { readonly files: readonly string[] };
}

const paths = (s: Mbv3BuildSettings) => ({
  db: path.join(s.work, 'db.sqlite'),
  prior: path.join(s.work, 'prior.ckpt'),
  generatorRun: path.join(s.work, 'generator'),
  model: path.join(s.work, 'model'),
  stateFile: path.join(s.work, 'build.json'),
  check: path.join(s.work, 'check'),
});

/** What a predictor of the model says its numbers are. */
function predictsLine(s: Mbv3BuildSettings): string {
  return `OFA's accuracy predictor's ImageNet top-1 estimate at 224 px (%), as learned by an architecture prior on ${s.oracleSamples} uniform subnets; not meta-trained on any MBv3 meta-database (no MBv3 subnet was trained on a data set for it)`;
}

/** Build the search model (generator + predictor) from the phases' files, in memory. */
function assembleModel(s: Mbv3BuildSettings): { generator: GeneratorModel; predictor: PredictorModel; normalisation: { mean: number; std: number } } {
  const p = paths(s);
  const spec = modelSpecs.get('mbv3-official');
  const generator = new GeneratorModel({ graphConfig: mbv3.graphConfig, ...spec.generator, seed: s.seed });
  // the prior's normalisation of its one source: the predictor then reads in oracle percent
  const probe = new PredictorModel({ graphConfig: mbv3.graphConfig, ...spec.predictor, hs: s.predictorHs, rng: new Rng(s.seed), normalisation: { mean: 0, std: 1 } });
  let predictor: PredictorModel | undefined;
  try {
    const prior = loadArchitecturePrior(probe, p.prior);
    const normalisation = prior.normalisations[ORACLE_SOURCE];
    if (!normalisation)
      fail('ValidationError', {
        source: p.prior,
        field: 'meta.normalisations',
        expected: `a normalisation of source ${ORACLE_SOURCE}`,
        got: Object.keys(prior.normalisations).join(', '),
      });
    predictor = new PredictorModel({ graphConfig: mbv3.graphConfig, ...spec.predictor, hs: s.predictorHs, rng: new Rng(s.seed), normalisation });
    predictor.loadParameters(probe.store.toNamedArrays());
    loadTrainedParameters(generator, path.join(p.generatorRun, RUN_FILES.last));
    return { generator, predictor, normalisation };
  } catch (err) {
    generator.dispose();
    predictor?.dispose();
    throw err;
  } finally {
    probe.dispose();
  }
}

/**
 * `n` seeded stochastic decodes of `model`'s generator for `features` in MBv3, made by the search's own
 * generation stage (`sampleCandidates`: z = mu of one resample of 20 rows per class per decode,
 * batches of 100, the projection cache), with the oracle's top-1 of every valid one.
 */
export async function decodeStats(
  model: SearchModel,
  features: FeatureSet,
  n: number,
  seed: number,
): Promise<{ decodes: number; valid: number; distinctFormats: number; distinctSubnets: number; oracleTop1: { mean: number; min: number; max: number } }> {
  const r = await sampleCandidates(model.generator, features, n, { space: mbv3, seed });
  const oracle = mbv3AccuracyOracle();
  const acc = r.members.map((c) => 100 * oracle.predict(c));
  return {
    decodes: r.attempts,
    valid: r.valid,
    distinctFormats: r.unique,
    distinctSubnets: new Set(r.members.map(mbv3ActiveKey)).size,
    oracleTop1: { mean: acc.reduce((a, b) => a + b, 0) / Math.max(1, acc.length), min: Math.min(...acc), max: Math.max(...acc) },
  };
}

const round = (x: number, d = 3): number => Number(x.toFixed(d));

/** Run `phases` (all when empty) in `s.work`. */
export async function buildMbv3DefaultModel(
  s: Mbv3BuildSettings,
  phases: readonly Mbv3Phase[] = [],
  opts: { log?: (s: string) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const log = opts.log ?? ((line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`));
  const want = (ph: Mbv3Phase): boolean => phases.length === 0 || phases.includes(ph);
  const p = paths(s);
  const state = openBuildState<typeof s, Mbv3BuildState>(p.stateFile, s, s.work);
  const save = (): void => writeFileAtomicSync(p.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  const need = <K extends keyof Mbv3BuildState>(k: K, phase: Mbv3Phase): NonNullable<Mbv3BuildState[K]> => {
    const v = state[k];
    if (v === undefined || v === null) fail('ValidationError', { source: p.stateFile, field: phase, expected: `phase '${phase}' done first`, got: 'not run yet' });
    return v as NonNullable<Mbv3BuildState[K]>;
  };

  if (want('tasks')) {
    const dir = builtinDatabaseDir('nb201');
    const r = withDb(p.db, (db) => importExportDir(dir, db));
    state.tasks = { from: path.relative(ROOT, dir), counts: withDb(p.db, (db) => db.counts()) };
    save();
    log(`tasks: imported ${state.tasks.from}: ${JSON.stringify(r)}`);
  }
  if (want('features')) {
    need('tasks', 'tasks');
    const r = await withDbAsync(p.db, (db) =>
      addDatabaseFeatures(db, {
        extractor: s.extractor,
        perClass: s.perClass,
        onDataset: (e) => log(`features ${e.index}/${e.total} ${e.dataset}: ${e.classes} classes × ${e.dim} ${e.already ? '(already there)' : `in ${e.seconds.toFixed(1)} s`}`),
      }),
    );
    state.features = { from: r.from, datasets: r.datasets };
    save();
  }
  if (want('prior')) {
    if (!fs.existsSync(p.prior)) {
      const r = await trainArchitecturePriorFile(p.prior, {
        predictorHs: s.predictorHs,
        epochs: s.priorEpochs,
        batchSize: s.priorBatch,
        lr: s.priorLr,
        heldOutFraction: s.priorHeldOut,
        sources: [ORACLE_SOURCE],
        oracleSamples: s.oracleSamples,
        seed: s.seed,
        onEpoch: (e) =>
          log(
            `prior epoch ${e.epoch}/${s.priorEpochs} loss ${e.trainLoss.toPrecision(4)} held-out Spearman ${e.heldOutSpearman?.[ORACLE_SOURCE]?.toFixed(3) ?? '-'} ${e.seconds.toFixed(1)} s`,
          ),
      });
      state.prior = { trainCells: r.prior.trainCells, heldOutSamples: r.heldOutSamples, seconds: r.prior.seconds, last: r.prior.history[r.prior.history.length - 1] };
      save();
      log(`prior: ${r.prior.trainCells} subnets in ${r.prior.seconds.toFixed(0)} s`);
    } else {
      // a prior already in the work folder (a rerun, or one copied in from a build with the same prior settings)
      const meta = unwrap(loadCheckpointSync(p.prior)).meta as { trainCells: number; seconds: number; history: unknown[] };
      state.prior ??= {
        trainCells: meta.trainCells,
        heldOutSamples: Math.round(s.oracleSamples * s.priorHeldOut),
        seconds: meta.seconds,
        last: meta.history[meta.history.length - 1],
      };
      save();
      log(`prior: ${p.prior} exists`);
    }
  }
  if (want('pairs')) {
    need('features', 'features');
    const { pool, good } = goodSubnets(s, s.seed + 1);
    const rng = new Rng(s.seed);
    const split = withDb(p.db, (db) => {
      const records = db
        .tasks()
        .filter((t) => s.pairClasses === 0 || t.classIds.length === s.pairClasses)
        .flatMap((t) =>
          rng
            .shuffle([...good.keys()])
            .slice(0, s.perTask)
            .map((i) => ({
              task: t.name,
              space: 'mbv3',
              arch: good[i]!.arch,
              accuracy: good[i]!.accuracy,
              metric: ORACLE_METRIC,
              how: 'oracle:ofa-accuracy-predictor (an ImageNet estimate of the subnet, not a measurement on this task)',
              extra: { pairedBy: `tools/default-model/build-mbv3.ts pairs: one of the ${s.good} best of ${s.pool} uniform subnets, drawn at random for the task` },
            })),
        );
      db.putRecords(records);
      return makeTaskSplit(db, { name: GENERATOR_SPLIT, metric: ORACLE_METRIC, space: 'mbv3', validShare: s.validShare, seed: s.seed });
    });
    state.pairs = {
      pool: pool.length,
      good: good.length,
      goodMinOracle: round(Math.min(...good.map((x) => x.accuracy))),
      goodMeanOracle: round(good.reduce((a, x) => a + x.accuracy, 0) / good.length),
      poolMedianOracle: round(pool[pool.length >> 1]!.accuracy),
      split,
    };
    save();
    log(`pairs: ${JSON.stringify(state.pairs)}`);
  }
  if (want('generator')) {
    need('pairs', 'pairs');
    const spec = modelSpecs.get('mbv3-official');
    const generator = new GeneratorModel({ graphConfig: mbv3.graphConfig, ...spec.generator, seed: s.seed });
    try {
      const r = await withDbAsync(p.db, (db) =>
        metaTrainGenerator(db, generator, {
          split: GENERATOR_SPLIT,
          epochs: s.generatorEpochs,
          lr: s.generatorLr,
          batchSize: s.batchSize,
          perClass: s.perClass,
          pairs: { kind: 'all' },
          seed: s.seed,
          runDir: p.generatorRun,
          resume: 'if-present',
          progress: 'never',
          onEvent: (e) => (e.event === 'epoch' ? log(`generator ${JSON.stringify(e)}`) : undefined),
          ...(opts.signal ? { signal: opts.signal } : {}),
        }),
      );
      state.generator = { epochs: r.epochs, steps: r.steps, last: r.history[r.history.length - 1] ?? null };
      save();
      log(`generator: ${r.epochs} epochs, ${r.steps} steps`);
    } finally {
      generator.dispose();
    }
  }
  if (want('assemble')) {
    need('prior', 'prior');
    need('generator', 'generator');
    const { generator, predictor, normalisation } = assembleModel(s);
    try {
      const origin = withDb(p.db, (db) => splitFeatureOrigin(db, GENERATOR_SPLIT));
      const spec = modelSpecs.get('mbv3-official');
      saveSearchModel(p.model, {
        space: 'mbv3',
        generator,
        generatorConfig: spec.generator,
        predictor,
        predictorConfig: { ...spec.predictor, hs: s.predictorHs },
        predicts: predictsLine(s),
        ...(origin.extractor ? { extractor: origin.extractor } : {}),
        provenance: {
          metaTrained: null,
          predictor: {
            kind: 'architecture prior only',
            source: ORACLE_SOURCE,
            oracleSamples: s.oracleSamples,
            epochs: s.priorEpochs,
            normalisation,
            setEncoder: `seeded initialisation (seed ${s.seed}), never trained: no MBv3 meta-database exists yet`,
          },
          generator: {
            kind: 'trained on good subnets',
            pairs: `the ${s.good} best by the OFA oracle of ${s.pool} distinct subnets (pool depth: ${s.poolDepth}), ${s.perTask} per task${s.pairClasses > 0 ? ` of ${s.pairClasses} classes` : ''} of ${state.tasks?.from} (paired at random: the pairing carries no information about the task), split ${GENERATOR_SPLIT}`,
            epochs: s.generatorEpochs,
          },
          featuresFrom: origin.from ?? null,
        },
      });
      state.assemble = { model: p.model };
      save();
      log(`assemble: ${p.model}`);
    } finally {
      generator.dispose();
      predictor.dispose();
    }
  }
  if (want('check')) {
    const model = await loadSearchModel(need('assemble', 'assemble').model);
    try {
      const result = await checkModel(model, s, log);
      const md = checkMarkdown(result, s);
      writeFileAtomicSync(`${p.check}.json`, `${JSON.stringify(result, null, 2)}\n`);
      writeFileAtomicSync(`${p.check}.md`, md);
      state.check = { files: [`${p.check}.json`, `${p.check}.md`] };
      save();
      log(`check: ${JSON.stringify(result.summary)}`);
    } finally {
      model.dispose();
    }
  }
  if (want('ship')) ship(s, state, log);
}

interface CheckResult {
  readonly summary: Record<string, unknown>;
  readonly uniform: { readonly subnets: number; readonly oracleTop1Mean: number };
  readonly perDataset: readonly {
    readonly dataset: string;
    readonly decodes: Awaited<ReturnType<typeof decodeStats>>;
    readonly predictorSpearman: number;
    readonly top5: readonly { arch: string; predicted: number; oracleTop1: number; mflops: number; mparams: number }[];
    readonly searchSeconds: number;
  }[];
  readonly top5Overlap: number;
}

async function checkModel(model: SearchModel, s: Mbv3BuildSettings, log: (s: string) => void): Promise<CheckResult> {
  const oracle = mbv3AccuracyOracle();
  const rng = new Rng(`${s.seed}:check`);
  const uniform: Mbv3Config[] = Array.from({ length: s.checkSubnets }, () => sampleMbv3(rng));
  const uniformOracle = uniform.map((c) => 100 * oracle.predict(c));
  const perDataset: CheckResult['perDataset'][number][] = [];
  for (const dataset of s.checkDatasets) {
    const features = await loadSearchFeatures(model, dataset, { maxPerClass: SEARCH_IMAGES_PER_CLASS });
    const decodes = await decodeStats(model, features, s.decodes, s.seed);
    const scores = await scoreGraphs(
      model.predictor,
      features,
      uniform.map((c) => mbv3.encode(c)),
      { seed: 0 },
    );
    const rho = spearman(scores.scores, uniformOracle);
    const t0 = performance.now();
    const search = await runSearch(model, features, { candidates: 500, top: 5, resamples: 10, seed: 0 });
    const searchSeconds = (performance.now() - t0) / 1000;
    const top5 = search.top.map((c) => {
      const config = unwrap(mbv3.parse(c.arch));
      const cost = mbv3Cost(config);
      return {
        arch: c.arch,
        predicted: round(c.predictedAccuracy, 2),
        oracleTop1: round(100 * oracle.predict(config), 2),
        mflops: round(cost.mflops, 1),
        mparams: round(cost.params / 1e6, 3),
      };
    });
    log(`check ${dataset}: ${JSON.stringify(decodes)} spearman ${rho.toFixed(3)}`);
    perDataset.push({ dataset, decodes, predictorSpearman: round(rho), top5, searchSeconds: round(searchSeconds, 2) });
  }
  const keys = perDataset.map((d) => new Set(d.top5.map((x) => x.arch)));
  const overlap = keys.length >= 2 ? [...keys[0]!].filter((k) => keys[1]!.has(k)).length : Number.NaN;
  const uniformMean = uniformOracle.reduce((a, b) => a + b, 0) / uniformOracle.length;
  return {
    summary: Object.fromEntries(
      perDataset.map((d) => [
        d.dataset,
        {
          validShare: round(d.decodes.valid / d.decodes.decodes),
          distinctSubnets: d.decodes.distinctSubnets,
          predictorSpearman: d.predictorSpearman,
          decodedOracleMean: round(d.decodes.oracleTop1.mean, 2),
        },
      ]),
    ),
    uniform: { subnets: s.checkSubnets, oracleTop1Mean: round(uniformMean, 2) },
    perDataset,
    top5Overlap: overlap,
  };
}

function checkMarkdown(r: CheckResult, s: Mbv3BuildSettings): string {
  const lines = [
    '# MBv3 default model: check',
    '',
    'Written by `tools/default-model/build-mbv3.ts check`. **Not meta-trained**: no MBv3 meta-database exists yet, so',
    'the predictor is an architecture prior on OFA’s ImageNet accuracy predictor and the generator learnt',
    'the subnets that predictor rates best; a data set changes the picks only through the models’',
    'dataset inputs (the predictor’s set encoder was never trained).',
    '',
    `| data set | valid decodes | distinct subnets | oracle top-1 of valid decodes (mean) | predictor Spearman with oracle (${s.checkSubnets} uniform subnets) | search s |`,
    '|---|---|---|---|---|---|',
    ...r.perDataset.map(
      (d) =>
        `| ${d.dataset} | ${d.decodes.valid}/${d.decodes.decodes} | ${d.decodes.distinctSubnets} | ${d.decodes.oracleTop1.mean.toFixed(2)} % | ${d.predictorSpearman.toFixed(3)} | ${d.searchSeconds.toFixed(2)} |`,
    ),
    '',
    `Uniform subnets (${r.uniform.subnets}, seeded): oracle top-1 mean ${r.uniform.oracleTop1Mean.toFixed(2)} %.`,
    `Top 5 overlap between ${r.perDataset.map((d) => d.dataset).join(' and ')}: ${r.top5Overlap} of 5.`,
    '',
  ];
  for (const d of r.perDataset) {
    lines.push(`## ${d.dataset}: search top 5 (seed 0, 500 candidates)`, '', '| subnet | predicted | oracle top-1 | MFLOPs | params (M) |', '|---|---|---|---|---|');
    // a table cell's `|` is escaped (the arch strings separate stages with it)
    for (const x of d.top5)
      lines.push(`| \`${x.arch.replaceAll('|', '\\|')}\` | ${x.predicted.toFixed(2)} | ${x.oracleTop1.toFixed(2)} | ${x.mflops.toFixed(1)} | ${x.mparams.toFixed(3)} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function ship(s: Mbv3BuildSettings, state: Mbv3BuildState, log: (s: string) => void): void {
  const p = paths(s);
  if (!state.check) fail('ValidationError', { source: p.stateFile, field: 'ship', expected: "phase 'check' done first (the model ships with its check)", got: 'not run yet' });
  const modelJson = path.join(p.model, 'model.json');
  const parsed = parseModelManifest(JSON.parse(fs.readFileSync(modelJson, 'utf8')), modelJson);
  if (parsed._tag === 'Left') throw new MetaD2AException(parsed.left);
  const m = parsed.right;
  const { work: _w, shipTo: _t, ...settings } = s;
  const shipped = {
    ...m,
    provenance: {
      ...m.provenance,
      builtBy: 'tools/default-model/build-mbv3.ts',
      tasks: state.tasks ?? null,
      prior: state.prior ?? null,
      pairs: state.pairs ?? null,
      generatorRun: state.generator ?? null,
      settings,
    },
  };
  const names = replaceDirectory(s.shipTo, {
    [m.generator.checkpoint]: { copy: path.join(p.model, m.generator.checkpoint) },
    [m.predictor.checkpoint]: { copy: path.join(p.model, m.predictor.checkpoint) },
    'model.json': { text: `${JSON.stringify(shipped, null, 2)}\n` },
    'evaluation.json': { text: fs.readFileSync(`${p.check}.json`, 'utf8') },
    'EVALUATION.md': { text: fs.readFileSync(`${p.check}.md`, 'utf8') },
  });
  log(`ship: ${s.shipTo} (${names.join(', ')})`);
}

function poolDepthOf(v: string): 'full' | 'uniform' | 'any' {
  if (v !== 'full' && v !== 'uniform' && v !== 'any')
    throw new MetaD2AException(validationError({ source: 'build-mbv3.ts', field: '--pool-depth', expected: 'full, uniform or any', got: JSON.stringify(v) }));
  return v;
}

/**
 * The generator's good subnets: `s.pool` distinct subnets drawn with `seed` — uniform ones
 * (`any`), or (`uniform`) uniform kernels and expands with one drawn depth for all stages — scored
 * by the oracle; the `s.good` best (`any`), or the best `s.good / 3` of each depth (`uniform`).
 */
export function goodSubnets(
  s: Pick<Mbv3BuildSettings, 'pool' | 'poolDepth' | 'good'>,
  seed: number,
): { pool: { arch: string; accuracy: number }[]; good: { arch: string; accuracy: number }[] } {
  if (s.poolDepth === 'any') {
    const pool = mbv3OracleSamples(s.pool, seed).sort((a, b) => b.accuracy - a.accuracy);
    return { pool, good: pool.slice(0, s.good) };
  }
  const rng = new Rng(seed);
  const oracle = mbv3AccuracyOracle();
  const seen = new Set<string>();
  const depths = s.poolDepth === 'full' ? ([4] as const) : MBV3_DEPTHS;
  const byDepth = new Map<number, { arch: string; accuracy: number }[]>(depths.map((d) => [d, []]));
  const pool: { arch: string; accuracy: number }[] = [];
  while (pool.length < s.pool) {
    const r = sampleMbv3(rng);
    const depth = rng.choice(depths);
    const config: Mbv3Config = { ks: r.ks, e: r.e, d: Array.from({ length: MBV3_STAGES }, () => depth) };
    const key = mbv3ActiveKey(config);
    if (seen.has(key)) continue;
    seen.add(key);
    const x = { arch: mbv3.format(config), accuracy: 100 * oracle.predict(config) };
    pool.push(x);
    byDepth.get(depth)!.push(x);
  }
  const per = Math.ceil(s.good / depths.length);
  const good = [...byDepth.values()].flatMap((xs) => xs.sort((a, b) => b.accuracy - a.accuracy).slice(0, per)).slice(0, s.good);
  return { pool: pool.sort((a, b) => b.accuracy - a.accuracy), good };
}

/** Command-line flags → settings and phases; a usage error names the flag. */
export function parseMbv3BuildArgs(argv: readonly string[]): { settings: Mbv3BuildSettings; phases: Mbv3Phase[] } {
  const { phases, flags, take } = readBuildArgs(argv, MBV3_PHASES, 'build-mbv3.ts');
  const d = defaultMbv3Settings(flags.get('--work'));
  take('--work');
  const num = (f: string, dflt: number, ok: (x: number) => boolean, expected: string): number => {
    const v = take(f);
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!ok(x)) throw new MetaD2AException(validationError({ source: 'build-mbv3.ts', field: f, expected, got: JSON.stringify(v) }));
    return x;
  };
  const int = (f: string, dflt: number, min = 1): number => num(f, dflt, (x) => Number.isInteger(x) && x >= min, `an integer ≥ ${min}`);
  const pos = (f: string, dflt: number): number => num(f, dflt, (x) => x > 0 && Number.isFinite(x), 'a positive number');
  const checkDatasets = take('--check-datasets');
  const settings: Mbv3BuildSettings = {
    ...d,
    extractor: take('--extractor') ?? d.extractor,
    perClass: int('--per-class', d.perClass),
    seed: int('--seed', d.seed, 0),
    predictorHs: int('--predictor-hs', d.predictorHs),
    oracleSamples: int('--oracle-samples', d.oracleSamples),
    priorEpochs: int('--prior-epochs', d.priorEpochs),
    priorBatch: int('--prior-batch', d.priorBatch),
    priorLr: pos('--prior-lr', d.priorLr),
    priorHeldOut: num('--prior-held-out', d.priorHeldOut, (x) => x >= 0 && x < 1, 'a share in [0, 1)'),
    pool: int('--pool', d.pool),
    poolDepth: poolDepthOf(take('--pool-depth') ?? d.poolDepth),
    pairClasses: int('--pair-classes', d.pairClasses, 0),
    good: int('--good', d.good),
    perTask: int('--per-task', d.perTask),
    validShare: num('--valid', d.validShare, (x) => x >= 0 && x < 1, 'a share in [0, 1)'),
    generatorEpochs: int('--generator-epochs', d.generatorEpochs),
    generatorLr: pos('--generator-lr', d.generatorLr),
    batchSize: int('--batch-size', d.batchSize),
    checkDatasets: checkDatasets ? checkDatasets.split(',').map((x) => x.trim()) : d.checkDatasets,
    decodes: int('--decodes', d.decodes),
    checkSubnets: int('--check-subnets', d.checkSubnets, 2),
    shipTo: flags.has('--ship-to') ? path.resolve(take('--ship-to')!) : d.shipTo,
  };
  if (settings.good > settings.pool)
    throw new MetaD2AException(validationError({ source: 'build-mbv3.ts', field: '--good', expected: `at most --pool (${settings.pool})`, got: String(settings.good) }));
  if (flags.size > 0)
    throw new MetaD2AException(
      validationError({ source: 'build-mbv3.ts', field: [...flags.keys()].join(', '), expected: 'a known flag (see the header of build-mbv3.ts)', got: 'unknown' }),
    );
  return { settings, phases };
}

if (require.main === module) {
  runBuildMain((signal) => {
    const { settings, phases } = parseMbv3BuildArgs(process.argv.slice(2));
    return buildMbv3DefaultModel(settings, phases, { signal });
  });
}
