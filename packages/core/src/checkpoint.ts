import * as fs from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { writeFileAtomicSync } from './atomic-file';
import { type MetaD2AError, MetaD2AException, ioError, makeError, parseError, shapeMismatch } from './errors';
import type { NamedArray, NamedArrays } from './models';

/**
 * The checkpoint format of every package: one file holding named float32 tensors and a JSON
 * manifest (model config, step, optimizer and RNG state, anything JSON).
 *
 * Layout (little-endian):
 *   bytes 0–7   ASCII `MD2ACKPT`
 *   bytes 8–11  uint32 format version (1)
 *   bytes 12–15 uint32 byte length H of the header
 *   H bytes     UTF-8 JSON `{ format, meta, tensors: [{ name, shape, offset, length }] }`
 *   zero padding to a multiple of 8, then the tensor data: float32, C order, `offset` in bytes
 *   from the start of the data section, `length` in elements.
 *
 * Files are written atomically (temporary file + rename): a crash never leaves a partial checkpoint.
 */
export const CHECKPOINT_MAGIC = 'MD2ACKPT';
export const CHECKPOINT_VERSION = 1;

export interface Checkpoint {
  /** Anything JSON: `config`, `step`, `epoch`, `lr`, `rng` state, optimizer hyper-parameters, ... */
  readonly meta: Readonly<Record<string, unknown>>;
  /** Model parameters and optimizer slots (e.g. `adam.m/<name>`), by name. */
  readonly tensors: NamedArrays;
}

interface HeaderEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function validateShape(name: string, a: NamedArray, source: string): void {
  if (!(a.data instanceof Float32Array)) throw new MetaD2AException(parseError({ source, field: name, expected: 'a Float32Array', got: Object.prototype.toString.call(a.data) }));
  if (!a.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new MetaD2AException(shapeMismatch({ source, field: name, expected: 'non-negative integer dimensions', got: JSON.stringify(a.shape) }));
  if (numel(a.shape) !== a.data.length) throw new MetaD2AException(shapeMismatch({ source, field: name, expected: `${numel(a.shape)} values for shape [${a.shape.join(', ')}]`, got: `${a.data.length}` }));
}

/** Write a checkpoint atomically. Every tensor is checked as it is written; on error nothing is replaced. */
export function saveCheckpointSync(file: string, ckpt: Checkpoint): void {
  const names = Object.keys(ckpt.tensors);
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const name of names) {
    const a = ckpt.tensors[name]!;
    const length = a.data?.length ?? 0;
    entries.push({ name, shape: [...a.shape], offset, length });
    offset += length * 4;
  }
  const header = Buffer.from(JSON.stringify({ format: 'metad2a-checkpoint/1', meta: ckpt.meta, tensors: entries }), 'utf8');
  const pre = 16 + header.byteLength;
  const pad = (8 - (pre % 8)) % 8;
  writeFileAtomicSync(file, (write) => {
    const head = Buffer.alloc(16);
    head.write(CHECKPOINT_MAGIC, 0, 'ascii');
    head.writeUInt32LE(CHECKPOINT_VERSION, 8);
    head.writeUInt32LE(header.byteLength, 12);
    write(head);
    write(header);
    write(new Uint8Array(pad));
    for (const name of names) {
      const a = ckpt.tensors[name]!;
      validateShape(name, a, file);
      const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      write(isLittleEndian ? bytes : swap32(bytes));
    }
  });
}

export async function saveCheckpoint(file: string, ckpt: Checkpoint): Promise<void> {
  saveCheckpointSync(file, ckpt);
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function swap32(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    out[i] = b[i + 3]!;
    out[i + 1] = b[i + 2]!;
    out[i + 2] = b[i + 1]!;
    out[i + 3] = b[i]!;
  }
  return out;
}

