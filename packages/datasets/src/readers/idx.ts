/**
 * IDX files (the MNIST / Fashion-MNIST format), gzipped or not: a 4-byte magic
 * `0 0 <type> <ndims>`, `ndims` big-endian uint32 sizes, then the data, big-endian.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MetaD2AException, ioError, parseError, unsupported } from '@metad2a/core';
import type { ImageDataset, RawImage } from '../images';
import { fileFingerprint } from './fingerprint';

export type IdxType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
export interface IdxArray {
  readonly type: IdxType;
  readonly dims: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, [IdxType, number]> = { 0x08: ['u8', 1], 0x09: ['i8', 1], 0x0b: ['i16', 2], 0x0c: ['i32', 4], 0x0d: ['f32', 4], 0x0e: ['f64', 8] };

/** The bytes of a file, gunzipped when they start with the gzip magic. */
export function readMaybeGzipped(file: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new MetaD2AException(ioError({ source: file, expected: 'a readable file', got: (err as Error).message, cause: err }));
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return zlib.gunzipSync(bytes);
    } catch (err) {
      throw new MetaD2AException(parseError({ source: file, field: 'gzip stream', expected: 'a complete gzip stream', got: (err as Error).message, cause: err }));
    }
  }
  return bytes;
}

/** Parse IDX bytes; `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source = 'IDX'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new MetaD2AException(
      parseError({
        source,
        field: 'magic',
        expected: 'IDX magic 00 00 <type> <ndims>',
        got: Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'empty file',
      }),
    );
  }
  const t = TYPES[bytes[2]!];
  if (!t) throw new MetaD2AException(unsupported({ source, field: 'magic type byte', expected: '0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e', got: `0x${bytes[2]!.toString(16)}` }));
  const ndims = bytes[3]!;
  if (ndims === 0) throw new MetaD2AException(parseError({ source, field: 'magic ndims byte', expected: 'at least 1 dimension', got: '0' }));
  const start = 4 + 4 * ndims;
  if (bytes.length < start)
    throw new MetaD2AException(parseError({ source, field: 'header', expected: `${start} header bytes for ${ndims} dimensions`, got: `${bytes.length} bytes in file` }));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const [type, size] = t;
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - start !== count * size) {
    throw new MetaD2AException(
      parseError({ source, field: 'data', expected: `${count * size} bytes for dims [${dims.join(', ')}] of ${type}`, got: `${bytes.length - start} bytes` }),
    );
  }
  const body = bytes.subarray(start);
  if (type === 'u8') return { type, dims, data: body };
  if (type === 'i8') return { type, dims, data: new Int8Array(body.buffer, body.byteOffset, count) };
  const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const data = type === 'i16' ? new Int16Array(count) : type === 'i32' ? new Int32Array(count) : type === 'f32' ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = type === 'i16' ? bv.getInt16(2 * i, false) : type === 'i32' ? bv.getInt32(4 * i, false) : type === 'f32' ? bv.getFloat32(4 * i, false) : bv.getFloat64(8 * i, false);
  }
  return { type, dims, data };
}

/** Read an IDX file (gzipped or not). */
export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzipped(file), file);
}

/**
 * The labels file that goes with an IDX images file by the MNIST naming convention
 * (`…images-idx3-ubyte[.gz]` → `…labels-idx1-ubyte[.gz]`), or undefined if the name does not follow it.
 */
export function idxLabelsPathFor(imagesFile: string): string | undefined {
  const base = path.basename(imagesFile);
  if (!/images-idx3-ubyte/.test(base)) return undefined;
  const plain = path.join(path.dirname(imagesFile), base.replace('images-idx3-ubyte', 'labels-idx1-ubyte'));
  const candidates = [plain, plain.endsWith('.gz') ? plain.slice(0, -3) : `${plain}.gz`];
  return candidates.find((c) => fs.existsSync(c)) ?? plain;
}

export interface IdxImageOptions {
  /** Class names for labels 0..C-1 (default: the label numbers as strings). */
  readonly classNames?: readonly string[];
  /** Dataset name (default: the images file name). */
  readonly name?: string;
}

/** An image dataset from an IDX images file `[N, H, W]` (or `[N, H, W, 3]`) of u8 and a labels file `[N]` of u8. */
export function readIdxImages(imagesFile: string, labelsFile: string, opts: IdxImageOptions = {}): ImageDataset {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.type !== 'u8') throw new MetaD2AException(unsupported({ source: imagesFile, field: 'type', expected: 'unsigned bytes (0x08)', got: images.type }));
  const d = images.dims;
  if (!(d.length === 3 || (d.length === 4 && (d[3] === 1 || d[3] === 3)))) {
    throw new MetaD2AException(parseError({ source: imagesFile, field: 'dims', expected: '[N, H, W] or [N, H, W, 1|3]', got: `[${d.join(', ')}]` }));
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== d[0]) {
    throw new MetaD2AException(
      parseError({ source: labelsFile, field: 'dims', expected: `[${d[0]}] (one label per image of ${path.basename(imagesFile)})`, got: `[${labels.dims.join(', ')}]` }),
    );
  }
  const lab = Int32Array.from(labels.data as ArrayLike<number>);
  let max = -1;
  for (let i = 0; i < lab.length; i++) {
    if (lab[i]! < 0) throw new MetaD2AException(parseError({ source: labelsFile, field: `label ${i}`, expected: 'a non-negative class index', got: String(lab[i]) }));
    if (lab[i]! > max) max = lab[i]!;
  }
  const classNames = opts.classNames ?? Array.from({ length: max + 1 }, (_, k) => String(k));
  if (max >= classNames.length)
    throw new MetaD2AException(parseError({ source: labelsFile, field: 'labels', expected: `labels below ${classNames.length} (the number of class names)`, got: `label ${max}` }));
  const [n, h, w] = d as [number, number, number];
  const c = (d.length === 4 ? d[3] : 1) as 1 | 3;
  const stride = h * w * c;
  const pixels = images.data as Uint8Array;
  return {
    kind: 'images',
    name: opts.name ?? path.basename(imagesFile),
    classNames,
    labels: lab,
    size: n,
    fingerprint: `idx:${fileFingerprint(imagesFile)}:${fileFingerprint(labelsFile)}`,
    image(i: number): RawImage {
      return { width: w, height: h, channels: c, data: pixels.subarray(i * stride, (i + 1) * stride) };
    },
  };
}
