/**
 * NAS-Bench-201 cells (spec §3.1): 6 edges of a 4-node DAG, each carrying one of 5 operations.
 * A cell is the 6-tuple of op ids in the edge order e1..e6 = 0→1, 0→2, 1→2, 0→3, 1→3, 2→3.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseError, validationError, type MetaD2AError } from '@metad2a/core';

/** The operations in the official order: op id = index, vertex type = 2 + op id. */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];
export type Nb201OpId = 0 | 1 | 2 | 3 | 4;

/** An NB201 cell: the op id of edges e1..e6. */
export type Nb201Cell = readonly [Nb201OpId, Nb201OpId, Nb201OpId, Nb201OpId, Nb201OpId, Nb201OpId];

/** The cell edges (source node → destination node) in the order of the arch string. */
export const NB201_EDGES: readonly (readonly [from: number, to: number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
];

/** Number of cells: 5⁶. */
export const NB201_SIZE = 15625;

const SOURCE = 'NB201 arch string';

export function isNb201OpId(x: unknown): x is Nb201OpId {
  return x === 0 || x === 1 || x === 2 || x === 3 || x === 4;
}

/** Validate an arbitrary value as a cell (six integers in 0..4). */
export function nb201CellFrom(x: unknown, source = 'NB201 cell'): E.Either<MetaD2AError, Nb201Cell> {
  if (!Array.isArray(x) || x.length !== 6) {
    return E.left(validationError({ source, expected: 'an array of 6 op ids (0..4)', got: JSON.stringify(x) }));
  }
  for (let i = 0; i < 6; i++) {
    if (!isNb201OpId(x[i])) {
      return E.left(validationError({ source, field: `edge e${i + 1} (${NB201_EDGES[i]![0]}→${NB201_EDGES[i]![1]})`, expected: 'an op id 0..4', got: JSON.stringify(x[i]) }));
    }
  }
  return E.right(Object.freeze([...x]) as unknown as Nb201Cell);
}

/** `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` */
export function formatNb201(cell: Nb201Cell): string {
  const n = (k: number): string => NB201_OPS[cell[k]!]!;
  return `|${n(0)}~0|+|${n(1)}~0|${n(2)}~1|+|${n(3)}~0|${n(4)}~1|${n(5)}~2|`;
}

/**
 * Strict parser of {@link formatNb201}'s output: no white space, the `~k` source indices in
 * order, every op one of {@link NB201_OPS}. A Left names the character position, the
 * destination node / source being read, what was expected and what was found.
 */
export function parseNb201(text: string): E.Either<MetaD2AError, Nb201Cell> {
  if (typeof text !== 'string') return E.left(parseError({ source: SOURCE, expected: 'a string', got: typeof text }));
  let pos = 0;
  const ops: Nb201OpId[] = [];
  const err = (where: string, expected: string, got: string): E.Either<MetaD2AError, Nb201Cell> =>
    E.left(
      parseError({
        source: SOURCE,
        field: `position ${pos} (${where})`,
        expected,
        got,
        message: `${SOURCE} ${JSON.stringify(text)}: at position ${pos} (${where}): expected ${expected}, got ${got}`,
      }),
    );
  const show = (s: string): string => (s.length === 0 ? 'end of string' : JSON.stringify(s));
  for (let node = 1; node <= 3; node++) {
    if (node > 1) {
      if (text[pos] !== '+') return err(`before node ${node}`, `"+" separating node ${node - 1} from node ${node}`, show(text.slice(pos, pos + 1)));
      pos++;
    }
    if (text[pos] !== '|') return err(`start of node ${node}`, '"|"', show(text.slice(pos, pos + 1)));
    pos++;
    for (let src = 0; src < node; src++) {
      const tilde = text.indexOf('~', pos);
      const bar = text.indexOf('|', pos);
      const end = tilde < 0 || (bar >= 0 && bar < tilde) ? -1 : tilde;
      const name = end < 0 ? text.slice(pos, bar < 0 ? text.length : bar) : text.slice(pos, end);
      const id = (NB201_OPS as readonly string[]).indexOf(name);
      if (id < 0) return err(`node ${node}, input from node ${src}`, `an operation (${NB201_OPS.join(', ')})`, show(name));
      if (end < 0) {
        pos += name.length;
        return err(`node ${node}, input from node ${src}`, `"~${src}" after the operation`, show(text.slice(pos, pos + 1)));
      }
      pos = end + 1;
      if (text[pos] !== String(src) || /[0-9]/.test(text[pos + 1] ?? '')) {
        const m = /^[0-9]*/.exec(text.slice(pos))![0];
        return err(`node ${node}, input from node ${src}`, `source node index ${src}`, show(m || text.slice(pos, pos + 1)));
      }
      pos++;
      if (text[pos] !== '|') return err(`node ${node}, input from node ${src}`, '"|"', show(text.slice(pos, pos + 1)));
      pos++;
      ops.push(id as Nb201OpId);
    }
  }
  if (pos !== text.length) return err('after node 3', 'end of string', show(text.slice(pos, pos + 10)));
  return E.right(Object.freeze(ops) as unknown as Nb201Cell);
}

/**
 * The base-5 code of a cell, e1 the most significant digit: the `ops` column of the benchmark
 * CSV read in base 5 (0 = all none, 15624 = all avg_pool). This is the order of {@link enumerateNb201}
 * — not the NB201 benchmark index (see `Nb201Table.indexOf`).
 */
export function nb201Code(cell: Nb201Cell): number {
  let c = 0;
  for (let i = 0; i < 6; i++) c = c * 5 + cell[i]!;
  return c;
}

export function nb201FromCode(code: number): E.Either<MetaD2AError, Nb201Cell> {
  if (!Number.isInteger(code) || code < 0 || code >= NB201_SIZE) {
    return E.left(validationError({ source: 'NB201 cell code', expected: `an integer 0..${NB201_SIZE - 1}`, got: String(code) }));
  }
  const ops = new Array<Nb201OpId>(6);
  let c = code;
  for (let i = 5; i >= 0; i--) {
    ops[i] = (c % 5) as Nb201OpId;
    c = Math.floor(c / 5);
  }
  return E.right(Object.freeze(ops) as unknown as Nb201Cell);
}

/** All 15,625 cells in code order. */
export function* enumerateNb201(): Generator<Nb201Cell> {
  for (let c = 0; c < NB201_SIZE; c++) yield (nb201FromCode(c) as E.Right<Nb201Cell>).right;
}

/** The op names of a cell, e1..e6. */
export function nb201OpNames(cell: Nb201Cell): Nb201Op[] {
  return cell.map((o) => NB201_OPS[o]!);
}
