import type { SearchSpace } from '@metad2a/core';
import { formatMbv3, parseMbv3, sampleMbv3, type Mbv3Config } from './config';
import { MBV3_GRAPH_CONFIG, decodeMbv3, encodeMbv3, isValidMbv3 } from './graph';

/** Number of configs including inactive slots: 9²⁰ · 3⁵ (too large for `SearchSpace.size`). */
export const MBV3_SIZE = 9n ** 20n * 3n ** 5n;

/** The OFA MobileNetV3 search space, registered as `mbv3`. */
export const mbv3: SearchSpace<Mbv3Config> = Object.freeze({
  name: 'mbv3',
  graphConfig: MBV3_GRAPH_CONFIG,
  encode: encodeMbv3,
  decode: decodeMbv3,
  isValid: isValidMbv3,
  format: formatMbv3,
  parse: parseMbv3,
  sample: sampleMbv3,
});
