/**
 * A safe pickle reader: a small stack machine for protocols 0–5 that builds inert values only.
 * Globals are looked up in a fixed table of known constructors (OrderedDict, tensor rebuilders,
 * numpy scalars and arrays, `_codecs.encode`); every other global becomes a described
 * {@link PyObject}. Nothing is imported or executed. Every read is bounds-checked and every
 * malformed input ends in a named {@link MetaD2AException} (ParseError or Unsupported).
 */
import { fail } from '@metad2a/core';
import { DecodeBudget, REFERENCE_BYTES, defaultMaxDecodedBytes } from './budget';
import { NdArray, NpDType, PyDict, PyGlobal, PyObject, PySet, PyTuple, type PyValue, TorchStorage, describeValue, sequenceItems } from './values';

/** What a known global turns into when it is called. */
export type Reducer = (args: PyTuple, ctx: UnpickleContext) => PyValue;

export interface UnpickleContext {
  readonly source: string;
  /** Byte offset of the opcode being executed (for error messages). */
  readonly offset: number;
  error(expected: string, got?: string): never;
  /** Charge `bytes` of copying or building to the decode's budget (a named error past it). */
  charge(bytes: number): void;
}

export interface UnpickleOptions {
  /** Name of the file (or part of a file) being read, for error messages. */
  readonly source: string;
  /** Resolve a persistent id (PyTorch storages). Without it a persistent id is an error. */
  readonly persistentLoad?: (pid: PyValue, ctx: UnpickleContext) => PyValue;
  /** Known callables by `module.name`; others become inert {@link PyObject}s. */
  readonly reducers?: ReadonlyMap<string, Reducer>;
  /** The decoded-size budget shared by every pickle of one file (default: {@link defaultMaxDecodedBytes} of the input). */
  readonly budget?: DecodeBudget;
}

export interface UnpickleResult {
  readonly value: PyValue;
  /** Offset just past the STOP opcode. */
  readonly end: number;
  /** Protocol from the PROTO opcode (0 when absent). */
  readonly protocol: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function intValue(b: bigint): number | bigint {
  return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : b;
}

/** Python 3.11's limit on decimal int conversion (sys.int_info.str_digits_check_threshold = 4300). */
const MAX_DECIMAL_DIGITS = 4300;

/**
 * Little-endian two's complement integer of `bytes` (LONG1 / LONG4), in linear time: one hex
 * string parsed by BigInt (a byte-at-a-time shift-or is quadratic in the length).
 */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  if (bytes.length <= 6) {
    let v = 0;
    for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
    return bytes[bytes.length - 1]! & 0x80 ? v - 2 ** (8 * bytes.length) : v;
  }
  const bigEndian = Buffer.from(bytes).reverse();
  let v = BigInt(`0x${bigEndian.toString('hex')}`);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return intValue(v);
}

/** Builtins and standard-library callables whose effect is plain data. */
function builtinReducers(): Map<string, Reducer> {
  const m = new Map<string, Reducer>();
  const orderedDict: Reducer = (args: PyTuple, ctx: UnpickleContext) => {
    const d = new PyDict(true);
    const init = args.items[0];
    if (init !== undefined && init !== null) {
      const items = Array.isArray(init) ? init : init instanceof PyTuple ? init.items : ctx.error('OrderedDict(): a list of pairs', describeValue(init));
      ctx.charge(2 * REFERENCE_BYTES * items.length);
      for (const kv of items) {
        if (!(kv instanceof PyTuple) || kv.length !== 2) ctx.error('OrderedDict(): (key, value) pairs', describeValue(kv));
        d.entries.set(kv.items[0]!, kv.items[1]!);
      }
    }
    return d;
  };
  m.set('collections.OrderedDict', orderedDict);
  for (const mod of ['builtins', '__builtin__']) {
    const setOf =
      (frozen: boolean): Reducer =>
      (args: PyTuple, ctx: UnpickleContext) => {
        const a = args.items[0];
        const items = a === undefined ? [] : (sequenceItems(a) ?? (a instanceof PySet ? a.items : ctx.error('set(): a list or tuple', describeValue(a))));
        ctx.charge(REFERENCE_BYTES * items.length);
        return new PySet(items.slice(), frozen);
      };
    m.set(`${mod}.set`, setOf(false));
    m.set(`${mod}.frozenset`, setOf(true));
    m.set(`${mod}.bytearray`, (args: PyTuple, ctx: UnpickleContext) => {
      const a = args.items[0];
      if (a === undefined) return new Uint8Array(0);
      // Shared, not copied: nothing mutates decoded values, and a memoised buffer referenced
      // thousands of times would otherwise be copied thousands of times.
      if (a instanceof Uint8Array) return a;
      if (typeof a === 'string') return latinBytes(a, ctx);
      if (Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 256)) {
        ctx.charge(a.length);
        return Uint8Array.from(a as number[]);
      }
      return ctx.error('bytearray(): bytes, a latin-1 str or a list of byte values', describeValue(a));
    });
  }
  m.set('_codecs.encode', (args: PyTuple, ctx: UnpickleContext) => {
    const [s, enc] = args.items;
    if (typeof s !== 'string') ctx.error('_codecs.encode(): a str', describeValue(s));
    const e = typeof enc === 'string' ? enc.toLowerCase().replace('_', '-') : 'utf-8';
    if (e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1') return latinBytes(s, ctx);
    ctx.charge(s.length);
    if (e === 'utf-8' || e === 'utf8') return new TextEncoder().encode(s);
    return ctx.error("_codecs.encode(): encoding 'latin1' or 'utf-8'", String(enc));
  });
  return m;
}

