/**
 * OFA's pretrained accuracy predictor for `ofa_mbv3_d234_e346_k357_w1.0` (mit-han-lab/once-for-all
 * `ofa/tutorial/accuracy_predictor.py`): an MLP 128→400→400→400→1 with ReLU, weights shipped in
 * `data/ofa-acc-predictor.bin.gz` (see `data/SOURCE.md`). Plain float64 arithmetic over the float32
 * weights; no tensor library. Output: predicted ImageNet top-1 as a fraction (a model estimate that
 * reads a few points above measured accuracy, not a measurement).
 */
import { fail } from '@metad2a/core';
import { PackedArrays, dataFile } from '../packed-arrays';
import { MBV3_EXPANDS, MBV3_KERNELS, MBV3_SLOTS, MBV3_SLOTS_PER_STAGE, type Mbv3Config } from './config';

/** Feature width: 60 kernel one-hots, 60 expand one-hots, 8 resolution one-hots. */
export const MBV3_ORACLE_FEATURES = 128;

/**
 * The predictor's input encoding: per slot a one-hot of k (3, 5, 7) and of e (3, 4, 6), all-zero
 * for slots beyond the stage depth; then a one-hot of the resolution, slot ⌊(r − 112)/16⌋
 * (r in 112..239).
 */
export function mbv3OracleFeatures(c: Mbv3Config, resolution = 224): Float64Array {
  if (!Number.isInteger(resolution) || resolution < 112 || resolution > 239) {
    fail('ValidationError', {
      source: 'MBv3 accuracy oracle',
      field: 'resolution',
      expected: 'an integer 112..239 (the predictor knows 8 resolution bins of 16)',
      got: String(resolution),
    });
  }
  const f = new Float64Array(MBV3_ORACLE_FEATURES);
  for (let i = 0; i < MBV3_SLOTS; i++) {
    if (i % MBV3_SLOTS_PER_STAGE >= c.d[Math.floor(i / MBV3_SLOTS_PER_STAGE)]!) continue;
    f[3 * i + MBV3_KERNELS.indexOf(c.ks[i]!)] = 1;
    f[60 + 3 * i + MBV3_EXPANDS.indexOf(c.e[i]!)] = 1;
  }
  f[120 + Math.floor((resolution - 112) / 16)] = 1;
  return f;
}

interface LinearLayer {
  readonly weight: Float64Array; // [out, in], the float32 weights widened once
  readonly bias: Float64Array;
  readonly inF: number;
  readonly outF: number;
}

export class Mbv3AccuracyOracle {
  private constructor(private readonly layers: readonly LinearLayer[]) {}

  /** Load the shipped weights (or another file in the same format). */
  static load(file = dataFile('ofa-acc-predictor.bin.gz')): Mbv3AccuracyOracle {
    const p = PackedArrays.readGzip(file);
    const dims = [128, 400, 400, 400, 1];
    const layers: LinearLayer[] = [];
    for (let l = 0; l < 4; l++) {
      const weight = p.float32(`${2 * l}.weight`);
      const bias = p.float32(`${2 * l}.bias`);
      const inF = dims[l]!;
      const outF = dims[l + 1]!;
      if (weight.length !== inF * outF || bias.length !== outF) {
        fail('ShapeMismatch', { source: file, field: `${2 * l}.weight`, expected: `[${outF}, ${inF}] and bias [${outF}]`, got: `${weight.length} and ${bias.length} values` });
      }
      layers.push({ weight: Float64Array.from(weight), bias: Float64Array.from(bias), inF, outF });
    }
    return new Mbv3AccuracyOracle(layers);
  }

  /** The MLP on a 128-d feature vector. */
  predictFeatures(features: ArrayLike<number>): number {
    if (features.length !== MBV3_ORACLE_FEATURES)
      fail('ShapeMismatch', { source: 'MBv3 accuracy oracle', field: 'features', expected: `${MBV3_ORACLE_FEATURES} values`, got: String(features.length) });
    let x = Float64Array.from(features);
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { weight: w, bias, inF, outF } = this.layers[l]!;
      // the inputs are one-hots and post-ReLU activations: skip the zeros
      const nz: number[] = [];
      for (let i = 0; i < inF; i++) if (x[i] !== 0) nz.push(i);
      const y = new Float64Array(outF);
      for (let o = 0; o < outF; o++) {
        let s = bias[o]!;
        const row = o * inF;
        for (let k = 0; k < nz.length; k++) {
          const i = nz[k]!;
          s += w[row + i]! * x[i]!;
        }
        y[o] = l < last && s < 0 ? 0 : s;
      }
      x = y;
    }
    return x[0]!;
  }

  /** Predicted ImageNet top-1 (fraction) of a subnet at a resolution (default 224). */
  predict(config: Mbv3Config, resolution = 224): number {
    return this.predictFeatures(mbv3OracleFeatures(config, resolution));
  }
}

let shared: Mbv3AccuracyOracle | undefined;

/** The shipped predictor, loaded once. */
export function mbv3AccuracyOracle(): Mbv3AccuracyOracle {
  shared ??= Mbv3AccuracyOracle.load();
  return shared;
}
