import { BACKEND_NAMES, modelSpecs, type BackendName } from '@metad2a/core';
import '@metad2a/search'; // registers the search spaces and MetaD2A's model settings
import { defaultModelDir as shippedModelDir } from '@metad2a/default-model';

export const BACKEND_CHOICES: readonly BackendName[] = BACKEND_NAMES;

/**
 * The model directory used when `--model` is not given: the embedded default of the space from
 * `@metad2a/default-model`, or undefined where none ships (the CLI then asks for --model).
 * `METAD2A_DEFAULT_MODEL=none` disables it (tests use this to check the message).
 */
export function defaultModelDir(space: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  if (env.METAD2A_DEFAULT_MODEL === 'none') return undefined;
  return shippedModelDir(space);
}

/** Spaces with a registered `<space>-official` model setting (those official checkpoints and meta-training exist for). */
export function officialSpaces(): string[] {
  return modelSpecs
    .names()
    .filter((n) => n.endsWith('-official'))
    .map((n) => n.slice(0, -'-official'.length));
}
