import type { Command } from 'commander';
import { checkLatencyBudget, describeBackend, initBackend, searchSpaces, type BackendName, type Constraints } from '@metad2a/core';
import { ttyProgressBar } from '@metad2a/datasets';
import { NB201_PROXY_NETWORK, proxyBatch } from '@metad2a/proxies';
import { SEARCH_IMAGES_PER_CLASS, formatSearchReport, loadSearchFeatures, loadSearchModel, rerankCandidates, runSearch, searchReportJson, selectTop } from '@metad2a/search';
import { weightIn01 } from './rank';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf, positiveNumber } from '../options';
import { BACKEND_CHOICES, defaultModelDir } from '../shared';

interface SearchFlags {
  dataset: string;
  space: string;
  model?: string;
  candidates: number;
  top: number;
  topDistance?: number;
  resamples: number;
  seed: number;
  json?: boolean;
  all?: boolean;
  flopsMax?: number;
  paramsMax?: number;
  latencyMax?: number;
  device?: string;
  backend?: BackendName;
  extractor?: string;
  imagesPerClass: number | 'all';
  rerank?: string;
  rerankTop: number;
  rerankWeight: number;
  proxyBatch: number;
}

const imagesPerClass = (v: string): number | 'all' => (v === 'all' ? 'all' : intInRange('--images-per-class', 1)(v));

