import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BUILD_PLANS, buildPlanOptions } from '@metad2a/arch-trainer';
import { describeBackend, initBackend, type BackendName, type GraphGenerator, type PerfPredictor } from '@metad2a/core';
import {
  loadByLabelFeatures,
  runTransferBenchmark,
  transferMarkdown,
  transferSvg,
  resultJson,
  loadOfficialModels,
  mbv3Markdown,
  nb201BaselinesMarkdown,
  nb201BaselinesSvg,
  nb201ProtocolMarkdown,
  runMbv3Benchmark,
  runNb201Baselines,
  runNb201Protocol,
  writeReport,
} from '@metad2a/benchmarks';
import { loadFeatureSet } from '@metad2a/datasets';
import { SEARCH_IMAGES_PER_CLASS, loadSearchModel, searchExtractor } from '@metad2a/search';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';
import { BACKEND_CHOICES, defaultModelDir } from '../shared';
import { formatDuration } from './db';
import { weightIn01 } from './rank';

interface BenchFlags {
  model?: string;
  generator?: string;
  predictor?: string;
  predictorHs?: number;
  dataset?: string;
  datasetName?: string;
  runs: number;
  candidates?: number;
  budget: number;
  lookup: 'cifar10' | 'cifar100' | 'imagenet16-120';
  out: string;
  seed: number;
  // transfer
  db?: string;
  plan: string;
  seeds: number[];
  top: number;
  topDistance?: number;
  resamples: number;
  minRandom: number;
  replicates: number;
  proxies?: string[];
  proxyBatch: number;
  proxyPool?: number;
  rerank?: string;
  rerankTop: number;
  rerankWeight: number;
  bootstrap: number;
  extractor?: string;
  imagesPerClass: number;
  backend?: BackendName;
  json?: boolean;
}

const BENCHES = ['nb201', 'nb201-baselines', 'mbv3', 'transfer'] as const;
type BenchName = (typeof BENCHES)[number];

/** `0,1,2` → [0, 1, 2]: distinct non-negative integers. */
function seedList(v: string): number[] {
  const xs = v.split(',').map((x) => x.trim());
  if (xs.some((x) => !/^\d+$/.test(x)) || new Set(xs.map(Number)).size !== xs.length || xs.some((x) => !Number.isSafeInteger(Number(x))))
    throw new InvalidArgumentError(`--seeds ${v}: expected distinct non-negative integers separated by commas, e.g. 0,1,2`);
  return xs.map(Number);
}

/** `naswot,synflow` | `none` → proxy names. */
const proxyList = (v: string): string[] => (v === 'none' ? [] : v.split(',').map((x) => x.trim()));

/** Generator + predictor from a model directory or from official .pt checkpoints. */
async function models(f: BenchFlags): Promise<{ generator: GraphGenerator; predictor: PerfPredictor; weights: string; dispose(): void }> {
  if (f.model) {
    const m = await loadSearchModel(f.model);
    return { generator: m.generator, predictor: m.predictor, weights: `model directory ${f.model}`, dispose: () => m.dispose() };
  }
  if (f.generator && f.predictor) {
    const m = loadOfficialModels({ generator: f.generator, predictor: f.predictor, predictorHs: f.predictorHs });
    return { ...m, weights: `official ${path.basename(f.generator)} + ${path.basename(f.predictor)}`, dispose: () => (m.generator.dispose(), m.predictor.dispose()) };
  }
  throw new CliUsageError('give --model <dir>, or --generator <ckpt.pt> and --predictor <ckpt.pt>');
}

async function features(f: BenchFlags & { dataset: string }) {
  return f.dataset.endsWith('.pt') ? loadByLabelFeatures(f.dataset, f.datasetName) : loadFeatureSet(f.dataset);
}

/**
 * `bench transfer`: the held-out evaluation of a model. Progress goes to stderr, one line per
 * searched task and per trained pick (with an ETA); the first Ctrl-C / SIGTERM stops after the
 * pick in training (its record is kept, a rerun resumes), a second one stops at once.
 */
