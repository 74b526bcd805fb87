import type { Constraints, SearchSpace, Rng } from '@metad2a/core';
import { NB201_SIZE, enumerateNb201, formatNb201, parseNb201, type Nb201Cell, type Nb201OpId } from './cell';
import { nb201Cost } from './cost';
import { NB201_GRAPH_CONFIG, canonicalKey, decodeNb201, encodeNb201, isValidNb201 } from './graph';
import { nb201Latency } from './latency';
import { nb201Choices, nb201Prior } from './prior';
import { nb201Table } from './table';
import { nb201FeasibleCount } from '../feasible';

/** A uniformly random cell (6 independent uniform ops). */
export function sampleNb201(rng: Rng): Nb201Cell {
  return Object.freeze(Array.from({ length: 6 }, () => rng.int(5) as Nb201OpId)) as unknown as Nb201Cell;
}

/**
 * The NAS-Bench-201 search space, registered as `nb201`. Cost: the exact TinyNetwork FLOPs and
 * parameters for the dataset's class count; facts: the 200-epoch benchmark table's test
 * accuracies; latency: HELP's measurements on 27 device settings; the predictor ranks the
 * canonical graph of a cell (spec §8 item 17); prior: the table's accuracies on its three data sets.
 */
export const nb201: SearchSpace<Nb201Cell> = Object.freeze({
  name: 'nb201',
  graphConfig: NB201_GRAPH_CONFIG,
  encode: encodeNb201,
  decode: decodeNb201,
  isValid: isValidNb201,
  format: formatNb201,
  computationKey: canonicalKey,
  parse: parseNb201,
  sample: sampleNb201,
  size: NB201_SIZE,
  enumerate: enumerateNb201,
  cost: (cell: Nb201Cell, ctx: { readonly classes: number }) => {
    const c = nb201Cost(cell, { classes: ctx.classes });
    return { mflops: c.macs / 1e6, mparams: c.params / 1e6 };
  },
  facts: (cell: Nb201Cell) => {
    const r = nb201Table().record(cell);
    return {
      kind: 'nb201',
      index: r.index,
      cifar10: r.datasets.cifar10.testAccuracy,
      cifar100: r.datasets.cifar100.testAccuracy,
      imagenet16_120: r.datasets['imagenet16-120'].testAccuracy,
    };
  },
  factColumns: Object.freeze([
    { field: 'cifar10', header: 'C10 test', digits: 2 },
    { field: 'cifar100', header: 'C100 test', digits: 2 },
    { field: 'imagenet16_120', header: 'IN16 test', digits: 2 },
    { field: 'index', header: 'NB201 idx' },
  ]),
  graphToRank: (cell: Nb201Cell) => encodeNb201(cell),
  countFeasible: (c: Constraints, ctx: { readonly classes: number }) =>
    nb201FeasibleCount({ maxMflops: c.flopsMaxM, maxMparams: c.paramsMaxM, classes: ctx.classes, maxLatencyMs: c.latencyMaxMs, device: c.device }),
  latency: nb201Latency,
  prior: nb201Prior,
  choices: nb201Choices,
  distance: (a: Nb201Cell, b: Nb201Cell) => a.reduce<number>((n, op, i) => n + (op === b[i] ? 0 : 1), 0),
});
