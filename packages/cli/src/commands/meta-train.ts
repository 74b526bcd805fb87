import * as fs from 'node:fs';
import type { Command } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, describeBackend, initBackend } from '@metad2a/core';
import { MetaDatabase, metaTrainSearchModel, parseGeneratorPairs, type GeneratorPairs } from '@metad2a/meta-trainer';
import { CliUsageError, type CliIo } from '../io';
import { officialSpaces } from '../shared';
import { intInRange, oneOf, positiveNumber } from '../options';

interface MetaTrainFlags {
  db: string;
  split: string;
  space: string;
  out: string;
  epochs: number;
  generatorEpochs?: number;
  predictorHs?: number;
  batchSize: number;
  seed: number;
  resume?: boolean;
  backend?: string;
  prior?: string;
  generatorInit?: string;
  generatorLr?: number;
  predictorLr?: number;
  targetScale?: number;
  replicates: 'each' | 'mean';
  generatorPairs: GeneratorPairs;
  selectBy: 'pearson' | 'task-spearman';
  anchor?: true | 'prior' | 'prior+choices';
}

/** The generator's pair rule of `--generator-pairs` (a usage error when malformed). */
function generatorPairs(v: string): GeneratorPairs {
  try {
    return parseGeneratorPairs(v);
  } catch (err) {
    if (err instanceof MetaD2AException) throw new CliUsageError(err.message);
    throw err;
  }
}

