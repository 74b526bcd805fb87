/**
 * A data set stored as NumPy arrays: `x.npy` with images (uint8 `[N, H, W]` or `[N, H, W, 1|3]`)
 * or features (float `[N, D]`), and integer labels `[N]` in `x.labels.npy` (or `x_labels.npy`,
 * or a path given explicitly). Classes are the label values 0..max, in that order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, parseError, type ClassFeatures } from '@metad2a/core';
import type { DatasetSource, RawImage } from '../images';
import { fileFingerprint } from './fingerprint';
import { readNpy } from './npy';

/** `x.labels.npy` or `x_labels.npy` beside `x.npy`, whichever exists (the first when neither does). */
export function npyLabelsPathFor(dataFile: string): string {
  const stem = dataFile.replace(/\.npy$/, '');
  const candidates = [`${stem}.labels.npy`, `${stem}_labels.npy`];
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}

export function readNpyDataset(dataFile: string, labelsFile = npyLabelsPathFor(dataFile), opts: { name?: string } = {}): DatasetSource {
  const x = readNpy(dataFile);
  const y = readNpy(labelsFile);
  const n = x.shape[0];
  if (y.shape.length !== 1 || y.shape[0] !== n) {
    throw new MetaD2AException(
      parseError({ source: labelsFile, field: 'shape', expected: `[${n}] (one label per row of ${path.basename(dataFile)})`, got: `[${y.shape.join(', ')}]` }),
    );
  }
  if (y.dtype === 'f4' || y.dtype === 'f8') throw new MetaD2AException(parseError({ source: labelsFile, field: 'descr', expected: 'an integer dtype', got: y.dtype }));
  const labels = new Int32Array(n ?? 0);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const v = y.data[i]!;
    if (v < 0 || v > 1e6) throw new MetaD2AException(parseError({ source: labelsFile, field: `label ${i}`, expected: 'a class index in 0..1e6', got: String(v) }));
    labels[i] = v;
    if (v > max) max = v;
  }
  const classNames = Array.from({ length: max + 1 }, (_, k) => String(k));
  const name = opts.name ?? path.basename(dataFile);
  const fingerprint = `npy:${fileFingerprint(dataFile)}:${fileFingerprint(labelsFile)}`;
  const s = x.shape;
  if ((x.dtype === 'f4' || x.dtype === 'f8') && s.length === 2) {
    const dim = s[1]!;
    const byClass: number[][] = classNames.map(() => []);
    for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
    const classes: ClassFeatures[] = byClass.map((rows, k) => {
      const data = new Float32Array(rows.length * dim);
      rows.forEach((r, j) => {
        for (let d = 0; d < dim; d++) data[j * dim + d] = x.data[r * dim + d]!;
      });
      return { label: classNames[k]!, count: rows.length, data };
    });
    return { kind: 'features', name, featureSet: { name, dim, classes }, fingerprint };
  }
  if (x.dtype === 'u1' && (s.length === 3 || (s.length === 4 && (s[3] === 1 || s[3] === 3)))) {
    const [, h, w] = s as [number, number, number];
    const c = (s.length === 4 ? s[3] : 1) as 1 | 3;
    const stride = h * w * c;
    const pixels = x.data as Uint8Array;
    return {
      kind: 'images',
      name,
      classNames,
      labels,
      size: n!,
      fingerprint,
      image: (i: number): RawImage => ({ width: w, height: h, channels: c, data: pixels.subarray(i * stride, (i + 1) * stride) }),
    };
  }
  throw new MetaD2AException(
    parseError({ source: dataFile, field: 'shape/descr', expected: 'uint8 images [N, H, W] or [N, H, W, 1|3], or float features [N, D]', got: `${x.dtype} [${s.join(', ')}]` }),
  );
}
