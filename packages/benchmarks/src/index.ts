/**
 * @metad2a/benchmarks — the MetaD2A paper's tables as functions: the NB201 Table-1 protocol, the
 * NB201 baselines (random search, REA, exhaustive predictor ranking, MetaD2A) with accuracy vs
 * evaluations, the MobileNetV3 benchmark with OFA's accuracy oracle, and the speed report against
 * the official PyTorch CPU figures. Each returns a typed, JSON-serialisable result; the
 * markdown / SVG renderers and `writeReport` turn results into files (`metad2a bench <name>`).
 */
export { meanCI, formatMeanCI, studentTQuantile, studentTCdf, incompleteBeta, logGamma, type MeanCI } from './stats';
export { PAPER_NB201, PAPER_PC_DARTS, isPaperNb201Dataset, type PaperNb201Dataset, type PaperNb201Row } from './paper';
export { machineInfo, describeMachine, type MachineInfo } from './environment';
export { runNb201Protocol, type Nb201ProtocolOptions, type Nb201ProtocolResult, type Nb201RunRecord, type Nb201Pick } from './nb201-protocol';
export {
  runNb201Baselines,
  NB201_REA_SETTINGS,
  type Nb201BaselineOptions,
  type Nb201BaselineResult,
  type Nb201BaselineMethod,
  type Nb201MethodResult,
  type ReaSettings,
} from './nb201-baselines';
export { runMbv3Benchmark, type Mbv3BenchmarkOptions, type Mbv3BenchmarkResult, type Mbv3RunRecord, type Mbv3Subnet } from './mbv3-benchmark';
export {
  OFFICIAL_CPU_ANCHORS,
  buildSpeedReport,
  parseBenchOutput,
  readBenchOutput,
  runBenchScript,
  numericLeaves,
  type SpeedAnchor,
  type SpeedReport,
  type SpeedRow,
  type BenchOutput,
} from './speed-report';
export { renderLinePlot, niceTicks, legendRows, textWidth, type PlotSeries, type LinePlotOptions } from './svg-plot';
export { nb201ProtocolMarkdown, paperNb201Markdown, nb201BaselinesMarkdown, nb201BaselinesSvg, mbv3Markdown, speedMarkdown, writeReport, resultJson } from './markdown';
export { loadOfficialModels, loadByLabelFeatures, type OfficialModelFiles } from './artifacts';
export {
  runTransferBenchmark,
  nb201Winners,
  type TransferOptions,
  type TransferPlanOptions,
  type TransferProgress,
  type TransferRun,
  type TransferResult,
  type TransferTaskResult,
  type TransferSeedResult,
  type TransferGroupSummary,
  type TransferWins,
  type OneTrainingSearchCounts,
  type TransferMethod,
  type MeasuredCell,
} from './transfer';
export {
  percentileAmong,
  quantileSorted,
  bootstrapMeanCI,
  overlapCount,
  groupOverlaps,
  winsTiesLosses,
  agreementOf,
  oneTrainingSearchOutcomes,
  type Outcome,
  type BootstrapCI,
  type GroupOverlap,
  type RankingAgreement,
} from './transfer-stats';
export { transferMarkdown, transferSvg, transferMethodLabel } from './transfer-report';
