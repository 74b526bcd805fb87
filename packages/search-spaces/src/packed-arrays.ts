/**
 * The container of the package's data files: named typed arrays in one buffer (gzipped on disk).
 *
 * Layout (little-endian): `u32 headerBytes`, a UTF-8 JSON header `{format, arrays: [{name, dtype,
 * scale, length, offset}]}` padded with spaces to a multiple of 8, then every array's bytes at
 * `offset` (relative to the end of the header, 8-byte aligned). An array's stored integers are
 * divided by `scale` on read (`scale` 1e6 keeps six exact decimals).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fail } from '@metad2a/core';

export type PackedDtype = 'u8' | 'u16' | 'u32' | 'f32' | 'f64';

export interface PackedArraySpec {
  readonly name: string;
  readonly dtype: PackedDtype;
  /** Stored value = round(value × scale) for integer dtypes; 1 for floats. */
  readonly scale: number;
  readonly values: ArrayLike<number>;
}

interface HeaderEntry {
  name: string;
  dtype: PackedDtype;
  scale: number;
  length: number;
  offset: number;
}

const FORMAT = 'metad2a-packed-arrays/1';
const WIDTH: Record<PackedDtype, number> = { u8: 1, u16: 2, u32: 4, f32: 4, f64: 8 };

function typedArrayOf(dtype: PackedDtype, buf: ArrayBuffer, offset: number, length: number): ArrayLike<number> {
  switch (dtype) {
    case 'u8':
      return new Uint8Array(buf, offset, length);
    case 'u16':
      return new Uint16Array(buf, offset, length);
    case 'u32':
      return new Uint32Array(buf, offset, length);
    case 'f32':
      return new Float32Array(buf, offset, length);
    case 'f64':
      return new Float64Array(buf, offset, length);
  }
}

/** Serialise named arrays (uncompressed). */
export function encodePackedArrays(arrays: readonly PackedArraySpec[]): Buffer {
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    entries.push({ name: a.name, dtype: a.dtype, scale: a.scale, length: a.values.length, offset });
    offset += Math.ceil((a.values.length * WIDTH[a.dtype]) / 8) * 8;
  }
  let header = JSON.stringify({ format: FORMAT, arrays: entries });
  while ((4 + Buffer.byteLength(header)) % 8 !== 0) header += ' ';
  const headerBytes = Buffer.from(header, 'utf8');
  const body = new ArrayBuffer(offset);
  arrays.forEach((a, i) => {
    const e = entries[i]!;
    const view = typedArrayOf(a.dtype, body, e.offset, e.length) as unknown as { [k: number]: number };
    for (let j = 0; j < e.length; j++) {
      const v = a.values[j]!;
      const stored = a.dtype === 'f32' || a.dtype === 'f64' ? v : Math.round(v * a.scale);
      if (a.dtype !== 'f32' && a.dtype !== 'f64' && (stored < 0 || stored >= 2 ** (8 * WIDTH[a.dtype]))) {
        throw new RangeError(`${a.name}[${j}] = ${v} does not fit ${a.dtype} at scale ${a.scale}`);
      }
      view[j] = stored;
    }
  });
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBytes.length, 0);
  return Buffer.concat([len, headerBytes, Buffer.from(body)]);
}

/** A decoded file: raw stored arrays plus their scales. */
export class PackedArrays {
  private constructor(
    readonly source: string,
    private readonly entries: Map<string, { stored: ArrayLike<number>; scale: number; dtype: PackedDtype }>,
  ) {}

  /** Decode an uncompressed buffer. */
  static decode(source: string, raw: Uint8Array): PackedArrays {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (raw.byteLength < 4) fail('ParseError', { source, expected: 'a packed-arrays file', got: `${raw.byteLength} bytes` });
    const hlen = dv.getUint32(0, true);
    let header: { format?: string; arrays?: HeaderEntry[] };
    try {
      header = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset + 4, hlen).toString('utf8')) as typeof header;
    } catch (err) {
      return fail('ParseError', { source, field: 'header', expected: 'JSON', got: String(err) });
    }
    if (header.format !== FORMAT || !Array.isArray(header.arrays)) {
      fail('Unsupported', { source, field: 'format', expected: FORMAT, got: String(header.format) });
    }
    // copy the body to an aligned buffer
    const bodyStart = 4 + hlen;
    const body = new ArrayBuffer(raw.byteLength - bodyStart);
    new Uint8Array(body).set(raw.subarray(bodyStart));
    const map = new Map<string, { stored: ArrayLike<number>; scale: number; dtype: PackedDtype }>();
    for (const e of header.arrays!) {
      if (e.offset + e.length * WIDTH[e.dtype] > body.byteLength) {
        fail('ParseError', { source, field: e.name, expected: `${e.length} ${e.dtype} values`, got: 'a truncated file' });
      }
      map.set(e.name, { stored: typedArrayOf(e.dtype, body, e.offset, e.length), scale: e.scale, dtype: e.dtype });
    }
    return new PackedArrays(source, map);
  }

  /** Read a gzipped file. */
  static readGzip(file: string): PackedArrays {
    let raw: Buffer;
    try {
      raw = zlib.gunzipSync(fs.readFileSync(file));
    } catch (err) {
      return fail('IoError', { source: file, expected: 'a readable gzip file', got: String((err as Error).message), cause: err });
    }
    return PackedArrays.decode(file, raw);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The values of one array as float64 (stored / scale). */
  values(name: string): Float64Array {
    const e = this.entries.get(name);
    if (!e) return fail('NotFound', { source: this.source, field: name, expected: `one of ${this.names().join(', ')}` });
    const out = new Float64Array(e.stored.length);
    for (let i = 0; i < out.length; i++) out[i] = e.scale === 1 ? e.stored[i]! : e.stored[i]! / e.scale;
    return out;
  }

  /** The values of a float32 array, as stored. */
  float32(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e || e.dtype !== 'f32') return fail('NotFound', { source: this.source, field: name, expected: 'a float32 array' });
    return e.stored as Float32Array;
  }
}

/**
 * The package's `data/` folder: `../data` from both `src/` (tests, tsx) and `dist/` (the npm
 * build). `METAD2A_SEARCH_SPACES_DATA` overrides it.
 */
export function dataDir(): string {
  const env = process.env.METAD2A_SEARCH_SPACES_DATA;
  if (env) return path.resolve(env);
  return path.resolve(__dirname, '..', 'data');
}

export function dataFile(name: string): string {
  const p = path.join(dataDir(), name);
  if (!fs.existsSync(p)) {
    fail('IoError', { source: p, expected: `the data file ${name} shipped in @metad2a/search-spaces/data`, got: 'no such file (set METAD2A_SEARCH_SPACES_DATA to its folder)' });
  }
  return p;
}