export function registerMetaTrain(program: Command, io: CliIo): void {
  program
    .command('meta-train')
    .description('meta-train a predictor and a generator on a meta-database split and write a model directory for `metad2a search --model`')
    .requiredOption('--db <file>', 'meta-database (SQLite) with tasks that have features')
    .requiredOption('--split <name>', 'split of the records (train / valid sets)')
    .requiredOption('--out <dir>', 'model directory to write (runs and resumable checkpoints go to <dir>/runs)')
    .option('--space <name>', `search space with an official model setting: ${officialSpaces().join(', ')}`, oneOf('--space', officialSpaces()), 'nb201')
    .option('--epochs <n>', 'predictor epochs', intInRange('--epochs', 1), 400)
    .option(
      '--generator-epochs <n>',
      'generator epochs (default: same as --epochs); 0 keeps the --generator-init generator as it is (retrain the predictor only)',
      intInRange('--generator-epochs', 0),
    )
    .option('--predictor-hs <n>', "predictor hidden size (default: the space's official setting, <space>-official)", intInRange('--predictor-hs', 1, 65536))
    .option('--batch-size <n>', 'items per optimizer step', intInRange('--batch-size', 1), 32)
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 333)
    .option('--resume', 'continue the runs in <out>/runs exactly where they stopped, per phase: a finished phase is skipped, an interrupted one resumes, one not begun starts')
    .option('--prior <file>', "start the predictor's graph side and head from an architecture prior ('metad2a prior' writes one)")
    .option(
      '--generator-init <file>',
      "start the generator from another run's checkpoint (e.g. <dir>/runs/generator/last.ckpt of a generator trained on many subnets of the space)",
    )
    .option('--generator-lr <x>', "the generator's Adam learning rate (default: the predictor's, 1e-4)", positiveNumber('--generator-lr'))
    .option('--predictor-lr <x>', "the predictor's Adam learning rate (default 1e-4, official; the generator's too, unless --generator-lr)", positiveNumber('--predictor-lr'))
    .option(
      '--target-scale <x>',
      'train the predictor on targets × x (default 1: official ((acc − μ)/σ)/100, which keeps its head linear, one ranking for every data set; 100: the z scale); the saved model is on the official scale',
      positiveNumber('--target-scale'),
    )
    .option(
      '--replicates <use>',
      "a (task, cell)'s several trainings (db build --replicates): each, an item per training (official), or mean, one item with their mean accuracy (also for the generator's pairs and the calibration)",
      oneOf('--replicates', ['each', 'mean'] as const),
      'each',
    )
    .option('--generator-pairs <rule>', 'which records the generator learns from: best:<k> per task, top:<fraction> of each task, min:<accuracy>, all', generatorPairs, {
      kind: 'best-per-task',
      count: 1,
    } as GeneratorPairs)
    .option(
      '--select-by <score>',
      "validation score that picks the predictor's kept weights: pearson (official, pooled over all records) or task-spearman (mean Spearman within each task)",
      oneOf('--select-by', ['pearson', 'task-spearman'] as const),
      'pearson',
    )
    .option(
      '--anchor [kind]',
      "anchor the predictor on the space's prior score (NB201: its benchmark table's accuracies), its weight fitted to the split's training records: the network learns what a data set changes; prior+choices: and on a learnt value of each of the space's choices (NB201: each edge's operation)",
      oneOf('--anchor', ['prior', 'prior+choices'] as const),
    )
    .action(async (f: MetaTrainFlags) => {
      if (!fs.existsSync(f.db)) throw new CliUsageError(`--db ${f.db}: no such file`);
      if (f.prior !== undefined && !fs.existsSync(f.prior)) throw new CliUsageError(`--prior ${f.prior}: no such file`);
      if (f.generatorInit !== undefined && !fs.existsSync(f.generatorInit)) throw new CliUsageError(`--generator-init ${f.generatorInit}: no such file`);
      if (f.generatorEpochs === 0 && f.generatorInit === undefined) throw new CliUsageError('--generator-epochs 0 keeps a generator: give it with --generator-init <file>');
      const backend = await initBackend();
      io.stderr.write(`${describeBackend(backend)}\n`);
      const db = MetaDatabase.open(f.db);
      // Ctrl-C or SIGTERM stops the run after its current optimizer step, saving last.ckpt first
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals): void => {
        stop.abort(`${signal}: last.ckpt holds the last finished step; the same command with --resume continues`);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        // per phase: with --resume a finished phase is skipped, an interrupted one resumes, one not begun starts
        const r = await metaTrainSearchModel(db, {
          out: f.out,
          space: f.space,
          split: f.split,
          predictorEpochs: f.epochs,
          generatorEpochs: f.generatorEpochs ?? f.epochs,
          predictorHs: f.predictorHs,
          seed: f.seed,
          resume: f.resume,
          ...(f.anchor ? { anchor: f.anchor === 'prior+choices' ? 'prior+choices' : 'prior' } : {}),
          generatorOptions: { ...(f.generatorInit !== undefined ? { init: f.generatorInit } : {}), ...(f.generatorLr !== undefined ? { lr: f.generatorLr } : {}) },
          options: {
            batchSize: f.batchSize,
            progress: 'auto',
            pairs: f.generatorPairs,
            selectBy: f.selectBy,
            signal: stop.signal,
            ...(f.predictorLr !== undefined ? { lr: f.predictorLr } : {}),
            ...(f.targetScale !== undefined ? { targetScale: f.targetScale } : {}),
            ...(f.replicates === 'mean' ? { replicates: 'mean' as const } : {}),
            ...(f.prior !== undefined ? { prior: f.prior } : {}),
          },
          onPhase: (model, phase) =>
            io.stderr.write(`${model}: ${phase === 'started' ? 'starting' : phase === 'resumed' ? 'resuming from its last checkpoint' : 'already complete, skipped'}\n`),
        });
        if (!r.manifest.extractor)
          io.stderr.write(
            `warning: the features of the training data sets ${r.featuresFrom === undefined ? 'name no extractor' : `come from '${r.featuresFrom}', not an extractor 'db features' names`}; model.json records none, and a search will extract with random-conv\n`,
          );
        if (E.isLeft(r.calibration))
          io.stderr.write(`warning: no accuracy calibration (${r.calibration.left}); a search prints the linear denormalisation of the scores, which can leave [0, 100] %\n`);
        const gr = r.generator.result;
        io.stdout.write(
          `${JSON.stringify({ out: f.out, extractor: r.manifest.extractor ?? null, predictor: { best: r.predictor.result.best, anchor: r.manifest.predictor.anchor ?? null, calibration: r.manifest.predictor.calibration ?? null }, generator: { epochs: gr.epochs, lastTrainLoss: gr.history[gr.history.length - 1]?.trainLoss } })}\n`,
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        db.close();
      }
    });
}
