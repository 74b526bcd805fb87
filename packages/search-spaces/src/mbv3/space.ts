import type { ArchGraph, Constraints, SearchSpace } from '@metad2a/core';
import { mbv3FeasibleBound } from '../feasible';
import { mbv3AccuracyOracle } from './accuracy-oracle';
import { formatMbv3, mbv3ActiveKey, mbv3Distance, parseMbv3, sampleMbv3, type Mbv3Config } from './config';
import { mbv3Cost } from './cost';
import { mbv3Latency } from './latency';
import { MBV3_GRAPH_CONFIG, decodeMbv3, encodeMbv3, isValidMbv3 } from './graph';

/** Number of configs including inactive slots: 9²⁰ · 3⁵ (too large for `SearchSpace.size`). */
export const MBV3_SIZE = 9n ** 20n * 3n ** 5n;

/**
 * The OFA MobileNetV3 search space, registered as `mbv3`. Cost: FLOPs and parameters at 224 px
 * (ImageNet head); facts: OFA's accuracy predictor; latency: a model fitted to HELP's
 * measurements (12 GPU × batch settings, at 224 px); the predictor ranks the decoded graph itself
 * (spec §8 item 17).
 */
export const mbv3: SearchSpace<Mbv3Config> = Object.freeze({
  name: 'mbv3',
  graphConfig: MBV3_GRAPH_CONFIG,
  encode: encodeMbv3,
  decode: decodeMbv3,
  isValid: isValidMbv3,
  format: formatMbv3,
  computationKey: mbv3ActiveKey,
  parse: parseMbv3,
  sample: sampleMbv3,
  cost: (config: Mbv3Config) => {
    const c = mbv3Cost(config);
    return { mflops: c.mflops, mparams: c.params / 1e6 };
  },
  facts: (config: Mbv3Config) => ({ kind: 'mbv3', oracleTop1: 100 * mbv3AccuracyOracle().predict(config) }),
  factColumns: Object.freeze([{ field: 'oracleTop1', header: 'OFA oracle top-1', digits: 2 }]),
  graphToRank: (_config: Mbv3Config, decoded: ArchGraph) => decoded,
  // the cost (and so the bound) is for OFA's ImageNet head, whatever the dataset's classes
  countFeasible: (c: Constraints) => mbv3FeasibleBound({ maxMflops: c.flopsMaxM, maxMparams: c.paramsMaxM, maxLatencyMs: c.latencyMaxMs, device: c.device }),
  latency: mbv3Latency,
  distance: mbv3Distance,
});
