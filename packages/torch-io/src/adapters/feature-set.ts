/**
 * `{name}bylabel.pt` (spec §1.2: class index → a one-element list holding the `[N_c, d]` float
 * features of that class) → core {@link FeatureSet}, classes in ascending key order (0..C−1).
 */
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, fail, type ClassFeatures, type FeatureSet, type MetaD2AError } from '@metad2a/core';
import { type DecodeOptions, readPt } from '../torch-file';
import { PyDict, type PyValue, TorchTensor, describeValue, sequenceItems } from '../values';
import { tensorToFloat32 } from './state-dict';

export interface FeatureSetOptions {
  /** Name of the feature set (default: the source). */
  readonly name?: string;
  readonly source?: string;
  /**
   * Only these keys, in this order (e.g. the 0-based feature keys of one meta-training task).
   * Without it every class, keys 0..C−1, which must all be present.
   */
  readonly keys?: readonly number[];
}

function classTensor(v: PyValue | undefined, source: string, field: string): TorchTensor {
  const items = sequenceItems(v);
  const t = items ? items[0] : v;
  if (!(t instanceof TorchTensor) || (items !== undefined && items.length !== 1)) {
    return fail('ParseError', { source, field, expected: 'a one-element list holding a [N, d] tensor (or the tensor)', got: describeValue(v) });
  }
  if (t.shape.length !== 2) fail('ShapeMismatch', { source, field, expected: 'a 2-d tensor [N, d]', got: `[${t.shape.join(', ')}]` });
  return t;
}

/** A decoded `*bylabel.pt` object as a class-contiguous FeatureSet. */
export function featureSetFromByLabel(root: PyValue, opts: FeatureSetOptions = {}): FeatureSet {
  const source = opts.source ?? 'bylabel features';
  if (!(root instanceof PyDict)) return fail('ParseError', { source, field: 'root', expected: 'a dict class index → [features]', got: describeValue(root) });
  let keys: readonly number[];
  if (opts.keys) keys = opts.keys;
  else {
    const ks = root.keys();
    if (!ks.every((k) => typeof k === 'number' && Number.isInteger(k)))
      fail('ParseError', {
        source,
        field: 'keys',
        expected: 'integer class indices',
        got: ks
          .slice(0, 5)
          .map((k) => describeValue(k))
          .join(', '),
      });
    keys = (ks as number[]).slice().sort((a, b) => a - b);
    keys.forEach((k, i) => {
      if (k !== i) fail('ParseError', { source, field: 'keys', expected: `class indices 0..${keys.length - 1}`, got: `${k} at position ${i}` });
    });
  }
  let dim = -1;
  const classes: ClassFeatures[] = keys.map((k) => {
    if (!root.has(k)) return fail('NotFound', { source, field: `class ${k}`, expected: 'a class key present in the file', got: 'no such key' });
    const t = classTensor(root.get(k), source, `class ${k}`);
    const [count, d] = t.shape as [number, number];
    if (dim < 0) dim = d;
    else if (d !== dim) fail('ShapeMismatch', { source, field: `class ${k}`, expected: `feature width ${dim}`, got: String(d) });
    return { label: String(k), count, data: tensorToFloat32(t) };
  });
  if (classes.length === 0) fail('ParseError', { source, field: 'classes', expected: 'at least one class', got: '0' });
  return { name: opts.name ?? source, dim, classes };
}

/** Read a `*bylabel.pt` file into a FeatureSet. */
export function readFeatureSet(path: string, opts: Omit<FeatureSetOptions, 'source'> & Omit<DecodeOptions, 'source'> = {}): E.Either<MetaD2AError, FeatureSet> {
  return E.chain((c: { root: PyValue }) => {
    try {
      return E.right(featureSetFromByLabel(c.root, { ...opts, source: path }));
    } catch (err) {
      if (err instanceof MetaD2AException) return E.left(err.error);
      throw err;
    }
  })(readPt(path, opts));
}
