import * as path from 'node:path';
import type { Command } from 'commander';
import { describeBackend, initBackend, type GraphGenerator, type PerfPredictor } from '@metad2a/core';
import {
  loadByLabelFeatures,
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
import { loadSearchModel } from '@metad2a/search';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';

interface BenchFlags {
  model?: string;
  generator?: string;
  predictor?: string;
  predictorHs?: number;
  dataset: string;
  datasetName?: string;
  runs: number;
  candidates?: number;
  budget: number;
  lookup: 'cifar10' | 'cifar100' | 'imagenet16-120';
  out: string;
  seed: number;
}

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

async function features(f: BenchFlags) {
  return f.dataset.endsWith('.pt') ? loadByLabelFeatures(f.dataset, f.datasetName) : loadFeatureSet(f.dataset);
}

export function registerBench(program: Command, io: CliIo): void {
  program
    .command('bench')
    .description("reproduce the paper's tables: nb201 (Table 1 protocol), nb201-baselines (random, REA, exhaustive predictor, MetaD2A), mbv3")
    .argument('<name>', 'nb201 | nb201-baselines | mbv3', oneOf('<name>', ['nb201', 'nb201-baselines', 'mbv3'] as const))
    .requiredOption('--dataset <ref>', 'target dataset: *bylabel.pt features (official) or any dataset reference')
    .option('--dataset-name <name>', "row name (cifar10, cifar100, mnist, svhn, aircraft, pets pick the paper's defaults)")
    .option('--model <dir>', 'model directory')
    .option('--generator <file>', 'official generator checkpoint (.pt)')
    .option('--predictor <file>', 'official predictor checkpoint (.pt)')
    .option('--predictor-hs <n>', "official predictor hidden size (default the official setting's)", intInRange('--predictor-hs', 1))
    .option('--runs <n>', 'independent runs', intInRange('--runs', 1), 10)
    .option('--candidates <n>', 'candidates per run', intInRange('--candidates', 1))
    .option('--budget <n>', 'evaluations per run (baselines)', intInRange('--budget', 1), 100)
    .option('--lookup <d>', 'NB201 column (baselines)', oneOf('--lookup', ['cifar10', 'cifar100', 'imagenet16-120'] as const), 'cifar10')
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 0)
    .option('--out <dir>', 'where the markdown / JSON / SVG report goes', 'bench-results')
    .action(async (name: 'nb201' | 'nb201-baselines' | 'mbv3', f: BenchFlags) => {
      const backend = await initBackend();
      io.stderr.write(`${describeBackend(backend)}\n`);
      const m = await models(f);
      try {
        const dataset = await features(f);
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
