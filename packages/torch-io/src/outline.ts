import { NdArray, PyDict, PyObject, PySet, PyTuple, type PyValue, describeValue } from './values';

export interface OutlineOptions {
  /** Nesting levels shown (default 3). */
  readonly maxDepth?: number;
  /** Entries shown per container (default 8). */
  readonly maxItems?: number;
}

/**
 * A readable, bounded outline of a decoded value (for looking inside an unknown `.pt` file):
 * one line per entry, containers up to `maxDepth` levels and `maxItems` entries, cycles marked.
 */
export function outline(value: PyValue, opts: OutlineOptions = {}): string {
  const maxDepth = opts.maxDepth ?? 3;
  const maxItems = opts.maxItems ?? 8;
  const lines: string[] = [];
  const open = new Set<object>();
  const walk = (v: PyValue, label: string, depth: number): void => {
    const pad = '  '.repeat(depth);
    lines.push(`${pad}${label}${describeValue(v)}`);
    if (depth >= maxDepth || v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof NdArray) return;
    if (open.has(v)) {
      lines.push(`${pad}  (cycle)`);
      return;
    }
    let entries: [string, PyValue][] = [];
    if (Array.isArray(v)) entries = v.slice(0, maxItems).map((x, i) => [`[${i}] `, x]);
    else if (v instanceof PyTuple) entries = v.items.slice(0, maxItems).map((x, i) => [`(${i}) `, x]);
    else if (v instanceof PySet) entries = v.items.slice(0, maxItems).map((x) => ['- ', x]);
    else if (v instanceof PyDict) entries = [...v.entries].slice(0, maxItems).map(([k, x]) => [`${typeof k === 'string' ? k : describeValue(k)}: `, x]);
    else if (v instanceof PyObject)
      entries = [
        ...v.args.items.slice(0, maxItems).map((x, i): [string, PyValue] => [`arg ${i}: `, x]),
        ...(v.state !== undefined ? [['state: ', v.state] as [string, PyValue]] : []),
      ];
    const total = Array.isArray(v) ? v.length : v instanceof PyTuple || v instanceof PySet ? v.items.length : v instanceof PyDict ? v.size : entries.length;
    open.add(v);
    for (const [l, x] of entries) walk(x, l, depth + 1);
    open.delete(v);
    if (total > entries.length && !(v instanceof PyObject)) lines.push(`${pad}  … ${total - entries.length} more`);
  };
  walk(value, '', 0);
  return lines.join('\n');
}
