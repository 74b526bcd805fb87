/**
 * The values a `.pt` file decodes to. The unpickler builds only these inert data types; it never
 * runs code. A Python object of a class it does not know becomes a {@link PyObject}: a description
 * (class name, constructor arguments, state) that adapters may interpret.
 */

/** Element types of tensors (and of storages) this reader handles. */
export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/**
 * The array a tensor's values come in: float16 / bfloat16 are widened to Float32Array
 * (exactly), bool is a Uint8Array of 0/1, int64 a BigInt64Array.
 */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/**
 * Every value an unpickled file may hold. Python `int`s are `number`s when they fit in a double
 * exactly and `bigint`s otherwise; `float`s are `number`s; `str` is `string`; `bytes` and
 * `bytearray` are `Uint8Array`; `list` is an array; `None` is `null`.
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyObject
  | TorchTensor
  | TorchStorage
  | NdArray
  | NpDType;

/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
  get length(): number {
    return this.items.length;
  }
}

/** Python `set` / `frozenset`. */
export class PySet {
  constructor(
    readonly items: PyValue[],
    readonly frozen: boolean,
  ) {}
}

/**
 * A Python `dict` or `collections.OrderedDict` (both keep insertion order). Keys are compared as
 * JavaScript `Map` keys: strings and numbers by value, tuples and other objects by identity.
 * `attributes` holds an OrderedDict's instance attributes (PyTorch's `_metadata`).
 */
export class PyDict {
  readonly entries = new Map<PyValue, PyValue>();
  readonly attributes = new Map<string, PyValue>();
  constructor(readonly ordered: boolean) {}
  get(key: PyValue): PyValue | undefined {
    return this.entries.get(key);
  }
  has(key: PyValue): boolean {
    return this.entries.has(key);
  }
  keys(): PyValue[] {
    return [...this.entries.keys()];
  }
  get size(): number {
    return this.entries.size;
  }
}

/** A reference to a Python class or function by name (`module.name`), as the pickle names it. Never resolved to code. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * An object of a class the reader does not interpret: which class, the arguments it would have
 * been built from (`REDUCE` / `NEWOBJ`), the state given to `__setstate__` (`BUILD`), and items
 * appended / set on it (list and dict subclasses). Inert: nothing is executed.
 */
export class PyObject {
  state: PyValue | undefined = undefined;
  readonly listItems: PyValue[] = [];
  readonly dictItems: [PyValue, PyValue][] = [];
  constructor(
    readonly cls: PyGlobal,
    readonly args: PyTuple,
    /** How it was created: `reduce` (`cls(*args)`), `newobj` (`cls.__new__(cls, *args)`). */
    readonly via: 'reduce' | 'newobj',
  ) {}
  describe(): string {
    return `<${this.cls.qualifiedName} object (${this.args.length} args${this.state !== undefined ? ', with state' : ''})>`;
  }
}

/** A PyTorch storage: its element type and, once read, its raw bytes. */
export class TorchStorage {
  bytes: Uint8Array | undefined = undefined;
  constructor(
    readonly dtype: TorchDType,
    /** The key of the storage in the file (`data/<key>` in a zip file, the id in a legacy file). */
    readonly key: string,
    /** Number of elements the file declares. */
    readonly numel: number,
    /** Device it was saved from (`cpu`, `cuda:0`); ignored, everything loads on the CPU. */
    readonly location: string,
    /** Legacy view of another storage: offset (elements) into the root storage. */
    readonly view?: { readonly root: TorchStorage; readonly offset: number },
  ) {}
}

/** A tensor decoded into a dense, row-major (C-contiguous) array. */
export class TorchTensor {
  /** Filled when the file's storages have been read (before the decoder returns). */
  data: TensorData = new Float32Array(0);
  constructor(
    readonly dtype: TorchDType,
    readonly shape: readonly number[],
    readonly requiresGrad: boolean,
    /** Where the values come from; kept for inspection. */
    readonly source: { readonly storage: TorchStorage; readonly offset: number; readonly stride: readonly number[] },
  ) {}
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** A numpy dtype (`numpy.dtype('f8')` and its byte order). */
export class NpDType {
  byteOrder = '|';
  constructor(readonly descr: string) {}
}

/** A numpy array (`numpy.core.multiarray._reconstruct`), its raw bytes kept as stored. */
export class NdArray {
  dtype: NpDType | undefined = undefined;
  shape: number[] = [];
  fortranOrder = false;
  /** Raw element bytes, or the items of an object array. */
  raw: Uint8Array | PyValue[] = new Uint8Array(0);
}

export const isTuple = (v: PyValue | undefined): v is PyTuple => v instanceof PyTuple;
export const isDict = (v: PyValue | undefined): v is PyDict => v instanceof PyDict;
export const isTensor = (v: PyValue | undefined): v is TorchTensor => v instanceof TorchTensor;
export const isPyObject = (v: PyValue | undefined): v is PyObject => v instanceof PyObject;
export const isList = (v: PyValue | undefined): v is PyValue[] => Array.isArray(v);

/** Items of a list or tuple, or undefined. */
export function sequenceItems(v: PyValue | undefined): readonly PyValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  return undefined;
}

/** A short description of a value's type, for error messages. */
export function describeValue(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return `bool ${v ? 'True' : 'False'}`;
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'bigint') return v < 2n ** 64n && v > -(2n ** 64n) ? `int ${v}` : `int of ${v.toString(16).replace('-', '').length * 4} bits`;
  if (typeof v === 'string') return `str ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (Array.isArray(v)) return `list (${v.length} items)`;
  if (v instanceof PyTuple) return `tuple (${v.length} items)`;
  if (v instanceof PyDict) return `${v.ordered ? 'OrderedDict' : 'dict'} (${v.size} keys)`;
  if (v instanceof PySet) return `${v.frozen ? 'frozenset' : 'set'} (${v.items.length} items)`;
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof PyObject) return v.describe();
  if (v instanceof TorchTensor) return `tensor ${v.dtype} [${v.shape.join(', ')}]`;
  if (v instanceof TorchStorage) return `storage ${v.dtype} (${v.numel})`;
  if (v instanceof NdArray) return `numpy array ${v.dtype?.descr ?? '?'} [${v.shape.join(', ')}]`;
  return `numpy dtype ${v.descr}`;
}
