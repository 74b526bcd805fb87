/**
 * @metad2a/meta-trainer — the meta-database (SQLite) and the meta-training loops of the
 * generator and the predictor.
 */
export { MetaDatabase, DEFAULT_BUSY_TIMEOUT_MS } from './database/meta-database';
export type {
  DatasetInput,
  DatasetInfo,
  ClassFeaturesInput,
  TaskInput,
  TaskInfo,
  ArchitectureInfo,
  RecordInput,
  RecordWrite,
  MetaRecord,
  RecordFilter,
  SplitInput,
  Split,
  DatabaseCounts,
  OpenOptions,
} from './database/meta-database';
export { SCHEMA_VERSION, MIGRATIONS, type Migration } from './database/schema';
export { importOfficialNb201PredictorDb, importOfficialNb201Rows, OFFICIAL_NB201, OFFICIAL_NB201_DIR, type OfficialImportReport, type OfficialRow } from './io/nb201-official';
export { importOfficialNb201PredictorPt } from './io/nb201-official-pt';
export { importByLabelFeatures, type ByLabelImportOptions } from './io/bylabel';
export { dumpMetaDatabase, exportJson, exportCsv, recordsCsv, type MetaDatabaseDump } from './io/export';
export { exportDir, importExportDir, readExportManifest, EXPORT_FORMAT, type ExportManifest } from './io/export-dir';
export { resolveDatabase, builtinDatabaseDir, BUILTIN_DATABASES, type ResolvedDatabase } from './io/builtin-database';
export { importRecordsCsv, readCsvRows, RECORDS_CSV_REQUIRED, type RecordsCsvImport } from './io/records-csv';
export { accuracyNormalisation, splitNormalisation, splitPredictionTarget, normaliseAccuracy, denormaliseAccuracy } from './data/normalisation';
export { CHOICE_ANCHOR_RIDGE, fitAnchorWeight, fitChoiceAnchor, splitAnchor, type AnchorKind } from './data/anchor';
export { makeTaskSplit, type TaskSplitOptions, type TaskSplitSummary } from './data/task-split';
export { formatFeatureOrigin, parseFeatureOrigin, splitFeatureOrigin, addDatabaseFeatures, type DatabaseFeaturesOptions } from './data/feature-origin';
export { metaTrainSearchModel, type MetaTrainSearchModelOptions, type MetaTrainedSearchModel } from './training/search-model';
export { fitScoreCalibration, fitSplitCalibration, MIN_CALIBRATION_RECORDS } from './training/calibration';
export { trainArchitecturePriorFile, type ArchitecturePriorFileOptions } from './prior/prior-file';
export {
  trainingItems,
  drawBatch,
  batchesOf,
  selectGeneratorPairs,
  GraphResolver,
  DEFAULT_GENERATOR_PAIRS,
  parseGeneratorPairs,
  meanOfReplicates,
  type TrainingItem,
  type BatchGroup,
  type GeneratorPairs,
  type ReplicateUse,
} from './data/pipeline';
export { ReduceLROnPlateau, type PlateauOptions, type PlateauState } from './training/plateau';
export { JsonLinesLog, ProgressBar, type TrainingEvent } from './training/progress';
export {
  runMetaTraining,
  runMetaTrainingEither,
  META_TRAIN_DEFAULTS,
  RUN_FILES,
  CHECKPOINT_FORMAT,
  type MetaTrainOptions,
  type MetaTrainResult,
  type MetaTrainProgress,
  type EpochSummary,
  type LoopSpec,
} from './training/loop';
export {
  metaTrainGenerator,
  metaTrainPredictor,
  metaTrainModels,
  meanGroupSpearman,
  splitParts,
  loadTrainedParameters,
  type MetaTrainModelsOptions,
  type PhaseResult,
  type TrainableModel,
  type TrainableGenerator,
  type TrainablePredictor,
  type GeneratorTrainOptions,
  type PredictorTrainOptions,
} from './training/trainers';
export {
  PRIOR_SOURCES,
  PRIOR_SOURCES_BY_SPACE,
  ALL_PRIOR_SOURCES,
  DEFAULT_ORACLE_SAMPLES,
  PRIOR_CHECKPOINT_KIND,
  priorSourceSpace,
  priorSpace,
  mbv3OracleSamples,
  architecturePriorSamples,
  splitPriorSamples,
  pretrainArchitecturePrior,
  priorScores,
  saveArchitecturePrior,
  loadArchitecturePrior,
  type PriorSource,
  type PriorSample,
  type PriorSampleOptions,
  type PriorTrainable,
  type PriorTrainOptions,
  type PriorProgress,
  type PriorEpoch,
  type ArchitecturePrior,
} from './prior/architecture-prior';