function latinBytes(s: string, ctx: UnpickleContext): Uint8Array {
  ctx.charge(s.length);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) ctx.error('a latin-1 string', `character code ${c}`);
    out[i] = c;
  }
  return out;
}

export const BUILTIN_REDUCERS: ReadonlyMap<string, Reducer> = builtinReducers();

/** Decode a Python-repr'd string of a protocol-0 STRING opcode (`'abc'`, with backslash escapes). */
function decodeReprString(line: string, ctx: UnpickleContext): Uint8Array {
  const q = line[0];
  if (line.length < 2 || (q !== "'" && q !== '"') || line[line.length - 1] !== q) ctx.error('a quoted string', JSON.stringify(line.slice(0, 40)));
  const body = line.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out.push(body.charCodeAt(i) & 0xff);
      continue;
    }
    const n = body[++i];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
    if (n === 'x') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) ctx.error('a \\xNN escape', h);
      out.push(parseInt(h, 16));
      i += 2;
    } else if (n !== undefined && n in simple) out.push(simple[n]!);
    else ctx.error('a known escape', `\\${n ?? ''}`);
  }
  return Uint8Array.from(out);
}

/** Decode `raw-unicode-escape` (protocol-0 UNICODE): `\uXXXX` / `\UXXXXXXXX` escapes, latin-1 otherwise. */
function decodeRawUnicodeEscape(s: string, ctx: UnpickleContext): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) => {
    const cp = parseInt((a ?? b)!, 16);
    if (cp > 0x10ffff) ctx.error('a unicode code point', `0x${cp.toString(16)}`);
    return String.fromCodePoint(cp);
  });
}

const OPNAMES: Record<number, string> = {};

/**
 * Run the pickle program in `bytes` starting at `start` until STOP. Throws a MetaD2AException
 * (ParseError / Unsupported) for anything malformed; never loops without consuming input.
 */
