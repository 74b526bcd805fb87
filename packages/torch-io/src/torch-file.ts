/**
 * `torch.save` files: the zip format (PyTorch ≥ 1.6; `<folder>/data.pkl` + `<folder>/data/<key>`
 * storages + `<folder>/byteorder`) and the legacy format (magic number, protocol version and
 * system-info pickles, the object pickle, the storage-key list, then every storage as an int64
 * element count followed by its bytes). gzip-compressed copies of either are accepted too.
 */
import * as zlib from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, fail, ioError, makeError, type MetaD2AError } from '@metad2a/core';
import { DecodeBudget, defaultMaxDecodedBytes, defaultMaxInflatedBytes } from './budget';
import { readFileBytes } from './file-bytes';
import { BUILTIN_REDUCERS, type Reducer, type UnpickleContext, unpickle } from './pickle';
import { NdArray, NpDType, PyGlobal, PyObject, PyTuple, type PyValue, type TensorData, type TorchDType, TorchStorage, TorchTensor, describeValue, isDict } from './values';
import { looksLikeZip, openZip } from './zip';

export interface PtContents {
  readonly format: 'zip' | 'legacy';
  /** The unpickled object: a state dict (`PyDict`), a list, a tensor, ... */
  readonly root: PyValue;
  readonly protocol: number;
  readonly byteOrder: 'little' | 'big';
  /** Every tensor of the file, in the order the pickle built them. */
  readonly tensors: readonly TorchTensor[];
}

export interface DecodeOptions {
  /** Name for error messages (a path). */
  readonly source?: string;
  /** Check the CRC-32 of every zip entry (default true). */
  readonly verifyCrc?: boolean;
  /** Largest tensor accepted, in elements (default 2^30); larger ones are an error, not an allocation. */
  readonly maxTensorElements?: number;
  /** Largest tensor accepted that has more elements than its storage (an `expand`ed view; default 2^24). */
  readonly maxExpandedElements?: number;
  /**
   * Decoded-size budget for the whole decode, in bytes: every string, byte string, container slot
   * and copy the pickles build, every storage decoded and every tensor copied out of a storage
   * (default 256 MiB + 4 × the input size). Past it: a ParseError naming the budget.
   */
  readonly maxDecodedBytes?: number;
  /**
   * Total-bytes budget for zip entries read and gzip streams inflated (default the larger of
   * 64 MiB and 16 × the input size). Past it: a ParseError naming the budget.
   */
  readonly maxInflatedBytes?: number;
}

/** The two budgets of one decode, made once for the outermost input. */
interface Budgets {
  readonly decoded: DecodeBudget;
  readonly inflated: DecodeBudget;
}

interface StorageInfo {
  readonly elementSize: number;
  readonly dtype: TorchDType;
}

const STORAGE_TYPES: Record<string, StorageInfo> = {
  FloatStorage: { dtype: 'float32', elementSize: 4 },
  DoubleStorage: { dtype: 'float64', elementSize: 8 },
  HalfStorage: { dtype: 'float16', elementSize: 2 },
  BFloat16Storage: { dtype: 'bfloat16', elementSize: 2 },
  LongStorage: { dtype: 'int64', elementSize: 8 },
  IntStorage: { dtype: 'int32', elementSize: 4 },
  ShortStorage: { dtype: 'int16', elementSize: 2 },
  CharStorage: { dtype: 'int8', elementSize: 1 },
  ByteStorage: { dtype: 'uint8', elementSize: 1 },
  BoolStorage: { dtype: 'bool', elementSize: 1 },
  UntypedStorage: { dtype: 'uint8', elementSize: 1 },
};

