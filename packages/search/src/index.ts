/**
 * @metad2a/search — the MetaD2A search (meta-test, spec §3.6): a dataset's feature set → the
 * generator's N unique valid candidates → the predictor's ranking over resampled datasets →
 * a report with benchmark facts (NB201 table accuracies, FLOPs, params; MBv3 FLOPs and the
 * OFA oracle). Also the model directory format that holds a generator and a predictor.
 */
export {
  MODEL_FORMAT,
  DEFAULT_GENERATOR_CONFIG,
  DEFAULT_PREDICTOR_CONFIG,
  loadSearchModel,
  saveSearchModel,
  buildSearchModel,
  parseModelManifest,
  type ModelManifest,
  type SearchModel,
  type GeneratorConfig,
  type PredictorConfig,
} from './model-dir';
export { runSearch, type SearchOptions, type SearchResult, type SearchCandidate, type SearchTimings } from './search';
export { describerFor, constrainedSpace, type CandidateCost, type CandidateFacts, type Constraints, type SpaceDescriber } from './candidate-info';
export { formatSearchReport, searchReportJson, SEARCH_JSON_SCHEMA_VERSION } from './report';
export { SEARCH_IMAGES_PER_CLASS } from './images-per-class';
