/**
 * State dicts → {@link NamedArrays}: official parameter names → float32 arrays with their shapes,
 * what `ParameterStore.load` / `HasParameters.loadParameters` take.
 */
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, fail, type MetaD2AError, type NamedArray } from '@metad2a/core';
import { type DecodeOptions, readPt } from '../torch-file';
import { PyDict, type PyValue, type TensorData, TorchTensor, describeValue } from '../values';

export interface StateDictOptions {
  /** Keep only names starting with this prefix, and strip it (`net0.` → official names). */
  readonly prefix?: string;
  /**
   * Integer and bool tensors (BatchNorm `num_batches_tracked`, int64): `'convert'` them to
   * float32 like the others (default) or `'skip'` them (no model here has integer parameters).
   */
  readonly integerTensors?: 'convert' | 'skip';
  /** Name for error messages. */
  readonly source?: string;
}

/** Values of any tensor as float32 (float64 rounded, integers converted, bool as 0/1). */
export function tensorToFloat32(t: TorchTensor): Float32Array {
  const d: TensorData = t.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array) {
    const o = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) o[i] = Number(d[i]!);
    return o;
  }
  return Float32Array.from(d as ArrayLike<number>);
}

const isFloat = (t: TorchTensor): boolean => t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bfloat16';

/** The dict holding the tensors: the root itself, or a checkpoint's `state_dict` / `model` entry. */
function findStateDict(root: PyValue, source: string): PyDict {
  if (!(root instanceof PyDict)) return fail('ParseError', { source, field: 'root', expected: 'a state dict (a dict of tensors)', got: describeValue(root) });
  for (const k of ['state_dict', 'model_state_dict', 'model']) {
    const inner = root.get(k);
    if (inner instanceof PyDict && [...inner.entries.values()].some((v) => v instanceof TorchTensor)) return inner;
  }
  return root;
}

/** A decoded state dict as official name → float32 {@link NamedArray}. Non-tensor entries are an error naming the key. */
export function stateDictToNamedArrays(root: PyValue, opts: StateDictOptions = {}): Record<string, NamedArray> {
  const source = opts.source ?? 'state dict';
  const prefix = opts.prefix ?? '';
  const dict = findStateDict(root, source);
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of dict.entries) {
    if (typeof k !== 'string') fail('ParseError', { source, field: `key ${describeValue(k)}`, expected: 'parameter names (str)', got: describeValue(k) });
    if (!k.startsWith(prefix)) continue;
    if (!(v instanceof TorchTensor)) fail('ParseError', { source, field: k, expected: 'a tensor', got: describeValue(v) });
    if (!isFloat(v) && (opts.integerTensors ?? 'convert') === 'skip') continue;
    out[k.slice(prefix.length)] = { shape: [...v.shape], data: tensorToFloat32(v) };
  }
  return out;
}

/** Read a `.pt` state dict (e.g. `ckpt_400.pt`, `ckpt_max_corr.pt`) into named float32 arrays. */
export function readStateDict(path: string, opts: Omit<StateDictOptions, 'source'> & Omit<DecodeOptions, 'source'> = {}): E.Either<MetaD2AError, Record<string, NamedArray>> {
  return E.chain((c: { root: PyValue }) => {
    try {
      return E.right(stateDictToNamedArrays(c.root, { ...opts, source: path }));
    } catch (err) {
      if (err instanceof MetaD2AException) return E.left(err.error);
      throw err;
    }
  })(readPt(path, opts));
}

/** {@link readStateDict}, throwing a MetaD2AException on failure. */
export function readStateDictSync(path: string, opts: Omit<StateDictOptions, 'source'> & Omit<DecodeOptions, 'source'> = {}): Record<string, NamedArray> {
  const r = readStateDict(path, opts);
  if (E.isLeft(r)) throw new MetaD2AException(r.left);
  return r.right;
}
