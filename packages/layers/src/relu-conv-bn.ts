import * as tf from '@tensorflow/tfjs-core';
import { RELU_CONV_BN_TRAIN_GRAD_KERNEL, RELU_CONV_BN_TRAIN_KERNEL, type ReluConvBnAttrs } from '@metad2a/core';
import { batchNormTrain, type BatchNormTrainResult } from './batch-norm';

export interface ReluConvBnOptions {
  readonly stride: number;
  /** Zero padding on every spatial side (PyTorch's `padding`). */
  readonly pad: number;
  /** Apply ReLU to x first (NB201's `ReLUConvBN`); false gives Conv → BN (its stem). */
  readonly relu: boolean;
  readonly epsilon: number;
}

/**
 * Training-mode `ReLU → Conv2d(bias=False) → BatchNorm2d` over NHWC x with a filter in PyTorch's
 * `[out, in, k, k]` layout: y, batch mean and biased variance (for the running statistics).
 * Differentiable in x, filter, γ and β. On a backend with the fused kernels (`native`) the
 * forward and the backward are one kernel each (instead of ~6 and ~9 tfjs ops with the filter
 * transposed twice); elsewhere the composite graph of tfjs ops.
 */
export function reluConvBnTrain(x: tf.Tensor4D, filter: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, opts: ReluConvBnOptions): BatchNormTrainResult<tf.Rank.R4> {
  const attrs: ReluConvBnAttrs = { stride: opts.stride, pad: opts.pad, relu: opts.relu, epsilon: opts.epsilon };
  if (
    x.dtype === 'float32' &&
    tf.getKernel(RELU_CONV_BN_TRAIN_KERNEL, tf.getBackend()) !== undefined &&
    tf.getKernel(RELU_CONV_BN_TRAIN_GRAD_KERNEL, tf.getBackend()) !== undefined
  ) {
    registerReluConvBnGradient();
    const [y, mean, variance] = tf.engine().runKernel(RELU_CONV_BN_TRAIN_KERNEL, { x, filter, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return reluConvBnTrainComposite(x, filter, gamma, beta, opts);
}

/** The same op as tfjs ops (every backend without the fused kernels; the fused kernels' reference). */
export function reluConvBnTrainComposite(x: tf.Tensor4D, filter: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, opts: ReluConvBnOptions): BatchNormTrainResult<tf.Rank.R4> {
  return tf.tidy(() => {
    const a = opts.relu ? tf.relu(x) : x;
    const p = opts.pad;
    const conv = tf.conv2d(a, tf.transpose(filter, [2, 3, 1, 0]) as tf.Tensor4D, opts.stride, [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ]);
    const { y, mean, variance } = batchNormTrain(conv, gamma, beta, opts.epsilon);
    return { y, mean, variance };
  });
}

let gradientRegistered = false;

function registerReluConvBnGradient(): void {
  if (gradientRegistered || tf.getGradient(RELU_CONV_BN_TRAIN_KERNEL) !== undefined) {
    gradientRegistered = true;
    return;
  }
  tf.registerGradient({
    kernelName: RELU_CONV_BN_TRAIN_KERNEL,
    inputsToSave: ['filter', 'gamma'],
    outputsToSave: [false, true, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [filter, gamma, mean, variance, activated, conv] = saved as tf.Tensor[];
      const [dx, dfilter, dgamma, dbeta] = tf.engine().runKernel(
        RELU_CONV_BN_TRAIN_GRAD_KERNEL,
        {
          dy: dy!,
          ...(dmean ? { dmean } : {}),
          ...(dvariance ? { dvariance } : {}),
          activated: activated!,
          conv: conv!,
          filter: filter!,
          gamma: gamma!,
          mean: mean!,
          variance: variance!,
        },
        attrs as tf.NamedAttrMap,
      ) as tf.Tensor[];
      return { x: () => dx!, filter: () => dfilter!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  gradientRegistered = true;
}
