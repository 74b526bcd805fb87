/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0; little-endian and byte-sized dtypes;
 * C order). Reading returns the typed array and shape; writing produces a version-1.0 file.
 */
import * as fs from 'node:fs';
import { MetaD2AException, ioError, parseError, unsupported } from '@metad2a/core';

export type NpyDtype = 'u1' | 'i1' | 'b1' | 'u2' | 'i2' | 'u4' | 'i4' | 'u8' | 'i8' | 'f4' | 'f8';
export type NpyData = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export interface NpyArray {
  /** The stored dtype (8-byte integers are returned as exact Float64Array values). */
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const ITEM_SIZE: Record<NpyDtype, number> = { u1: 1, i1: 1, b1: 1, u2: 2, i2: 2, u4: 4, i4: 4, u8: 8, i8: 8, f4: 4, f8: 8 };

const perr = (source: string, field: string, expected: string, got: string): MetaD2AException => new MetaD2AException(parseError({ source, field, expected, got }));

/** Parse the bytes of a `.npy` file; `source` names it in errors. */
export function parseNpy(bytes: Uint8Array, source = '.npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw perr(
      source,
      'magic',
      'the .npy magic string \\x93NUMPY',
      `${Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ')} (${bytes.length} bytes)`,
    );
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new MetaD2AException(unsupported({ source, field: 'version', expected: '1.x, 2.x or 3.x', got: `${major}.${bytes[7]}` }));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw perr(source, 'header length', `at most ${bytes.length - headerStart} bytes`, String(headerLen));
  const header = Buffer.from(bytes.subarray(headerStart, dataStart)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw perr(source, 'header', "a dict with 'descr', 'fortran_order' and 'shape'", JSON.stringify(header.trim()));
  }
  if (fortran === 'True') throw new MetaD2AException(unsupported({ source, field: 'fortran_order', expected: 'False (C order)', got: 'True' }));
  const m = /^([<>|=])([uibf])(\d)$/.exec(descr);
  const dtype = (m ? `${m[2]}${m[3]}` : '') as NpyDtype;
  if (!m || !(dtype in ITEM_SIZE)) {
    throw new MetaD2AException(
      unsupported({
        source,
        field: 'descr',
        expected: `one of ${Object.keys(ITEM_SIZE)
          .map((d) => `<${d}`)
          .join(', ')}`,
        got: JSON.stringify(descr),
      }),
    );
  }
  const size = ITEM_SIZE[dtype];
  if (m[1] === '>' && size > 1) throw new MetaD2AException(unsupported({ source, field: 'descr', expected: 'little-endian data', got: JSON.stringify(descr) }));
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) throw perr(source, 'shape', 'non-negative integers', `(${shapeText})`);
      return v;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * size;
  const have = bytes.length - dataStart;
  if (have !== need) throw perr(source, 'data', `${count} × ${size} = ${need} bytes for shape (${shape.join(', ')}) of ${descr}`, `${have} bytes`);
  const raw = new Uint8Array(need); // an aligned copy (Buffer#slice would share the pool)
  raw.set(bytes.subarray(dataStart, dataStart + need));
  const buf = raw.buffer;
  const data: NpyData = (() => {
    switch (dtype) {
      case 'u1':
      case 'b1':
        return new Uint8Array(buf);
      case 'i1':
        return new Int8Array(buf);
      case 'u2':
        return new Uint16Array(buf);
      case 'i2':
        return new Int16Array(buf);
      case 'u4':
        return new Uint32Array(buf);
      case 'i4':
        return new Int32Array(buf);
      case 'f4':
        return new Float32Array(buf);
      case 'f8':
        return new Float64Array(buf);
      case 'u8':
      case 'i8': {
        const big = dtype === 'i8' ? new BigInt64Array(buf) : new BigUint64Array(buf);
        const out = new Float64Array(count);
        for (let i = 0; i < count; i++) {
          const v = big[i]!;
          if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER)) {
            throw perr(source, `element ${i}`, 'an integer within ±2^53', v.toString());
          }
          out[i] = Number(v);
        }
        return out;
      }
    }
  })();
  return { dtype, shape, data };
}

/** Read a `.npy` file. */
export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new MetaD2AException(ioError({ source: file, expected: 'a readable .npy file', got: (err as Error).message, cause: err }));
  }
  return parseNpy(bytes, file);
}

const DESCR_OF: [new (...a: never[]) => NpyData, string][] = [
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
  [Uint8Array, '|u1'],
  [Int8Array, '|i1'],
  [Int16Array, '<i2'],
  [Uint16Array, '<u2'],
  [Int32Array, '<i4'],
  [Uint32Array, '<u4'],
];

/** Encode an array as a version-1.0 `.npy` file (header padded to a multiple of 64 bytes). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new MetaD2AException(parseError({ source: 'encodeNpy', field: 'shape', expected: `${data.length} elements`, got: `(${shape.join(', ')}) = ${count}` }));
  const descr = DESCR_OF.find(([ctor]) => data instanceof ctor)?.[1];
  if (descr === undefined) throw new MetaD2AException(unsupported({ source: 'encodeNpy', field: 'data', expected: 'a typed array', got: Object.prototype.toString.call(data) }));
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
