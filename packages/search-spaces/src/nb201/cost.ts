/**
 * Exact size and compute of the NB201 macro network ("TinyNetwork", spec §3.7) for any cell.
 *
 * Layout: stem Conv3×3(in→C)+BN; N cells at C; ResNet reduction C→2C; N cells at 2C; reduction
 * 2C→4C; N cells at 4C; BN+ReLU, global average pool, Linear(4C→classes).
 * A cell op `nor_conv_k×k` is ReLU-Conv(k, no bias)-BN (k²·C² weights + 2C BN affine);
 * `none`, `skip_connect` and `avg_pool_3x3` have no parameters. A reduction block is
 * ReLU-Conv3×3/2-BN, ReLU-Conv3×3-BN, plus a shortcut AvgPool2×2/2 + Conv1×1 (no bias, no BN).
 *
 * `params` counts trainable parameters (BN running statistics excluded), like the official
 * `sum(p.numel())`. `macs` counts multiply-accumulates of convolutions and the classifier matrix
 * (no biases, BN, pooling or additions) — the convention of the spec's reference table
 * (220.12 M for all-conv3×3 at C=16, N=5, 32×32).
 */
import { fail } from '@metad2a/core';
import type { Nb201Cell } from './cell';

export interface Nb201NetworkOptions {
  /** Channels of the first stage, C (default 16). */
  readonly channels?: number;
  /** Cells per stage, N (default 5). */
  readonly cellsPerStage?: number;
  /** Output classes (default 10). */
  readonly classes?: number;
  /** Input height and width, or one number for a square input (default 32). */
  readonly inputSize?: number | readonly [height: number, width: number];
  /** Input channels (default 3). */
  readonly inputChannels?: number;
}

export interface Nb201Cost {
  readonly params: number;
  readonly macs: number;
}

const KERNEL: Record<number, number> = { 2: 1, 3: 3 }; // op id → conv kernel size

function positiveInt(x: number, field: string): number {
  if (!Number.isInteger(x) || x < 1) fail('ValidationError', { source: 'nb201Cost options', field, expected: 'a positive integer', got: String(x) });
  return x;
}

/** Parameters and MACs of the TinyNetwork built around `cell`. */
export function nb201Cost(cell: Nb201Cell, opts: Nb201NetworkOptions = {}): Nb201Cost {
  const C = positiveInt(opts.channels ?? 16, 'channels');
  const N = positiveInt(opts.cellsPerStage ?? 5, 'cellsPerStage');
  const classes = positiveInt(opts.classes ?? 10, 'classes');
  const inC = positiveInt(opts.inputChannels ?? 3, 'inputChannels');
  const size = opts.inputSize ?? 32;
  let h = positiveInt(typeof size === 'number' ? size : size[0], 'inputSize[0]');
  let w = positiveInt(typeof size === 'number' ? size : size[1], 'inputSize[1]');

  let params = 0;
  let macs = 0;
  const conv = (cin: number, cout: number, k: number, outH: number, outW: number, bn: boolean): void => {
    params += cin * cout * k * k + (bn ? 2 * cout : 0);
    macs += cin * cout * k * k * outH * outW;
  };
  const cellAt = (c: number): void => {
    for (const op of cell) {
      const k = KERNEL[op];
      if (k !== undefined) conv(c, c, k, h, w, true);
    }
  };

  conv(inC, C, 3, h, w, true); // stem
  let c = C;
  for (let stage = 0; stage < 3; stage++) {
    if (stage > 0) {
      // ResNet reduction block c → 2c; the strided conv and the 2×2 pool must agree on the size
      if (h % 2 !== 0 || w % 2 !== 0) {
        fail('ValidationError', {
          source: 'nb201Cost options',
          field: 'inputSize',
          expected: `a size whose feature map stays even at each reduction (stage ${stage + 1} input is ${h}×${w})`,
          got: JSON.stringify(size),
        });
      }
      h /= 2;
      w /= 2;
      conv(c, 2 * c, 3, h, w, true);
      conv(2 * c, 2 * c, 3, h, w, true);
      conv(c, 2 * c, 1, h, w, false);
      c *= 2;
    }
    for (let i = 0; i < N; i++) cellAt(c);
  }
  params += 2 * c; // last BN
  params += c * classes + classes; // classifier
  macs += c * classes;
  return { params, macs };
}
