import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { isMetaD2AException } from '@metad2a/core';
import { TRAINING_KERNELS, requireTrainingKernels } from '../src';

describe('training needs convolution gradients', () => {
  it('a backend without them fails before any work with a message that names the fix', () => {
    let err: unknown;
    try {
      requireTrainingKernels('no-grads');
    } catch (e) {
      err = e;
    }
    expect(isMetaD2AException(err, 'BackendError')).toBe(true);
    expect((err as Error).message).toMatch(
      /backend 'no-grads': training kernels: expected gradient kernels Conv2DBackpropFilter, Conv2DBackpropInput, AvgPoolGrad to train a network, got missing Conv2DBackpropFilter, Conv2DBackpropInput, AvgPoolGrad\. Fix: install @metad2a\/tfjs-kernels/,
    );
  });

  it('cpu has every one of them', () => {
    for (const k of TRAINING_KERNELS) expect(tf.getKernel(k, 'cpu')).toBeDefined();
    expect(() => requireTrainingKernels('cpu')).not.toThrow();
  });
});