/** Parse checkpoint bytes; `source` names the file in errors. */
export function parseCheckpoint(buf: Uint8Array, source: string): E.Either<MetaD2AError, Checkpoint> {
  if (buf.byteLength < 16) return E.left(parseError({ source, field: 'header', expected: 'at least 16 bytes', got: `${buf.byteLength} bytes` }));
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = b.toString('ascii', 0, 8);
  if (magic !== CHECKPOINT_MAGIC) return E.left(parseError({ source, field: 'magic', expected: `'${CHECKPOINT_MAGIC}' (a metad2a checkpoint)`, got: JSON.stringify(magic) }));
  const version = b.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) return E.left(makeError('Unsupported', { source, field: 'version', expected: String(CHECKPOINT_VERSION), got: String(version) }));
  const hlen = b.readUInt32LE(12);
  if (16 + hlen > b.byteLength) return E.left(parseError({ source, field: 'header length', expected: `at most ${b.byteLength - 16}`, got: String(hlen) }));
  let header: { format?: string; meta?: Record<string, unknown>; tensors?: HeaderEntry[] };
  try {
    header = JSON.parse(b.toString('utf8', 16, 16 + hlen));
  } catch (err) {
    return E.left(parseError({ source, field: 'header', expected: 'JSON', got: (err as Error).message }));
  }
  if (!header || typeof header !== 'object' || !Array.isArray(header.tensors)) return E.left(parseError({ source, field: 'header.tensors', expected: 'an array', got: typeof header?.tensors }));
  const dataStart = 16 + hlen + ((8 - ((16 + hlen) % 8)) % 8);
  const tensors: Record<string, NamedArray> = {};
  for (const [i, t] of header.tensors.entries()) {
    const field = `header.tensors[${i}]${t && typeof t.name === 'string' ? ` (${t.name})` : ''}`;
    if (!t || typeof t.name !== 'string' || !Array.isArray(t.shape) || !Number.isInteger(t.offset) || !Number.isInteger(t.length)) {
      return E.left(parseError({ source, field, expected: '{name, shape, offset, length}', got: JSON.stringify(t) }));
    }
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || numel(t.shape) !== t.length) {
      return E.left(parseError({ source, field, expected: `a shape with ${t.length} elements`, got: JSON.stringify(t.shape) }));
    }
    const start = dataStart + t.offset;
    const end = start + t.length * 4;
    if (t.offset < 0 || t.offset % 4 !== 0 || end > b.byteLength) {
      return E.left(parseError({ source, field, expected: `data within the file (${b.byteLength} bytes)`, got: `bytes ${start}–${end}` }));
    }
    const copy = new Uint8Array(t.length * 4);
    copy.set(b.subarray(start, end));
    tensors[t.name] = { shape: t.shape, data: new Float32Array(isLittleEndian ? copy.buffer : swap32(copy).buffer) };
  }
  return E.right({ meta: header.meta ?? {}, tensors });
}

export interface ExpectOptions {
  /** Names present in the file but not expected are an error unless allowed (true = all). */
  readonly allowExtra?: boolean | readonly string[];
}

/**
 * Compare named arrays with the names and shapes a model expects. Returns undefined when they
 * match, else one CheckpointMismatch error listing every missing, unexpected and mis-shaped name.
 */
export function checkNamedShapes(
  actual: NamedArrays,
  expected: Readonly<Record<string, readonly number[]>>,
  source: string,
  opts: ExpectOptions = {},
): MetaD2AError | undefined {
  const details: string[] = [];
  for (const [name, shape] of Object.entries(expected)) {
    const a = actual[name];
    if (!a) details.push(`missing: ${name} [${shape.join(', ')}]`);
    else if (a.shape.length !== shape.length || a.shape.some((d, i) => d !== shape[i])) details.push(`shape of ${name}: expected [${shape.join(', ')}], got [${a.shape.join(', ')}]`);
  }
  const allow = opts.allowExtra;
  for (const name of Object.keys(actual)) {
    if (name in expected) continue;
    const allowed = allow === true || (Array.isArray(allow) && allow.includes(name));
    if (!allowed) details.push(`unexpected: ${name} [${actual[name]!.shape.join(', ')}]`);
  }
  if (details.length === 0) return undefined;
  return makeError('CheckpointMismatch', { source, expected: 'the parameter names and shapes of the model', got: `${details.length} mismatch${details.length > 1 ? 'es' : ''}`, details });
}

/** Read and parse a checkpoint; with `expect`, names and shapes are checked too. */
export function loadCheckpointSync(file: string, expect?: Readonly<Record<string, readonly number[]>>, opts: ExpectOptions = {}): E.Either<MetaD2AError, Checkpoint> {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    return E.left(ioError({ source: file, expected: 'a readable checkpoint file', got: (err as Error).message, cause: err }));
  }
  const parsed = parseCheckpoint(buf, file);
  if (E.isLeft(parsed) || !expect) return parsed;
  const mismatch = checkNamedShapes(parsed.right.tensors, expect, file, opts);
  return mismatch ? E.left(mismatch) : parsed;
}

/** TaskEither form of {@link loadCheckpointSync}. */
export function loadCheckpoint(file: string, expect?: Readonly<Record<string, readonly number[]>>, opts: ExpectOptions = {}): TE.TaskEither<MetaD2AError, Checkpoint> {
  return async () => loadCheckpointSync(file, expect, opts);
}
