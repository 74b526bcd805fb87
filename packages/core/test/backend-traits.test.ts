import * as tf from '@tensorflow/tfjs-core';
import { GENERIC_BACKEND_TRAITS, backendTraits, initBackend, registerBackendTraits } from '../src';

describe('backend traits', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it("core describes tfjs's cpu and wasm backends; an undescribed backend gets the generic traits", () => {
    expect(tf.getBackend()).toBe('cpu');
    expect(backendTraits()).toEqual({ ...GENERIC_BACKEND_TRAITS, jsMemory: true });
    expect(backendTraits('wasm')).toEqual({ jsMemory: false, explicitTranspose: true, fastSoftmax: true, transposeHeads: true, gatherByMatMul: false });
    expect(backendTraits('no-such-backend')).toBe(GENERIC_BACKEND_TRAITS);
  });

  it("a backend's registrar describes it: given traits over the generic ones, frozen", () => {
    registerBackendTraits('my-accelerator', { fastSoftmax: true, gatherByMatMul: true });
    const t = backendTraits('my-accelerator');
    expect(t).toEqual({ jsMemory: false, explicitTranspose: false, fastSoftmax: true, transposeHeads: false, gatherByMatMul: true });
    expect(Object.isFrozen(t)).toBe(true);
    registerBackendTraits('my-accelerator', { jsMemory: true });
    expect(backendTraits('my-accelerator')).toEqual({ ...GENERIC_BACKEND_TRAITS, jsMemory: true });
  });
});
