/**
 * Dataset references → sources → feature sets → set-encoder inputs.
 *
 * A reference is a string (what a CLI `--dataset` takes) or a typed {@link DatasetSpec}:
 * - `builtin:mnist`, `builtin:fashion-mnist`, `builtin:digits` (shipped, see `builtin.ts`);
 * - `source:<name>`: a task source rendered from fonts or generated (see `sources/task-sources.ts`);
 * - a folder: CIFAR binary (`data_batch_1..5.bin` → CIFAR-10, `train.bin` → CIFAR-100) or else
 *   an image folder with one sub-folder per class;
 * - `*.features.json` (our feature format), `*.pt` (`*bylabel.pt`, spec §1.2), `*.npy`
 *   (+ `*.labels.npy`), `*.bin` (CIFAR records), `*images-idx3-ubyte[.gz]` (+ its labels file);
 * - comma-separated files: `a.bin,b.bin` (CIFAR), `x.npy,y.npy`, `images,labels` (IDX).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { match } from 'ts-pattern';
import { MetaD2AException, Rng, drawClassSamples, fail, type FeatureSet, type SetLayout } from '@metad2a/core';
import { readFeatureSet as readByLabelPt } from '@metad2a/torch-io';
import { builtinDataset } from './builtin';
import { taskSource } from './sources/task-sources';
import { extractFeatures, type ExtractOptions } from './extract';
import { createExtractor, type ExtractorOptions, type FeatureExtractor } from './extractor';
import { selectImages } from './image-subset';
import { indicesByClass, type DatasetSource } from './images';
import { preprocessingFor, type NormalisationName, type Preprocessing } from './preprocess';
import { cifarFilesIn, readCifarBinary, type CifarVariant } from './readers/cifar';
import { readFeatureFile } from './readers/feature-file';
import { idxLabelsPathFor, readIdxImages } from './readers/idx';
import { readImageFolder } from './readers/image-folder';
import { readNpyDataset } from './readers/npy-dataset';
import { fileFingerprint } from './readers/fingerprint';

/** A dataset reference with its kind spelled out. */
export type DatasetSpec =
  | { readonly kind: 'builtin'; readonly name: string }
  | { readonly kind: 'source'; readonly name: string }
  | { readonly kind: 'image-folder'; readonly root: string }
  | { readonly kind: 'idx'; readonly images: string; readonly labels: string; readonly classNames?: readonly string[] }
  | { readonly kind: 'cifar'; readonly files: readonly string[]; readonly variant?: CifarVariant; readonly labels?: 'fine' | 'coarse' }
  | { readonly kind: 'npy'; readonly data: string; readonly labels?: string }
  | { readonly kind: 'bylabel-pt'; readonly file: string }
  | { readonly kind: 'feature-file'; readonly manifest: string };

export type DatasetRef = string | DatasetSpec;

const FORMS =
  'builtin:<mnist|fashion-mnist|digits>, source:<name> (a rendered or procedural task source), an image folder (one sub-folder per class), a CIFAR binary folder or .bin file, an IDX images file (*images-idx3-ubyte[.gz]), a .npy file, a *bylabel.pt file, or a *.features.json file';

/** Turn a string reference into a {@link DatasetSpec} (checking that paths exist). */
export function parseDatasetRef(ref: string): DatasetSpec {
  if (ref.startsWith('builtin:')) return { kind: 'builtin', name: ref.slice('builtin:'.length) };
  if (ref.startsWith('source:')) return { kind: 'source', name: ref.slice('source:'.length) };
  if (ref.includes(',') && !fs.existsSync(ref)) return parseFileList(ref);
  if (!fs.existsSync(ref)) return fail('NotFound', { source: 'dataset reference', field: ref, expected: FORMS, got: 'no such file or folder' });
  if (fs.statSync(ref).isDirectory()) {
    const cifar = cifarFilesIn(ref);
    return cifar ? { kind: 'cifar', files: cifar.files, variant: cifar.variant } : { kind: 'image-folder', root: ref };
  }
  const base = path.basename(ref);
  if (base.endsWith('.features.json')) return { kind: 'feature-file', manifest: ref };
  if (base.endsWith('.pt')) return { kind: 'bylabel-pt', file: ref };
  if (base.endsWith('.npy')) return { kind: 'npy', data: ref };
  if (base.endsWith('.bin')) return { kind: 'cifar', files: [ref] };
  if (/images-idx3-ubyte/.test(base)) return { kind: 'idx', images: ref, labels: idxLabelsPathFor(ref)! };
  return fail('Unsupported', { source: 'dataset reference', field: ref, expected: FORMS, got: `a file named ${JSON.stringify(base)}` });
}

