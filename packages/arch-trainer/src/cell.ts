import { MetaD2AException, validationError } from '@metad2a/core';

/** The NAS-Bench-201 operation vocabulary in its official order (index = op id, spec §3.1). */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** Source cell node of each of the six edges e1..e6 (destinations 1, 2, 2, 3, 3, 3). */
export const NB201_EDGE_SOURCES = [0, 0, 1, 0, 1, 2] as const;
export const NB201_EDGE_TARGETS = [1, 2, 2, 3, 3, 3] as const;

/** A parsed NB201 cell: the six operations in edge order e1..e6 (0→1, 0→2, 1→2, 0→3, 1→3, 2→3). */
export interface Nb201Cell {
  readonly ops: readonly [Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op];
}

/**
 * Parse `|o1~0|+|o2~0|o3~1|+|o4~0|o5~1|o6~2|` (spec §3.1). Throws a ValidationError naming the
 * position and what was expected for anything else.
 */
export function parseCell(arch: string): Nb201Cell {
  const bad = (field: string, expected: string, got: string): never => {
    throw new MetaD2AException(validationError({ source: `arch string ${JSON.stringify(arch)}`, field, expected, got }));
  };
  const nodes = arch.split('+');
  if (nodes.length !== 3) bad('nodes', "3 nodes separated by '+'", `${nodes.length}`);
  const ops: Nb201Op[] = [];
  nodes.forEach((node, j) => {
    if (!node.startsWith('|') || !node.endsWith('|')) bad(`node ${j + 1}`, "'|op~k|...|'", JSON.stringify(node));
    const edges = node.slice(1, -1).split('|');
    if (edges.length !== j + 1) bad(`node ${j + 1}`, `${j + 1} incoming edges`, `${edges.length}`);
    edges.forEach((e, i) => {
      const [op, src] = e.split('~');
      if (!(NB201_OPS as readonly string[]).includes(op ?? '')) bad(`node ${j + 1} edge ${i}`, `an op in ${NB201_OPS.join(', ')}`, JSON.stringify(op));
      if (src !== String(i)) bad(`node ${j + 1} edge ${i}`, `source node ~${i}`, JSON.stringify(`~${src}`));
      ops.push(op as Nb201Op);
    });
  });
  return { ops: ops as unknown as Nb201Cell['ops'] };
}

/** The canonical string of a cell (inverse of {@link parseCell}). */
export function cellToString(cell: Nb201Cell): string {
  const o = cell.ops;
  return `|${o[0]}~0|+|${o[1]}~0|${o[2]}~1|+|${o[3]}~0|${o[4]}~1|${o[5]}~2|`;
}
