/**
 * The fused Adam update (`ADAM_UPDATE_KERNEL` of `@metad2a/core`) on the native backend: one
 * addon pass per parameter (`native/adam.cc`) instead of ~11 element-wise kernels.
 */
import { ADAM_UPDATE_KERNEL } from '@metad2a/core';
import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { f32, type KernelMaker } from './elementwise';

export function adamKernelConfig(addon: NativeAddon, k: KernelMaker): KernelConfig {
  return k(ADAM_UPDATE_KERNEL, (inputs, attrs, backend) => {
    const { param, m, v, grad } = inputs;
    const pv = f32(backend, param);
    const mv = f32(backend, m);
    const vv = f32(backend, v);
    const gv = f32(backend, grad);
    if (!param || !pv || !mv || !vv || !gv) throw new Error(`${ADAM_UPDATE_KERNEL}: expects float32 param, m, v, grad`);
    for (const t of [m!, v!, grad!]) {
      if (!util.arraysEqual(t.shape, param.shape)) throw new Error(`${ADAM_UPDATE_KERNEL}: shapes [${t.shape}] and [${param.shape}] differ`);
    }
    const n = pv.length;
    const out = [outputBuffers.take(n, false), outputBuffers.take(n, false), outputBuffers.take(n, false)] as const;
    const beta1 = Number(attrs.beta1);
    const beta2 = Number(attrs.beta2);
    // the composite multiplies by the JS numbers β1, 1 − β1, ... as float32 scalar tensors
    const scalars = Float32Array.from([beta1, 1 - beta1, beta2, 1 - beta2, Number(attrs.sqrtBc2), Number(attrs.eps), Number(attrs.stepSize)]);
    addon.adamUpdate(pv, mv, vv, gv, out[0], out[1], out[2], scalars);
    return out.map((a) => backend.makeTensorInfo(param.shape, 'float32', a)) as unknown as TensorInfo;
  });
}