/** `a,b[,…]`: CIFAR `.bin` files, `images.npy,labels.npy`, or an IDX `images,labels` pair. */
function parseFileList(ref: string): DatasetSpec {
  const parts = ref.split(',').map((p) => p.trim());
  const missing = parts.filter((p) => !fs.existsSync(p));
  if (missing.length > 0) return fail('NotFound', { source: 'dataset reference', field: ref, expected: 'comma-separated files that exist', got: `missing ${missing.join(', ')}` });
  if (parts.every((p) => p.endsWith('.bin'))) return { kind: 'cifar', files: parts };
  if (parts.length === 2 && parts.every((p) => p.endsWith('.npy'))) return { kind: 'npy', data: parts[0]!, labels: parts[1]! };
  if (parts.length === 2 && parts.every((p) => !p.endsWith('.npy') && !p.endsWith('.bin'))) return { kind: 'idx', images: parts[0]!, labels: parts[1]! };
  return fail('Unsupported', {
    source: 'dataset reference',
    field: ref,
    expected: 'a,b,… .bin files (CIFAR), data.npy,labels.npy, or images,labels (IDX)',
    got: `${parts.length} files`,
  });
}

/** Open a dataset reference: images to extract features from, or precomputed features. */
export function resolveDataset(ref: DatasetRef): DatasetSource {
  const spec = typeof ref === 'string' ? parseDatasetRef(ref) : ref;
  return match(spec)
    .with({ kind: 'builtin' }, (s): DatasetSource => builtinDataset(s.name).load())
    .with({ kind: 'source' }, (s): DatasetSource => taskSource(s.name).load())
    .with({ kind: 'image-folder' }, (s): DatasetSource => readImageFolder(s.root))
    .with({ kind: 'idx' }, (s): DatasetSource => readIdxImages(s.images, s.labels, { classNames: s.classNames }))
    .with({ kind: 'cifar' }, (s): DatasetSource => readCifarBinary(s.files, { variant: s.variant, labels: s.labels }))
    .with({ kind: 'npy' }, (s): DatasetSource => readNpyDataset(s.data, s.labels))
    .with({ kind: 'bylabel-pt' }, (s): DatasetSource => {
      const r = readByLabelPt(s.file, { name: path.basename(s.file) });
      if (E.isLeft(r)) throw new MetaD2AException(r.left);
      return { kind: 'features', name: r.right.name, featureSet: r.right, fingerprint: `pt:${fileFingerprint(s.file)}` };
    })
    .with({ kind: 'feature-file' }, (s): DatasetSource => readFeatureFile(s.manifest))
    .exhaustive();
}

export interface LoadOptions extends Partial<Omit<ExtractOptions, 'preprocessing'>> {
  /** Extractor name (default `random-conv`) or an extractor instance. Ignored for feature sources unless it is not `identity`. */
  readonly extractor?: string | FeatureExtractor;
  readonly extractorOptions?: ExtractorOptions;
  /** Normalisation constants (default: the data set's own when known, else `imagenet`). */
  readonly normalisation?: NormalisationName;
  /** Full preprocessing (beats `normalisation`). */
  readonly preprocessing?: Preprocessing;
}

