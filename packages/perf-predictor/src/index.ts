/**
 * @metad2a/perf-predictor — MetaD2A's meta-performance predictor (spec §2.5): dataset embedding
 * (two-level set encoder) + bidirectional D-VAE graph embedding → normalised accuracy, exact to
 * the official numbers, with the batched scoring of all (dataset, graph) pairs (`scorePairs`) that
 * the search's ranking stage uses, and the accuracy normalisation.
 */
export { PredictorModel, PREDICTOR_DEAD_PARAMS, type PredictorOptions, type PredictorConfig, type DatasetGroup } from './model';
export { BidirectionalGraphEncoder, type GraphEncoding } from './graph-encoder';
export { planDirection, checkGraphs, type DirectionPlan, type StepPlan, type NeighbourRef, type Direction } from './graph-plan';
export { normalisationFrom, normaliseAccuracy, denormaliseScore } from './normalisation';
