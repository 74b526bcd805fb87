/**
 * @metad2a/set-encoder — the two-level Set Transformer that encodes a dataset into a vector
 * (MetaD2A spec §2.1–§2.2, exact to the official numbers), and swappable alternatives
 * (`isab`, `deepsets`) behind core's `SetEncoder` interface. Importing the package registers
 * the encoders in core's `setEncoders` registry.
 */
export { MultiheadAttentionBlock, SetAttentionBlock, InducedSetAttentionBlock, PoolingByAttention, RowProjections } from './attention';
export { LayerNorm } from './layer-norm';
export { SetPool, type SetPoolOptions, type SetPoolBlocks } from './set-pool';
export { SetTransformerEncoder, type SetTransformerOptions } from './set-transformer';
export { DeepSetsEncoder } from './deepsets';
export { createSetEncoder, SET_ENCODER_NAMES } from './registry';
export { checkSetInput } from './layout';
