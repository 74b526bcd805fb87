import type { Command } from 'commander';
import { describeBackend, initBackend } from '@metad2a/core';
import { RECIPES, getRecipe, saveNetwork, splitImages, trainArchitecture } from '@metad2a/arch-trainer';
import type { CliIo } from '../io';
import { intInRange } from '../options';
import { ttyProgressBar } from '@metad2a/datasets';

export function registerTrainArch(program: Command, io: CliIo): void {
  program
    .command('train-arch')
    .description('train one NB201 architecture on an image dataset and report its test accuracy')
    .requiredOption('--arch <cell>', "NB201 cell, e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'")
    .requiredOption('--dataset <ref>', 'image dataset reference (builtin:mnist, a folder, CIFAR binary, IDX, ...)')
    .option('--recipe <name>', `training recipe: ${Object.keys(RECIPES).join(', ')}`, 'reduced')
    .option('--epochs <n>', 'override the recipe epochs', intInRange('--epochs', 1))
    .option('--max-per-class <n>', 'use at most this many images per class', intInRange('--max-per-class', 1))
    .option('--seed <s>', 'seed', intInRange('--seed', 0), 0)
    .option('--out <file>', 'save the trained network (core checkpoint; load with loadNetwork of @metad2a/arch-trainer)')
    .action(async (f: { arch: string; dataset: string; recipe: string; epochs?: number; maxPerClass?: number; seed: number; out?: string }) => {
      const recipe = getRecipe(f.recipe, f.epochs !== undefined ? { epochs: f.epochs } : {});
      const backend = await initBackend();
      io.stderr.write(`${describeBackend(backend)}\n`);
      const { train, test } = splitImages(f.dataset, { inputSize: recipe.inputSize ?? 32, maxPerClass: f.maxPerClass, seed: f.seed });
      const bar = ttyProgressBar('training', io.stderr);
      const r = await trainArchitecture({
        arch: f.arch,
        train,
        test,
        recipe,
        seed: f.seed,
        onProgress: (p) => {
          bar?.(p.step, p.totalSteps, `epoch ${p.epoch + 1}/${p.epochs} loss ${p.loss.toFixed(3)} lr ${p.lr.toFixed(4)}`);
        },
      });
      if (f.out) saveNetwork(f.out, r.network, { recipe, info: { arch: f.arch, dataset: f.dataset, accuracy: r.accuracy } });
      r.network.dispose();
      io.stdout.write(
        `${JSON.stringify({ arch: f.arch, dataset: f.dataset, recipe: recipe.name, testAccuracy: 100 * r.accuracy, trainImages: train.shape[0], testImages: test.shape[0], saved: f.out ?? null })}\n`,
      );
    });
}