async function benchTransfer(f: BenchFlags, io: CliIo): Promise<void> {
  if (f.db === undefined) throw new CliUsageError("bench transfer: give --db <file>, the meta-database holding the plan's records (metad2a db build --plan <plan> --db <file>)");
  if (!fs.existsSync(f.db)) throw new CliUsageError(`--db ${f.db}: no such file`);
  // the plan's space decides the embedded model and whether the (NB201-only) proxies run by default
  const space = buildPlanOptions(f.plan).space ?? 'nb201';
  const proxies = f.proxies ?? (space === 'nb201' ? ['naswot', 'synflow'] : []);
  const modelDir = f.model === undefined || f.model === 'builtin:default' ? defaultModelDir(space, io.env) : f.model;
  if (modelDir === undefined) throw new CliUsageError('bench transfer: no model given and no embedded default model: pass --model <dir>');
  const modelName = f.model ?? 'builtin:default';
  const backend = await initBackend({ prefer: f.backend });
  io.stderr.write(`${describeBackend(backend)}\n`);
  const model = await loadSearchModel(modelDir);
  try {
    searchExtractor(model.manifest, { requested: f.extractor, precomputed: false, flag: '--extractor', source: modelDir });
  } catch (err) {
    model.dispose();
    throw err;
  }
  const stop = new AbortController();
  const onSignal = (): void => {
    stop.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    io.stderr.write('[bench transfer] stopping after the pick in training (again to stop at once; the database stays consistent)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tag = '[bench transfer]';
  try {
    const run = await runTransferBenchmark({
      model,
      modelName,
      db: f.db,
      plan: f.plan,
      seeds: f.seeds,
      top: f.top,
      topDistance: f.topDistance,
      candidates: f.candidates,
      resamples: f.resamples,
      minRandomCells: f.minRandom,
      replicates: f.replicates,
      proxies,
      proxyBatch: f.proxyBatch,
      proxyPool: f.proxyPool,
      ...(f.rerank !== undefined ? { rerank: { proxy: f.rerank, top: f.rerankTop, weight: f.rerankWeight } } : {}),
      proxySeed: f.seed,
      bootstrap: { resamples: f.bootstrap, seed: f.seed },
      extractor: f.extractor,
      imagesPerClass: f.imagesPerClass,
      signal: stop.signal,
      onProgress: (p) => {
        const now = new Date().toISOString();
        if (p.phase === 'select') io.stderr.write(`${tag} ${now} searched ${p.index}/${p.tasks} ${p.task} (${formatDuration(p.elapsedMs)} elapsed)\n`);
        else
          io.stderr.write(
            `${tag} ${now} trained ${p.replicate === 0 ? 'pick' : `replicate ${p.replicate}`} ${p.done}/${p.total} ${p.accuracy.toFixed(2)}% ${p.task} ${p.arch} eta ${formatDuration(p.etaMs)}\n`,
          );
      },
    });
    if (run.status === 'stopped') {
      io.stderr.write(`${tag} stopped: ${run.trained} picks trained and recorded, ${run.remaining} left; run the same command again to resume\n`);
      return;
    }
    const r = run.result;
    const md = transferMarkdown(r);
    const files = writeReport(f.out, `transfer-${r.plan.name}`, { markdown: md, json: r, svg: transferSvg(r) });
    if (f.json) io.stdout.write(resultJson(r));
    else io.stdout.write(`${md}\nwrote ${files.join(', ')}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    model.dispose();
  }
}

export function registerBench(program: Command, io: CliIo): void {
  program
    .command('bench')
    .description(
      "reproduce the paper's tables: nb201 (Table 1 protocol), nb201-baselines (random, REA, exhaustive predictor, MetaD2A), mbv3; and transfer (a model on the held-out tasks of a build plan: picks trained, percentiles among random cells, NB201 winners, NASWOT/synflow)",
    )
    .argument('<name>', BENCHES.join(' | '), oneOf('<name>', BENCHES))
    .option('--dataset <ref>', 'nb201, nb201-baselines, mbv3: target dataset: *bylabel.pt features (official) or any dataset reference')
    .option('--dataset-name <name>', "row name (cifar10, cifar100, mnist, svhn, aircraft, pets pick the paper's defaults)")
    .option('--model <dir>', 'model directory (transfer: default builtin:default, the embedded default model)')
    .option('--generator <file>', 'official generator checkpoint (.pt)')
    .option('--predictor <file>', 'official predictor checkpoint (.pt)')
    .option('--predictor-hs <n>', "official predictor hidden size (default the official setting's)", intInRange('--predictor-hs', 1))
    .option('--db <file>', "transfer: the meta-database holding the plan's records; picks are trained into it")
    .option('--plan <name>', `transfer: the held-out build plan (${Object.keys(BUILD_PLANS).join(', ')})`, oneOf('--plan', Object.keys(BUILD_PLANS)), 'nb201-heldout-v1')
    .option('--seeds <list>', 'transfer: search seeds, comma-separated', seedList, [0, 1, 2])
    .option('--top <k>', "transfer: MetaD2A's top-k trained on every task (best of top-k)", intInRange('--top', 1, 100), 5)
    .option(
      '--top-distance <d>',
      "transfer: MetaD2A's top-k as `search --top-distance d` chooses it (cells at least d choices apart; default the model's, as search)",
      intInRange('--top-distance', 0, 1000),
    )
    .option('--resamples <n>', 'transfer: resampled datasets the predictor averages over', intInRange('--resamples', 1, 10000), 10)
    .option('--min-random <n>', 'transfer: measured random cells a task needs', intInRange('--min-random', 1), 30)
    .option(
      '--replicates <n>',
      "transfer: trainings per cell (random cells and picks) whose mean is its accuracy: 1 is the plan's record; more are trained with further seeds and stored as replicates",
      intInRange('--replicates', 1, 20),
      1,
    )
    .option(
      '--proxies <list>',
      "transfer: zero-cost proxies whose top-1 over MetaD2A's candidates is trained, or none (default: naswot,synflow for an NB201 plan, none otherwise: they score NB201's TinyNetwork)",
      proxyList,
    )
    .option('--proxy-batch <n>', "transfer: images of the task's training set in the proxies' minibatch", intInRange('--proxy-batch', 2, 4096), 64)
    .option('--proxy-pool <n>', "transfer: the proxies choose among the first n of each search's ranking (default: every candidate)", intInRange('--proxy-pool', 1))
    .option('--rerank <proxy>', "transfer: also evaluate the search's re-ranking stage with this proxy (its top-1 is trained)")
    .option('--rerank-top <k>', 'transfer, with --rerank: how many of the best are re-ranked', intInRange('--rerank-top', 1, 100000), 20)
    .option('--rerank-weight <w>', "transfer, with --rerank: weight of the proxy's rank in [0, 1]", weightIn01, 0.5)
    .option('--bootstrap <n>', 'transfer: bootstrap resamples of the 95 % intervals over tasks', intInRange('--bootstrap', 1, 1_000_000), 10_000)
    .option(
      '--extractor <name>',
      "transfer: feature extractor of tasks without the model's features in the database: only the model's own is accepted (model.json `extractor`; random-conv for models that name none); default the model's",
    )
    .option(
      '--images-per-class <n>',
      'transfer: images per class of a task whose features are extracted (the first n)',
      intInRange('--images-per-class', 1),
      SEARCH_IMAGES_PER_CLASS,
    )
    .option('--backend <name>', 'tensor backend', oneOf('--backend', BACKEND_CHOICES))
    .option('--json', 'transfer: print the result as JSON on stdout instead of the markdown (the report files are written either way)')
    .option('--runs <n>', 'independent runs', intInRange('--runs', 1), 10)
    .option('--candidates <n>', 'candidates per run (transfer: per search, default 500)', intInRange('--candidates', 1))
    .option('--budget <n>', 'evaluations per run (baselines)', intInRange('--budget', 1), 100)
    .option('--lookup <d>', 'NB201 column (baselines)', oneOf('--lookup', ['cifar10', 'cifar100', 'imagenet16-120'] as const), 'cifar10')
    .option('--seed <s>', "seed (transfer: of the bootstrap and the proxies' minibatch and networks)", intInRange('--seed', 0), 0)
    .option('--out <dir>', 'where the markdown / JSON / SVG report goes', 'bench-results')
    .action(async (name: BenchName, f: BenchFlags) => {
      if (name === 'transfer') return benchTransfer(f, io);
      if (f.dataset === undefined) throw new CliUsageError(`bench ${name}: give --dataset <ref>`);
      const backend = await initBackend({ prefer: f.backend });
      io.stderr.write(`${describeBackend(backend)}\n`);
      const m = await models(f);
      try {
        const dataset = await features({ ...f, dataset: f.dataset });
        const datasetName = f.datasetName ?? dataset.name;
        if (name === 'nb201') {
          const r = await runNb201Protocol({
            generator: m.generator,
            predictor: m.predictor,
            dataset,
            datasetName,
            weights: m.weights,
            runs: f.runs,
            candidates: f.candidates,
            seed: f.seed,
          });
          const md = nb201ProtocolMarkdown([r]);
          const files = writeReport(f.out, `nb201-${datasetName}`, { markdown: md, json: r });
          io.stdout.write(`${md}\nwrote ${files.join(', ')}\n`);
        } else if (name === 'nb201-baselines') {
          const r = await runNb201Baselines({
            lookup: f.lookup,
            runs: f.runs,
            budget: f.budget,
            seed: f.seed,
            predictor: m.predictor,
            generator: m.generator,
            dataset,
            candidates: f.candidates,
          });
          const md = nb201BaselinesMarkdown(r);
          const files = writeReport(f.out, `nb201-baselines-${f.lookup}`, { markdown: md, json: r, svg: nb201BaselinesSvg(r) });
          io.stdout.write(`${md}\nwrote ${files.join(', ')}\n`);
        } else {
          const r = await runMbv3Benchmark({
            generator: m.generator,
            predictor: m.predictor,
            dataset,
            datasetName,
            weights: m.weights,
            runs: f.runs,
            candidates: f.candidates,
            seed: f.seed,
          });
          const md = mbv3Markdown(r);
          const files = writeReport(f.out, `mbv3-${datasetName}`, { markdown: md, json: r });
          io.stdout.write(`${md}\nwrote ${files.join(', ')}\n`);
        }
      } finally {
        m.dispose();
      }
    });
}
