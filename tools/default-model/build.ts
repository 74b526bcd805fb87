/**
 * The recipe of the embedded default models of `@metad2a/default-model` (NB201, and with
 * `--space mbv3` the meta-trained MobileNetV3 one): every step is the library function a `metad2a`
 * command runs (`db import`, `db features`, `db split`, `prior`, `meta-train`, `bench transfer`),
 * over one work folder, offline.
 *
 *   npx tsx tools/default-model/build.ts [--space nb201|mbv3] [--work .tmp/default-model] [options] [phase...]
 *
 * Phases (with none given, all in order; each resumable — run it again after a stop):
 *   db        the training database: the committed export of plan nb201-v1
 *             (packages/meta-trainer/data/nb201-measured, `builtin:nb201`) imported into <work>/db.sqlite,
 *             or `--db <file>`, an existing database (e.g. a larger local build), used as it is
 *   heldout   the held-out database of plan nb201-heldout-v1: its committed export
 *             (packages/meta-trainer/data/nb201-heldout-measured, `builtin:nb201-heldout`) imported into
 *             <work>/heldout.sqlite, or `--heldout-db <file>`; a missing export is refused, naming its
 *             folder and the tools/meta-database commands that build and export it
 *   features  the class features of every data set of both databases: `--extractor` (random-conv),
 *             the first `--per-class` (20) images of each class
 *   split     the training database's records of the space by task: `--valid` (0.15) of each data
 *             set's tasks validate, seed `--seed` (2026); metric of plan nb201-v1 (`--metric`)
 *   prior     the architecture prior at the predictor's hidden size (`--prior-epochs` 20, seed);
 *             `--prior <file>` uses an existing one instead, `--prior none` meta-trains the predictor
 *             from its seeded initialisation (no prior)
 *   train     meta-training: `--predictor-hs` 128, `--generator-pairs` top:0.2, `--predictor-epochs`
 *             120, `--generator-epochs` 400, `--select-by` pearson, `--anchor` off (on: the predictor
 *             is anchored on NB201's table score, `meta-train --anchor`; prior+choices: and on a
 *             learnt value of each edge's operation, `meta-train --anchor prior+choices`), seed; the model goes to
 *             <work>/model and names the extractor of its features; `--generator-from <file>` keeps that
 *             generator checkpoint (e.g. the shipped one) and retrains the predictor only
 *             (`meta-train --generator-epochs 0 --generator-init <file>`); `--predictor-lr` (1e-4) and
 *             `--target-scale` (1; 100: the z scale, `meta-train --target-scale`); `--replicates mean`
 *             (each; `meta-train --replicates`: one item per (task, cell), the mean of its trainings)
 *   eval      `bench transfer` on the held-out database (plan nb201-heldout-v1, `--eval-seeds` 0,1,2,
 *             the proxies' `--proxy-batch` images (64) and `--proxy-pool` (every candidate), `--eval-replicates`
 *             trainings per cell averaged (1)):
 *             <work>/transfer-nb201-heldout-v1.{md,json,svg}; picks are trained into the held-out database
 *   ship      the model into packages/default-model/models/nb201 (`--ship-to`): its two checkpoints,
 *             model.json with the build's provenance, evaluation.json (the transfer result) and
 *             EVALUATION.md (its table)
 *
 * `--space mbv3` (issue #23; the shipped models/mbv3 was built so): the same phases with MBv3's plans —
 * db: plan mbv3-v1's export (packages/meta-trainer/data/mbv3-measured, `builtin:mbv3`); heldout:
 * plan mbv3-heldout-v1's (mbv3-heldout-measured, `builtin:mbv3-heldout`); split: metric of plan
 * mbv3-v1 (top1-test@mbv3-db); prior: the OFA-oracle prior of build-mbv3.ts (`ofa:imagenet-oracle`,
 * 20,000 subnets, 8 epochs, batch 64, lr 2e-3, 10 % held out), or `--prior <file>|none`, then a
 * generator prior: build-mbv3.ts's pairs and generator phases (the oracle's best 1,000 of 20,000
 * subnets of any depths, `--generator-prior-epochs` (80) at lr 1e-3) in <work>/generator-prior, so that
 * the generator knows the space's grammar before it sees the few measured subnets
 * (`--generator-prior none`: without); train: MBv3's official sizes, the generator started from its
 * prior, at `--generator-lr` (1e-5); eval: plan mbv3-heldout-v1 against OFA's predictor's best (no zero-cost
 * proxies: they score NB201's TinyNetwork, so `--proxy-batch`/`--proxy-pool` are refused, as is
 * `--anchor on`, NB201's table), then the generator's validity (share of valid decodes of 1,000 by
 * the search's `sampleCandidates`, on builtin:fashion-mnist and builtin:digits; goal ≥ 90 %); ship:
 * packages/default-model/models/mbv3, the validity in model.json and EVALUATION.md. Default work
 * folder: .tmp/default-model-mbv3-meta.
 *
 * The settings are stored in <work>/build.json at the first run; a later run with other settings
 * is refused (use another --work), so every phase of one work folder has the same recipe.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, fail, validationError, writeFileAtomicSync } from '@metad2a/core';
import { buildPlanOptions, recipeMetric } from '@metad2a/arch-trainer';
import { resultJson, runTransferBenchmark, transferMarkdown, transferSvg, writeReport, type TransferPlanOptions, type TransferResult } from '@metad2a/benchmarks';
import {
  BUILTIN_DATABASES,
  PRIOR_SOURCES,
  PRIOR_SOURCES_BY_SPACE,
  addDatabaseFeatures,
  builtinDatabaseDir,
  importExportDir,
  RUN_FILES,
  makeTaskSplit,
  metaTrainSearchModel,
  parseGeneratorPairs,
  trainArchitecturePriorFile,
  type GeneratorPairs,
  type PriorSource,
} from '@metad2a/meta-trainer';
import { SEARCH_IMAGES_PER_CLASS, loadSearchFeatures, loadSearchModel, parseModelManifest, type SearchModel } from '@metad2a/search';
import { MBV3_SHIP_DIR, buildMbv3DefaultModel, decodeStats, defaultMbv3Settings, type Mbv3BuildSettings } from './build-mbv3';
import { openBuildState, readBuildArgs, replaceDirectory, runBuildMain, withDb, withDbAsync } from './work-folder';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

export const PHASES = ['db', 'heldout', 'features', 'split', 'prior', 'train', 'eval', 'ship'] as const;
export type Phase = (typeof PHASES)[number];

/** The split the model is meta-trained on (stored in the training database). */
export const SPLIT = 'default-model';
const ROOT = path.resolve(__dirname, '../..');
export const SHIP_DIR = path.join(ROOT, 'packages/default-model/models/nb201');

