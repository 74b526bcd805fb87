import * as fs from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Command } from 'commander';
import { describeBackend, initBackend, type AnySearchSpace, type BackendName } from '@metad2a/core';
import { NB201_PROXY_NETWORK, proxyBatch } from '@metad2a/proxies';
import {
  candidatePool,
  describeCandidates,
  formatRankReport,
  loadSearchFeatures,
  loadSearchModel,
  predictionTarget,
  rankCandidates,
  rerankCandidates,
  type SearchCandidate,
} from '@metad2a/search';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';
import { BACKEND_CHOICES, defaultModelDir } from '../shared';

interface RankFlags {
  dataset: string;
  archs: string;
  space: 'nb201' | 'mbv3';
  model?: string;
  resamples: number;
  seed: number;
  extractor?: string;
  backend?: BackendName;
  json?: boolean;
  rerank?: string;
  rerankTop: number;
  rerankWeight: number;
  proxyBatch: number;
}

/** Architectures of a shortlist file: one per line in the space's string form; blank lines and `#` comments skipped. */
export function readArchitectureList(file: string, space: AnySearchSpace): unknown[] {
  if (!fs.existsSync(file)) throw new CliUsageError(`--archs ${file}: no such file`);
  const out: unknown[] = [];
  fs.readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') return;
      const a = space.parse(line);
      if (E.isLeft(a)) throw new CliUsageError(`--archs ${file} line ${i + 1}: not a ${space.name} architecture: ${a.left.message}`);
      out.push(a.right);
    });
  if (out.length === 0) throw new CliUsageError(`--archs ${file}: no architectures (one per line expected)`);
  return out;
}

export const weightIn01 = (v: string): number => {
  const x = Number(v);
  if (!(x >= 0 && x <= 1)) throw new CliUsageError(`--rerank-weight ${v}: expected a number in [0, 1]`);
  return x;
};

export function registerRank(program: Command, io: CliIo): void {
  program
    .command('rank')
    .description("score a given list of architectures for a dataset with the model's predictor (your own shortlist, or for evaluation), best first")
    .requiredOption('--dataset <ref>', 'dataset reference (as for search)')
    .requiredOption('--archs <file>', "architectures, one per line in the space's string form (# comments)")
    .option('--space <name>', 'search space: nb201 or mbv3', oneOf('--space', ['nb201', 'mbv3'] as const), 'nb201')
    .option('--model <dir>', 'model directory; default: the embedded default model')
    .option('--resamples <n>', 'resampled datasets the predictor averages over', intInRange('--resamples', 1, 10000), 10)
    .option('--seed <s>', 'seed of the resampling (and the proxy networks)', intInRange('--seed', 0), 0)
    .option(
      '--extractor <name>',
      "feature extractor for image datasets: only the model's own (its default; random-conv for models that name none); identity for precomputed features",
    )
    .option('--rerank <proxy>', 're-rank the best --rerank-top with a zero-cost proxy on a minibatch of the dataset (naswot, synflow)')
    .option('--rerank-top <k>', 'how many of the best are re-ranked', intInRange('--rerank-top', 1, 100000), 20)
    .option('--rerank-weight <w>', "weight of the proxy's rank in [0, 1]", weightIn01, 0.5)
    .option('--proxy-batch <n>', 'images in the proxy minibatch', intInRange('--proxy-batch', 2, 4096), 16)
    .option('--backend <name>', 'tensor backend', oneOf('--backend', BACKEND_CHOICES))
    .option('--json', 'print one JSON document instead of the table')
    .action(async (f: RankFlags) => {
      const modelDir = f.model ?? defaultModelDir(f.space, io.env);
      if (!modelDir) throw new CliUsageError(`no model given: pass --model <dir>; no embedded default model ships for space '${f.space}'`);
      const backend = await initBackend({ prefer: f.backend });
      if (!f.json) io.stdout.write(`${describeBackend(backend)}\n`);
      const model = await loadSearchModel(modelDir);
      try {
        if (model.manifest.space !== f.space) throw new CliUsageError(`--space ${f.space} does not match the model in ${modelDir}, which is for space '${model.manifest.space}'`);
        if (f.rerank !== undefined && f.space !== 'nb201') throw new CliUsageError('--rerank: the proxies score NB201 cells only');
        const archs = readArchitectureList(f.archs, model.space);
        const features = await loadSearchFeatures(model, f.dataset, { extractor: f.extractor, flag: '--extractor' });
        const ranked = await rankCandidates(model.predictor, features, candidatePool(model.space, archs), { resamples: f.resamples, seed: `${f.seed}/rank` });
        let ranking: readonly (SearchCandidate & { readonly proxyScore?: number })[] = describeCandidates(model.space, ranked.ranking, features.classes.length);
        let rerank: { proxy: string; top: number; weight: number; seconds: number } | undefined;
        if (f.rerank !== undefined) {
          const batch = proxyBatch(f.dataset, { size: f.proxyBatch, inputSize: 32, seed: f.seed });
          const r = await rerankCandidates(ranking, {
            proxy: f.rerank,
            batch,
            top: f.rerankTop,
            weight: f.rerankWeight,
            numClasses: batch.numClasses,
            seed: f.seed,
            ...NB201_PROXY_NETWORK,
          });
          ranking = r.ranking;
          rerank = { proxy: f.rerank, top: Math.min(f.rerankTop, ranking.length), weight: f.rerankWeight, seconds: r.proxySeconds };
        }
        const report = {
          space: f.space,
          predicts: predictionTarget(model.manifest),
          dataset: { name: features.name, classes: features.classes.length, dim: features.dim },
          resamples: f.resamples,
          seed: f.seed,
          ranking,
          ...(rerank ? { rerank } : {}),
        };
        if (f.json) io.stdout.write(`${JSON.stringify({ ...report, model: modelDir, backend, timings: ranked.timings })}\n`);
        else io.stdout.write(`${formatRankReport(report, { backendLine: `model: ${modelDir}` })}\n`);
      } finally {
        model.dispose();
      }
    });
}
