import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import { writeFileAtomicSync } from './atomic-file';
import { type MetaD2AError, MetaD2AException, ioError, makeError, parseError, shapeMismatch, unsupported, validationError } from './errors';
import type { NamedArray, NamedArrays } from './models';

/**
 * The checkpoint format of every package: a **safetensors** file
 * (https://github.com/huggingface/safetensors), readable by any safetensors reader (Python
 * `safetensors.numpy.load_file`, `safetensors.torch`, Rust, JS), holding named float32 tensors.
 *
 * Layout (little-endian): uint64 N, then N bytes of UTF-8 JSON (padded with spaces so the data
 * starts 8-byte aligned), then the tensor data, C order, with no gaps:
 *   { "__metadata__": { "format": "metad2a-checkpoint/2", "meta": "<JSON>", "sha256": "<hex>" },
 *     "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 * `meta` is the checkpoint's JSON manifest (model config, step, optimizer and RNG state);
 * `sha256` is the SHA-256 of the data section, verified on load (IntegrityError on mismatch).
 * NaN or ±Infinity in a tensor is refused on save and on load (NonFiniteValues), so a diverged
 * run never becomes a checkpoint that loads silently. Plain safetensors files from other tools
 * (no metad2a metadata, F32 tensors) load with `meta: {}`.
 *
 * The previous format (`MD2ACKPT` magic, version 1) still loads; it is no longer written.
 * Files are written atomically (temporary file + rename): a crash never leaves a partial checkpoint.
 */
export const CHECKPOINT_FORMAT = 'metad2a-checkpoint/2';
/** Magic of the previous (version 1) format, still read. */
export const CHECKPOINT_MAGIC = 'MD2ACKPT';
export const CHECKPOINT_VERSION = 2;
/** safetensors readers refuse headers above 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

export interface Checkpoint {
  /** Anything JSON: `config`, `step`, `epoch`, `lr`, `rng` state, optimizer hyper-parameters, ... */
  readonly meta: Readonly<Record<string, unknown>>;
  /** Model parameters and optimizer slots (e.g. `adam.m/<name>`), by name. */
  readonly tensors: NamedArrays;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function validateShape(name: string, a: NamedArray, source: string): void {
  if (!(a.data instanceof Float32Array)) throw new MetaD2AException(parseError({ source, field: name, expected: 'a Float32Array', got: Object.prototype.toString.call(a.data) }));
  if (!a.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new MetaD2AException(shapeMismatch({ source, field: name, expected: 'non-negative integer dimensions', got: JSON.stringify(a.shape) }));
  if (numel(a.shape) !== a.data.length)
    throw new MetaD2AException(shapeMismatch({ source, field: name, expected: `${numel(a.shape)} values for shape [${a.shape.join(', ')}]`, got: `${a.data.length}` }));
}

/** The NonFiniteValues error for the first tensor holding NaN or ±Infinity, if any. */
function nonFinite(name: string, data: Float32Array, source: string): MetaD2AError | undefined {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      count++;
      if (first < 0) first = i;
    }
  }
  if (count === 0) return undefined;
  return makeError('NonFiniteValues', {
    source,
    field: name,
    expected: 'finite float32 weights',
    got: `${count} NaN/Infinity value${count > 1 ? 's' : ''} (first at flat index ${first}: ${data[first]})`,
  });
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
const leBytes = (a: Float32Array): Uint8Array => {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return isLittleEndian ? bytes : swap32(bytes);
};

/**
 * Write a checkpoint atomically as safetensors. Every tensor is checked (shape, finite values)
 * before anything is written; on error nothing is replaced.
 */
export function saveCheckpointSync(file: string, ckpt: Checkpoint): void {
  const names = Object.keys(ckpt.tensors);
  const header: Record<string, unknown> = {};
  const hash = crypto.createHash('sha256');
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__')
      throw new MetaD2AException(validationError({ source: file, field: name, expected: 'a tensor name other than __metadata__ (reserved by safetensors)', got: name }));
    const a = ckpt.tensors[name]!;
    validateShape(name, a, file);
    const bad = nonFinite(name, a.data, file);
    if (bad) throw new MetaD2AException(bad);
    header[name] = { dtype: 'F32', shape: [...a.shape], data_offsets: [offset, offset + a.data.byteLength] };
    offset += a.data.byteLength;
    hash.update(leBytes(a.data));
  }
  const metadata = { format: CHECKPOINT_FORMAT, meta: JSON.stringify(ckpt.meta ?? {}), sha256: hash.digest('hex') };
  let json = Buffer.from(JSON.stringify({ __metadata__: metadata, ...header }), 'utf8');
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  writeFileAtomicSync(file, (write) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.byteLength), 0);
    write(len);
    write(json);
    for (const name of names) write(leBytes(ckpt.tensors[name]!.data));
  });
}

