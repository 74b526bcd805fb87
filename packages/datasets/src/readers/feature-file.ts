/**
 * The package's own feature format, **metad2a-features v1**: a JSON manifest plus one `.npy`.
 *
 * ```json
 * { "format": "metad2a-features", "version": 1,
 *   "name": "my-photos", "dim": 512,
 *   "data": "my-photos.features.npy",
 *   "classes": [{ "label": "cat", "count": 120 }, { "label": "dog", "count": 98 }],
 *   "extractor": "random-conv:v1:seed=0:…", "preprocessing": "resize32-…" }
 * ```
 *
 * `data` is a path relative to the manifest of a float32 (or float64) `.npy` of shape
 * `[Σ count, dim]`, rows class after class in the order of `classes`. `extractor` and
 * `preprocessing` are optional provenance strings. `sha256` (written by {@link writeFeatureFile},
 * optional in hand-written manifests) is the SHA-256 of the `.npy` file, verified on load; every
 * value must be finite either way. The feature cache uses this format.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, ioError, parseError, writeFileAtomicSync, type ClassFeatures, type FeatureSet, type MetaD2AError } from '@metad2a/core';
import type { FeatureSource } from '../images';
import { fileFingerprint } from './fingerprint';
import { encodeNpy, parseNpy } from './npy';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export const FEATURE_FORMAT = 'metad2a-features';
export const FEATURE_FORMAT_VERSION = 1;

export interface FeatureManifest {
  readonly format: typeof FEATURE_FORMAT;
  readonly version: 1;
  readonly name: string;
  readonly dim: number;
  readonly data: string;
  readonly classes: readonly { readonly label: string; readonly count: number }[];
  readonly extractor?: string;
  readonly preprocessing?: string;
  /** SHA-256 (hex) of the `.npy` file's bytes. */
  readonly sha256?: string;
}

/** Validate a parsed manifest; every problem names the field and what was expected. */
export function parseFeatureManifest(json: unknown, source: string): E.Either<MetaD2AError, FeatureManifest> {
  const bad = (field: string, expected: string, got: unknown): E.Either<MetaD2AError, FeatureManifest> =>
    E.left(parseError({ source, field, expected, got: JSON.stringify(got) ?? String(got) }));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('(root)', 'a JSON object', json);
  const m = json as Record<string, unknown>;
  if (m.format !== FEATURE_FORMAT) return bad('format', JSON.stringify(FEATURE_FORMAT), m.format);
  if (m.version !== FEATURE_FORMAT_VERSION) return bad('version', String(FEATURE_FORMAT_VERSION), m.version);
  if (typeof m.name !== 'string') return bad('name', 'a string', m.name);
  if (typeof m.dim !== 'number' || !Number.isInteger(m.dim) || m.dim <= 0) return bad('dim', 'a positive integer', m.dim);
  if (typeof m.data !== 'string' || m.data === '') return bad('data', 'the path of a .npy file, relative to the manifest', m.data);
  if (!Array.isArray(m.classes) || m.classes.length === 0) return bad('classes', 'a non-empty array of { label, count }', m.classes);
  for (let i = 0; i < m.classes.length; i++) {
    const c = m.classes[i] as Record<string, unknown> | null;
    if (typeof c !== 'object' || c === null || typeof c.label !== 'string') return bad(`classes[${i}].label`, 'a string', c?.label);
    if (typeof c.count !== 'number' || !Number.isInteger(c.count) || c.count < 0) return bad(`classes[${i}].count`, 'a non-negative integer', c.count);
  }
  for (const k of ['extractor', 'preprocessing'] as const) if (m[k] !== undefined && typeof m[k] !== 'string') return bad(k, 'a string when present', m[k]);
  if (m.sha256 !== undefined && !(typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256))) return bad('sha256', '64 hexadecimal digits when present', m.sha256);
  return E.right(m as unknown as FeatureManifest);
}

