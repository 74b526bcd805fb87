/**
 * @metad2a/graph-generator — MetaD2A's dataset-conditioned D-VAE graph generator (spec §2.2–§2.4):
 * set encoder → (mu, logvar) → z → a batched D-VAE decoder, with the official teacher-forced
 * loss, stochastic / deterministic decoding. Meta-test generation (resample, decode, keep valid and
 * unique architectures) is a stage of `@metad2a/search`. Driven only by a search space's `GraphConfig`.
 */
export { GraphDecoder, toGraphBatch, type DecoderDims, type GraphBatch, type TeacherForcedPass } from './decoder';
export { decodeBatch, prepareDecoderWeights, type DecodeOptions, type DecodeTrace, type DecoderWeights, type PreparedDecoderWeights, type DecodeMode } from './sampling';
export { GeneratorModel, KL_WEIGHT, EPS_SCALE, deadParameterNames, type GeneratorModelOptions, type GeneratorLossDetails } from './model';