export type BuildSpace = 'nb201' | 'mbv3';
/** What the space decides: the training plan and the held-out plan (each with its committed export, `builtin:<name>`), the default work and ship folders. */
export const BUILD_SPACES: Readonly<
  Record<
    BuildSpace,
    { readonly trainPlan: string; readonly trainExport: string; readonly heldoutPlan: string; readonly heldoutExport: string; readonly work: string; readonly shipTo: string }
  >
> = {
  nb201: { trainPlan: 'nb201-v1', trainExport: 'nb201', heldoutPlan: 'nb201-heldout-v1', heldoutExport: 'nb201-heldout', work: '.tmp/default-model', shipTo: SHIP_DIR },
  mbv3: { trainPlan: 'mbv3-v1', trainExport: 'mbv3', heldoutPlan: 'mbv3-heldout-v1', heldoutExport: 'mbv3-heldout', work: '.tmp/default-model-mbv3-meta', shipTo: MBV3_SHIP_DIR },
};
/** The NB201 prior's training (batch, lr, nothing held out) where the settings name none. */
const NB201_PRIOR_TRAINING: NonNullable<BuildSettings['priorTraining']> = { batchSize: 256, lr: 1e-3, heldOutFraction: 0 };
/**
 * MBv3's generator prior and fine-tuning rate, chosen in session 10 (share of 500 decodes on
 * builtin:fashion-mnist that are valid subnets). Fine-tuned at lr 1e-3 for 30 epochs from the
 * full-depth oracle generator on the database's best subnet per task (134 pairs of the 654-record
 * export), the generator decoded 0 valid: a stage's 4 slots must share one depth, and the few
 * measured subnets do not teach that. The prior on the oracle's best 1,000 subnets of any depths
 * reached 79 / 93 / 95 / 93 / 95 % valid after 40 / 60 / 80 / 100 / 120 epochs (76–79 depth
 * patterns); fine-tuned from its epoch 80 on the database's best subnets (20 epochs) at lr 1e-4,
 * 3e-5 and 1e-5 it decoded 85, 86 and 91 % valid (183, 160, 143 depth patterns): the lowest rate
 * keeps the grammar and still moves towards the measured subnets. On the complete 880-record
 * database (188 training tasks) at 1e-5, 1,000 decodes (`decodeStats`, seed 2026): 88.0 % valid
 * after 20 epochs, 92.9 % after 10 (129 depth patterns in 500): `--generator-epochs 10`.
 */
export const MBV3_GENERATOR_PRIOR = { poolDepth: 'any', good: 1000, epochs: 80, lr: 1e-3 } as const;
export const MBV3_GENERATOR_LR = 1e-5;
/** The validity goal of issue #23: share of the generator's decodes that are valid subnets. */
export const VALIDITY_GOAL = 0.9;

