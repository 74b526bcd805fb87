import { END_TYPE, START_TYPE, edgesInRange, isAcyclic, type ArchGraph } from '@metad2a/core';

/**
 * The generic DAG rules of D-VAE's `is_valid_DAG` (spec §3.2 rules 1–4), in the order the
 * official code checks them. Returns the first rule the graph breaks, or undefined.
 */
export function dagRuleViolation(g: ArchGraph): string | undefined {
  if (!edgesInRange(g)) return 'every edge joins two distinct existing vertices';
  if (!isAcyclic(g)) return 'rule 1: the graph is a DAG (it has a cycle)';
  const n = g.types.length;
  const indeg = new Array<number>(n).fill(0);
  const outdeg = new Array<number>(n).fill(0);
  for (const [s, t] of g.edges) {
    outdeg[s]!++;
    indeg[t]!++;
  }
  const starts = g.types.filter((t) => t === START_TYPE).length;
  const ends = g.types.filter((t) => t === END_TYPE).length;
  if (starts !== 1) return `rule 2: exactly one START vertex (type ${START_TYPE}), found ${starts}`;
  if (ends !== 1) return `rule 2: exactly one END vertex (type ${END_TYPE}), found ${ends}`;
  for (let v = 0; v < n; v++) {
    if (indeg[v] === 0 && g.types[v] !== START_TYPE) return `rule 3: vertex ${v} (type ${g.types[v]}) has in-degree 0 and is not START`;
  }
  for (let v = 0; v < n; v++) {
    if (outdeg[v] === 0 && g.types[v] !== END_TYPE) return `rule 4: vertex ${v} (type ${g.types[v]}) has out-degree 0 and is not END`;
  }
  return undefined;
}

/** D-VAE's `is_valid_DAG`: acyclic, one START, one END, in/out-degree conditions. */
export function isValidDag(g: ArchGraph): boolean {
  return dagRuleViolation(g) === undefined;
}
