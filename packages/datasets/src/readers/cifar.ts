/**
 * The CIFAR-10 / CIFAR-100 binary format (`cifar-10-batches-bin/data_batch_*.bin`,
 * `cifar-100-binary/train.bin`): fixed-size records of label byte(s) then 3,072 pixel bytes,
 * 1,024 per channel (R, G, B planes of 32×32). CIFAR-10 records have one label byte
 * (3,073 bytes); CIFAR-100 records have a coarse then a fine label byte (3,074 bytes).
 * Labels are scanned chunk by chunk; pixels are read from disk when an image is requested.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, ioError, parseError, validationError } from '@metad2a/core';
import type { ImageDataset, RawImage } from '../images';
import { fileFingerprint } from './fingerprint';

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** Which format; by default inferred from the file sizes (3,073- or 3,074-byte records). */
  readonly variant?: CifarVariant;
  /** For CIFAR-100: the 100 fine labels (default) or the 20 coarse ones. */
  readonly labels?: 'fine' | 'coarse';
  /** Class names (default: read from batches.meta.txt / fine_label_names.txt / coarse_label_names.txt beside the files, else the numbers). */
  readonly classNames?: readonly string[];
  readonly name?: string;
}

const PIXELS = 3072;

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (err) {
    throw new MetaD2AException(ioError({ source: file, expected: 'a readable CIFAR .bin file', got: (err as Error).message, cause: err }));
  }
}

/** The variant whose record size divides every file's size, or a clear error. */
export function inferCifarVariant(files: readonly string[]): CifarVariant {
  const sizes = files.map(sizeOf);
  const fits = (rec: number): boolean => sizes.every((s) => s > 0 && s % rec === 0);
  const ten = fits(PIXELS + 1);
  const hundred = fits(PIXELS + 2);
  if (ten && !hundred) return 'cifar10';
  if (hundred && !ten) return 'cifar100';
  throw new MetaD2AException(
    parseError({
      source: files.join(', '),
      field: 'file size',
      expected: ten ? 'a size that tells CIFAR-10 from CIFAR-100 (pass variant)' : 'a non-zero multiple of 3,073 bytes (CIFAR-10) or 3,074 bytes (CIFAR-100)',
      got: sizes.map((s) => `${s} bytes`).join(', '),
    }),
  );
}

function readNames(file: string, expected: number): string[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  const names = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return names.length === expected ? names : undefined;
}

/** An image dataset over one or more CIFAR binary files (their records in order). */
export function readCifarBinary(files: readonly string[], opts: CifarOptions = {}): ImageDataset {
  if (files.length === 0) throw new MetaD2AException(validationError({ source: 'readCifarBinary', field: 'files', expected: 'at least one .bin file', got: 'none' }));
  const variant = opts.variant ?? inferCifarVariant(files);
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const which = variant === 'cifar100' && opts.labels === 'coarse' ? 0 : labelBytes - 1;
  const numClasses = variant === 'cifar10' ? 10 : which === 0 ? 20 : 100;
  const rec = PIXELS + labelBytes;
  const where: { file: string; offset: number }[] = [];
  const labels: number[] = [];
  for (const file of files) {
    const size = sizeOf(file);
    if (size === 0 || size % rec !== 0) {
      throw new MetaD2AException(parseError({ source: file, field: 'file size', expected: `a non-zero multiple of ${rec} bytes (${variant} records)`, got: `${size} bytes` }));
    }
    const fd = fs.openSync(file, 'r');
    try {
      const chunkRecords = 1024;
      const buf = Buffer.alloc(chunkRecords * rec);
      const n = size / rec;
      for (let r0 = 0; r0 < n; r0 += chunkRecords) {
        const m = Math.min(chunkRecords, n - r0);
        fs.readSync(fd, buf, 0, m * rec, r0 * rec);
        for (let r = 0; r < m; r++) {
          const lab = buf[r * rec + which]!;
          if (lab >= numClasses) {
            throw new MetaD2AException(
              parseError({
                source: file,
                field: `record ${r0 + r} label byte ${which}`,
                expected: `a ${variant}${variant === 'cifar100' ? ` ${which === 0 ? 'coarse' : 'fine'}` : ''} label below ${numClasses}`,
                got: String(lab),
              }),
            );
          }
          labels.push(lab);
          where.push({ file, offset: (r0 + r) * rec + labelBytes });
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const dir = path.dirname(files[0]!);
  const namesFile = variant === 'cifar10' ? 'batches.meta.txt' : which === 0 ? 'coarse_label_names.txt' : 'fine_label_names.txt';
  const classNames = opts.classNames ?? readNames(path.join(dir, namesFile), numClasses) ?? Array.from({ length: numClasses }, (_, k) => String(k));
  if (classNames.length !== numClasses)
    throw new MetaD2AException(validationError({ source: 'readCifarBinary', field: 'classNames', expected: `${numClasses} names`, got: String(classNames.length) }));
  return {
    kind: 'images',
    name: opts.name ?? files.map((f) => path.basename(f)).join('+'),
    classNames,
    labels: Int32Array.from(labels),
    size: labels.length,
    fingerprint: `cifar:${variant}:${which}:${files.map(fileFingerprint).join(':')}`,
    normalisation: variant,
    image(i: number): RawImage {
      const { file, offset } = where[i]!;
      const planes = Buffer.alloc(PIXELS);
      const fd = fs.openSync(file, 'r');
      try {
        fs.readSync(fd, planes, 0, PIXELS, offset);
      } finally {
        fs.closeSync(fd);
      }
      const data = new Uint8Array(PIXELS);
      for (let p = 0; p < 1024; p++) {
        data[3 * p] = planes[p]!;
        data[3 * p + 1] = planes[1024 + p]!;
        data[3 * p + 2] = planes[2048 + p]!;
      }
      return { width: 32, height: 32, channels: 3, data };
    },
  };
}

/** The training files of an extracted CIFAR binary folder (`data_batch_1..5.bin` or `train.bin`), or undefined. */
export function cifarFilesIn(dir: string): { files: string[]; variant: CifarVariant } | undefined {
  const batches = [1, 2, 3, 4, 5].map((k) => path.join(dir, `data_batch_${k}.bin`)).filter((f) => fs.existsSync(f));
  if (batches.length > 0) return { files: batches, variant: 'cifar10' };
  if (fs.existsSync(path.join(dir, 'train.bin'))) return { files: [path.join(dir, 'train.bin')], variant: 'cifar100' };
  return undefined;
}