export interface BuildSettings {
  readonly work: string;
  /** The search space; absent: nb201 (so an NB201 work folder's build.json from before `--space` still matches). */
  readonly space?: BuildSpace;
  /** An existing training database; default: the export of plan nb201-v1 imported into <work>/db.sqlite. */
  readonly db?: string;
  /** An existing held-out database; default: the export of plan nb201-heldout-v1 imported into <work>/heldout.sqlite. */
  readonly heldoutDb?: string;
  readonly extractor: string;
  readonly perClass: number;
  /** Metric of the records the model learns from. */
  readonly metric: string;
  readonly validShare: number;
  readonly seed: number;
  /** An existing architecture prior; default: trained into <work>/prior.ckpt; null: none (the predictor starts from its seeded initialisation). */
  readonly prior?: string | null;
  readonly priorEpochs: number;
  readonly priorSources: readonly PriorSource[];
  /** The prior's batch, lr, held-out share and (ofa:imagenet-oracle) subnets drawn; absent: NB201's (256, 1e-3, 0). */
  readonly priorTraining?: { readonly batchSize: number; readonly lr: number; readonly heldOutFraction: number; readonly oracleSamples?: number };
  readonly predictorHs: number;
  readonly predictorEpochs: number;
  /** 0 with `generatorFrom`: the generator is kept, not trained. */
  readonly generatorEpochs: number;
  /**
   * A generator checkpoint to keep instead of training one (e.g. the shipped model's
   * generator.safetensors), so that a build on a grown database retrains the predictor only
   * (`--generator-from`; sets `generatorEpochs` 0, `meta-train --generator-epochs 0 --generator-init`).
   */
  readonly generatorFrom?: string;
  readonly generatorPairs: GeneratorPairs;
  /** The generator phase's Adam learning rate; absent: the predictor's (1e-4). */
  readonly generatorLr?: number;
  /** The predictor's learning rate (`meta-train --predictor-lr`; absent: 1e-4, official; the generator follows it unless `generatorLr`). */
  readonly predictorLr?: number;
  /** The predictor's target scale (`meta-train --target-scale`; absent: 1, official). */
  readonly targetScale?: number;
  /** How a (task, cell)'s several trainings are used (`meta-train --replicates`; absent: each, official). */
  readonly replicates?: 'each' | 'mean';
  /**
   * MBv3: a generator that first learns the space's grammar (22 vertices, one depth per stage) from
   * the OFA oracle's `good` best of 20,000 subnets of `poolDepth` (build-mbv3.ts's pairs and
   * generator phases, `epochs` at `lr`), trained in the prior phase into <work>/generator-prior;
   * meta-training then starts the generator from it. Absent or null: the generator starts from its
   * seeded initialisation (NB201, whose cells every decode of 8 vertices nearly always forms).
   */
  readonly generatorPrior?: { readonly poolDepth: 'full' | 'uniform' | 'any'; readonly good: number; readonly epochs: number; readonly lr: number } | null;
  readonly selectBy: 'pearson' | 'task-spearman';
  /**
   * Anchor the predictor on NB201's prior score (its table), the network learning the rest
   * (`meta-train --anchor`); `prior+choices`: and on a learnt value of each edge's operation
   * (`meta-train --anchor prior+choices`).
   */
  readonly anchor: boolean | 'prior+choices';
  readonly batchSize: number;
  /** The held-out plan: a name of `BUILD_PLANS`, or a plan with a name (tests). */
  readonly plan: string | { readonly name: string; readonly options: TransferPlanOptions };
  readonly eval: {
    readonly seeds: readonly number[];
    readonly top?: number;
    readonly candidates?: number;
    readonly resamples?: number;
    readonly proxies?: readonly string[];
    readonly minRandomCells?: number;
    readonly proxyBatch?: number;
    /** The proxies choose among the first n of each search's ranking (NASWOT costs ~0.25 s per cell at 32 images). */
    readonly proxyPool?: number;
    /** MetaD2A's top-k as `search --top-distance` chooses it; > 0 also ships as the model's search default (model.json `search`). */
    readonly topDistance?: number;
    /** Trainings per cell whose mean is its accuracy (`bench transfer --replicates`; default 1). */
    readonly replicates?: number;
  };
  /**
   * MBv3: after the evaluation, `decodes` seeded decodes of the generator per data set, made by the
   * search's own generation stage (`sampleCandidates`), to report the share of valid subnets.
   */
  readonly validity?: { readonly datasets: readonly string[]; readonly decodes: number };
  readonly shipTo: string;
}

/**
 * The default recipe of `space`. MBv3: the plans mbv3-v1 / mbv3-heldout-v1 and their exports, the
 * OFA-oracle architecture prior with the settings of `build-mbv3.ts` (`ofa:imagenet-oracle`, 20,000
 * subnets, 8 epochs, batch 64, lr 2e-3, 10 % held out), no zero-cost proxies (they score NB201's
 * TinyNetwork), the generator's validity on `build-mbv3.ts`'s check data sets, shipped to models/mbv3.
 */
/** mbv3-heldout-v1 measures 24 uniform subnets per task (an MBv3 training costs ~4× a cell's), not the 30 NB201's evaluation asks. */
export const MBV3_HELDOUT_RANDOM_SUBNETS = 24;

export function defaultSettings(work?: string, space: BuildSpace = 'nb201'): BuildSettings {
  const sp = BUILD_SPACES[space];
  const common: Omit<BuildSettings, 'priorEpochs' | 'priorSources' | 'eval'> = {
    work: path.resolve(work ?? path.join(ROOT, sp.work)),
    extractor: 'random-conv',
    perClass: 20,
    metric: recipeMetric(buildPlanOptions(sp.trainPlan).recipe),
    validShare: 0.15,
    seed: 2026,
    predictorHs: 128,
    predictorEpochs: 120,
    generatorEpochs: 400,
    generatorPairs: parseGeneratorPairs('top:0.2'),
    selectBy: 'pearson',
    anchor: false,
    batchSize: 32,
    plan: sp.heldoutPlan,
    shipTo: sp.shipTo,
  };
  if (space === 'nb201') return { ...common, priorEpochs: 20, priorSources: PRIOR_SOURCES, eval: { seeds: [0, 1, 2] } };
  const m = defaultMbv3Settings();
  return {
    ...common,
    space,
    priorEpochs: m.priorEpochs,
    priorSources: PRIOR_SOURCES_BY_SPACE.mbv3,
    priorTraining: { batchSize: m.priorBatch, lr: m.priorLr, heldOutFraction: m.priorHeldOut, oracleSamples: m.oracleSamples },
    eval: { seeds: [0, 1, 2], proxies: [], minRandomCells: MBV3_HELDOUT_RANDOM_SUBNETS },
    validity: { datasets: m.checkDatasets, decodes: m.decodes },
    generatorPrior: { ...MBV3_GENERATOR_PRIOR },
    generatorLr: MBV3_GENERATOR_LR,
  };
}

