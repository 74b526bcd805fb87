import { MetaD2AException, validationError } from './errors';
import type { Rng } from './rng';

/** The features of one class: `count` rows of `dim` float32 values, row-major. */
export interface ClassFeatures {
  readonly label: string;
  readonly count: number;
  readonly data: Float32Array;
}

/**
 * A dataset as MetaD2A consumes it (spec §1.2): per-class sets of feature vectors
 * (512-d ResNet-18 features in the paper), in a fixed class order.
 */
export interface FeatureSet {
  readonly name: string;
  readonly dim: number;
  readonly classes: readonly ClassFeatures[];
}

/** How a set-encoder input `[B, C*n, d]` is laid out: C classes of n rows each, class-contiguous. */
export interface SetLayout {
  readonly classes: number;
  readonly perClass: number;
}

/** Throws a clear error unless every class has `dim`-wide rows and at least `perClass` of them. */
export function checkFeatureSet(fs: FeatureSet, perClass: number): void {
  if (fs.classes.length === 0) throw new MetaD2AException(validationError({ source: fs.name, field: 'classes', expected: 'at least one class', got: '0' }));
  fs.classes.forEach((c, i) => {
    if (c.data.length !== c.count * fs.dim) {
      throw new MetaD2AException(
        validationError({ source: fs.name, field: `class ${i} (${c.label})`, expected: `${c.count}×${fs.dim} = ${c.count * fs.dim} values`, got: String(c.data.length) }),
      );
    }
    if (c.count < perClass) {
      throw new MetaD2AException(validationError({ source: fs.name, field: `class ${i} (${c.label})`, expected: `at least ${perClass} samples`, got: String(c.count) }));
    }
  });
}

/**
 * Draw `perClass` rows of every class without replacement (a permutation, then its first
 * `perClass`, spec §1.3), class after class: the `[C*perClass, dim]` input of a set encoder.
 */
export function drawClassSamples(fs: FeatureSet, perClass: number, rng: Rng): Float32Array {
  checkFeatureSet(fs, perClass);
  const d = fs.dim;
  const out = new Float32Array(fs.classes.length * perClass * d);
  let o = 0;
  for (const c of fs.classes) {
    const idx = rng.permutation(c.count);
    for (let k = 0; k < perClass; k++) {
      const r = idx[k]!;
      out.set(c.data.subarray(r * d, (r + 1) * d), o);
      o += d;
    }
  }
  return out;
}

/** `batch` independent draws of {@link drawClassSamples}, stacked: `[batch, C*perClass, dim]`. */
export function drawDatasetBatch(fs: FeatureSet, perClass: number, batch: number, rng: Rng): { data: Float32Array; shape: [number, number, number]; layout: SetLayout } {
  const one = fs.classes.length * perClass * fs.dim;
  const data = new Float32Array(batch * one);
  for (let b = 0; b < batch; b++) data.set(drawClassSamples(fs, perClass, rng), b * one);
  return { data, shape: [batch, fs.classes.length * perClass, fs.dim], layout: { classes: fs.classes.length, perClass } };
}

/**
 * The rows {@link drawDatasetBatch} would draw, as indices instead of copies: `batch·C·perClass`
 * global row numbers (class c's row r is `offset(c) + r`, offsets = cumulative class counts), in
 * the same order and consuming `rng` exactly as `drawDatasetBatch` does — so that row i of
 * `drawDatasetBatch(fs, perClass, batch, rng).data` is global row `rows[i]` of the same draw.
 */
export function drawDatasetRows(fs: FeatureSet, perClass: number, batch: number, rng: Rng): { rows: Int32Array; shape: [number, number, number]; layout: SetLayout } {
  checkFeatureSet(fs, perClass);
  const classes = fs.classes.length;
  const rows = new Int32Array(batch * classes * perClass);
  // rng.permutation(c.count)'s first perClass entries (the same draws), in one reused typed array:
  // the search draws ~10^4 of these per run
  const idx = new Int32Array(fs.classes.reduce((m, c) => Math.max(m, c.count), 0));
  let o = 0;
  for (let b = 0; b < batch; b++) {
    let offset = 0;
    for (const c of fs.classes) {
      rng.permutationInto(idx, c.count);
      for (let k = 0; k < perClass; k++) rows[o++] = offset + idx[k]!;
      offset += c.count;
    }
  }
  return { rows, shape: [batch, classes * perClass, fs.dim], layout: { classes, perClass } };
}

/** Global feature row `row` (numbered as in {@link drawDatasetRows}) of `fs`, copied into `out` at `at`. */
export function copyFeatureRow(fs: FeatureSet, row: number, out: Float32Array, at: number): void {
  let r = row;
  for (const c of fs.classes) {
    if (r < c.count) {
      out.set(c.data.subarray(r * fs.dim, (r + 1) * fs.dim), at);
      return;
    }
    r -= c.count;
  }
  throw new RangeError(`feature row ${row} out of range for ${fs.name}`);
}
