import { BACKEND_NAMES, type BackendName } from '@metad2a/core';

export const BACKEND_CHOICES: readonly BackendName[] = BACKEND_NAMES;

/**
 * The model directory used when `--model` is not given: the embedded default of a space, where
 * one ships with the CLI. None ships yet (the embedded-default issue adds it).
 */
export function defaultModelDir(_space: 'nb201' | 'mbv3'): string | undefined {
  return undefined;
}