/** Element size in bytes of a dtype as stored. */
export function elementSize(dtype: TorchDType): number {
  return Object.values(STORAGE_TYPES).find((s) => s.dtype === dtype)!.elementSize;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isNonNegInt(x: PyValue | undefined): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** The values of a storage as a typed array of its `numel` elements (float16/bfloat16 widened). */
function decodeStorage(bytes: Uint8Array, dtype: TorchDType, numel: number, little: boolean): TensorData {
  const es = elementSize(dtype);
  const nbytes = numel * es;
  if (little === HOST_LITTLE && dtype !== 'float16' && dtype !== 'bfloat16' && dtype !== 'bool') {
    const copy = bytes.slice(0, nbytes); // fresh, aligned buffer
    const b = copy.buffer;
    switch (dtype) {
      case 'float32':
        return new Float32Array(b, 0, numel);
      case 'float64':
        return new Float64Array(b, 0, numel);
      case 'int64':
        return new BigInt64Array(b, 0, numel);
      case 'int32':
        return new Int32Array(b, 0, numel);
      case 'int16':
        return new Int16Array(b, 0, numel);
      case 'int8':
        return new Int8Array(b, 0, numel);
      default:
        return copy;
    }
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, nbytes);
  switch (dtype) {
    case 'float32': {
      const o = new Float32Array(numel);
      for (let i = 0; i < numel; i++) o[i] = v.getFloat32(4 * i, little);
      return o;
    }
    case 'float64': {
      const o = new Float64Array(numel);
      for (let i = 0; i < numel; i++) o[i] = v.getFloat64(8 * i, little);
      return o;
    }
    case 'float16': {
      const o = new Float32Array(numel);
      for (let i = 0; i < numel; i++) o[i] = halfToFloat(v.getUint16(2 * i, little));
      return o;
    }
    case 'bfloat16': {
      const o = new Float32Array(numel);
      const bits = new Uint32Array(o.buffer);
      for (let i = 0; i < numel; i++) bits[i] = v.getUint16(2 * i, little) << 16;
      return o;
    }
    case 'int64': {
      const o = new BigInt64Array(numel);
      for (let i = 0; i < numel; i++) o[i] = v.getBigInt64(8 * i, little);
      return o;
    }
    case 'int32': {
      const o = new Int32Array(numel);
      for (let i = 0; i < numel; i++) o[i] = v.getInt32(4 * i, little);
      return o;
    }
    case 'int16': {
      const o = new Int16Array(numel);
      for (let i = 0; i < numel; i++) o[i] = v.getInt16(2 * i, little);
      return o;
    }
    case 'int8':
      return new Int8Array(bytes.slice(0, numel).buffer);
    case 'uint8':
      return bytes.slice(0, numel);
    case 'bool': {
      const o = new Uint8Array(numel);
      for (let i = 0; i < numel; i++) o[i] = bytes[i]! !== 0 ? 1 : 0;
      return o;
    }
  }
}

function emptyLike(a: TensorData, n: number): TensorData {
  return new (a.constructor as new (n: number) => TensorData)(n);
}

/** Tensor reducers and numpy reducers, bound to the storages and tensors of one file. */
function fileReducers(tensors: TorchTensor[], maxElements: number): Map<string, Reducer> {
  const m = new Map<string, Reducer>(BUILTIN_REDUCERS);
  const makeTensor = (ctx: UnpickleContext, storage: PyValue, offset: PyValue, size: PyValue, stride: PyValue, requiresGrad: boolean): TorchTensor => {
    if (!(storage instanceof TorchStorage)) ctx.error('a storage as the first argument of a tensor rebuild', describeValue(storage));
    if (!isNonNegInt(offset)) ctx.error('a non-negative storage offset', describeValue(offset));
    const shape = size instanceof PyTuple ? size.items : ctx.error('a size tuple', describeValue(size));
    const strides = stride instanceof PyTuple ? stride.items : ctx.error('a stride tuple', describeValue(stride));
    if (!shape.every(isNonNegInt)) ctx.error('non-negative integer sizes', describeValue(size));
    if (!strides.every(isNonNegInt) || strides.length !== shape.length)
      ctx.error(`${shape.length} non-negative integer strides`, `${strides.length} (${strides.map((s) => describeValue(s)).join(', ')})`);
    let numel = 1;
    for (const d of shape as number[]) {
      numel *= d;
      if (numel > maxElements) ctx.error(`a tensor of at most ${maxElements} elements`, `shape [${shape.join(', ')}] (absurd size)`);
    }
    const t = new TorchTensor(storage.dtype, shape as number[], requiresGrad, { storage, offset, stride: strides as number[] });
    tensors.push(t);
    return t;
  };
  const v2: Reducer = (args: PyTuple, ctx: UnpickleContext) => {
    const [storage, offset, size, stride, rg] = args.items;
    return makeTensor(ctx, storage!, offset!, size!, stride!, rg === true);
  };
  m.set('torch._utils._rebuild_tensor_v2', v2);
  m.set('torch._utils._rebuild_tensor', v2);
  const parameter: Reducer = (args: PyTuple, ctx: UnpickleContext) => {
    const [data, rg] = args.items;
    if (!(data instanceof TorchTensor)) ctx.error('a tensor inside a Parameter', describeValue(data));
    const i = tensors.indexOf(data);
    if (i >= 0) tensors.splice(i, 1);
    return makeTensor(ctx, data.source.storage, data.source.offset, new PyTuple(data.shape), new PyTuple(data.source.stride), rg === true);
  };
  m.set('torch._utils._rebuild_parameter', parameter);
  m.set('torch._utils._rebuild_parameter_with_state', parameter);
  for (const np of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
    m.set(`${np}._reconstruct`, () => new NdArray());
    m.set(`${np}.scalar`, (args: PyTuple, ctx: UnpickleContext) => numpyScalar(args, ctx) ?? new PyObject(new PyGlobal(np, 'scalar'), args, 'reduce'));
  }
  m.set('numpy.dtype', (args: PyTuple, ctx: UnpickleContext) => {
    const d = args.items[0];
    if (typeof d !== 'string') ctx.error('numpy.dtype(): a type string', describeValue(d));
    return new NpDType(d);
  });
  return m;
}

/** numpy scalar (dtype, raw bytes) → number / bigint / boolean; undefined for other dtypes. */
function numpyScalar(args: PyTuple, ctx: UnpickleContext): PyValue | undefined {
  const [dtype, raw] = args.items;
  if (!(dtype instanceof NpDType)) ctx.error('numpy scalar: a dtype', describeValue(dtype));
  if (!(raw instanceof Uint8Array)) ctx.error('numpy scalar: raw bytes', describeValue(raw));
  const little = dtype.byteOrder !== '>';
  const m = /^([fiub])(\d)$/.exec(dtype.descr.replace(/^[<>|=]/, ''));
  if (!m) return undefined;
  const kind = m[1]!;
  const size = Number(m[2]);
  if (raw.length !== size) ctx.error(`numpy scalar: ${size} bytes for ${dtype.descr}`, String(raw.length));
  const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
  if (kind === 'f' && size === 8) return v.getFloat64(0, little);
  if (kind === 'f' && size === 4) return v.getFloat32(0, little);
  if (kind === 'f' && size === 2) return halfToFloat(v.getUint16(0, little));
  if (kind === 'b' && size === 1) return raw[0] !== 0;
  if (kind === 'i' || kind === 'u') {
    const signed = kind === 'i';
    let b: bigint;
    if (size === 1) b = BigInt(signed ? v.getInt8(0) : v.getUint8(0));
    else if (size === 2) b = BigInt(signed ? v.getInt16(0, little) : v.getUint16(0, little));
    else if (size === 4) b = BigInt(signed ? v.getInt32(0, little) : v.getUint32(0, little));
    else if (size === 8) b = signed ? v.getBigInt64(0, little) : v.getBigUint64(0, little);
    else return undefined;
    return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  return undefined;
}

/** Storage persistent ids: ('storage', torch.XStorage, key, location, numel[, view_metadata]). */
function storageLoader(storages: Map<string, TorchStorage>, legacy: boolean) {
  return (pid: PyValue, ctx: UnpickleContext): PyValue => {
    if (!(pid instanceof PyTuple) || pid.length < 1) ctx.error('a persistent id tuple', describeValue(pid));
    const [kind, type, key, location, numel, view] = pid.items;
    if (kind === 'module' && legacy) return type ?? null; // source of a saved module class: not used
    if (kind !== 'storage' || pid.length < 5) ctx.error("a persistent id ('storage', type, key, location, numel)", describeValue(pid));
    if (!(type instanceof PyGlobal)) ctx.error('a storage type (torch.FloatStorage, ...)', describeValue(type));
    const info = STORAGE_TYPES[type.name];
    if (!info || !/^torch(\.|$)/.test(type.module))
      fail('Unsupported', {
        source: ctx.source,
        field: `persistent id at pickle byte ${ctx.offset}`,
        expected: `a storage type among ${Object.keys(STORAGE_TYPES).join(', ')}`,
        got: type.qualifiedName,
      });
    if (typeof key !== 'string' || key.length === 0 || key.length > 64) ctx.error('a storage key (a short string)', describeValue(key));
    if (!isNonNegInt(numel)) ctx.error('a non-negative storage size', describeValue(numel));
    let root = storages.get(key);
    if (root === undefined) {
      root = new TorchStorage(info.dtype, key, numel, typeof location === 'string' ? location : 'cpu');
      storages.set(key, root);
    } else if (root.dtype !== info.dtype || root.numel !== numel) {
      ctx.error(`storage ${key} declared as ${root.dtype} (${root.numel})`, `${info.dtype} (${numel})`);
    }
    if (legacy && view !== undefined && view !== null) {
      const [, vOffset, vSize] = view instanceof PyTuple ? view.items : ctx.error('view metadata (key, offset, size)', describeValue(view));
      if (!isNonNegInt(vOffset) || !isNonNegInt(vSize) || vOffset + vSize > numel) ctx.error(`a storage view inside ${numel} elements`, describeValue(view));
      return new TorchStorage(info.dtype, key, vSize, root.location, { root, offset: vOffset });
    }
    return root;
  };
}

/** Fill every tensor's data from its storage: bounds checked, non-contiguous layouts copied to row-major. */
function materialise(tensors: readonly TorchTensor[], little: boolean, source: string, maxExpanded: number, budget: DecodeBudget): void {
  const decoded = new Map<TorchStorage, TensorData>();
  const storageValues = (s: TorchStorage): { data: TensorData; base: number } => {
    const root = s.view?.root ?? s;
    let d = decoded.get(root);
    if (!d) {
      if (!root.bytes) fail('ParseError', { source, field: `storage ${root.key}`, expected: 'its data in the file', got: 'no data' });
      budget.charge(root.numel * (root.dtype === 'float16' || root.dtype === 'bfloat16' ? 4 : elementSize(root.dtype)), `storage ${root.key}`);
      d = decodeStorage(root.bytes, root.dtype, root.numel, little);
      decoded.set(root, d);
    }
    return { data: d, base: s.view?.offset ?? 0 };
  };
  tensors.forEach((t, ti) => {
    const { storage, offset, stride } = t.source;
    const shape = t.shape;
    const n = t.numel;
    const { data: sdata, base } = storageValues(storage);
    if (n === 0) {
      t.data = emptyLike(sdata, 0);
      return;
    }
    let maxIndex = offset;
    for (let k = 0; k < shape.length; k++) maxIndex += (shape[k]! - 1) * stride[k]!;
    if (n > storage.numel && n > maxExpanded) {
      // Only zero / overlapping strides make a tensor larger than its storage (`expand`): cap it.
      fail('ParseError', {
        source,
        field: `tensor ${ti} (${t.dtype} [${shape.join(', ')}])`,
        expected: `at most ${maxExpanded} elements for a tensor larger than its storage (${storage.numel})`,
        got: `${n} (absurd size)`,
      });
    }
    if (!Number.isSafeInteger(maxIndex) || maxIndex >= storage.numel) {
      fail('ParseError', {
        source,
        field: `tensor ${ti} (${t.dtype} [${shape.join(', ')}])`,
        expected: `offset ${offset} and strides [${stride.join(', ')}] inside its storage of ${storage.numel} elements`,
        got: `last element at ${maxIndex} (shape/stride out of range)`,
      });
    }
    // Every tensor is its own copy (views of one storage too): count each against the budget.
    budget.charge(n * sdata.BYTES_PER_ELEMENT, `tensor ${ti} (${t.dtype} [${shape.join(', ')}])`);
    // Row-major strides: a contiguous tensor is one slice of the storage.
    let contiguous = true;
    let expect = 1;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (shape[k]! !== 1 && stride[k]! !== expect) contiguous = false;
      expect *= shape[k]!;
    }
    const start = base + offset;
    if (contiguous) {
      t.data = sdata.slice(start, start + n) as TensorData;
      return;
    }
    const out = emptyLike(sdata, n) as TensorData & Record<number, number | bigint>;
    const src = sdata as TensorData & Record<number, number | bigint>;
    const rank = shape.length;
    const idx = new Array<number>(rank).fill(0);
    let p = start;
    for (let i = 0; i < n; i++) {
      out[i] = src[p]!;
      for (let k = rank - 1; k >= 0; k--) {
        idx[k]!++;
        p += stride[k]!;
        if (idx[k]! < shape[k]!) break;
        p -= idx[k]! * stride[k]!;
        idx[k] = 0;
      }
    }
    t.data = out;
  });
}

function decodeZip(bytes: Uint8Array, source: string, opts: DecodeOptions, budgets: Budgets): PtContents {
  const zip = openZip(bytes, source, { verifyCrc: opts.verifyCrc, budget: budgets.inflated });
  const pklName = [...zip.entries.keys()].find((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pklName === undefined)
    fail('ParseError', {
      source,
      field: 'zip entries',
      expected: 'a <folder>/data.pkl record (torch.save zip format)',
      got: [...zip.entries.keys()].slice(0, 5).join(', ') || 'no entries',
    });
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);
  let little = true;
  if (zip.entries.has(`${prefix}byteorder`)) {
    const bo = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (bo !== 'little' && bo !== 'big') fail('ParseError', { source, field: `${prefix}byteorder`, expected: "'little' or 'big'", got: JSON.stringify(bo.slice(0, 20)) });
    little = bo === 'little';
  }
  const storages = new Map<string, TorchStorage>();
  const tensors: TorchTensor[] = [];
  const pkl = zip.read(pklName);
  const { value, protocol, end } = unpickle(pkl, 0, {
    source: `${source}:${pklName}`,
    persistentLoad: storageLoader(storages, false),
    reducers: fileReducers(tensors, opts.maxTensorElements ?? 2 ** 30),
    budget: budgets.decoded,
  });
  if (end !== pkl.length) fail('ParseError', { source, field: pklName, expected: 'nothing after the pickle STOP', got: `${pkl.length - end} more bytes` });
  for (const s of storages.values()) {
    const name = `${prefix}data/${s.key}`;
    if (!zip.entries.has(name)) fail('ParseError', { source, field: name, expected: `the data of storage ${s.key}`, got: 'no such record' });
    const data = zip.read(name);
    const need = s.numel * elementSize(s.dtype);
    if (data.length < need) fail('ParseError', { source, field: name, expected: `${need} bytes (${s.numel} × ${s.dtype})`, got: `${data.length} (storage too short)` });
    s.bytes = data;
  }
  materialise(tensors, little, source, opts.maxExpandedElements ?? 2 ** 24, budgets.decoded);
  return { format: 'zip', root: value, protocol, byteOrder: little ? 'little' : 'big', tensors };
}

function decodeLegacy(bytes: Uint8Array, source: string, opts: DecodeOptions, budgets: Budgets): PtContents {
  const budget = budgets.decoded;
  const magic = unpickle(bytes, 0, { source: `${source} (magic number)`, budget });
  if (magic.value !== LEGACY_MAGIC)
    fail('ParseError', { source, field: 'magic number', expected: `0x${LEGACY_MAGIC.toString(16)} (legacy torch.save)`, got: describeValue(magic.value) });
  const version = unpickle(bytes, magic.end, { source: `${source} (protocol version)`, budget });
  if (version.value !== LEGACY_PROTOCOL_VERSION)
    fail('Unsupported', { source, field: 'protocol version', expected: String(LEGACY_PROTOCOL_VERSION), got: describeValue(version.value) });
  const sys = unpickle(bytes, version.end, { source: `${source} (system info)`, budget });
  let little = true;
  if (isDict(sys.value)) {
    const le = sys.value.get('little_endian');
    if (le === false) little = false;
  } else fail('ParseError', { source, field: 'system info', expected: 'a dict', got: describeValue(sys.value) });
  const storages = new Map<string, TorchStorage>();
  const tensors: TorchTensor[] = [];
  const main = unpickle(bytes, sys.end, { source, persistentLoad: storageLoader(storages, true), reducers: fileReducers(tensors, opts.maxTensorElements ?? 2 ** 30), budget });
  const keys = unpickle(bytes, main.end, { source: `${source} (storage keys)`, budget });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string'))
    fail('ParseError', { source, field: 'storage keys', expected: 'a list of str', got: describeValue(keys.value) });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const s = storages.get(key);
    if (!s) fail('ParseError', { source, field: `storage ${key}`, expected: 'a storage the pickle refers to', got: 'an unknown key' });
    if (pos + 8 > bytes.length) fail('ParseError', { source, field: `storage ${key} size at byte ${pos}`, expected: '8 bytes', got: `${bytes.length - pos} (truncated)` });
    const n = view.getBigInt64(pos, little);
    if (n !== BigInt(s.numel)) fail('ParseError', { source, field: `storage ${key} size at byte ${pos}`, expected: `${s.numel} elements as declared`, got: String(n) });
    pos += 8;
    const nb = s.numel * elementSize(s.dtype);
    if (pos + nb > bytes.length)
      fail('ParseError', { source, field: `storage ${key} at byte ${pos}`, expected: `${nb} bytes`, got: `${bytes.length - pos} (storage too short, truncated file)` });
    s.bytes = bytes.subarray(pos, pos + nb);
    pos += nb;
  }
  for (const s of storages.values())
    if (!s.bytes) fail('ParseError', { source, field: `storage ${s.key}`, expected: 'its data after the pickle', got: 'not listed in the storage keys' });
  materialise(tensors, little, source, opts.maxExpandedElements ?? 2 ** 24, budgets.decoded);
  return { format: 'legacy', root: main.value, protocol: main.protocol, byteOrder: little ? 'little' : 'big', tensors };
}

