/**
 * The 8-vertex graph encoding of NB201 cells (spec §3.2), its validity rules, the official row
 * and 4×4 matrix formats, and isomorphism-aware keys.
 */
import * as E from 'fp-ts/lib/Either.js';
import { END_TYPE, START_TYPE, graphConfig, parseError, validationError, type ArchGraph, type Edge, type GraphConfig, type MetaD2AError } from '@metad2a/core';
import { dagRuleViolation } from '../dag-rules';
import { NB201_EDGES, NB201_OPS, nb201CellFrom, type Nb201Cell, type Nb201OpId } from './cell';

/** nvt = 7 (START, END, 5 ops), max_n = 8. */
export const NB201_GRAPH_CONFIG: GraphConfig = graphConfig(7, 8);

/**
 * The fixed 11 edges of every canonical NB201 graph, in the igraph insertion order of the official
 * builder: the chain 1→…→6, START→1, 1→3, 1→5, 2→6, 3→6, 6→END. Not the data-flow graph.
 */
export const NB201_GRAPH_EDGES: readonly Edge[] = [
  [1, 2],
  [0, 1],
  [2, 3],
  [3, 4],
  [1, 3],
  [4, 5],
  [5, 6],
  [1, 5],
  [2, 6],
  [3, 6],
  [6, 7],
];

/** Cell → graph: types [START, 2+op(e1..e6), END] and the fixed 11 edges. */
export function encodeNb201(cell: Nb201Cell): ArchGraph {
  return { types: [START_TYPE, ...cell.map((o) => 2 + o), END_TYPE], edges: NB201_GRAPH_EDGES };
}

/**
 * The first of rules 1–6 of `is_valid_NAS201` (spec §3.2) a graph breaks, or undefined. Rule 6 is
 * checked as "vertices 1..6 have an op type 2..6" (the official code only excludes START/END;
 * types above 6 do not exist with nvt = 7), so verdicts agree on every graph a model can emit.
 */
export function nb201RuleViolation(g: ArchGraph): string | undefined {
  const dag = dagRuleViolation(g);
  if (dag !== undefined) return dag;
  if (g.types.length !== 8) return `rule 5: exactly 8 vertices, found ${g.types.length}`;
  for (let v = 1; v <= 6; v++) {
    const t = g.types[v]!;
    if (!Number.isInteger(t) || t < 2 || t > 6) return `rule 6: vertex ${v} has an operation type 2..6, found ${t}`;
  }
  return undefined;
}

/** The official `is_valid_NAS201`. */
export function isValidNb201(g: ArchGraph): boolean {
  return nb201RuleViolation(g) === undefined;
}

/**
 * Graph → cell, like the official `decode_igraph_to_NAS_BENCH_201_string`: the ops are read from
 * the types of vertices 1..6 (edges matter only through validity). A Left names the broken rule.
 */
export function decodeNb201(g: ArchGraph): E.Either<MetaD2AError, Nb201Cell> {
  const v = nb201RuleViolation(g);
  if (v !== undefined) return E.left(validationError({ source: 'NB201 graph', expected: 'a valid NB201 graph', got: v, message: `NB201 graph is invalid: ${v}` }));
  return nb201CellFrom(g.types.slice(1, 7).map((t) => t - 2));
}

/**
 * The `nasbench201.pt` row format: `row_i = [type_i, flag_0, …, flag_{i-1}]`, flag_j = 1 for an
 * explicit edge j→i (the chain edges are implicit). Flags of a canonical cell: row1 {0}, row3
 * {1}, row5 {1}, row6 {2,3}, row7 {6}.
 */
export function nb201Rows(cell: Nb201Cell): number[][] {
  const types = encodeNb201(cell).types;
  const flags: Record<number, number[]> = { 1: [0], 3: [1], 5: [1], 6: [2, 3], 7: [6] };
  return types.map((t, i) => {
    const row = [t, ...new Array<number>(i).fill(0)];
    for (const j of flags[i] ?? []) row[1 + j] = 1;
    return row;
  });
}

/**
 * The official builder `decode_NAS_BENCH_201_8_to_igraph` for any row list: for each row i, the
 * chain edge i→i+1 when 0 < i < n−2, then j→i for every flag j. Rows may be Python-literal
 * strings (`"[5, 1]"`), as in some files. Validates the row shapes.
 */
export function nb201GraphFromRows(rows: readonly (readonly number[] | string)[], source = 'NB201 rows'): E.Either<MetaD2AError, ArchGraph> {
  const parsed: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    let arr: unknown = r;
    if (typeof r === 'string') {
      try {
        arr = JSON.parse(r.replace(/\.0\b/g, ''));
      } catch {
        return E.left(parseError({ source, field: `row ${i}`, expected: 'a list literal like "[5, 1]"', got: JSON.stringify(r) }));
      }
    }
    if (!Array.isArray(arr) || arr.length !== i + 1 || !arr.every((x) => Number.isInteger(x))) {
      return E.left(parseError({ source, field: `row ${i}`, expected: `${i + 1} integers [type, flag_0..flag_${i - 1}]`, got: JSON.stringify(arr) }));
    }
    parsed.push(arr as number[]);
  }
  const n = parsed.length;
  const edges: Edge[] = [];
  parsed.forEach((row, i) => {
    if (i > 0 && i < n - 2) edges.push([i, i + 1]);
    for (let j = 0; j < i; j++) if (row[1 + j] === 1) edges.push([j, i]);
  });
  return E.right({ types: parsed.map((r) => r[0]!), edges });
}