export async function saveCheckpoint(file: string, ckpt: Checkpoint): Promise<void> {
  saveCheckpointSync(file, ckpt);
}

/** Parse checkpoint bytes (safetensors, or the version-1 format); `source` names the file in errors. */
export function parseCheckpoint(buf: Uint8Array, source: string): E.Either<MetaD2AError, Checkpoint> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.byteLength >= 8 && b.toString('ascii', 0, 8) === CHECKPOINT_MAGIC) return parseLegacyCheckpoint(b, source);
  return parseSafetensors(b, source);
}

function parseSafetensors(b: Buffer, source: string): E.Either<MetaD2AError, Checkpoint> {
  if (b.byteLength < 10) return E.left(parseError({ source, field: 'header', expected: 'a safetensors file (8-byte header length + JSON header)', got: `${b.byteLength} bytes` }));
  const hlen = b.readBigUInt64LE(0);
  if (hlen > BigInt(Math.min(MAX_HEADER_BYTES, b.byteLength - 8))) {
    return E.left(
      parseError({
        source,
        field: 'header length',
        expected: `a safetensors file (header length at most ${Math.min(MAX_HEADER_BYTES, b.byteLength - 8)} bytes)`,
        got: String(hlen),
      }),
    );
  }
  const dataStart = 8 + Number(hlen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(b.toString('utf8', 8, dataStart));
  } catch (err) {
    return E.left(parseError({ source, field: 'header', expected: 'a safetensors JSON header', got: (err as Error).message }));
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return E.left(parseError({ source, field: 'header', expected: 'a JSON object', got: typeof header }));
  const dataBytes = b.byteLength - dataStart;
  const { __metadata__: rawMeta, ...entries } = header;
  const metadata = (rawMeta ?? {}) as Record<string, unknown>;
  if (typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    return E.left(parseError({ source, field: '__metadata__', expected: 'an object of strings', got: JSON.stringify(rawMeta).slice(0, 200) }));
  }
  const spans: { name: string; begin: number; end: number; shape: number[] }[] = [];
  for (const [name, raw] of Object.entries(entries)) {
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const field = `header.${name}`;
    if (!t || typeof t !== 'object' || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets) || t.data_offsets.length !== 2) {
      return E.left(parseError({ source, field, expected: '{dtype, shape, data_offsets: [begin, end]}', got: JSON.stringify(raw).slice(0, 200) }));
    }
    if (t.dtype !== 'F32') return E.left(unsupported({ source, field: `${field}.dtype`, expected: 'F32 (float32) tensors', got: JSON.stringify(t.dtype) }));
    const shape = t.shape as unknown[];
    const [begin, end] = t.data_offsets as unknown[];
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      return E.left(parseError({ source, field: `${field}.shape`, expected: 'non-negative integer dimensions', got: JSON.stringify(shape) }));
    if (!Number.isInteger(begin) || !Number.isInteger(end) || (begin as number) < 0 || (end as number) < (begin as number) || (end as number) > dataBytes) {
      return E.left(parseError({ source, field: `${field}.data_offsets`, expected: `0 ≤ begin ≤ end ≤ ${dataBytes} (the data section)`, got: JSON.stringify(t.data_offsets) }));
    }
    if ((end as number) - (begin as number) !== numel(shape as number[]) * 4) {
      return E.left(
        shapeMismatch({
          source,
          field,
          expected: `${numel(shape as number[]) * 4} bytes for F32 shape [${shape.join(', ')}]`,
          got: `${(end as number) - (begin as number)} bytes`,
        }),
      );
    }
    spans.push({ name, begin: begin as number, end: end as number, shape: shape as number[] });
  }
  // safetensors: the tensors cover the data section exactly, without holes or overlaps
  const sorted = [...spans].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = 0;
  for (const s of sorted) {
    if (s.begin !== at)
      return E.left(
        parseError({ source, field: `header.${s.name}.data_offsets`, expected: `to start at byte ${at} (tensors cover the data without holes or overlaps)`, got: String(s.begin) }),
      );
    at = s.end;
  }
  if (at !== dataBytes) return E.left(parseError({ source, field: 'data', expected: `${at} bytes of tensor data`, got: `${dataBytes} bytes` }));
  if (typeof metadata.sha256 === 'string') {
    const digest = crypto.createHash('sha256').update(b.subarray(dataStart)).digest('hex');
    if (digest !== metadata.sha256)
      return E.left(makeError('IntegrityError', { source, field: '__metadata__.sha256', expected: metadata.sha256, got: `${digest} (the file is corrupted or was modified)` }));
  }
  let meta: Record<string, unknown> = {};
  if (typeof metadata.meta === 'string') {
    try {
      meta = JSON.parse(metadata.meta);
    } catch (err) {
      return E.left(parseError({ source, field: '__metadata__.meta', expected: 'JSON', got: (err as Error).message }));
    }
  }
  const tensors: Record<string, NamedArray> = {};
  for (const s of spans) {
    const copy = new Uint8Array(s.end - s.begin);
    copy.set(b.subarray(dataStart + s.begin, dataStart + s.end));
    const data = new Float32Array(isLittleEndian ? copy.buffer : swap32(copy).buffer);
    const bad = nonFinite(s.name, data, source);
    if (bad) return E.left(bad);
    tensors[s.name] = { shape: s.shape, data };
  }
  return E.right({ meta, tensors });
}