export function registerSearch(program: Command, io: CliIo): void {
  program
    .command('search')
    .description('search architectures for a dataset: generate candidates, rank them with the predictor, print the top-k')
    .requiredOption('--dataset <ref>', 'builtin:<mnist|fashion-mnist|digits>, an image folder, a CIFAR binary folder, IDX, .npy, *bylabel.pt or *.features.json')
    .option('--space <name>', `search space: ${searchSpaces.names().join(', ')} (registered; --register adds more)`, oneOf('--space', searchSpaces.names()), 'nb201')
    .option('--model <dir>', 'model directory (model.json + generator.safetensors + predictor.safetensors); default: the embedded default model')
    .option('--candidates <n>', 'unique valid candidates to generate', intInRange('--candidates', 1, 100000), 500)
    .option('--top <k>', 'how many of the ranking to print', intInRange('--top', 1, 100000), 5)
    .option(
      '--top-distance <d>',
      "print only cells that differ from every better printed one in at least d choices (NB201: edges; MBv3: block slots); 0: the ranking's first k (default: the model's, model.json search.topDistance, else 0)",
      intInRange('--top-distance', 0, 1000),
    )
    .option('--resamples <n>', 'resampled datasets the predictor averages over', intInRange('--resamples', 1, 10000), 10)
    .option('--seed <s>', 'seed of the whole search', intInRange('--seed', 0), 0)
    .option('--flops-max <M>', 'keep candidates with at most this many MFLOPs', positiveNumber('--flops-max'))
    .option('--params-max <M>', 'keep candidates with at most this many million parameters', positiveNumber('--params-max'))
    .option('--latency-max <ms>', 'keep candidates with at most this latency in ms on --device (NB201: measured; MBv3: latency model)', positiveNumber('--latency-max'))
    .option('--device <name>', "device setting of --latency-max (metad2a devices lists them); alone: print each candidate's latency on it")
    .option(
      '--images-per-class <n|all>',
      `image datasets: extract features of at most n images per class (the first n of each class); the predictor draws ${SEARCH_IMAGES_PER_CLASS / 20} resamples × 20 of them by default`,
      imagesPerClass,
      SEARCH_IMAGES_PER_CLASS,
    )
    .option(
      '--extractor <name>',
      "feature extractor for image datasets: only the model's own (model.json `extractor`; random-conv for models that name none) is accepted; identity for precomputed features; default the model's",
    )
    .option('--backend <name>', 'tensor backend', oneOf('--backend', BACKEND_CHOICES))
    .option('--rerank <proxy>', 're-rank the best --rerank-top candidates with a zero-cost proxy on a minibatch of the dataset (naswot, synflow)')
    .option('--rerank-top <k>', 'how many of the best are re-ranked', intInRange('--rerank-top', 1, 100000), 20)
    .option('--rerank-weight <w>', "weight of the proxy's rank in [0, 1]", weightIn01, 0.5)
    .option('--proxy-batch <n>', 'images in the proxy minibatch', intInRange('--proxy-batch', 2, 4096), 16)
    .option('--json', 'print one JSON document (schemaVersion 1) on stdout and nothing else: the top k, timings in seconds')
    .option('--all', 'with --json: every ranked candidate as well (`ranking`), not only the top k')
    .action(async (flags: SearchFlags) => {
      const constraints: Constraints = { flopsMaxM: flags.flopsMax, paramsMaxM: flags.paramsMax, latencyMaxMs: flags.latencyMax, device: flags.device };
      // an unknown device or a budget below the fastest architecture fails before any work
      checkLatencyBudget(searchSpaces.get(flags.space), constraints);
      const modelDir = flags.model ?? defaultModelDir(flags.space, io.env);
      if (!modelDir) {
        throw new CliUsageError(
          `no model given: pass --model <dir> (a model directory; 'metad2a convert-official' turns official MetaD2A checkpoints into one, 'metad2a meta-train' trains one). No embedded default model ships for space '${flags.space}'.`,
        );
      }
      const backend = await initBackend({ prefer: flags.backend });
      const backendLine = describeBackend(backend);
      if (!flags.json) io.stdout.write(`${backendLine}\n`);
      const model = await loadSearchModel(modelDir);
      try {
        if (model.manifest.space !== flags.space) {
          throw new CliUsageError(`--space ${flags.space} does not match the model in ${modelDir}, which is for space '${model.manifest.space}'`);
        }
        const tf0 = performance.now();
        const features = await loadSearchFeatures(model, flags.dataset, {
          extractor: flags.extractor,
          flag: '--extractor',
          maxPerClass: flags.imagesPerClass === 'all' ? undefined : flags.imagesPerClass,
        });
        const featuresSeconds = (performance.now() - tf0) / 1000;
        const bar = ttyProgressBar('generating', io.stderr);
        const result = await runSearch(model, features, {
          candidates: flags.candidates,
          top: flags.top,
          topDistance: flags.topDistance,
          resamples: flags.resamples,
          seed: flags.seed,
          constraints,
          onProgress: (p) => (p.stage === 'generate' ? bar?.(p.done, p.total, `${p.attempts} decoded`) : undefined),
        });
        let reported = result;
        let rerank: { proxy: string; top: number; weight: number; seconds: number } | undefined;
        if (flags.rerank !== undefined) {
          if (flags.space !== 'nb201') throw new CliUsageError('--rerank: the proxies score NB201 cells only');
          const batch = proxyBatch(flags.dataset, { size: flags.proxyBatch, inputSize: 32, seed: flags.seed });
          const r = await rerankCandidates(result.ranking, {
            proxy: flags.rerank,
            batch,
            top: flags.rerankTop,
            weight: flags.rerankWeight,
            numClasses: batch.numClasses,
            seed: flags.seed,
            ...NB201_PROXY_NETWORK,
          });
          reported = { ...result, ranking: r.ranking, top: selectTop(model.space, r.ranking, flags.top, result.settings.topDistance) };
          rerank = { proxy: flags.rerank, top: Math.min(flags.rerankTop, r.ranking.length), weight: flags.rerankWeight, seconds: r.proxySeconds };
        }
        if (flags.json)
          io.stdout.write(
            `${JSON.stringify({ ...searchReportJson(reported, { featuresSeconds, all: flags.all }), ...(rerank ? { rerank } : {}), backendChoice: backend, model: modelDir })}\n`,
          );
        else {
          io.stdout.write(`${formatSearchReport(reported, { featuresSeconds, backendLine: `model: ${modelDir}` })}\n`);
          if (rerank)
            io.stdout.write(
              `re-ranked: the first ${rerank.top} by (1 − ${rerank.weight})·predictor rank + ${rerank.weight}·${rerank.proxy} rank (${rerank.proxy}: ${rerank.seconds.toFixed(2)} s)\n`,
            );
        }
      } finally {
        model.dispose();
      }
    });
}
