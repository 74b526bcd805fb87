/**
 * Architecture graphs as MetaD2A sees them (spec §2.3): a DAG whose vertex ids are a
 * topological order, vertex 0 = START, the last vertex = END, every vertex a typed integer.
 */

/** Type of the START vertex in every search space. */
export const START_TYPE = 0;
/** Type of the END vertex in every search space. */
export const END_TYPE = 1;

/** What a model needs to know about a search space's graphs, and nothing more. */
export interface GraphConfig {
  /** Number of vertex types, START and END included (NB201: 7, MBv3: 29). */
  readonly nvt: number;
  /** Number of vertices of a complete graph (NB201: 8, MBv3: 22). */
  readonly maxN: number;
  readonly startType: number;
  readonly endType: number;
}

export function graphConfig(nvt: number, maxN: number): GraphConfig {
  if (!Number.isInteger(nvt) || nvt < 3) throw new RangeError(`GraphConfig.nvt: expected an integer >= 3, got ${nvt}`);
  if (!Number.isInteger(maxN) || maxN < 2) throw new RangeError(`GraphConfig.maxN: expected an integer >= 2, got ${maxN}`);
  return { nvt, maxN, startType: START_TYPE, endType: END_TYPE };
}

export type Edge = readonly [source: number, target: number];

/** A typed DAG. `edges` keep insertion order (it matters for nothing numerical, but for round trips). */
export interface ArchGraph {
  readonly types: readonly number[];
  readonly edges: readonly Edge[];
}

export function vertexCount(g: ArchGraph): number {
  return g.types.length;
}

/** Predecessors of every vertex, each list ascending. */
export function inLists(g: ArchGraph): number[][] {
  const res: number[][] = g.types.map(() => []);
  for (const [s, t] of g.edges) res[t]!.push(s);
  for (const l of res) l.sort((a, b) => a - b);
  return res;
}

/** Successors of every vertex, each list ascending. */
export function outLists(g: ArchGraph): number[][] {
  const res: number[][] = g.types.map(() => []);
  for (const [s, t] of g.edges) res[s]!.push(t);
  for (const l of res) l.sort((a, b) => a - b);
  return res;
}

/** Edges whose endpoints are valid vertex ids and that are not self loops. */
export function edgesInRange(g: ArchGraph): boolean {
  const n = g.types.length;
  return g.edges.every(([s, t]) => Number.isInteger(s) && Number.isInteger(t) && s >= 0 && t >= 0 && s < n && t < n && s !== t);
}

/** True when the graph has no directed cycle (Kahn's algorithm); false for out-of-range edges. */
export function isAcyclic(g: ArchGraph): boolean {
  if (!edgesInRange(g)) return false;
  const n = g.types.length;
  const indeg = new Array<number>(n).fill(0);
  const out = outLists(g);
  for (const [, t] of g.edges) indeg[t]!++;
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  let seen = 0;
  while (queue.length > 0) {
    const v = queue.pop()!;
    seen++;
    for (const w of out[v]!) if (--indeg[w]! === 0) queue.push(w);
  }
  return seen === n;
}

/** An exact key of types and the edge set (order-independent), for de-duplication of graphs. */
export function graphKey(g: ArchGraph): string {
  const edges = g.edges.map(([s, t]) => `${s}>${t}`).sort();
  return `${g.types.join(',')}|${edges.join(',')}`;
}

/** Structural equality: same types, same edge set. */
export function graphsEqual(a: ArchGraph, b: ArchGraph): boolean {
  return graphKey(a) === graphKey(b);
}
