import type { NamedArray } from '@metad2a/core';
import type { FixtureTarget, RunOptions } from './handler';

/**
 * The parameters of a fixture (prefix stripped): from tensors.bin, or with `--weights-from-pt`
 * from its state_dict.pt through the .pt reader (which the torch-io issue provides).
 */
export async function paramsFor(target: FixtureTarget & { kind: 'folder' }, prefix: string, opts: RunOptions): Promise<Record<string, NamedArray>> {
  if (!opts.weightsFromPt) return target.fixture.params(prefix);
  throw new Error('--weights-from-pt: the .pt reader (@metad2a/torch-io) is not implemented yet');
}

