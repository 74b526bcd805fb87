/**
 * The fused SGD-with-momentum update (`SGD_UPDATE_KERNEL` of `@metad2a/core`) on the native
 * backend: one addon pass per parameter (`native/sgd.cc`) instead of ~7 element-wise kernels.
 */
import { SGD_UPDATE_KERNEL } from '@metad2a/core';
import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { f32, type KernelMaker } from './elementwise';

export function sgdKernelConfig(addon: NativeAddon, k: KernelMaker): KernelConfig {
  return k(SGD_UPDATE_KERNEL, (inputs, attrs, backend) => {
    const { param, buf, grad } = inputs;
    const pv = f32(backend, param);
    const bv = f32(backend, buf);
    const gv = f32(backend, grad);
    if (!param || !pv || !bv || !gv) throw new Error(`${SGD_UPDATE_KERNEL}: expects float32 param, buf, grad`);
    for (const t of [buf!, grad!]) {
      if (!util.arraysEqual(t.shape, param.shape)) throw new Error(`${SGD_UPDATE_KERNEL}: shapes [${t.shape}] and [${param.shape}] differ`);
    }
    const n = pv.length;
    const out = [outputBuffers.take(n, false), outputBuffers.take(n, false)] as const;
    // the composite multiplies by the JS numbers lr, μ, wd as float32 scalar tensors
    const scalars = Float32Array.from([Number(attrs.lr), Number(attrs.momentum), Number(attrs.weightDecay)]);
    addon.sgdUpdate(pv, bv, gv, out[0], out[1], scalars, Boolean(attrs.nesterov));
    return out.map((a) => backend.makeTensorInfo(param.shape, 'float32', a)) as unknown as TensorInfo;
  });
}
