import type { Command } from 'commander';
import { describeBackend, initBackend, type BackendName } from '@metad2a/core';
import {
  ALL_PRIOR_SOURCES,
  DEFAULT_ORACLE_SAMPLES,
  PRIOR_SOURCES,
  PRIOR_SOURCES_BY_SPACE,
  priorSourceSpace,
  trainArchitecturePriorFile,
  type PriorSource,
} from '@metad2a/meta-trainer';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';
import { BACKEND_CHOICES } from '../shared';

interface PriorFlags {
  out: string;
  predictorHs?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  heldOut: number;
  sources?: string;
  oracleSamples?: number;
  seed: number;
  backend?: BackendName;
}

const fraction =
  (name: string) =>
  (v: string): number => {
    const x = Number(v);
    if (!(x >= 0 && x < 1)) throw new CliUsageError(`${name} ${v}: expected a number in [0, 1)`);
    return x;
  };
const positive =
  (name: string) =>
  (v: string): number => {
    const x = Number(v);
    if (!(x > 0)) throw new CliUsageError(`${name} ${v}: expected a positive number`);
    return x;
  };

export function registerPrior(program: Command, io: CliIo): void {
  program
    .command('prior')
    .description(
      "pre-train a predictor's graph side and head on architecture-only data (NB201: the NB201 table on 3 data sets, the official 4,630 MetaD2A records; MBv3: OFA's ImageNet accuracy predictor on uniform subnets); 'meta-train --prior <file>' starts from it",
    )
    .requiredOption('--out <file>', 'prior checkpoint to write')
    .option('--predictor-hs <n>', "predictor hidden size (must equal meta-train's --predictor-hs; default the official setting's)", intInRange('--predictor-hs', 1, 65536))
    .option('--epochs <n>', 'passes over the training cells', intInRange('--epochs', 1), 20)
    .option('--batch-size <n>', 'cells per optimizer step (all their sources)', intInRange('--batch-size', 1), 256)
    .option('--lr <x>', 'Adam learning rate, cosine-annealed to 0', positive('--lr'), 1e-3)
    .option('--held-out <fraction>', 'isomorphism classes of cells kept out of training to measure held-out Spearman (0: train on all)', fraction('--held-out'), 0)
    .option(
      '--sources <list>',
      `comma-separated sources of one space (${Object.entries(PRIOR_SOURCES_BY_SPACE)
        .map(([k, v]) => `${k}: ${v.join(', ')}`)
        .join('; ')}; default NB201's: ${PRIOR_SOURCES.join(', ')})`,
    )
    .option(
      '--oracle-samples <n>',
      `ofa:imagenet-oracle: distinct uniform subnets drawn (with --seed) and scored`,
      intInRange('--oracle-samples', 1, 10_000_000),
      DEFAULT_ORACLE_SAMPLES,
    )
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 333)
    .option('--backend <name>', 'tensor backend', oneOf('--backend', BACKEND_CHOICES))
    .action(async (f: PriorFlags) => {
      const sources = f.sources?.split(',').map((s) => s.trim()) as PriorSource[] | undefined;
      for (const s of sources ?? []) if (!ALL_PRIOR_SOURCES.includes(s)) throw new CliUsageError(`--sources: '${s}' is not one of ${ALL_PRIOR_SOURCES.join(', ')}`);
      const spaces = new Set((sources ?? []).map(priorSourceSpace));
      if (spaces.size > 1) throw new CliUsageError(`--sources: a prior is of one search space; ${sources!.join(', ')} mix nb201 and mbv3`);
      io.stderr.write(`${describeBackend(await initBackend({ prefer: f.backend }))}\n`);
      const { prior, heldOutSamples } = await trainArchitecturePriorFile(f.out, {
        predictorHs: f.predictorHs,
        epochs: f.epochs,
        batchSize: f.batchSize,
        lr: f.lr,
        heldOutFraction: f.heldOut,
        sources,
        oracleSamples: f.oracleSamples,
        seed: f.seed,
        onEpoch: (e) =>
          io.stderr.write(
            `epoch ${e.epoch}/${f.epochs}  loss ${e.trainLoss.toPrecision(4)}  ${
              e.heldOutSpearman
                ? Object.entries(e.heldOutSpearman)
                    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
                    .join('  ')
                : ''
            }  ${e.seconds.toFixed(1)} s\n`,
          ),
      });
      io.stdout.write(
        `${JSON.stringify({ out: f.out, sources: prior.sources, trainCells: prior.trainCells, trainSamples: prior.trainSamples, heldOutSamples, seconds: prior.seconds, last: prior.history[prior.history.length - 1] })}\n`,
      );
    });
}
