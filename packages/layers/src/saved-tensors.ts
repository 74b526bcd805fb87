import * as tf from '@tensorflow/tfjs-core';

/** The slice of tfjs 4.22's Engine used here (internal API: `clone` is what saves tensors for a gradient). */
interface EngineInternals {
  readonly state: { readonly gradientDepth: number };
  readonly backendName: string;
  readonly backend: tf.KernelBackend;
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor;
}

/**
 * Run `f` (a first-order gradient computation, e.g. `tf.variableGrads`) with tfjs's saved-tensor
 * copies made without their bookkeeping. tfjs 4.22 keeps every input / output an op saves for
 * its gradient as `engine.clone(t)`: an `Identity` kernel run through `runKernel` (scope, memory
 * and profiling bookkeeping) plus a tape node linking the copy to the original. Here, while the
 * outermost tape records (gradient depth 1), the copy is the backend's own `Identity` kernel
 * called directly (the same aliasing of the same storage, tracked and kept as before) and no tape
 * node: a saved tensor is read only by gradient functions, which run after the tape has ended,
 * so at depth 1 that node never lies between a variable and the loss and backprop skips it.
 * Nested tapes (higher-order gradients, where a saved tensor can be differentiated through) use
 * tfjs's own clone. Values are untouched: the same kernels run on the same data in the same order
 * (an `nb201-db` training step saves ~310 tensors; #24).
 */
export function withLeanSavedTensors<T>(f: () => T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  const own = Object.hasOwn(engine, 'clone');
  const original = engine.clone;
  engine.clone = function leanClone(this: EngineInternals, x: tf.Tensor): tf.Tensor {
    const identity = this.state.gradientDepth === 1 ? tf.getKernel('Identity', this.backendName) : undefined;
    if (identity === undefined) return original.call(this, x);
    const info = identity.kernelFunc({ inputs: { x }, attrs: {}, backend: this.backend }) as tf.TensorInfo;
    return this.makeTensorFromTensorInfo(info);
  };
  try {
    return f();
  } finally {
    if (own) engine.clone = original;
    else delete (engine as { clone?: unknown }).clone;
  }
}
