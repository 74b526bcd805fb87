import { MetaD2AException, validationError, type ArchGraph, type GraphConfig } from '@metad2a/core';

/** Which neighbours a vertex aggregates: predecessors (forward pass) or successors (backward pass). */
export type Direction = 'forward' | 'backward';

/** One neighbour vertex id u of a step, for every distinct state computed at that step. */
export interface NeighbourRef {
  readonly u: number;
  /**
   * For each distinct state of this step: the index of u's state among the distinct states of
   * u's step, or that step's size (a zero row) where the state does not have u as a neighbour.
   */
  readonly index: Int32Array;
  /** True when `index` is 0..n−1 over all states of u's step (no gather needed). */
  readonly identity: boolean;
}

/** The distinct vertex states to compute at vertex position v. */
export interface StepPlan {
  readonly v: number;
  /** Number of distinct states (≤ number of graphs that have vertex v). */
  readonly size: number;
  /** Vertex type of each distinct state. */
  readonly types: Int32Array;
  readonly neighbours: readonly NeighbourRef[];
  /** Whether some later step reads this vertex's message. */
  readonly sendsMessage: boolean;
  /** Whether some later step gathers rows of this vertex's message (so it keeps a zero row at the end for absent neighbours). */
  readonly messageGathered: boolean;
}

/**
 * How to encode a batch of graphs in one direction, batched over graphs and de-duplicated:
 * a vertex state is a pure function of its type and its neighbours' states (spec §2.3, "a vertex
 * state has no memory of its own"), so graphs that share a prefix (forward) or a suffix
 * (backward) share states, and each distinct state is computed once. Steps run in visiting
 * order (v = 0 … maxN−1 forward, maxN−1 … 0 backward).
 */
export interface DirectionPlan {
  readonly direction: Direction;
  readonly steps: readonly StepPlan[];
  /** Offset of each step's states in the concatenation of all steps (visiting order). */
  readonly offsets: Int32Array;
  /** `[graph * maxN + v]` → row of that vertex's state in the concatenation, or −1 (vertex absent). */
  readonly stateRow: Int32Array;
  readonly totalStates: number;
}

/** Throws a clear error unless every graph fits the config and has topological vertex ids. */
export function checkGraphs(graphs: readonly ArchGraph[], cfg: GraphConfig, source = 'predictor graphs'): void {
  graphs.forEach((g, i) => {
    const n = g.types.length;
    if (n < 1 || n > cfg.maxN) throw new MetaD2AException(validationError({ source, field: `graph ${i}`, expected: `1 … ${cfg.maxN} vertices`, got: String(n) }));
    g.types.forEach((t, v) => {
      if (!Number.isInteger(t) || t < 0 || t >= cfg.nvt)
        throw new MetaD2AException(validationError({ source, field: `graph ${i} vertex ${v} type`, expected: `an integer in [0, ${cfg.nvt})`, got: String(t) }));
    });
    for (const [s, t] of g.edges) {
      if (!Number.isInteger(s) || !Number.isInteger(t) || s < 0 || t >= n || s >= t) {
        throw new MetaD2AException(
          validationError({ source, field: `graph ${i} edge ${s}->${t}`, expected: `source < target < ${n} (vertex ids are a topological order)`, got: `${s}->${t}` }),
        );
      }
    }
  });
}

/** Plan one direction of the bidirectional encoder for a batch of graphs. */
export function planDirection(graphs: readonly ArchGraph[], maxN: number, direction: Direction): DirectionPlan {
  const N = graphs.length;
  const nbrs: number[][][] = graphs.map((g) => {
    const l: number[][] = g.types.map(() => []);
    for (const [s, t] of g.edges) {
      if (direction === 'forward') l[t]!.push(s);
      else l[s]!.push(t);
    }
    for (const x of l) x.sort((a, b) => a - b);
    return l.map((x) => [...new Set(x)]);
  });
  const local = new Int32Array(N * maxN).fill(-1); // state index within its step
  const order = direction === 'forward' ? [...Array(maxN).keys()] : [...Array(maxN).keys()].reverse();
  const stepSize = new Int32Array(maxN);
  const raw: { v: number; types: number[]; reps: number[] }[] = [];
  for (const v of order) {
    const keyToState = new Map<string, number>();
    const types: number[] = [];
    const reps: number[] = []; // a representative graph per distinct state
    for (let g = 0; g < N; g++) {
      const gr = graphs[g]!;
      if (gr.types.length <= v) continue;
      let key = String(gr.types[v]);
      for (const u of nbrs[g]![v]!) key += `,${u}:${local[g * maxN + u]}`;
      let s = keyToState.get(key);
      if (s === undefined) {
        s = types.length;
        keyToState.set(key, s);
        types.push(gr.types[v]!);
        reps.push(g);
      }
      local[g * maxN + v] = s;
    }
    stepSize[v] = types.length;
    raw.push({ v, types, reps });
  }
  const readers = new Set<number>();
  for (let g = 0; g < N; g++) for (const l of nbrs[g]!) for (const u of l) readers.add(u);
  const gathered = new Set<number>();
  const steps0 = raw.map(({ v, types, reps }) => {
    const us = new Set<number>();
    for (const g of reps) for (const u of nbrs[g]![v]!) us.add(u);
    const neighbours: NeighbourRef[] = [...us]
      .sort((a, b) => a - b)
      .map((u) => {
        const index = new Int32Array(reps.length);
        reps.forEach((g, k) => {
          index[k] = nbrs[g]![v]!.includes(u) ? local[g * maxN + u]! : stepSize[u]!;
        });
        const identity = reps.length === stepSize[u] && index.every((x, k) => x === k);
        return { u, index, identity };
      });
    for (const nb of neighbours) if (!nb.identity) gathered.add(nb.u);
    return { v, size: reps.length, types: Int32Array.from(types), neighbours, sendsMessage: readers.has(v) };
  });
  const steps: StepPlan[] = steps0.map((s) => ({ ...s, messageGathered: gathered.has(s.v) }));
  const offsets = new Int32Array(maxN);
  let total = 0;
  for (const s of steps) {
    offsets[s.v] = total;
    total += s.size;
  }
  const stateRow = new Int32Array(N * maxN).fill(-1);
  for (let i = 0; i < N * maxN; i++) if (local[i]! >= 0) stateRow[i] = offsets[i % maxN]! + local[i]!;
  return { direction, steps, offsets, stateRow, totalStates: total };
}
