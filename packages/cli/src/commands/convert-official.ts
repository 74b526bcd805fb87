import type { Command } from 'commander';
import { initBackend, searchSpaces } from '@metad2a/core';
import { buildSearchModel, DEFAULT_GENERATOR_CONFIG, DEFAULT_PREDICTOR_CONFIG, MODEL_FORMAT, saveSearchModel } from '@metad2a/search';
import { readStateDictSync } from '@metad2a/torch-io';
import { CliUsageError, type CliIo } from '../io';
import { intInRange, oneOf } from '../options';

interface ConvertFlags {
  generator: string;
  predictor: string;
  space: 'nb201' | 'mbv3';
  out: string;
  predictorHs: number;
  mean: string;
  std: string;
}

export function registerConvertOfficial(program: Command, io: CliIo): void {
  program
    .command('convert-official')
    .description('turn official MetaD2A checkpoints (ckpt_400.pt / ckpt_max_corr.pt) into a model directory for `metad2a search --model`')
    .requiredOption('--generator <file>', 'official generator checkpoint (.pt state dict, e.g. results/generator/model/ckpt_400.pt)')
    .requiredOption('--predictor <file>', 'official predictor checkpoint (.pt state dict, e.g. results/predictor/model/ckpt_max_corr.pt)')
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--space <name>', 'search space', oneOf('--space', ['nb201', 'mbv3'] as const), 'nb201')
    .option('--predictor-hs <n>', 'hidden size of the predictor (official 512)', intInRange('--predictor-hs', 1, 65536), 512)
    .option('--mean <acc>', "training-split mean accuracy of the predictor's normalisation (official NB201 database: 71.5715)", '71.5715')
    .option('--std <acc>', "training-split std of the predictor's normalisation (official NB201 database: 6.6932)", '6.6932')
    .action(async (flags: ConvertFlags) => {
      const mean = Number(flags.mean);
      const std = Number(flags.std);
      if (!Number.isFinite(mean)) throw new CliUsageError(`--mean must be a number, got '${flags.mean}'`);
      if (!(std > 0)) throw new CliUsageError(`--std must be a positive number, got '${flags.std}'`);
      searchSpaces.get(flags.space);
      await initBackend();
      const generatorConfig = DEFAULT_GENERATOR_CONFIG;
      const predictorConfig = { ...DEFAULT_PREDICTOR_CONFIG, hs: flags.predictorHs };
      const model = buildSearchModel(
        {
          format: MODEL_FORMAT,
          space: flags.space,
          generator: { checkpoint: 'generator.safetensors', config: generatorConfig },
          predictor: { checkpoint: 'predictor.safetensors', config: predictorConfig, normalisation: { mean, std } },
          provenance: {},
        },
        { generator: readStateDictSync(flags.generator, { integerTensors: 'skip' }), predictor: readStateDictSync(flags.predictor, { integerTensors: 'skip' }) },
      );
      try {
        saveSearchModel(flags.out, {
          space: flags.space,
          generator: model.generator,
          generatorConfig,
          predictor: model.predictor,
          predictorConfig,
          provenance: { convertedFrom: { generator: flags.generator, predictor: flags.predictor }, at: new Date().toISOString() },
        });
      } finally {
        model.dispose();
      }
      io.stdout.write(`wrote ${flags.out} (model.json, generator.safetensors, predictor.safetensors) for space ${flags.space}\n`);
    });
}
