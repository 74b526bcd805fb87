import * as path from 'node:path';
import type { NamedArray } from '@metad2a/core';
import { readStateDictSync } from '@metad2a/torch-io';
import type { FixtureTarget, RunOptions } from './handler';

/**
 * The parameters of a fixture (prefix stripped): from tensors.bin, or with `--weights-from-pt`
 * from its state_dict.pt through the .pt reader (which the torch-io issue provides).
 */
export async function paramsFor(target: FixtureTarget & { kind: 'folder' }, prefix: string, opts: RunOptions): Promise<Record<string, NamedArray>> {
  if (!opts.weightsFromPt) return target.fixture.params(prefix);
  // Same names as fixture.params(prefix): that model's entries, prefix stripped; the int64
  // BatchNorm `num_batches_tracked` buffers (not in tensors.bin, unused in eval) are skipped.
  return readStateDictSync(path.join(target.path, 'state_dict.pt'), { prefix, integerTensors: 'skip' });
}
