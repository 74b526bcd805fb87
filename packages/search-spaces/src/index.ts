/**
 * @metad2a/search-spaces — NAS-Bench-201 and MobileNetV3 (Once-for-All) search spaces with their
 * benchmark data. Importing the package registers `nb201` and `mbv3` in `@metad2a/core`'s
 * `searchSpaces` registry (see {@link registerSearchSpaces}).
 *
 * NB201: {@link nb201} (SearchSpace<Nb201Cell>), strict string parser, 6-tuple/string/graph/matrix
 * conversions, validity rules, {@link canonicalKey}, exact TinyNetwork {@link nb201Cost}, and the
 * 200-epoch benchmark table {@link nb201Table} (+ HELP latencies).
 * MBv3: {@link mbv3} (SearchSpace<Mbv3Config>), validation, readable string form, 22-vertex
 * encoding, {@link mbv3Cost} (FLOPs/params) and OFA's accuracy predictor {@link mbv3AccuracyOracle}.
 */
import { registerSearchSpaces } from './register';

export {
  NB201_OPS,
  NB201_EDGES,
  NB201_SIZE,
  isNb201OpId,
  nb201CellFrom,
  formatNb201,
  parseNb201,
  nb201Code,
  nb201FromCode,
  enumerateNb201,
  nb201OpNames,
  type Nb201Op,
  type Nb201OpId,
  type Nb201Cell,
} from './nb201/cell';
export {
  NB201_GRAPH_CONFIG,
  NB201_GRAPH_EDGES,
  encodeNb201,
  decodeNb201,
  isValidNb201,
  nb201RuleViolation,
  nb201Rows,
  nb201GraphFromRows,
  nb201Matrix,
  nb201CellFromMatrix,
  canonicalKey,
  nb201UniqueStr,
  type Nb201MatrixConvention,
} from './nb201/graph';
export { nb201Cost, type Nb201Cost, type Nb201NetworkOptions } from './nb201/cost';
export {
  Nb201Table,
  nb201Table,
  NB201_DATASETS,
  type Nb201Dataset,
  type Nb201Split,
  type Nb201Record,
  type Nb201DatasetRecord,
  type Nb201Key,
} from './nb201/table';
export { nb201, sampleNb201 } from './nb201/space';
export { nb201Latency } from './nb201/latency';
export { nb201Choices, nb201Prior } from './nb201/prior';

export {
  MBV3_KERNELS,
  MBV3_EXPANDS,
  MBV3_DEPTHS,
  MBV3_STAGES,
  MBV3_SLOTS,
  MBV3_SLOTS_PER_STAGE,
  mbv3ConfigFrom,
  sampleMbv3,
  formatMbv3,
  parseMbv3,
  mbv3Equal,
  mbv3ActiveKey,
  type Mbv3Config,
  type Mbv3Kernel,
  type Mbv3Expand,
  type Mbv3Depth,
} from './mbv3/config';
export {
  MBV3_GRAPH_CONFIG,
  MBV3_VERTICES,
  MBV3_CHAIN_EDGES,
  mbv3SlotType,
  mbv3SlotOf,
  encodeMbv3,
  decodeMbv3,
  isValidMbv3,
  mbv3RuleViolation,
} from './mbv3/graph';
export { mbv3Cost, mbv3CostModel, makeDivisible, type Mbv3Cost, type Mbv3CostOptions, type Mbv3CostModel, type Mbv3PartCost } from './mbv3/cost';
export { Mbv3AccuracyOracle, mbv3AccuracyOracle, mbv3OracleFeatures, MBV3_ORACLE_FEATURES } from './mbv3/accuracy-oracle';
export {
  Mbv3LatencyModel,
  mbv3LatencyModel,
  mbv3Latency,
  mbv3LatencyRange,
  MBV3_LATENCY_SPLIT_SEED,
  MBV3_LATENCY_HELD_OUT,
  MBV3_LATENCY_RIDGE,
  MBV3_LATENCY_RESOLUTIONS,
  type Mbv3LatencyError,
  type Mbv3LatencyParts,
} from './mbv3/latency';
export { mbv3, MBV3_SIZE } from './mbv3/space';

export { nb201FeasibleCount, mbv3FeasibleBound, type CostLimits } from './feasible';
export { isValidDag, dagRuleViolation } from './dag-rules';
export { registerSearchSpaces } from './register';
export { dataDir } from './packed-arrays';

registerSearchSpaces();