/** Read a feature file (manifest + `.npy`). */
export function readFeatureFile(manifestFile: string): FeatureSource {
  let text: string;
  try {
    text = fs.readFileSync(manifestFile, 'utf8');
  } catch (err) {
    throw new MetaD2AException(ioError({ source: manifestFile, expected: 'a readable metad2a-features manifest', got: (err as Error).message, cause: err }));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MetaD2AException(parseError({ source: manifestFile, field: 'JSON', expected: 'valid JSON', got: (err as Error).message, cause: err }));
  }
  const r = parseFeatureManifest(json, manifestFile);
  if (E.isLeft(r)) throw new MetaD2AException(r.left);
  const m = r.right;
  const dataFile = path.resolve(path.dirname(manifestFile), m.data);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(dataFile);
  } catch (err) {
    throw new MetaD2AException(ioError({ source: dataFile, expected: 'a readable .npy file', got: (err as Error).message, cause: err }));
  }
  if (m.sha256 !== undefined) {
    const sum = sha256(bytes);
    if (sum !== m.sha256)
      throw new MetaD2AException(
        parseError({ source: dataFile, field: 'sha256', expected: `${m.sha256} (the manifest's checksum)`, got: `${sum} (the data changed after it was written)` }),
      );
  }
  const arr = parseNpy(bytes, dataFile);
  const total = m.classes.reduce((a, c) => a + c.count, 0);
  if (arr.shape.length !== 2 || arr.shape[0] !== total || arr.shape[1] !== m.dim) {
    throw new MetaD2AException(
      parseError({
        source: dataFile,
        field: 'shape',
        expected: `[${total}, ${m.dim}] (Σ classes[].count, dim of ${path.basename(manifestFile)})`,
        got: `[${arr.shape.join(', ')}]`,
      }),
    );
  }
  if (arr.dtype !== 'f4' && arr.dtype !== 'f8') throw new MetaD2AException(parseError({ source: dataFile, field: 'descr', expected: '<f4 or <f8', got: arr.dtype }));
  const all = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data);
  let row = 0;
  const classes: ClassFeatures[] = m.classes.map((c, ci) => {
    const data = all.subarray(row * m.dim, (row + c.count) * m.dim);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!))
        throw new MetaD2AException(
          parseError({ source: dataFile, field: `class ${ci} (${c.label}) row ${Math.floor(i / m.dim)}`, expected: 'finite feature values', got: String(data[i]) }),
        );
    }
    row += c.count;
    return { label: c.label, count: c.count, data };
  });
  return {
    kind: 'features',
    name: m.name,
    featureSet: { name: m.name, dim: m.dim, classes },
    fingerprint: `features:${fileFingerprint(manifestFile)}:${fileFingerprint(dataFile)}`,
  };
}

/**
 * Write a feature set as `<base>.features.json` + `<base>.features.npy` (both atomically; the
 * manifest last, so a reader never sees a manifest without its data). Returns the manifest path.
 */
export function writeFeatureFile(base: string, fs_: FeatureSet, provenance: { extractor?: string; preprocessing?: string } = {}): string {
  const stem = base.replace(/\.features\.json$/, '');
  const manifestFile = `${stem}.features.json`;
  const dataFile = `${stem}.features.npy`;
  const total = fs_.classes.reduce((a, c) => a + c.count, 0);
  const all = new Float32Array(total * fs_.dim);
  let o = 0;
  for (const c of fs_.classes) {
    all.set(c.data.subarray(0, c.count * fs_.dim), o);
    o += c.count * fs_.dim;
  }
  const npy = encodeNpy(all, [total, fs_.dim]);
  writeFileAtomicSync(dataFile, npy);
  const manifest: FeatureManifest = {
    format: FEATURE_FORMAT,
    version: 1,
    name: fs_.name,
    dim: fs_.dim,
    data: path.basename(dataFile),
    classes: fs_.classes.map((c) => ({ label: c.label, count: c.count })),
    ...provenance,
    sha256: sha256(npy),
  };
  writeFileAtomicSync(manifestFile, `${JSON.stringify(manifest, null, 1)}\n`);
  return manifestFile;
}
