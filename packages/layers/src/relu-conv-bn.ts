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
  /**
   * False when x is data that is never differentiated (a network's stem input): the fused
   * gradient kernel then skips dx, and differentiating this op with respect to x throws. Other
   * gradients are unchanged to the bit. Default true.
   */
  readonly inputGradient?: boolean;
}

/**
 * Training-mode `ReLU → Conv2d(bias=False) → BatchNorm2d` over NHWC x with a filter in PyTorch's
 * `[out, in, k, k]` layout: y, batch mean and biased variance (for the running statistics).
 * Differentiable in x, filter, γ and β. On a backend with the fused kernels (`native`) the
 * forward and the backward are one kernel each (instead of ~6 and ~9 tfjs ops with the filter
 * transposed twice); elsewhere the composite graph of tfjs ops.
 */
export function reluConvBnTrain(x: tf.Tensor4D, filter: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, opts: ReluConvBnOptions): BatchNormTrainResult<tf.Rank.R4> {
  const attrs: ReluConvBnAttrs = { stride: opts.stride, pad: opts.pad, relu: opts.relu, epsilon: opts.epsilon, inputGradient: opts.inputGradient ?? true };
  if (
    x.dtype === 'float32' &&
    tf.getKernel(RELU_CONV_BN_TRAIN_KERNEL, tf.getBackend()) !== undefined &&
    tf.getKernel(RELU_CONV_BN_TRAIN_GRAD_KERNEL, tf.getBackend()) !== undefined
  ) {
    const [y, mean, variance] = fusedReluConvBn({ x, filter, gamma, beta }, attrs);
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

/** The slice of tfjs 4.22's Engine.runKernelFunc used here (what `tf.customGrad` runs, which allows one output only). */
interface CustomGradEngine {
  runKernelFunc(invocation: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor[];
    backwardsFunc: (dys: tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor[];
}

/**
 * The fused forward kernel as a taped op with three outputs [y, mean, variance]. The kernel's
 * other two outputs (the ReLU'd input and the convolution, kept for the gradient kernel) are
 * saved tensors, not outputs: for a kernel with a registered gradient, tfjs allocates a
 * zero-filled gradient for every output that gets none, i.e. two activation-sized arrays per
 * layer and training step (~5 MB per nb201-db step, ~8 % of its CPU time in allocation and GC).
 * The gradient kernel sees the same inputs as before (zero dmean / dvariance when they get no
 * gradient), so results are unchanged to the bit.
 */
function fusedReluConvBn(inputs: { x: tf.Tensor4D; filter: tf.Tensor4D; gamma: tf.Tensor1D; beta: tf.Tensor1D }, attrs: ReluConvBnAttrs): tf.Tensor[] {
  const named = attrs as unknown as tf.NamedAttrMap;
  return (tf.engine() as unknown as CustomGradEngine).runKernelFunc({
    inputs,
    forwardFunc: (_backend, save) => {
      const [y, mean, variance, activated, conv] = tf.engine().runKernel(RELU_CONV_BN_TRAIN_KERNEL, inputs, named) as tf.Tensor[];
      save([inputs.filter, inputs.gamma, mean!, variance!, activated!, conv!]);
      return [y!, mean!, variance!];
    },
    backwardsFunc: (dys, saved) => {
      const [dy, dmean, dvariance] = dys;
      const [filter, gamma, mean, variance, activated, conv] = saved;
      const grads = tf
        .engine()
        .runKernel(
          RELU_CONV_BN_TRAIN_GRAD_KERNEL,
          { dy: dy!, dmean: dmean!, dvariance: dvariance!, activated: activated!, conv: conv!, filter: filter!, gamma: gamma!, mean: mean!, variance: variance! },
          named,
        ) as tf.Tensor[];
      // without the input gradient the kernel gives [dfilter, dgamma, dbeta]
      const [dx, dfilter, dgamma, dbeta] = attrs.inputGradient === false ? [undefined, ...grads] : grads;
      const noInputGradient = (): tf.Tensor => {
        throw new Error('reluConvBnTrain: called with inputGradient: false, so its input x has no gradient (pass inputGradient: true to differentiate with respect to x)');
      };
      return { x: dx ? () => dx : noInputGradient, filter: () => dfilter!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
}
