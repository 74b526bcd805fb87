import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL } from '@metad2a/core';

/**
 * Fused kernel names (contracts in `@metad2a/core`'s fused-kernels). A backend that registers them
 * (the `native` backend of `@metad2a/tfjs-kernels`) runs `batchNormTrain` as two passes forward
 * and two backward; on any other backend the op is the composite tfjs graph.
 */
export const BATCH_NORM_TRAIN = BATCH_NORM_TRAIN_KERNEL;
export const BATCH_NORM_TRAIN_GRAD = BATCH_NORM_TRAIN_GRAD_KERNEL;

export interface BatchNormTrainResult<R extends tf.Rank> {
  /** (x − mean)·γ/√(variance + ε) + β. */
  readonly y: tf.Tensor<R>;
  /** Per-channel batch mean [C]. */
  readonly mean: tf.Tensor1D;
  /** Per-channel biased batch variance [C] (what normalises; PyTorch's running_var uses the unbiased one). */
  readonly variance: tf.Tensor1D;
}

/**
 * Training-mode batch normalisation over every axis but the last (channels-last, e.g. NHWC):
 * batch statistics, normalisation and the affine γ, β, as `nn.BatchNorm2d` in `train()` mode.
 * Differentiable in x, γ and β through all three outputs (y, mean, variance).
 */
export function batchNormTrain<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainResult<R> {
  if (x.dtype === 'float32' && x.rank >= 1 && tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined) {
    registerBatchNormTrainGradient();
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
    return { y: y as tf.Tensor<R>, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return batchNormTrainComposite(x, gamma, beta, epsilon);
}

/** The composite tfjs graph of `batchNormTrain` (what every backend without the fused kernel runs). */
export function batchNormTrainComposite<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainResult<R> {
  return tf.tidy(() => {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const scale = tf.div(gamma, tf.sqrt(tf.add(variance, epsilon)));
    const y = tf.add(tf.mul(tf.sub(x, mean), scale), beta) as tf.Tensor<R>;
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

/**
 * Gradients of `batchNormTrain` w.r.t. x, γ, β from dy and the gradients reaching its mean and
 * variance outputs, in tfjs ops (the fused gradient kernel's reference):
 * dx = a·dy + (dmean − a·Σdy)/M + (2·dvariance − a·invstd²·Σdy·(x−mean))·(x−mean)/M,
 * a = γ·invstd, invstd = 1/√(variance + ε); dγ = invstd·Σdy·(x−mean); dβ = Σdy.
 */
export function batchNormTrainGradComposite(
  dy: tf.Tensor,
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  dmean: tf.Tensor1D,
  dvariance: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const m = x.size / x.shape[x.rank - 1]!;
    const centred = tf.sub(x, mean);
    const invstd = tf.rsqrt(tf.add(variance, epsilon));
    const a = tf.mul(gamma, invstd);
    const s1 = tf.sum(dy, axes) as tf.Tensor1D;
    const s2 = tf.sum(tf.mul(dy, centred), axes) as tf.Tensor1D;
    const b = tf.div(tf.sub(dmean, tf.mul(a, s1)), m);
    const k = tf.div(tf.sub(tf.mul(dvariance, 2), tf.mul(tf.mul(a, tf.square(invstd)), s2)), m);
    const dx = tf.add(tf.add(tf.mul(dy, a), b), tf.mul(centred, k));
    return [dx, tf.mul(s2, invstd) as tf.Tensor1D, s1];
  });
}

let gradientRegistered = false;

/** Register the gradient of the fused kernel (once; tfjs gradients are global, kernels per backend). */
function registerBatchNormTrainGradient(): void {
  if (gradientRegistered || tf.getGradient(BATCH_NORM_TRAIN) !== undefined) {
    gradientRegistered = true;
    return;
  }
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
      const [x, gamma, mean, variance] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      const epsilon = Number((attrs as { epsilon: number }).epsilon);
      // all three at once (tensors made here belong to the gradient computation's scope)
      const [dx, dgamma, dbeta] =
        tf.getKernel(BATCH_NORM_TRAIN_GRAD, tf.getBackend()) !== undefined
          ? (tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy: dy!, x, gamma, mean, variance, dmean: dmean!, dvariance: dvariance! }, { epsilon }) as tf.Tensor[])
          : batchNormTrainGradComposite(dy!, x, gamma, mean, variance, dmean!, dvariance!, epsilon);
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  gradientRegistered = true;
}