/** The version-1 format: `MD2ACKPT`, uint32 version 1, uint32 header length, JSON header, padding, float32 data. */
function parseLegacyCheckpoint(b: Buffer, source: string): E.Either<MetaD2AError, Checkpoint> {
  if (b.byteLength < 16) return E.left(parseError({ source, field: 'header', expected: 'at least 16 bytes', got: `${b.byteLength} bytes` }));
  const version = b.readUInt32LE(8);
  if (version !== 1) return E.left(makeError('Unsupported', { source, field: 'version', expected: '1 (or a safetensors file)', got: String(version) }));
  const hlen = b.readUInt32LE(12);
  if (16 + hlen > b.byteLength) return E.left(parseError({ source, field: 'header length', expected: `at most ${b.byteLength - 16}`, got: String(hlen) }));
  let header: { format?: string; meta?: Record<string, unknown>; tensors?: { name: string; shape: number[]; offset: number; length: number }[] };
  try {
    header = JSON.parse(b.toString('utf8', 16, 16 + hlen));
  } catch (err) {
    return E.left(parseError({ source, field: 'header', expected: 'JSON', got: (err as Error).message }));
  }
  if (!header || typeof header !== 'object' || !Array.isArray(header.tensors))
    return E.left(parseError({ source, field: 'header.tensors', expected: 'an array', got: typeof header?.tensors }));
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
    const data = new Float32Array(isLittleEndian ? copy.buffer : swap32(copy).buffer);
    const bad = nonFinite(t.name, data, source);
    if (bad) return E.left(bad);
    tensors[t.name] = { shape: t.shape, data };
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
export function checkNamedShapes(actual: NamedArrays, expected: Readonly<Record<string, readonly number[]>>, source: string, opts: ExpectOptions = {}): MetaD2AError | undefined {
  const details: string[] = [];
  for (const [name, shape] of Object.entries(expected)) {
    const a = actual[name];
    if (!a) details.push(`missing: ${name} [${shape.join(', ')}]`);
    else if (a.shape.length !== shape.length || a.shape.some((d, i) => d !== shape[i]))
      details.push(`shape of ${name}: expected [${shape.join(', ')}], got [${a.shape.join(', ')}]`);
  }
  const allow = opts.allowExtra;
  for (const name of Object.keys(actual)) {
    if (name in expected) continue;
    const allowed = allow === true || (Array.isArray(allow) && allow.includes(name));
    if (!allowed) details.push(`unexpected: ${name} [${actual[name]!.shape.join(', ')}]`);
  }
  if (details.length === 0) return undefined;
  return makeError('CheckpointMismatch', {
    source,
    expected: 'the parameter names and shapes of the model',
    got: `${details.length} mismatch${details.length > 1 ? 'es' : ''}`,
    details,
  });
}

/** Read and parse a checkpoint; with `expect`, names and shapes are checked too. */
export function loadCheckpointSync(file: string, expect?: Readonly<Record<string, readonly number[]>>, opts: ExpectOptions = {}): E.Either<MetaD2AError, Checkpoint> {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    return E.left(unreadable(file, err));
  }
  return checkedCheckpoint(buf, file, expect, opts);
}

/** {@link loadCheckpointSync} reading the file without blocking the event loop. */
export function loadCheckpoint(file: string, expect?: Readonly<Record<string, readonly number[]>>, opts: ExpectOptions = {}): TE.TaskEither<MetaD2AError, Checkpoint> {
  return async () => {
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(file);
    } catch (err) {
      return E.left(unreadable(file, err));
    }
    return checkedCheckpoint(buf, file, expect, opts);
  };
}

const unreadable = (file: string, err: unknown): MetaD2AError => ioError({ source: file, expected: 'a readable checkpoint file', got: (err as Error).message, cause: err });

function checkedCheckpoint(
  buf: Uint8Array,
  file: string,
  expect: Readonly<Record<string, readonly number[]>> | undefined,
  opts: ExpectOptions,
): E.Either<MetaD2AError, Checkpoint> {
  const parsed = parseCheckpoint(buf, file);
  if (E.isLeft(parsed) || !expect) return parsed;
  const mismatch = checkNamedShapes(parsed.right.tensors, expect, file, opts);
  return mismatch ? E.left(mismatch) : parsed;
}
