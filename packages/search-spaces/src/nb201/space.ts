import type { SearchSpace, Rng } from '@metad2a/core';
import { NB201_SIZE, enumerateNb201, formatNb201, parseNb201, type Nb201Cell, type Nb201OpId } from './cell';
import { NB201_GRAPH_CONFIG, decodeNb201, encodeNb201, isValidNb201 } from './graph';

/** A uniformly random cell (6 independent uniform ops). */
export function sampleNb201(rng: Rng): Nb201Cell {
  return Object.freeze(Array.from({ length: 6 }, () => rng.int(5) as Nb201OpId)) as unknown as Nb201Cell;
}

/** The NAS-Bench-201 search space, registered as `nb201`. */
export const nb201: SearchSpace<Nb201Cell> = Object.freeze({
  name: 'nb201',
  graphConfig: NB201_GRAPH_CONFIG,
  encode: encodeNb201,
  decode: decodeNb201,
  isValid: isValidNb201,
  format: formatNb201,
  parse: parseNb201,
  sample: sampleNb201,
  size: NB201_SIZE,
  enumerate: enumerateNb201,
});
