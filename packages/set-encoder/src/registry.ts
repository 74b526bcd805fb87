import { setEncoders, type SetEncoder, type SetEncoderOptions } from '@metad2a/core';
import { DeepSetsEncoder } from './deepsets';
import { SetTransformerEncoder } from './set-transformer';

/** Names this package registers in core's `setEncoders` registry (on import). */
export const SET_ENCODER_NAMES = ['set-transformer', 'isab', 'deepsets'] as const;

function registerOnce(name: string, description: string, factory: (opts: SetEncoderOptions) => SetEncoder): void {
  if (!setEncoders.has(name)) setEncoders.register(name, factory, { description });
}

registerOnce('set-transformer', "MetaD2A's two-level Set Transformer (SAB, SAB, PMA per level; official parameter names)", (o) => new SetTransformerEncoder(o));
registerOnce('isab', 'two-level Set Transformer with induced attention blocks (16 inducing points)', (o) => new SetTransformerEncoder({ ...o, blocks: 'isab' }));
registerOnce('deepsets', 'two-level DeepSets (mean-pooled MLPs)', (o) => new DeepSetsEncoder(o));

/** A set encoder by registry name (`set-transformer`, `isab`, `deepsets`, or one a user registered). */
export function createSetEncoder(name: string, opts: SetEncoderOptions): SetEncoder {
  return setEncoders.get(name)(opts);
}
