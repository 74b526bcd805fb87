/**
 * @metad2a/core — the contracts every MetaD2A package shares.
 *
 * Graph types, the SearchSpace / SetEncoder / GraphGenerator / PerfPredictor interfaces and their
 * registries, MetaD2A's named model settings, feature sets and their resampling, the seeded RNG,
 * tensor-backend selection (backends register themselves; core names none), stepwise long
 * computations (`driveSteps`: progress, abort), the checkpoint format, atomic file writes and tagged
 * errors. Nothing here knows a search space by name.
 */
export * from './errors';
export * from './graph';
export * from './rng';
export * from './registry';
export * from './search-space';
export * from './features';
export * from './models';
export * from './model-specs';
export * from './backend';
export * from './backend-traits';
export * from './fused-kernels';
export * from './train-program';
export * from './checkpoint';
export * from './atomic-file';
export * from './statistics';
export { defaultCacheDir } from './cache-dir';
export * from './zero-cost-proxy';
export * from './steps';