/**
 * How a 4×4 cell matrix stores an edge's op: `'op'` = op id (the official
 * `decode_igraph_to_NAS201_matrix`, as in the fixtures' `matrix4x4`), `'type'` = vertex type =
 * op id + 2 (the public predictor database's `matrix` field).
 */
export type Nb201MatrixConvention = 'op' | 'type';

/** Lower-triangular M with M[to][from] = the op of edge from→to (e1..e6 order). */
export function nb201Matrix(cell: Nb201Cell, convention: Nb201MatrixConvention = 'op'): number[][] {
  const m = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  NB201_EDGES.forEach(([from, to], k) => {
    m[to]![from] = cell[k]! + (convention === 'type' ? 2 : 0);
  });
  return m;
}

/** Inverse of {@link nb201Matrix}; the upper triangle and diagonal must be 0. */
export function nb201CellFromMatrix(m: readonly (readonly number[])[], convention: Nb201MatrixConvention = 'op'): E.Either<MetaD2AError, Nb201Cell> {
  const source = `NB201 4x4 matrix (${convention} convention)`;
  if (!Array.isArray(m) || m.length !== 4 || !m.every((r) => Array.isArray(r) && r.length === 4)) {
    return E.left(validationError({ source, expected: 'a 4×4 array', got: JSON.stringify(m) }));
  }
  const off = convention === 'type' ? 2 : 0;
  for (let i = 0; i < 4; i++) {
    for (let j = i; j < 4; j++) {
      if (m[i]![j] !== 0) return E.left(validationError({ source, field: `M[${i}][${j}]`, expected: '0 on and above the diagonal', got: String(m[i]![j]) }));
    }
  }
  const ops: number[] = [];
  for (const [from, to] of NB201_EDGES) {
    const v = m[to]![from]! - off;
    if (!Number.isInteger(v) || v < 0 || v > 4) {
      return E.left(
        validationError({
          source,
          field: `M[${to}][${from}] (edge ${from}→${to})`,
          expected: `an ${convention === 'op' ? 'op id 0..4' : 'op type 2..6'}`,
          got: String(m[to]![from]),
        }),
      );
    }
    ops.push(v);
  }
  return nb201CellFrom(ops, source);
}

/**
 * Isomorphism-aware key: two cells get the same key iff they compute the same expression under
 * these rules (spec-level, independent of weights):
 *  - `none` contributes nothing, and any op applied to a zero node is zero (a node whose inputs
 *    are all zero is zero — BN's constant offset on zero input is ignored, as NAS literature does);
 *  - `skip_connect` is the identity;
 *  - a node is the sum of its non-zero inputs, a sum is commutative and associative (flattened,
 *    sorted multiset of terms);
 *  - other ops are kept as `op(expr)` (two convs on different edges count as the same op).
 * Hence ops on edges that cannot reach the output, or whose source is zero, do not matter.
 * The key is the output node's expression (`0` for a cell that outputs zero). 4,930 classes over
 * the 15,625 cells (the NB201 paper's 6,466 is {@link nb201UniqueStr}).
 */
export function canonicalKey(cell: Nb201Cell): string {
  const expr: string[][] = [['x']];
  for (let node = 1; node <= 3; node++) {
    const terms: string[] = [];
    NB201_EDGES.forEach(([from, to], k) => {
      if (to !== node) return;
      const op = cell[k]!;
      const e = expr[from]!;
      if (op === 0 || e.length === 0) return;
      if (op === 1) terms.push(...e);
      else terms.push(`${NB201_OPS[op]}(${e.join('+')})`);
    });
    expr.push(terms.sort());
  }
  return expr[3]!.length === 0 ? '0' : expr[3]!.join('+');
}

/**
 * The NB201 benchmark's own `CellStructure.to_unique_str(consider_zero=True)` (the rule behind the
 * paper's 6,466 unique cells): like {@link canonicalKey} but a node whose inputs are all zero is
 * not itself treated as zero, and sums are not flattened.
 */
export function nb201UniqueStr(cell: Nb201Cell): string {
  const nodes = ['0'];
  for (let node = 1; node <= 3; node++) {
    const cur: string[] = [];
    NB201_EDGES.forEach(([from, to], k) => {
      if (to !== node) return;
      const op = cell[k]! as Nb201OpId;
      const x = nodes[from]!;
      if (op === 0 || x === '#') cur.push('#');
      else if (op === 1) cur.push(x);
      else cur.push(`(${x})@${NB201_OPS[op]}`);
    });
    nodes.push(cur.sort().join('+'));
  }
  return nodes[3]!;
}
