/**
 * @metad2a/search — the MetaD2A search (meta-test, spec §3.6) as stages: `generateCandidates`
 * (a dataset's feature set → the generator's N unique valid candidates in a space, or a
 * constrained view of it; `sampleCandidates`: a fixed number of decodes the same way), `rankCandidates` / `scoreGraphs` (the predictor's mean score over
 * resampled datasets, on the graph the space chooses), and `runSearch` on top (a report with the
 * space's cost and benchmark facts). The CLI, the benchmarks and the tools all search through
 * these. Also the model directory format that holds a generator and a predictor.
 *
 * The long calls return Promises (rejecting with a MetaD2AException) and hand the event loop back
 * between batches, with `onProgress` and an AbortSignal; each is written once as steps
 * (`generateSteps`, `scoreSteps`, `rankSteps`) that a caller composing stages can `yield*`.
 */
export {
  MODEL_FORMAT,
  manifestFromSpec,
  loadSearchModel,
  loadSearchModelEither,
  saveSearchModel,
  buildSearchModel,
  parseModelManifest,
  predictionTarget,
  type ModelManifest,
  type ModelExtractor,
  type SearchModel,
  type GeneratorConfig,
  type PredictorConfig,
} from './model-dir';
export {
  generateCandidates,
  generateSteps,
  sampleCandidates,
  sampleSteps,
  type GenerateOptions,
  type GenerateResult,
  type GenerateProgress,
  type SampleProgress,
  type SampleResult,
  type ProjectionUse,
} from './generate';
export {
  rankCandidates,
  rankSteps,
  scoreGraphs,
  scoreSteps,
  candidatePool,
  GraphEmbeddingCache,
  type CandidatePool,
  type RankOptions,
  type RankResult,
  type RankedCandidate,
  type GraphScores,
  type RankProgress,
} from './rank';
export {
  runSearch,
  runSearchEither,
  describeCandidates,
  selectTop,
  type ReferenceProgress,
  type SearchProgress,
  type SearchOptions,
  type SearchResult,
  type SearchCandidate,
  type SearchTimings,
} from './search';
export { formatSearchReport, formatRankReport, searchReportJson, SEARCH_JSON_SCHEMA_VERSION } from './report';
export { rerankCandidates, type RerankOptions, type RerankProgress, type Reranked } from './rerank';
export { SEARCH_IMAGES_PER_CLASS } from './images-per-class';
export {
  LEGACY_MODEL_EXTRACTOR,
  modelExtractorName,
  describeModelExtractor,
  searchExtractor,
  createModelExtractor,
  loadSearchFeatures,
  type ExtractorRequest,
  type SearchFeaturesOptions,
} from './features';