/** A ValidationError for what only NB201 has, asked of another space (the anchor on NB201's table, the zero-cost proxies, NB201's prior sources). */
export function checkSpaceSettings(s: BuildSettings): void {
  const space = s.space ?? 'nb201';
  const refuse = (field: string, expected: string, got: string): never => fail('ValidationError', { source: 'default-model build', field, expected, got });
  const allowed = PRIOR_SOURCES_BY_SPACE[space] as readonly string[];
  const wrong = s.priorSources.filter((x) => !allowed.includes(x));
  if (wrong.length > 0) refuse('--prior-sources', `sources of space ${space} (${allowed.join(', ')})`, wrong.join(', '));
  if (space === 'nb201') return;
  if (s.anchor) refuse('--anchor', `off for --space ${space} (the anchor is NB201's table score; ${space} has no table)`, s.anchor === true ? 'on' : s.anchor);
  const proxies = [
    ...(s.eval.proxies ?? ['naswot', 'synflow']),
    ...(s.eval.proxyBatch !== undefined ? ['--proxy-batch'] : []),
    ...(s.eval.proxyPool !== undefined ? ['--proxy-pool'] : []),
  ];
  if (proxies.length > 0)
    refuse(
      'proxies',
      `none for --space ${space} (the zero-cost proxies score NB201's TinyNetwork; the ${space} evaluation compares with OFA's predictor's best instead)`,
      proxies.join(', '),
    );
}

/** What the phases found and made, kept in <work>/build.json for the provenance `ship` writes. */
interface BuildState {
  readonly settings: BuildSettings;
  db?: { readonly file: string; readonly from: string; readonly counts: unknown };
  heldout?: { readonly file: string; readonly from: string; readonly counts: unknown };
  features?: { readonly from: string; readonly datasets: number; readonly heldoutDatasets: number };
  split?: unknown;
  /** `file` null: the build uses no prior (`--prior none`). */
  prior?: { readonly file: string | null; readonly trained: boolean };
  /** The generator prior's last checkpoint (MBv3; see `BuildSettings.generatorPrior`), or null: none. */
  generatorPrior?: { readonly file: string | null; readonly epochs?: number; readonly last?: unknown };
  train?: { readonly model: string; readonly extractor: unknown; readonly featuresFrom: string | null; readonly predictorBest: unknown };
  eval?: { readonly files: readonly string[]; readonly validity?: GeneratorValidity };
}

/** The generator's decodes per data set (MBv3), by the search's `sampleCandidates`. */
type GeneratorValidity = readonly { readonly dataset: string; readonly decodes: number; readonly valid: number; readonly validShare: number; readonly distinctSubnets: number }[];

const paths = (s: BuildSettings) => ({
  db: s.db ?? path.join(s.work, 'db.sqlite'),
  heldout: s.heldoutDb ?? path.join(s.work, 'heldout.sqlite'),
  prior: s.prior === null ? null : (s.prior ?? path.join(s.work, 'prior.ckpt')),
  model: path.join(s.work, 'model'),
  generatorPrior: path.join(s.work, 'generator-prior'),
  stateFile: path.join(s.work, 'build.json'),
  report: `transfer-${typeof s.plan === 'string' ? s.plan : s.plan.name}`,
});

const saveState = (state: BuildState): void => writeFileAtomicSync(paths(state.settings).stateFile, `${JSON.stringify(state, null, 2)}\n`);

/** `db import` of the committed export of `plan` into `target` (resumable: present records are skipped), or an existing database as it is. */
function database(
  given: string | undefined,
  flag: string,
  target: string,
  exportOf: string,
  plan: string,
  log: (s: string) => void,
): { file: string; from: string; counts: unknown } {
  if (given !== undefined) {
    if (!fs.existsSync(given)) fail('NotFound', { source: 'default-model build', field: flag, expected: 'an existing meta-database file', got: given });
    return { file: given, from: given, counts: withDb(given, (db) => db.counts()) };
  }
  let dir: string;
  try {
    dir = builtinDatabaseDir(exportOf);
  } catch (err) {
    if (!(err instanceof MetaD2AException)) throw err;
    const folder = `packages/meta-trainer/data/${BUILTIN_DATABASES[exportOf]?.folder ?? `${exportOf}-measured`}`;
    fail('NotFound', {
      source: 'default-model build',
      field: flag,
      expected: `the committed export of plan ${plan}, ${folder} (builtin:${exportOf}: build it with \`tools/meta-database/build.sh ${plan}\`, then export it with \`tools/meta-database/export.sh ${plan}\`), or ${flag} <file>, a meta-database`,
      got: `no ${folder}/manifest.json`,
    });
  }
  const r = withDb(target, (db) => importExportDir(dir, db));
  log(`imported ${path.relative(ROOT, dir)}: ${JSON.stringify(r)}`);
  return { file: target, from: path.relative(ROOT, dir), counts: withDb(target, (db) => db.counts()) };
}

/** The generator's validity (MBv3): `decodes` seeded decodes per data set through the search's `sampleCandidates` (`decodeStats` of build-mbv3.ts). */
async function generatorValidity(model: SearchModel, v: NonNullable<BuildSettings['validity']>, seed: number, log: (s: string) => void): Promise<GeneratorValidity> {
  const out: GeneratorValidity[number][] = [];
  for (const dataset of v.datasets) {
    const features = await loadSearchFeatures(model, dataset, { maxPerClass: SEARCH_IMAGES_PER_CLASS });
    const d = await decodeStats(model, features, v.decodes, seed);
    const validShare = Number((d.valid / d.decodes).toFixed(4));
    out.push({ dataset, decodes: d.decodes, valid: d.valid, validShare, distinctSubnets: d.distinctSubnets });
    log(
      `eval generator validity ${dataset}: ${d.valid}/${d.decodes} valid (${(100 * validShare).toFixed(1)} %, goal ≥ ${100 * VALIDITY_GOAL} %${validShare >= VALIDITY_GOAL ? '' : ': MISSED'}), ${d.distinctSubnets} distinct subnets`,
    );
  }
  return out;
}

