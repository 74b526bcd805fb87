import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MetaD2AException } from '@metad2a/core';
import { crc32 } from '../src/zip';

export const DATA = path.join(__dirname, 'data');
export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'fixtures');

export function readData(rel: string): Buffer {
  const b = fs.readFileSync(path.join(DATA, rel));
  return rel.endsWith('.gz') && !rel.endsWith('.pt.gz') ? zlib.gunzipSync(b) : b;
}

/** A tiny pickle assembler for hand-made (also malformed) programs. */
export class Pk {
  private parts: number[] = [];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  proto(p: number): this {
    return this.op(0x80, p);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(n: number): this {
    return this.op(0x4a, ...i32(n));
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  reduce(): this {
    return this.op(0x52);
  }
  stop(): this {
    return this.op(0x2e);
  }
  /** `_rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, size, stride, False, OrderedDict())`. */
  tensor(numel: number, offset: number, size: number[], stride: number[], storageType = 'FloatStorage', key = '0'): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel).tuple().op(0x51);
    this.int(offset).mark();
    for (const s of size) this.int(s);
    this.tuple().mark();
    for (const s of stride) this.int(s);
    this.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29).reduce().tuple().reduce();
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function i32(n: number): number[] {
  return u32(n >>> 0);
}

/** A zip archive of stored (uncompressed) entries, as PyTorch writes them; `deflate`: deflated entries (a re-zipped file). */
export function zipStored(entries: Record<string, Uint8Array>, opts: { deflate?: boolean } = {}): Uint8Array {
  const method = opts.deflate ? 8 : 0;
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const n = Buffer.from(name, 'utf8');
    const stored = opts.deflate ? zlib.deflateRawSync(data, { level: 9 }) : Buffer.from(data);
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(stored.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(n.length, 26);
    locals.push(lh, n, stored);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(stored.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(n.length, 28);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, n);
    offset += 30 + n.length + stored.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Object.keys(entries).length, 8);
  eocd.writeUInt16LE(Object.keys(entries).length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** The MetaD2AException `f` throws (a test failure if it returns or throws something else). */
export function errorOf(f: () => unknown): MetaD2AException {
  try {
    f();
  } catch (e) {
    if (e instanceof MetaD2AException) return e;
    throw new Error(`expected a MetaD2AException, got ${String(e)}`);
  }
  throw new Error('expected an error, got a value');
}

/** float32 little-endian bytes. */
export function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
