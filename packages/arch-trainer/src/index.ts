/**
 * @metad2a/arch-trainer — build and train NAS-Bench-201 and OFA-MBv3 networks in tfjs, and build
 * meta-databases of measured (task, architecture, accuracy) records.
 */
export { NB201_OPS, NB201_EDGE_SOURCES, NB201_EDGE_TARGETS, parseCell, cellToString, type Nb201Op, type Nb201Cell } from './cell';
export { BufferStore } from './buffers';
export { TinyNetwork, BN_EPS, BN_MOMENTUM, type TinyNetworkConfig, type ForwardMode, type StatUpdate, type NetworkTrainProgram } from './network';
export { validateDataset, selectRows, type ImageDataset } from './dataset';
export { RECIPES, MBV3_RECIPES, getRecipe, getMbv3Recipe, cosineLr, type TrainRecipe, type Mbv3TrainRecipe, type TrainingSchedule } from './recipe';
export { Mbv3Network, MBV3_NETWORK, type Mbv3NetworkConfig, type Mbv3ForwardMode } from './mbv3-network';
export {
  trainArchitecture,
  trainMbv3,
  requireTrainingKernels,
  TRAINING_KERNELS,
  MBV3_TRAINING_KERNELS,
  evaluate,
  recalibrateBatchNorm,
  crossEntropy,
  fusedTrainStep,
  trainStep,
  tapeTrainStep,
  prepareBatch,
  networkChannels,
  type TrainArchitectureOptions,
  type TrainMbv3Options,
  type TrainableNetwork,
  type TrainResult,
  type TrainProgress,
} from './trainer';
export { saveNetwork, loadNetwork, SAVED_NETWORK_FORMAT, type SavedNetworkMeta } from './saved-network';
export {
  buildDatabase,
  planBuild,
  replicateSeed,
  asReplicate,
  trainPairRecord,
  TRAINING_NODE_FLAGS,
  dataSourceVersion,
  datasetEntry,
  sampleTasks,
  taskData,
  splitImages,
  recipeMetric,
  assertSameRecipe,
  type TaskPlan,
  type TaskSamplingOptions,
  type BuildDatabaseOptions,
  type BuildProgress,
  type BuildSummary,
  type BuildPlan,
  type PlannedPair,
} from './database-builder';
export {
  databaseSpace,
  DATABASE_SPACES,
  sampleTaskCells,
  goodNb201Cells,
  GOOD_CELL_POOL,
  sampleArchitectures,
  sampleTaskSubnets,
  goodMbv3Subnets,
  GOOD_SUBNET_POOL,
  GOOD_SUBNET_SAMPLES,
  sampleMbv3Grid,
  type DatabaseSpace,
  type DatabaseSpaceName,
  type DatabaseRecipe,
} from './database-spaces';
export {
  databaseStats,
  priorAgreement,
  replicateNoise,
  type AccuracyRecord,
  type DatabaseStats,
  type PriorAgreement,
  type ReplicatedRecord,
  type ReplicateNoise,
} from './database-stats';
export { BUILD_PLANS, buildPlanOptions, type NamedBuildPlan } from './database-plans';
