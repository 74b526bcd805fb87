/**
 * The 22-vertex chain encoding of MBv3 configs (spec §4.2): START, the 20 slots (type
 * 2 + 9·di + 3·ki + ei), END; edges 0→1→…→21.
 */
import * as E from 'fp-ts/lib/Either.js';
import { END_TYPE, START_TYPE, graphConfig, validationError, type ArchGraph, type Edge, type GraphConfig, type MetaD2AError } from '@metad2a/core';
import { dagRuleViolation } from '../dag-rules';
import {
  MBV3_DEPTHS,
  MBV3_EXPANDS,
  MBV3_KERNELS,
  MBV3_SLOTS,
  MBV3_SLOTS_PER_STAGE,
  MBV3_STAGES,
  mbv3ConfigFrom,
  type Mbv3Config,
  type Mbv3Depth,
  type Mbv3Expand,
  type Mbv3Kernel,
} from './config';

/** nvt = 29 (START, END, 27 slot types), max_n = 22. */
export const MBV3_GRAPH_CONFIG: GraphConfig = graphConfig(29, 22);
export const MBV3_VERTICES = MBV3_SLOTS + 2;

/** The 21 chain edges 0→1, …, 20→21. */
export const MBV3_CHAIN_EDGES: readonly Edge[] = Array.from({ length: MBV3_VERTICES - 1 }, (_, i) => [i, i + 1] as const);

/** Vertex type of a block slot: 2 + 9·di + 3·ki + ei. */
export function mbv3SlotType(depth: Mbv3Depth, kernel: Mbv3Kernel, expand: Mbv3Expand): number {
  return 2 + 9 * MBV3_DEPTHS.indexOf(depth) + 3 * MBV3_KERNELS.indexOf(kernel) + MBV3_EXPANDS.indexOf(expand);
}

/** Inverse of {@link mbv3SlotType} for a type 2..28. */
export function mbv3SlotOf(type: number): { depth: Mbv3Depth; kernel: Mbv3Kernel; expand: Mbv3Expand } | undefined {
  if (!Number.isInteger(type) || type < 2 || type > 28) return undefined;
  const t = type - 2;
  return { depth: MBV3_DEPTHS[Math.floor(t / 9)]!, kernel: MBV3_KERNELS[Math.floor(t / 3) % 3]!, expand: MBV3_EXPANDS[t % 3]! };
}

/** Config → graph (the official `decode_ofa_mbv3_to_igraph`). */
export function encodeMbv3(c: Mbv3Config): ArchGraph {
  const types = [START_TYPE];
  for (let i = 0; i < MBV3_SLOTS; i++) types.push(mbv3SlotType(c.d[Math.floor(i / MBV3_SLOTS_PER_STAGE)]!, c.ks[i]!, c.e[i]!));
  types.push(END_TYPE);
  return { types, edges: MBV3_CHAIN_EDGES };
}

/**
 * The first rule of `is_valid_ofa_mbv3` a graph breaks, or undefined: the DAG rules (acyclic,
 * one START, one END, degrees), exactly 22 vertices, slot types in 2..28, and all 4 slots of a
 * stage in the same depth group ⌊(t−2)/9⌋. Extra non-chain edges are allowed.
 */
export function mbv3RuleViolation(g: ArchGraph): string | undefined {
  const dag = dagRuleViolation(g);
  if (dag !== undefined) return dag;
  if (g.types.length !== MBV3_VERTICES) return `exactly ${MBV3_VERTICES} vertices, found ${g.types.length}`;
  for (let v = 1; v <= MBV3_SLOTS; v++) {
    if (mbv3SlotOf(g.types[v]!) === undefined) return `vertex ${v} has a slot type 2..28, found ${g.types[v]}`;
  }
  for (let s = 0; s < MBV3_STAGES; s++) {
    const groups = g.types.slice(1 + s * 4, 5 + s * 4).map((t) => Math.floor((t - 2) / 9));
    if (new Set(groups).size !== 1) return `stage ${s + 1} (vertices ${1 + s * 4}..${4 + s * 4}) mixes depth groups [${groups.map((x) => MBV3_DEPTHS[x]).join(', ')}]`;
  }
  return undefined;
}

export function isValidMbv3(g: ArchGraph): boolean {
  return mbv3RuleViolation(g) === undefined;
}

/** Graph → config; the stage depth is read from the stage's last slot. A Left names the broken rule. */
export function decodeMbv3(g: ArchGraph): E.Either<MetaD2AError, Mbv3Config> {
  const v = mbv3RuleViolation(g);
  if (v !== undefined) return E.left(validationError({ source: 'MBv3 graph', expected: 'a valid MBv3 graph', got: v, message: `MBv3 graph is invalid: ${v}` }));
  const ks: number[] = [];
  const e: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < MBV3_SLOTS; i++) {
    const slot = mbv3SlotOf(g.types[i + 1]!)!;
    ks.push(slot.kernel);
    e.push(slot.expand);
    if (i % MBV3_SLOTS_PER_STAGE === MBV3_SLOTS_PER_STAGE - 1) d.push(slot.depth);
  }
  return mbv3ConfigFrom({ ks, e, d });
}
