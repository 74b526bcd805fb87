import type { Command } from 'commander';
import { initBackend } from '@metad2a/core';
import { buildSearchModel, manifestFromSpec, saveSearchModel } from '@metad2a/search';
import { readStateDictSync } from '@metad2a/torch-io';
import { CliUsageError, type CliIo } from '../io';
import { officialSpaces } from '../shared';
import { intInRange, oneOf } from '../options';

interface ConvertFlags {
  generator: string;
  predictor: string;
  space: string;
  out: string;
  predictorHs?: number;
  mean?: string;
  std?: string;
}

export function registerConvertOfficial(program: Command, io: CliIo): void {
  program
    .command('convert-official')
    .description('turn official MetaD2A checkpoints (ckpt_400.pt / ckpt_max_corr.pt) into a model directory for `metad2a search --model`')
    .requiredOption('--generator <file>', 'official generator checkpoint (.pt state dict, e.g. results/generator/model/ckpt_400.pt)')
    .requiredOption('--predictor <file>', 'official predictor checkpoint (.pt state dict, e.g. results/predictor/model/ckpt_max_corr.pt)')
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--space <name>', `search space: ${officialSpaces().join(' or ')} (model setting <space>-official)`, oneOf('--space', officialSpaces()), 'nb201')
    .option('--predictor-hs <n>', "hidden size of the predictor (default: the setting's)", intInRange('--predictor-hs', 1, 65536))
    .option('--mean <acc>', "training-split mean accuracy of the predictor's normalisation (default: the setting's, where it fixes one)")
    .option('--std <acc>', "training-split std of the predictor's normalisation (default: the setting's, where it fixes one)")
    .action(async (flags: ConvertFlags) => {
      if ((flags.mean === undefined) !== (flags.std === undefined)) throw new CliUsageError('give both --mean and --std, or neither');
      let normalisation: { mean: number; std: number } | undefined;
      if (flags.mean !== undefined && flags.std !== undefined) {
        normalisation = { mean: Number(flags.mean), std: Number(flags.std) };
        if (!Number.isFinite(normalisation.mean)) throw new CliUsageError(`--mean must be a number, got '${flags.mean}'`);
        if (!(normalisation.std > 0)) throw new CliUsageError(`--std must be a positive number, got '${flags.std}'`);
      }
      const manifest = manifestFromSpec(`${flags.space}-official`, { predictorHs: flags.predictorHs, normalisation });
      await initBackend();
      const model = buildSearchModel(manifest, {
        generator: readStateDictSync(flags.generator, { integerTensors: 'skip' }),
        predictor: readStateDictSync(flags.predictor, { integerTensors: 'skip' }),
      });
      try {
        saveSearchModel(flags.out, {
          space: flags.space,
          generator: model.generator,
          generatorConfig: manifest.generator.config,
          predictor: model.predictor,
          predictorConfig: manifest.predictor.config,
          provenance: { ...manifest.provenance, convertedFrom: { generator: flags.generator, predictor: flags.predictor }, at: new Date().toISOString() },
        });
      } finally {
        model.dispose();
      }
      io.stdout.write(`wrote ${flags.out} (model.json, generator.safetensors, predictor.safetensors) for space ${flags.space}\n`);
    });
}