/** The same memory as a plain Uint8Array (not a Buffer subclass). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function gunzip(bytes: Uint8Array, source: string, budget: DecodeBudget): Uint8Array {
  const limit = Math.min(2 ** 32 - 1, 1032 * bytes.length + (1 << 20), budget.remaining);
  try {
    const out = zlib.gunzipSync(bytes, { maxOutputLength: Math.max(1, limit) });
    budget.charge(out.byteLength, 'gzip stream');
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    if (err instanceof MetaD2AException) throw err;
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return budget.exceeded('gzip stream', limit + 1);
    return fail('ParseError', { source, field: 'gzip stream', expected: 'valid gzip data', got: (err as Error).message });
  }
}

/**
 * Decode the bytes of a `.pt` / `.pth` file (zip or legacy format, optionally gzip-compressed).
 * Throws a MetaD2AException (ParseError, Unsupported, ...) for anything malformed.
 */
export function decodePtSync(input: Uint8Array, opts: DecodeOptions = {}): PtContents {
  const source = opts.source ?? '<bytes>';
  const budgets: Budgets = {
    decoded: new DecodeBudget('decoded-size', opts.maxDecodedBytes ?? defaultMaxDecodedBytes(input.length), source, 'maxDecodedBytes'),
    inflated: new DecodeBudget('inflated-size', opts.maxInflatedBytes ?? defaultMaxInflatedBytes(input.length), source, 'maxInflatedBytes'),
  };
  return decodeWithin(input, opts, budgets);
}

