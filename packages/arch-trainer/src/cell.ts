import { unwrap } from '@metad2a/core';
import { NB201_EDGES, NB201_OPS, formatNb201, nb201OpNames, parseNb201, type Nb201Op } from '@metad2a/search-spaces';

export { NB201_OPS, type Nb201Op };

/** Source cell node of each of the six edges e1..e6 (from `@metad2a/search-spaces`' NB201_EDGES). */
export const NB201_EDGE_SOURCES = NB201_EDGES.map(([from]) => from) as readonly number[];
export const NB201_EDGE_TARGETS = NB201_EDGES.map(([, to]) => to) as readonly number[];

/** A parsed NB201 cell as the network builder uses it: the six operation names in edge order e1..e6. */
export interface Nb201Cell {
  readonly ops: readonly [Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op];
}

/**
 * Parse `|o1~0|+|o2~0|o3~1|+|o4~0|o5~1|o6~2|` with the strict parser of `@metad2a/search-spaces`
 * (spec §3.1); throws its ParseError (position and what was expected) for anything else.
 */
export function parseCell(arch: string): Nb201Cell {
  return { ops: nb201OpNames(unwrap(parseNb201(arch))) as unknown as Nb201Cell['ops'] };
}

/** The canonical string of a cell (inverse of {@link parseCell}). */
export function cellToString(cell: Nb201Cell): string {
  return formatNb201(cell.ops.map((o) => NB201_OPS.indexOf(o)) as never);
}
