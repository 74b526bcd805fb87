/**
 * @metad2a/torch-io — read PyTorch `.pt` files without Python: a safe unpickler (no code runs),
 * both torch.save formats, and adapters from official MetaD2A artifacts to this project's types.
 */
export * from './values';
export { unpickle, BUILTIN_REDUCERS, type Reducer, type UnpickleContext, type UnpickleOptions, type UnpickleResult } from './pickle';
export { decodePt, decodePtSync, readPt, readPtSync, elementSize, type PtContents, type DecodeOptions } from './torch-file';
export { stateDictToNamedArrays, readStateDict, readStateDictSync, tensorToFloat32, type StateDictOptions } from './adapters/state-dict';
export { archGraphFromIGraph, isIGraph } from './adapters/igraph';
export { featureSetFromByLabel, readFeatureSet, type FeatureSetOptions } from './adapters/feature-set';
export {
  predictorMetaDatabaseFromPt,
  readPredictorMetaDatabase,
  META_DATABASE_FILES,
  type MetaTrainRecord,
  type PredictorMetaDatabase,
  type MetaDatabaseSources,
} from './adapters/meta-database';
export { ofaAccuracyPredictorWeights, OFA_ACC_PREDICTOR_SHAPES } from './adapters/ofa-predictor';
export { outline, type OutlineOptions } from './outline';
