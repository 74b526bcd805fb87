import { setEncoders, type SetEncoder, type SetEncoderOptions } from '@metad2a/core';
import { DeepSetsEncoder } from './deepsets';
import { SetTransformerEncoder } from './set-transformer';

/** Names this package registers in core's `setEncoders` registry (on import). */
export const SET_ENCODER_NAMES = ['set-transformer', 'isab', 'deepsets'] as const;

setEncoders.registerDefault('set-transformer', (o) => new SetTransformerEncoder(o), {
  description: "MetaD2A's two-level Set Transformer (SAB, SAB, PMA per level; official parameter names)",
});
setEncoders.registerDefault('isab', (o) => new SetTransformerEncoder({ ...o, blocks: 'isab' }), {
  description: 'two-level Set Transformer with induced attention blocks (16 inducing points)',
});
setEncoders.registerDefault('deepsets', (o) => new DeepSetsEncoder(o), { description: 'two-level DeepSets (mean-pooled MLPs)' });

/** A set encoder by registry name (`set-transformer`, `isab`, `deepsets`, or one a user registered). */
export function createSetEncoder(name: string, opts: SetEncoderOptions): SetEncoder {
  return setEncoders.get(name)(opts);
}
