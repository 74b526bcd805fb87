/**
 * Fused training-mode batch normalisation kernels (`native/batchnorm.cc`) under the custom kernel
 * names that `@metad2a/layers`' `batchNormTrain` op runs when the active backend has them:
 * - `MetaD2ABatchNormTrain` {x, gamma, beta}, attr epsilon → [y, mean, variance] (channels = last
 *   axis, biased variance);
 * - `MetaD2ABatchNormTrainGrad` {dy, x, gamma, mean, variance, dmean?, dvariance?} → [dx, dgamma, dbeta].
 * - tfjs' own `FusedBatchNorm` (inference, e.g. the BatchNorm layers of a loaded tfjs-layers model)
 *   when mean, variance, offset and scale are per-channel: the cpu kernel's formula, bit-identical.
 * Names and contracts: `@metad2a/core`'s fused-kernels; the op, its registered gradient and the
 * composite fallback of other backends: `@metad2a/layers`' `batchNormTrain`.
 */
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL } from '@metad2a/core';
import { FusedBatchNorm, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { f32, type KernelMaker } from './elementwise';

/** [M, C] view of a channels-last tensor, or null when the per-channel arrays do not have C elements. */
function rowsAndChannels(x: TensorInfo, ...perChannel: (Float32Array | null)[]): [number, number] | null {
  if (x.shape.length === 0) return null;
  const c = x.shape[x.shape.length - 1]!;
  if (c === 0 || perChannel.some((a) => a !== null && a.length !== c)) return null;
  return [util.sizeFromShape(x.shape) / c, c];
}

export function batchNormKernelConfigs(addon: NativeAddon, k: KernelMaker): KernelConfig[] {
  return [
    k(FusedBatchNorm, (inputs, attrs, backend) => {
      const { x, mean, variance, offset, scale } = inputs;
      const [xv, mv, vv] = [x, mean, variance].map((t) => f32(backend, t));
      const ov = offset ? f32(backend, offset) : null;
      const sv = scale ? f32(backend, scale) : null;
      if (!x || !xv || !mv || !vv || (offset && !ov) || (scale && !sv)) return null;
      const mc = rowsAndChannels(x, mv, vv, ov, sv); // null unless every per-channel array has C entries
      if (!mc) return null;
      const [m, c] = mc;
      const y = outputBuffers.take(m * c, false);
      addon.batchNormInfer(xv, mv, vv, ov, sv, y, m, c, attrs.varianceEpsilon == null ? 0.001 : Number(attrs.varianceEpsilon));
      return backend.makeTensorInfo(x.shape, 'float32', y);
    }),
    k(BATCH_NORM_TRAIN_KERNEL, (inputs, attrs, backend) => {
      const { x, gamma, beta } = inputs;
      const xv = f32(backend, x);
      const gv = f32(backend, gamma);
      const bv = f32(backend, beta);
      if (!x || !xv || !gv || !bv) return null;
      const mc = rowsAndChannels(x, gv, bv);
      if (!mc) return null;
      const [m, c] = mc;
      const y = outputBuffers.take(m * c, false);
      const mean = outputBuffers.take(c, false);
      const variance = outputBuffers.take(c, false);
      addon.batchNormTrain(xv, gv, bv, y, mean, variance, m, c, Number(attrs.epsilon));
      return [backend.makeTensorInfo(x.shape, 'float32', y), backend.makeTensorInfo([c], 'float32', mean), backend.makeTensorInfo([c], 'float32', variance)];
    }),
    k(BATCH_NORM_TRAIN_GRAD_KERNEL, (inputs, attrs, backend) => {
      const { dy, x, gamma, mean, variance, dmean, dvariance } = inputs;
      const [dyv, xv, gv, mv, vv] = [dy, x, gamma, mean, variance].map((t) => f32(backend, t));
      const dmv = dmean ? f32(backend, dmean) : null;
      const dvv = dvariance ? f32(backend, dvariance) : null;
      if (!dy || !x || !dyv || !xv || !gv || !mv || !vv || (dmean && !dmv) || (dvariance && !dvv)) return null;
      if (!util.arraysEqual(dy.shape, x.shape)) return null;
      const mc = rowsAndChannels(x, gv, mv, vv, dmv, dvv);
      if (!mc) return null;
      const [m, c] = mc;
      const dx = outputBuffers.take(m * c, false);
      const dgamma = outputBuffers.take(c, false);
      const dbeta = outputBuffers.take(c, false);
      addon.batchNormTrainGrad(dyv, xv, gv, mv, vv, dmv, dvv, dx, dgamma, dbeta, m, c, Number(attrs.epsilon));
      return [backend.makeTensorInfo(x.shape, 'float32', dx), backend.makeTensorInfo([c], 'float32', dgamma), backend.makeTensorInfo([c], 'float32', dbeta)];
    }),
  ];
}
