/**
 * igraph `Graph` objects as MetaD2A's data files pickle them (`Graph.__reduce__` →
 * `igraph.Graph(n, edges, directed, graph_attrs, vertex_attrs, edge_attrs)`) → core `ArchGraph`:
 * vertex types from the vertex attribute `type`, edges in insertion order.
 */
import { fail, type ArchGraph, type Edge } from '@metad2a/core';
import { PyDict, PyObject, type PyValue, TorchTensor, describeValue, sequenceItems } from '../values';

/** True for the inert description of a pickled `igraph.Graph`. */
export function isIGraph(v: PyValue | undefined): v is PyObject {
  return v instanceof PyObject && v.cls.module === 'igraph' && v.cls.name === 'Graph';
}

/** A vertex type: an int, or a 0-d / one-element tensor holding an integral value (MBv3 files store float tensors). */
function typeValue(v: PyValue, source: string, field: string): number {
  let x: number | undefined;
  if (typeof v === 'number') x = v;
  else if (v instanceof TorchTensor && v.numel === 1) x = Number(v.data[0]!);
  if (x === undefined || !Number.isInteger(x) || x < 0) return fail('ParseError', { source, field, expected: 'a non-negative integer vertex type', got: describeValue(v) });
  return x;
}

/** Decode a pickled igraph Graph. `source` names the file/record in errors. */
export function archGraphFromIGraph(v: PyValue | undefined, source: string): ArchGraph {
  if (!isIGraph(v)) return fail('ParseError', { source, expected: 'an igraph.Graph', got: describeValue(v) });
  const [n, edges, , , vattrs] = v.args.items;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1_000_000)
    fail('ParseError', { source, field: 'igraph vertex count', expected: 'a non-negative integer', got: describeValue(n) });
  const edgeItems = sequenceItems(edges) ?? fail('ParseError', { source, field: 'igraph edges', expected: 'a list of (source, target)', got: describeValue(edges) });
  const out: Edge[] = edgeItems.map((e, i) => {
    const st = sequenceItems(e);
    const [s, t] = st ?? [];
    if (st?.length !== 2 || typeof s !== 'number' || typeof t !== 'number' || !Number.isInteger(s) || !Number.isInteger(t) || s < 0 || t < 0 || s >= n || t >= n) {
      return fail('ParseError', { source, field: `igraph edge ${i}`, expected: `a pair of vertex ids < ${n}`, got: describeValue(e) });
    }
    return [s, t] as const;
  });
  if (!(vattrs instanceof PyDict)) return fail('ParseError', { source, field: 'igraph vertex attributes', expected: 'a dict', got: describeValue(vattrs) });
  const types = sequenceItems(vattrs.get('type'));
  if (!types || types.length !== n)
    fail('ParseError', { source, field: "igraph vertex attribute 'type'", expected: `a list of ${n} types`, got: describeValue(vattrs.get('type')) });
  return { types: types.map((t, i) => typeValue(t, source, `type of vertex ${i}`)), edges: out };
}