/** The feature set of a dataset reference: read (features) or extracted with the feature cache (images). */
export async function loadFeatureSet(ref: DatasetRef | DatasetSource, opts: LoadOptions = {}): Promise<FeatureSet> {
  const src = typeof ref === 'object' && (ref.kind === 'images' || ref.kind === 'features') ? (ref as DatasetSource) : resolveDataset(ref as DatasetRef);
  if (src.kind === 'features') {
    const name = typeof opts.extractor === 'string' ? opts.extractor : opts.extractor?.name;
    if (name !== undefined && name !== 'identity') {
      fail('ValidationError', { source: src.name, field: 'extractor', expected: "'identity' (the data set holds precomputed features)", got: JSON.stringify(name) });
    }
    const fsx = src.featureSet;
    if (opts.maxPerClass === undefined) return fsx;
    return {
      ...fsx,
      classes: fsx.classes.map((c) => ({ ...c, count: Math.min(c.count, opts.maxPerClass!), data: c.data.subarray(0, Math.min(c.count, opts.maxPerClass!) * fsx.dim) })),
    };
  }
  const owned = typeof opts.extractor !== 'object';
  const extractor = typeof opts.extractor === 'object' ? opts.extractor : await createExtractor(opts.extractor ?? 'random-conv', opts.extractorOptions);
  try {
    const preprocessing = opts.preprocessing ?? preprocessingFor(opts.normalisation ?? extractor.normalisation ?? src.normalisation ?? 'imagenet', extractor.inputSize);
    return await extractFeatures(src, extractor, { ...opts, preprocessing });
  } finally {
    if (owned) extractor.dispose();
  }
}

export interface SampleOptions extends LoadOptions {
  /** Rows drawn per class (spec §1.3: 20). */
  readonly perClass?: number;
  /** Seed of the draw (or pass `rng`). */
  readonly seed?: number;
  readonly rng?: Rng;
}

export interface DatasetSample {
  /** `[C·perClass, dim]`, class-contiguous (the set encoder's input). */
  readonly data: Float32Array;
  readonly shape: [number, number];
  readonly layout: SetLayout;
  readonly featureSet: FeatureSet;
}

/**
 * One call from a reference to a set-encoder input: resolve, draw `perClass` rows of every class
 * without replacement (spec §1.3), extract (cached). For images the draw comes first and only the
 * drawn images are extracted (the same rows, in the same order, as drawing from the features of
 * every image with `drawClassSamples`); `featureSet` then holds the drawn rows.
 * `sampleDataset('builtin:fashion-mnist', { perClass: 20, seed: 0 })` gives `[200, 512]` from 200 images.
 */
export async function sampleDataset(ref: DatasetRef | DatasetSource, opts: SampleOptions = {}): Promise<DatasetSample> {
  const perClass = opts.perClass ?? 20;
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const src = typeof ref === 'object' && (ref.kind === 'images' || ref.kind === 'features') ? (ref as DatasetSource) : resolveDataset(ref as DatasetRef);
  if (src.kind === 'features') {
    const featureSet = await loadFeatureSet(src, opts);
    const data = drawClassSamples(featureSet, perClass, rng);
    return { data, shape: [featureSet.classes.length * perClass, featureSet.dim], layout: { classes: featureSet.classes.length, perClass }, featureSet };
  }
  const byClass = indicesByClass(src).map((idx) => (opts.maxPerClass !== undefined ? idx.slice(0, opts.maxPerClass) : idx));
  if (byClass.length === 0) fail('ValidationError', { source: src.name, field: 'classes', expected: 'at least one class', got: '0' });
  byClass.forEach((idx, k) => {
    if (idx.length < perClass)
      fail('ValidationError', { source: src.name, field: `class ${k} (${src.classNames[k]})`, expected: `at least ${perClass} samples`, got: String(idx.length) });
  });
  const chosen = byClass.flatMap((idx) => {
    const order = rng.permutation(idx.length);
    return Array.from({ length: perClass }, (_, j) => idx[order[j]!]!);
  });
  const featureSet = await loadFeatureSet(selectImages(src, chosen), { ...opts, maxPerClass: undefined });
  const data = new Float32Array(chosen.length * featureSet.dim);
  let o = 0;
  for (const c of featureSet.classes) {
    data.set(c.data, o);
    o += c.data.length;
  }
  return { data, shape: [featureSet.classes.length * perClass, featureSet.dim], layout: { classes: featureSet.classes.length, perClass }, featureSet };
}