function decodeWithin(input: Uint8Array, opts: DecodeOptions, budgets: Budgets): PtContents {
  const source = opts.source ?? '<bytes>';
  // A Node Buffer's slice() shares memory; work on a plain Uint8Array view so that slice() copies.
  const bytes = plainBytes(input);
  try {
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const inner = gunzip(bytes, source, budgets.inflated);
      if (inner.length >= 2 && inner[0] === 0x1f && inner[1] === 0x8b)
        fail('Unsupported', { source, field: 'gzip stream', expected: 'one level of gzip compression', got: 'gzip inside gzip' });
      // The inflated file is the input the decoded-size budget scales with (it is within the inflated budget).
      const decoded = new DecodeBudget('decoded-size', opts.maxDecodedBytes ?? defaultMaxDecodedBytes(inner.length), source, 'maxDecodedBytes');
      return decodeWithin(inner, { ...opts, source }, { ...budgets, decoded });
    }
    if (looksLikeZip(bytes)) return decodeZip(bytes, source, opts, budgets);
    if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) return decodeLegacy(bytes, source, opts, budgets);
    if (bytes.length >= 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar') {
      return fail('Unsupported', { source, field: 'format', expected: 'the zip or legacy torch.save format', got: 'the pre-1.0 tar format' });
    }
    return fail('ParseError', {
      source,
      field: 'magic number',
      expected: 'a zip archive (PK\\x03\\x04) or a legacy torch.save file (\\x80\\x02 + magic number)',
      got: `bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty file)'}`,
    });
  } catch (err) {
    if (err instanceof MetaD2AException) throw err;
    // A failure the checks above did not foresee: still a named error, marked as internal.
    throw new MetaD2AException(makeError('ParseError', { source, field: 'internal', expected: 'a well-formed file', got: String((err as Error)?.message ?? err), cause: err }));
  }
}

/** {@link decodePtSync} as an Either. */
export function decodePt(bytes: Uint8Array, opts: DecodeOptions = {}): E.Either<MetaD2AError, PtContents> {
  try {
    return E.right(decodePtSync(bytes, opts));
  } catch (err) {
    if (err instanceof MetaD2AException) return E.left(err.error);
    throw err;
  }
}

/** Read and decode a `.pt` file. */
export function readPt(path: string, opts: Omit<DecodeOptions, 'source'> = {}): E.Either<MetaD2AError, PtContents> {
  let bytes: Uint8Array;
  try {
    bytes = readFileBytes(path);
  } catch (err) {
    return E.left(ioError({ source: path, expected: 'a readable file', got: (err as Error).message, cause: err }));
  }
  return decodePt(bytes, { ...opts, source: path });
}

/** {@link readPt}, throwing a MetaD2AException on failure. */
export function readPtSync(path: string, opts: Omit<DecodeOptions, 'source'> = {}): PtContents {
  const r = readPt(path, opts);
  if (E.isLeft(r)) throw new MetaD2AException(r.left);
  return r.right;
}