export function unpickle(bytes: Uint8Array, start: number, opts: UnpickleOptions): UnpickleResult {
  const { source } = opts;
  const reducers = opts.reducers ?? BUILTIN_REDUCERS;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let pos = start;
  let opPos = start;
  let protocol = 0;
  const stack: PyValue[] = [];
  const marks: number[] = [];
  // Memo indices are dense (0, 1, 2, ...) in practice: an array, with a Map for out-of-order ones.
  const memo: PyValue[] = [];
  const bigMemo = new Map<number, PyValue>();
  let memoCount = 0;
  const budget = opts.budget ?? new DecodeBudget('decoded-size', defaultMaxDecodedBytes(bytes.length), source, 'maxDecodedBytes');

  const ctx: UnpickleContext = {
    source,
    get offset() {
      return opPos;
    },
    error(expected: string, got?: string): never {
      return fail('ParseError', { source, field: `pickle byte ${opPos} (${OPNAMES[bytes[opPos] ?? -1] ?? 'opcode'})`, expected, got });
    },
    charge(n: number): void {
      budget.charge(n, `pickle byte ${opPos} (${OPNAMES[bytes[opPos] ?? -1] ?? 'opcode'})`);
    },
  };
  const charge = ctx.charge;
  const err: (expected: string, got?: string) => never = ctx.error;

  const need = (n: number): void => {
    if (!Number.isFinite(n) || n < 0 || pos + n > end)
      fail('ParseError', { source, field: `pickle byte ${opPos}`, expected: `${n} more bytes`, got: `${end - pos} left (truncated or absurd length)` });
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(end)) err('a length within the file', String(v));
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    charge(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const nl = bytes.indexOf(10, pos);
    if (nl < 0) err('a newline-terminated argument', 'end of data');
    const s = latin1.decode(bytes.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const floor = (): number => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const pop = (): PyValue => {
    if (stack.length <= floor()) err('a value on the stack', 'stack underflow');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length <= floor()) err('a value on the stack', 'stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) err('a MARK before this opcode', 'no MARK');
    charge(REFERENCE_BYTES * (stack.length - m));
    return stack.splice(m);
  };
  const memoGet = (i: number): PyValue => {
    const v = i < memo.length ? memo[i] : bigMemo.get(i);
    if (v === undefined) err(`memo entry ${i}`, 'an unset memo index');
    return v;
  };
  const memoPut = (i: number): void => {
    if (!Number.isSafeInteger(i) || i < 0) err('a non-negative memo index', String(i));
    const v = top();
    if (i < memo.length) memo[i] = v;
    else if (i === memo.length && bigMemo.has(i)) {
      bigMemo.delete(i);
      memo.push(v);
    } else if (i === memo.length) {
      if (!bigMemo.has(i)) memoCount++;
      memo.push(v);
    } else {
      // an index beyond the dense range (pickles number their memo entries 0, 1, 2, ...)
      if (!bigMemo.has(i)) memoCount++;
      bigMemo.set(i, v);
    }
  };
  /** UTF-8 text of the next n bytes; a fast path for short ASCII strings (most keys). */
  const text = (n: number): string => {
    need(n);
    charge(n);
    if (n <= 32) {
      let ascii = true;
      for (let i = pos; i < pos + n; i++) if (bytes[i]! >= 0x80) ascii = false;
      if (ascii) {
        let out = '';
        for (let i = pos; i < pos + n; i++) out += String.fromCharCode(bytes[i]!);
        pos += n;
        return out;
      }
    }
    const s = utf8.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const parseIntLine = (s: string): number | bigint => {
    const t = s.trim().replace(/L$/, '');
    if (!/^[+-]?\d+$/.test(t)) err('a decimal integer', JSON.stringify(s.slice(0, 40)));
    // Decimal → BigInt is superlinear; Python itself refuses longer conversions.
    if (t.length > MAX_DECIMAL_DIGITS) err(`a decimal integer of at most ${MAX_DECIMAL_DIGITS} digits`, `${t.length} digits`);
    return intValue(BigInt(t));
  };
  const findClass = (module: string, name: string): PyGlobal => {
    if (module.length > 1000 || name.length > 1000) err('a module and name of reasonable length', `${module.length} + ${name.length} characters`);
    return new PyGlobal(module, name);
  };
  const call = (callable: PyValue, args: PyValue, via: 'reduce' | 'newobj'): PyValue => {
    if (!(callable instanceof PyGlobal)) err('a class or function (a global) to call', describeValue(callable));
    if (!(args instanceof PyTuple)) err('an argument tuple', describeValue(args));
    const r = reducers.get(callable.qualifiedName);
    if (r) return r(args, ctx);
    return new PyObject(callable, args, via);
  };
  const setItems = (target: PyValue, kv: PyValue[]): void => {
    if (kv.length % 2 !== 0) err('key/value pairs', `${kv.length} values`);
    charge(REFERENCE_BYTES * kv.length);
    if (target instanceof PyDict) for (let i = 0; i < kv.length; i += 2) target.entries.set(kv[i]!, kv[i + 1]!);
    else if (target instanceof PyObject) for (let i = 0; i < kv.length; i += 2) target.dictItems.push([kv[i]!, kv[i + 1]!]);
    else err('a dict to set items on', describeValue(target));
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    charge(REFERENCE_BYTES * items.length);
    if (Array.isArray(target)) for (const x of items) target.push(x);
    else if (target instanceof PyObject) for (const x of items) target.listItems.push(x);
    else err('a list to append to', describeValue(target));
  };
  const build = (obj: PyValue, state: PyValue): void => {
    if (obj instanceof PyObject) {
      obj.state = state;
    } else if (obj instanceof PyDict) {
      // OrderedDict with instance attributes: state is {attr: value} or (None, {attr: value}).
      const parts = state instanceof PyTuple ? state.items : [state];
      for (const p of parts) {
        if (p === null) continue;
        if (!(p instanceof PyDict)) err('a dict of attributes for BUILD on a dict', describeValue(p));
        for (const [k, v] of p.entries) {
          if (typeof k !== 'string') err('attribute names (str)', describeValue(k));
          obj.attributes.set(k, v);
        }
      }
    } else if (obj instanceof NpDType) {
      const items = state instanceof PyTuple ? state.items : undefined;
      if (items && typeof items[1] === 'string') obj.byteOrder = items[1];
    } else if (obj instanceof NdArray) {
      const items = state instanceof PyTuple ? state.items : err('numpy array state (version, shape, dtype, fortran, data)', describeValue(state));
      const [, shape, dtype, fortran, raw] = items.length === 5 ? items : [undefined, ...items];
      const dims = shape instanceof PyTuple ? shape.items : err('a numpy shape tuple', describeValue(shape));
      if (!dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) err('non-negative integer dimensions', describeValue(shape));
      if (!(dtype instanceof NpDType)) err('a numpy dtype', describeValue(dtype));
      obj.shape = dims as number[];
      obj.dtype = dtype;
      obj.fortranOrder = fortran === true;
      if (raw instanceof Uint8Array) obj.raw = raw;
      else if (typeof raw === 'string') obj.raw = latinBytes(raw, ctx);
      else if (Array.isArray(raw)) obj.raw = raw;
      else err('numpy array data (bytes or a list)', describeValue(raw));
    } else if (obj instanceof TorchStorage || obj === null) {
      err('an object that accepts state', describeValue(obj));
    } else {
      // Tensors (`_rebuild_parameter_with_state`), plain containers: keep the value, ignore state.
      if (typeof obj !== 'object') err('an object that accepts state', describeValue(obj));
    }
  };

  for (;;) {
    opPos = pos;
    if (pos >= end) err('STOP', 'end of data (truncated pickle)');
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        protocol = u8();
        if (protocol > 5) fail('Unsupported', { source, field: `pickle byte ${opPos}`, expected: 'pickle protocol 0–5', got: String(protocol) });
        break;
      case 0x95: // FRAME
        need(8);
        u64();
        break;
      case 0x2e: // STOP '.'
        if (stack.length !== 1 || marks.length !== 0) err('exactly one value on the stack at STOP', `${stack.length} values, ${marks.length} open marks`);
        return { value: stack[0]!, end: pos, protocol };
      case 0x28: // MARK '('
        marks.push(stack.length);
        break;
      case 0x30: // POP '0'
        if (stack.length > floor()) stack.pop();
        else if (marks.length > 0 && stack.length === floor())
          marks.pop(); // POP of a MARK
        else err('a value on the stack', 'stack underflow');
        break;
      case 0x31: // POP_MARK '1'
        popMark();
        break;
      case 0x32: // DUP '2'
        stack.push(top());
        break;
      // ---- constants and numbers
      case 0x4e: // NONE 'N'
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1 'K'
        stack.push(u8());
        break;
      case 0x4d: // BININT2 'M'
        stack.push(u16());
        break;
      case 0x4a: // BININT 'J'
        stack.push(i32());
        break;
      case 0x8a: {
        // LONG1
        const n = u8();
        stack.push(decodeLong(take(n)));
        break;
      }
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) err('a non-negative LONG4 length', String(n));
        // V8's BigInt holds at most 2^30 bits.
        if (n > 2 ** 26) fail('Unsupported', { source, field: `pickle byte ${opPos} (LONG4)`, expected: `an integer of at most ${2 ** 26} bytes`, got: `${n} bytes` });
        stack.push(decodeLong(take(n)));
        break;
      }
      case 0x49: {
        // INT 'I'
        const s = line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else stack.push(parseIntLine(s));
        break;
      }
      case 0x4c: // LONG 'L'
        stack.push(parseIntLine(line()));
        break;
      case 0x46: {
        // FLOAT 'F'
        const s = line().trim();
        const v = Number(s);
        if (s === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(s))) err('a float literal', JSON.stringify(s.slice(0, 40)));
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT 'G' (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      // ---- strings and bytes
      case 0x58: // BINUNICODE 'X'
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x56: // UNICODE 'V'
        stack.push(decodeRawUnicodeEscape(line(), ctx));
        break;
      case 0x54: {
        // BINSTRING 'T' (Python 2 str; decoded as latin-1)
        const n = i32();
        if (n < 0) err('a non-negative BINSTRING length', String(n));
        stack.push(latin1.decode(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING 'U'
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x53: // STRING 'S'
        stack.push(latin1.decode(decodeReprString(line().trim(), ctx)));
        break;
      case 0x42: // BINBYTES 'B'
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      // biome-ignore lint/suspicious/noFallthroughSwitchClause: fail() never returns
      case 0x97: // NEXT_BUFFER
        fail('Unsupported', { source, field: `pickle byte ${opPos}`, expected: 'in-band data', got: 'an out-of-band buffer (NEXT_BUFFER)' });
      // falls through (fail never returns)
      case 0x98: // READONLY_BUFFER
        top();
        break;
      // ---- containers
      case 0x29: // EMPTY_TUPLE ')'
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE 't'
        stack.push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST ']'
        stack.push([]);
        break;
      case 0x6c: // LIST 'l'
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND 'a'
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS 'e'
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT '}'
        stack.push(new PyDict(false));
        break;
      case 0x64: {
        // DICT 'd'
        const d = new PyDict(false);
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM 's'
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS 'u'
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new PySet([], false));
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) err('a set to add items to', describeValue(s));
        charge(REFERENCE_BYTES * items.length);
        for (const x of items) s.items.push(x);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new PySet(popMark(), true));
        break;
      // ---- memo
      case 0x67: // GET 'g'
        stack.push(memoGet(Number(parseIntLine(line()))));
        break;
      case 0x68: // BINGET 'h'
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET 'j'
        stack.push(memoGet(u32()));
        break;
      case 0x70: // PUT 'p'
        memoPut(Number(parseIntLine(line())));
        break;
      case 0x71: // BINPUT 'q'
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memoCount);
        break;
      // ---- globals, objects
      case 0x63: {
        // GLOBAL 'c'
        const module = line();
        const name = line();
        stack.push(findClass(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') err('module and name strings', `${describeValue(module)}, ${describeValue(name)}`);
        stack.push(findClass(module, name));
        break;
      }
      case 0x52: {
        // REDUCE 'R'
        const args = pop();
        const f = pop();
        stack.push(call(f, args, 'reduce'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, 'newobj'));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs: not passed to inert objects
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, 'newobj'));
        break;
      }
      case 0x6f: {
        // OBJ 'o'
        const items = popMark();
        if (items.length === 0) err('a class after MARK', 'nothing');
        stack.push(call(items[0]!, new PyTuple(items.slice(1)), 'newobj'));
        break;
      }
      case 0x69: {
        // INST 'i'
        const module = line();
        const name = line();
        const items = popMark();
        stack.push(call(findClass(module, name), new PyTuple(items), 'newobj'));
        break;
      }
      case 0x62: {
        // BUILD 'b'
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x50: {
        // PERSID 'P'
        const pid = line();
        if (!opts.persistentLoad) err('no persistent ids', 'PERSID');
        stack.push(opts.persistentLoad(pid, ctx));
        break;
      }
      case 0x51: {
        // BINPERSID 'Q'
        const pid = pop();
        if (!opts.persistentLoad) err('no persistent ids', 'BINPERSID');
        stack.push(opts.persistentLoad(pid, ctx));
        break;
      }
      case 0x82:
      case 0x83:
      // biome-ignore lint/suspicious/noFallthroughSwitchClause: fail() never returns
      case 0x84:
        fail('Unsupported', { source, field: `pickle byte ${opPos}`, expected: 'no copyreg extension codes', got: `EXT${op === 0x82 ? 1 : op === 0x83 ? 2 : 4}` });
      // falls through (fail never returns)
      default:
        err('a pickle opcode', `unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

// Opcode names for error messages.
Object.assign(OPNAMES, {
  0x80: 'PROTO',
  0x95: 'FRAME',
  0x2e: 'STOP',
  0x28: 'MARK',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x4e: 'NONE',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x4b: 'BININT1',
  0x4d: 'BININT2',
  0x4a: 'BININT',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x47: 'BINFLOAT',
  0x58: 'BINUNICODE',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x56: 'UNICODE',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x53: 'STRING',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8e: 'BINBYTES8',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x29: 'EMPTY_TUPLE',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x74: 'TUPLE',
  0x5d: 'EMPTY_LIST',
  0x6c: 'LIST',
  0x61: 'APPEND',
  0x65: 'APPENDS',
  0x7d: 'EMPTY_DICT',
  0x64: 'DICT',
  0x73: 'SETITEM',
  0x75: 'SETITEMS',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x67: 'GET',
  0x68: 'BINGET',
  0x6a: 'LONG_BINGET',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x94: 'MEMOIZE',
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x6f: 'OBJ',
  0x69: 'INST',
  0x62: 'BUILD',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
});