/**
 * Run `phases` (all when empty) of the build in `s.work`. Ctrl-C (the `signal`) stops meta-training
 * after its current step and the evaluation after the pick in training; a rerun resumes.
 */
export async function buildDefaultModel(s: BuildSettings, phases: readonly Phase[] = [], opts: { log?: (s: string) => void; signal?: AbortSignal } = {}): Promise<void> {
  const log = opts.log ?? ((line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`));
  const want = (p: Phase): boolean => phases.length === 0 || phases.includes(p);
  checkSpaceSettings(s);
  const space = s.space ?? 'nb201';
  const sp = BUILD_SPACES[space];
  const p = paths(s);
  const state = openBuildState<typeof s, BuildState>(p.stateFile, s, s.work);
  const need = <K extends keyof BuildState>(k: K, phase: Phase): NonNullable<BuildState[K]> => {
    const v = state[k];
    if (v === undefined || v === null) fail('ValidationError', { source: p.stateFile, field: phase, expected: `phase '${phase}' done first`, got: 'not run yet' });
    return v as NonNullable<BuildState[K]>;
  };

  if (want('db')) {
    state.db = database(s.db, '--db', p.db, sp.trainExport, sp.trainPlan, log);
    saveState(state);
    log(`db: ${state.db.file} ${JSON.stringify(state.db.counts)}`);
  }
  if (want('heldout')) {
    state.heldout = database(s.heldoutDb, '--heldout-db', p.heldout, sp.heldoutExport, sp.heldoutPlan, log);
    saveState(state);
    log(`heldout: ${state.heldout.file} ${JSON.stringify(state.heldout.counts)}`);
  }
  if (want('features')) {
    const each = (tag: string) => (e: { index: number; total: number; dataset: string; classes: number; dim: number | undefined; already: boolean; seconds: number }) =>
      log(`features ${tag} ${e.index}/${e.total} ${e.dataset}: ${e.classes} classes × ${e.dim} ${e.already ? '(already there)' : `in ${e.seconds.toFixed(1)} s`}`);
    const train = await withDbAsync(need('db', 'db').file, (db) => addDatabaseFeatures(db, { extractor: s.extractor, perClass: s.perClass, onDataset: each('db') }));
    const held = await withDbAsync(need('heldout', 'heldout').file, (db) => addDatabaseFeatures(db, { extractor: s.extractor, perClass: s.perClass, onDataset: each('heldout') }));
    state.features = { from: train.from, datasets: train.datasets, heldoutDatasets: held.datasets };
    saveState(state);
  }
  if (want('split')) {
    state.split = withDb(need('db', 'db').file, (db) => makeTaskSplit(db, { name: SPLIT, metric: s.metric, space, validShare: s.validShare, seed: s.seed }));
    saveState(state);
    log(`split: ${JSON.stringify(state.split)}`);
  }
  if (want('prior')) {
    if (s.prior === null) state.prior = { file: null, trained: false };
    else if (s.prior !== undefined) {
      if (!fs.existsSync(s.prior)) fail('NotFound', { source: 'default-model build', field: '--prior', expected: 'an architecture prior file', got: s.prior });
      state.prior = { file: s.prior, trained: false };
    } else if (!fs.existsSync(p.prior!)) {
      const { oracleSamples, ...t } = s.priorTraining ?? NB201_PRIOR_TRAINING;
      const r = await trainArchitecturePriorFile(p.prior!, {
        predictorHs: s.predictorHs,
        epochs: s.priorEpochs,
        ...t,
        sources: s.priorSources,
        ...(oracleSamples !== undefined ? { oracleSamples } : {}),
        seed: s.seed,
        onEpoch: (e) => {
          const held = Object.entries(e.heldOutSpearman ?? {}).map(([k, v]) => ` held-out Spearman ${k} ${v.toFixed(3)}`);
          log(`prior epoch ${e.epoch}/${s.priorEpochs} loss ${e.trainLoss.toPrecision(4)}${held.join('')} ${e.seconds.toFixed(1)} s`);
        },
      });
      log(`prior: ${r.prior.trainSamples} samples of ${r.prior.trainCells} cells in ${r.prior.seconds.toFixed(0)} s`);
      state.prior = { file: p.prior!, trained: true };
    } else state.prior = { file: p.prior!, trained: true };
    saveState(state);
    if (!s.generatorPrior) state.generatorPrior = { file: null };
    else {
      // one implementation of the oracle's good subnets and of their generator: build-mbv3.ts's phases, in a folder of its own
      const g = s.generatorPrior;
      const sub: Mbv3BuildSettings = {
        ...defaultMbv3Settings(p.generatorPrior),
        extractor: s.extractor,
        perClass: s.perClass,
        seed: s.seed,
        batchSize: s.batchSize,
        poolDepth: g.poolDepth,
        good: g.good,
        generatorEpochs: g.epochs,
        generatorLr: g.lr,
      };
      await buildMbv3DefaultModel(sub, ['tasks', 'features', 'pairs', 'generator'], {
        log: (line) => log(`generator prior: ${line}`),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const made = JSON.parse(fs.readFileSync(path.join(p.generatorPrior, 'build.json'), 'utf8')) as { generator?: { epochs: number; last: unknown } };
      if (!made.generator || made.generator.epochs < g.epochs) {
        log('generator prior stopped before its last epoch; run the prior phase again to resume');
        return;
      }
      state.generatorPrior = { file: path.join(p.generatorPrior, 'generator', RUN_FILES.last), epochs: made.generator.epochs, last: made.generator.last };
    }
    saveState(state);
  }
  if (want('train')) {
    need('split', 'split');
    need('features', 'features');
    const prior = need('prior', 'prior').file;
    const generatorInit = s.generatorFrom ?? (s.generatorPrior ? need('generatorPrior', 'prior').file : null);
    const r = await withDbAsync(need('db', 'db').file, (db) =>
      metaTrainSearchModel(db, {
        out: p.model,
        space,
        split: SPLIT,
        predictorEpochs: s.predictorEpochs,
        generatorEpochs: s.generatorEpochs,
        predictorHs: s.predictorHs,
        seed: s.seed,
        // a finished phase is skipped, an interrupted one resumes, one not begun starts
        resume: true,
        ...(s.anchor ? { anchor: s.anchor } : {}),
        generatorOptions: { ...(generatorInit !== null ? { init: generatorInit } : {}), ...(s.generatorLr !== undefined ? { lr: s.generatorLr } : {}) },
        options: {
          batchSize: s.batchSize,
          progress: 'auto',
          pairs: s.generatorPairs,
          selectBy: s.selectBy,
          ...(s.predictorLr !== undefined ? { lr: s.predictorLr } : {}),
          ...(s.targetScale !== undefined ? { targetScale: s.targetScale } : {}),
          ...(s.replicates !== undefined ? { replicates: s.replicates } : {}),
          ...(prior !== null ? { prior } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        onPhase: (model, phase) => log(`train ${model}: ${phase}`),
      }),
    );
    state.train = { model: p.model, extractor: r.manifest.extractor ?? null, featuresFrom: r.featuresFrom ?? null, predictorBest: r.predictor.result.best };
    saveState(state);
    log(`train: ${JSON.stringify(state.train)}`);
  }
  if (want('eval')) {
    const modelDir = need('train', 'train').model;
    const model = await loadSearchModel(modelDir);
    try {
      // first (seconds): logged even when the searches below cannot find enough distinct valid subnets
      const validity = s.validity ? await generatorValidity(model, s.validity, s.seed, log) : undefined;
      const run = await runTransferBenchmark({
        model,
        modelName: path.relative(ROOT, modelDir),
        db: need('heldout', 'heldout').file,
        plan: s.plan,
        ...s.eval,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (e) =>
          log(
            e.phase === 'select'
              ? `eval searched ${e.index}/${e.tasks} ${e.task}`
              : `eval trained ${e.replicate === 0 ? 'pick' : `replicate ${e.replicate}`} ${e.done}/${e.total} ${e.accuracy.toFixed(2)}% ${e.task} ${e.arch}`,
          ),
      });
      if (run.status === 'stopped') {
        log(`eval stopped: ${run.trained} picks trained and recorded, ${run.remaining} left; run the eval phase again to resume`);
        return;
      }
      const files = writeReport(s.work, p.report, { markdown: transferMarkdown(run.result), json: run.result, svg: transferSvg(run.result) });
      state.eval = { files, ...(validity ? { validity } : {}) };
      saveState(state);
      log(`eval: wrote ${files.join(', ')}`);
    } finally {
      model.dispose();
    }
  }
  if (want('ship')) ship(s, state, log);
}

/** The model directory and its evaluation into `s.shipTo`, replacing what was there (one rename). */
function ship(s: BuildSettings, state: BuildState, log: (s: string) => void): void {
  const p = paths(s);
  if (!state.eval) fail('ValidationError', { source: p.stateFile, field: 'ship', expected: "phase 'eval' done first (the model ships with its evaluation)", got: 'not run yet' });
  const modelJson = path.join(p.model, 'model.json');
  const manifest = parseModelManifest(JSON.parse(fs.readFileSync(modelJson, 'utf8')), modelJson);
  if (manifest._tag === 'Left') throw new MetaD2AException(manifest.left);
  const m = manifest.right;
  const result = JSON.parse(fs.readFileSync(path.join(s.work, `${p.report}.json`), 'utf8')) as TransferResult;
  // paths inside the repository are written relative to it (the shipped file holds no machine's layout)
  const rel = (f: string | undefined): string | undefined => (f !== undefined && f.startsWith(`${ROOT}${path.sep}`) ? path.relative(ROOT, f) : f);
  const { work: _w, shipTo: _t, ...rest } = s;
  const settings = { ...rest, db: rel(s.db), heldoutDb: rel(s.heldoutDb), prior: s.prior === null ? null : rel(s.prior) };
  const metaTrained = m.provenance.metaTrained as Record<string, unknown> | undefined;
  const { search: _search, ...withoutSearch } = m;
  const shipped = {
    ...withoutSearch,
    // the top-k rule the evaluation measured is the one `metad2a search` then uses by default
    ...(s.eval.topDistance ? { search: { topDistance: s.eval.topDistance } } : {}),
    provenance: {
      ...m.provenance,
      ...(metaTrained
        ? {
            metaTrained: {
              ...metaTrained,
              db: rel(metaTrained.db as string),
              prior: rel((metaTrained.prior as string | null) ?? undefined) ?? null,
              ...(typeof metaTrained.generatorInit === 'string' ? { generatorInit: rel(metaTrained.generatorInit) } : {}),
            },
          }
        : {}),
      builtBy: 'tools/default-model/build.ts',
      db: { from: rel(state.db?.from), counts: state.db ? withDb(state.db.file, (db) => db.counts()) : null },
      // the plan's random cells and every pick the evaluation trained
      heldout: { from: rel(state.heldout?.from), counts: state.heldout ? withDb(state.heldout.file, (db) => db.counts()) : null, plan: result.plan.name },
      extractor: m.extractor ?? null,
      featuresFrom: state.features?.from ?? null,
      split: { name: SPLIT, ...(state.split as object) },
      prior: state.prior?.file ? { file: path.basename(state.prior.file), trainedHere: state.prior.trained } : null,
      ...(state.generatorPrior?.file ? { generatorPrior: { ...s.generatorPrior, epochs: state.generatorPrior.epochs, last: state.generatorPrior.last } } : {}),
      ...(state.eval.validity ? { generatorValidity: state.eval.validity } : {}),
      settings,
    },
  };
  const validity = state.eval.validity
    ? [
        '',
        `## Generator validity (goal ≥ ${100 * VALIDITY_GOAL} % valid decodes)`,
        '',
        "Seeded decodes of the generator through the search's generation stage (`sampleCandidates`), per data set:",
        '',
        '| data set | valid decodes | valid share | distinct subnets |',
        '|---|---:|---:|---:|',
        ...state.eval.validity.map((v) => `| ${v.dataset} | ${v.valid} / ${v.decodes} | ${(100 * v.validShare).toFixed(1)} % | ${v.distinctSubnets} |`),
        '',
      ].join('\n')
    : '';
  const names = replaceDirectory(s.shipTo, {
    [m.generator.checkpoint]: { copy: path.join(p.model, m.generator.checkpoint) },
    [m.predictor.checkpoint]: { copy: path.join(p.model, m.predictor.checkpoint) },
    'model.json': { text: `${JSON.stringify(shipped, null, 2)}\n` },
    'evaluation.json': { text: resultJson(result) },
    'EVALUATION.md': { text: fs.readFileSync(path.join(s.work, `${p.report}.md`), 'utf8') + validity },
  });
  log(`ship: ${s.shipTo} (${names.join(', ')})`);
}

/** An optional flag holding a number > 0, as the setting `key`; absent: no setting (the library's default). */
function positiveFlag<K extends 'predictorLr' | 'targetScale'>(take: (flag: string) => string | undefined, flag: string, key: K): Partial<Record<K, number>> {
  const v = take(flag);
  if (v === undefined) return {};
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new MetaD2AException(validationError({ source: 'build.ts', field: flag, expected: 'a number > 0', got: JSON.stringify(v) }));
  return { [key]: n } as Partial<Record<K, number>>;
}

/**
 * `--generator-epochs <n>` or (NB201) `--generator-from <file>` (0 epochs: that generator kept),
 * `--generator-lr <x>` and (MBv3) `--generator-prior none` | `--generator-prior-epochs <n>` → the generator's settings.
 */
function generatorFlags(
  take: (f: string) => string | undefined,
  d: BuildSettings,
  space: BuildSpace,
): Pick<BuildSettings, 'generatorLr' | 'generatorPrior' | 'generatorFrom' | 'generatorEpochs'> {
  const bad = (field: string, expected: string, got: string | undefined): never => fail('ValidationError', { source: 'build.ts', field, expected, got: JSON.stringify(got) });
  const fromFlag = take('--generator-from');
  const epochsGiven = take('--generator-epochs');
  if (fromFlag !== undefined) {
    if (epochsGiven !== undefined) bad('--generator-from', 'no --generator-epochs (the generator it names is kept, not trained)', epochsGiven);
    if (space !== 'nb201') bad('--generator-from', 'only with --space nb201 (MBv3 generators start from their grammar prior)', fromFlag);
    if (!fs.existsSync(fromFlag)) bad('--generator-from', 'a generator checkpoint (e.g. packages/default-model/models/nb201/generator.safetensors)', fromFlag);
  }
  const generatorEpochs = epochsGiven === undefined ? d.generatorEpochs : Number(epochsGiven);
  if (!Number.isInteger(generatorEpochs) || generatorEpochs < 1) bad('--generator-epochs', 'an integer ≥ 1', epochsGiven);
  const lrFlag = take('--generator-lr');
  const lr = lrFlag === undefined ? d.generatorLr : Number(lrFlag);
  if (lr !== undefined && !(lr > 0)) bad('--generator-lr', 'a learning rate > 0', lrFlag);
  const priorFlag = take('--generator-prior');
  const epochsFlag = take('--generator-prior-epochs');
  if ((priorFlag !== undefined || epochsFlag !== undefined) && space !== 'mbv3')
    bad('--generator-prior', 'only with --space mbv3 (NB201 generators need no grammar prior)', priorFlag ?? epochsFlag);
  if (priorFlag !== undefined && priorFlag !== 'none') bad('--generator-prior', "'none' (no generator prior) or the flag left out", priorFlag);
  let generatorPrior = priorFlag === 'none' ? null : d.generatorPrior;
  if (epochsFlag !== undefined) {
    const e = Number(epochsFlag);
    if (!Number.isInteger(e) || e < 1) bad('--generator-prior-epochs', 'an integer ≥ 1', epochsFlag);
    if (!generatorPrior) bad('--generator-prior-epochs', 'no --generator-prior none', epochsFlag);
    generatorPrior = { ...generatorPrior!, epochs: e };
  }
  return {
    ...(lr !== undefined ? { generatorLr: lr } : {}),
    ...(generatorPrior !== undefined ? { generatorPrior } : {}),
    ...(fromFlag !== undefined ? { generatorFrom: path.resolve(fromFlag), generatorEpochs: 0 } : { generatorEpochs }),
  };
}

/** Command-line flags → settings and phases; a usage error names the flag. */
export function parseBuildArgs(argv: readonly string[]): { settings: BuildSettings; phases: Phase[] } {
  const { phases, flags, take } = readBuildArgs(argv, PHASES, 'build.ts');
  const space = take('--space') ?? 'nb201';
  if (space !== 'nb201' && space !== 'mbv3')
    throw new MetaD2AException(validationError({ source: 'build.ts', field: '--space', expected: 'nb201 or mbv3', got: JSON.stringify(space) }));
  const d = defaultSettings(flags.get('--work'), space);
  const int = (f: string, dflt: number, min = 1): number => {
    const v = take(f);
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new MetaD2AException(validationError({ source: 'build.ts', field: f, expected: `an integer ≥ ${min}`, got: JSON.stringify(v) }));
    return x;
  };
  const list = (v: string) => v.split(',').map((x) => x.trim());
  take('--work');
  const abs = (v: string | undefined) => (v === undefined ? undefined : path.resolve(v));
  const valid = take('--valid');
  const validShare = valid === undefined ? d.validShare : Number(valid);
  if (!(validShare >= 0 && validShare < 1))
    throw new MetaD2AException(validationError({ source: 'build.ts', field: '--valid', expected: 'a share in [0, 1)', got: JSON.stringify(valid) }));
  const selectBy = take('--select-by') ?? d.selectBy;
  if (selectBy !== 'pearson' && selectBy !== 'task-spearman')
    throw new MetaD2AException(validationError({ source: 'build.ts', field: '--select-by', expected: 'pearson or task-spearman', got: JSON.stringify(selectBy) }));
  const anchor = take('--anchor') ?? (d.anchor ? 'on' : 'off');
  if (anchor !== 'on' && anchor !== 'off' && anchor !== 'prior+choices')
    throw new MetaD2AException(validationError({ source: 'build.ts', field: '--anchor', expected: 'on, off or prior+choices', got: JSON.stringify(anchor) }));
  const replicates = take('--replicates');
  if (replicates !== undefined && replicates !== 'each' && replicates !== 'mean')
    throw new MetaD2AException(validationError({ source: 'build.ts', field: '--replicates', expected: 'each or mean', got: JSON.stringify(replicates) }));
  const priorFlag = take('--prior'); // a file, or `none`
  const priorSources = take('--prior-sources');
  for (const x of priorSources ? list(priorSources) : [])
    if (!(PRIOR_SOURCES_BY_SPACE[space] as readonly string[]).includes(x))
      throw new MetaD2AException(
        validationError({ source: 'build.ts', field: '--prior-sources', expected: `some of ${PRIOR_SOURCES_BY_SPACE[space].join(', ')} (space ${space})`, got: JSON.stringify(x) }),
      );
  const seeds = take('--eval-seeds');
  const evalSeeds = seeds === undefined ? d.eval.seeds : list(seeds).map(Number);
  if (evalSeeds.some((x) => !Number.isInteger(x) || x < 0))
    throw new MetaD2AException(validationError({ source: 'build.ts', field: '--eval-seeds', expected: 'comma-separated integers ≥ 0', got: JSON.stringify(seeds) }));
  const settings: BuildSettings = {
    ...d,
    ...(flags.has('--db') ? { db: abs(take('--db')) } : {}),
    ...(flags.has('--heldout-db') ? { heldoutDb: abs(take('--heldout-db')) } : {}),
    ...(priorFlag === undefined ? {} : { prior: priorFlag === 'none' ? null : path.resolve(priorFlag) }),
    extractor: take('--extractor') ?? d.extractor,
    perClass: int('--per-class', d.perClass),
    metric: take('--metric') ?? d.metric,
    validShare,
    seed: int('--seed', d.seed, 0),
    priorEpochs: int('--prior-epochs', d.priorEpochs),
    priorSources: priorSources ? (list(priorSources) as PriorSource[]) : d.priorSources,
    predictorHs: int('--predictor-hs', d.predictorHs),
    predictorEpochs: int('--predictor-epochs', d.predictorEpochs),
    ...positiveFlag(take, '--predictor-lr', 'predictorLr'),
    ...positiveFlag(take, '--target-scale', 'targetScale'),
    ...(replicates !== undefined ? { replicates } : {}),
    generatorPairs: flags.has('--generator-pairs') ? parseGeneratorPairs(take('--generator-pairs')!) : d.generatorPairs,
    ...generatorFlags(take, d, space),
    selectBy,
    anchor: anchor === 'prior+choices' ? anchor : anchor === 'on',
    batchSize: int('--batch-size', d.batchSize),
    plan: take('--plan') ?? d.plan,
    eval: {
      ...d.eval,
      seeds: evalSeeds,
      ...(flags.has('--proxy-batch') ? { proxyBatch: int('--proxy-batch', 64, 2) } : {}),
      ...(flags.has('--proxy-pool') ? { proxyPool: int('--proxy-pool', 1) } : {}),
      ...(flags.has('--top-distance') ? { topDistance: int('--top-distance', 0, 0) } : {}),
      ...(flags.has('--eval-replicates') ? { replicates: int('--eval-replicates', 1, 1) } : {}),
    },
    shipTo: abs(take('--ship-to')) ?? d.shipTo,
  };
  if (flags.size > 0)
    throw new MetaD2AException(validationError({ source: 'build.ts', field: [...flags.keys()].join(', '), expected: 'a known flag (see the header of build.ts)', got: 'unknown' }));
  checkSpaceSettings(settings);
  return { settings, phases };
}

if (require.main === module) {
  runBuildMain((signal) => {
    const { settings, phases } = parseBuildArgs(process.argv.slice(2));
    return buildDefaultModel(settings, phases, { signal });
  });
}
