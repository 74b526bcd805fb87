/**
 * A minimal, bounds-checked zip reader for PyTorch's archive format: the central directory
 * (zip64 included), stored and deflated entries (node:zlib), CRC-32 checked.
 */
import * as zlib from 'node:zlib';
import { fail } from '@metad2a/core';
import type { DecodeBudget } from './budget';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  /** Offset of the local file header. */
  readonly headerOffset: number;
}

export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** The bytes of an entry, inflated and CRC-checked. */
  read(name: string): Uint8Array;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const utf8 = new TextDecoder('utf-8');

let crcTable: Int32Array | undefined;
function crc32js(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC-32 (zip polynomial): node:zlib's where the runtime has it (Node ≥ 20.15), a table otherwise. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  return native ? native(data) >>> 0 : crc32js(data);
}

/** True when the bytes start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** `budget` is charged with the size of every entry read (overlapping or deflated entries can claim far more than the file). */
export function openZip(bytes: Uint8Array, source: string, opts: { verifyCrc?: boolean; budget?: DecodeBudget } = {}): ZipArchive {
  const verifyCrc = opts.verifyCrc ?? true;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (field: string, expected: string, got?: string): never => fail('ParseError', { source, field: `zip ${field}`, expected, got });
  const u16 = (o: number): number => (o + 2 <= bytes.length ? view.getUint16(o, true) : bad(`byte ${o}`, '2 more bytes', 'end of file (truncated zip)'));
  const u32 = (o: number): number => (o + 4 <= bytes.length ? view.getUint32(o, true) : bad(`byte ${o}`, '4 more bytes', 'end of file (truncated zip)'));
  const u64 = (o: number): number => {
    if (o + 8 > bytes.length) bad(`byte ${o}`, '8 more bytes', 'end of file (truncated zip)');
    const v = view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`byte ${o}`, 'a 64-bit size or offset within reach', String(v));
    return Number(v);
  };

  // End of central directory: the last signature within 64 KiB + 22 bytes of the end.
  let eocd = -1;
  for (let o = bytes.length - 22; o >= Math.max(0, bytes.length - 22 - 0xffff); o--) {
    if (view.getUint32(o, true) === EOCD) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) bad('end of central directory', 'an end-of-central-directory record', 'none (truncated or not a zip file)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(loc) !== EOCD64_LOCATOR) bad('zip64 locator', 'a zip64 end-of-central-directory locator', 'none');
    const e64 = u64(loc + 8);
    if (u32(e64) !== EOCD64) bad('zip64 end of central directory', 'its signature', 'something else');
    count = u64(e64 + 32);
    cdSize = u64(e64 + 40);
    cdOffset = u64(e64 + 48);
  }
  if (cdOffset + cdSize > bytes.length) bad('central directory', `${cdSize} bytes at ${cdOffset} within the file (${bytes.length} bytes)`, 'it runs past the end (truncated)');
  if (count > cdSize / 46) bad('central directory', `at most ${Math.floor(cdSize / 46)} entries in ${cdSize} bytes`, String(count));

  const entries = new Map<string, ZipEntry>();
  let o = cdOffset;
  for (let i = 0; i < count; i++) {
    if (u32(o) !== CENTRAL) bad(`central directory entry ${i}`, 'a central directory header', `0x${u32(o).toString(16)}`);
    const method = u16(o + 10);
    const crc = u32(o + 16);
    let compressedSize = u32(o + 20);
    let size = u32(o + 24);
    const nameLen = u16(o + 28);
    const extraLen = u16(o + 30);
    const commentLen = u16(o + 32);
    let headerOffset = u32(o + 42);
    if (o + 46 + nameLen + extraLen + commentLen > cdOffset + cdSize) bad(`central directory entry ${i}`, 'an entry inside the directory', 'one that runs past it');
    const name = utf8.decode(bytes.subarray(o + 46, o + 46 + nameLen));
    // Zip64 extended information (0x0001): the 64-bit values of the fields set to 0xffffffff.
    let x = o + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = u16(x);
      const len = u16(x + 2);
      if (x + 4 + len > xEnd) bad(`entry ${name} extra field`, 'a field inside the extra data', 'one that runs past it');
      if (id === 0x0001) {
        let p = x + 4;
        const take64 = (): number => {
          if (p + 8 > x + 4 + len) bad(`entry ${name} zip64 field`, 'another 64-bit value', 'end of field');
          const v = u64(p);
          p += 8;
          return v;
        };
        if (size === 0xffffffff) size = take64();
        if (compressedSize === 0xffffffff) compressedSize = take64();
        if (headerOffset === 0xffffffff) headerOffset = take64();
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, crc32: crc, headerOffset });
    o += 46 + nameLen + extraLen + commentLen;
  }

  const read = (name: string): Uint8Array => {
    const e = entries.get(name);
    if (!e) return fail('NotFound', { source, field: 'zip entry', expected: name, got: 'no such entry' });
    const h = e.headerOffset;
    if (u32(h) !== LOCAL) bad(`entry ${name}`, 'a local file header', `0x${u32(h).toString(16)}`);
    const start = h + 30 + u16(h + 26) + u16(h + 28);
    if (start + e.compressedSize > bytes.length) bad(`entry ${name}`, `${e.compressedSize} bytes at ${start}`, `${Math.max(0, bytes.length - start)} (truncated)`);
    const raw = bytes.subarray(start, start + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) {
      if (e.size !== e.compressedSize) bad(`entry ${name}`, `a stored size equal to the compressed size ${e.compressedSize}`, String(e.size));
      opts.budget?.charge(e.size, `zip entry ${name}`); // overlapping entries can repeat the same bytes
      data = raw;
    } else if (e.method === 8) {
      // Deflate cannot compress better than about 1032:1; a larger claim is a zip bomb or damage.
      if (e.size > 1032 * e.compressedSize + 1024)
        bad(`entry ${name}`, `at most ${1032 * e.compressedSize + 1024} bytes from ${e.compressedSize} deflated bytes`, `${e.size} (absurd size)`);
      opts.budget?.charge(e.size, `zip entry ${name}`);
      try {
        const inflated = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
        data = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      } catch (err) {
        return bad(`entry ${name}`, `deflated data of ${e.size} bytes`, `an inflate error (${(err as Error).message})`);
      }
      if (data.length !== e.size) bad(`entry ${name}`, `${e.size} bytes after inflating`, String(data.length));
    } else {
      return fail('Unsupported', { source, field: `zip entry ${name}`, expected: 'compression method 0 (stored) or 8 (deflated)', got: String(e.method) });
    }
    if (verifyCrc && crc32(data) !== e.crc32) bad(`entry ${name}`, `CRC-32 0x${e.crc32.toString(16)}`, `0x${crc32(data).toString(16)} (corrupted data)`);
    return data;
  };
  return { entries, read };
}
