/**
 * The fused SGD-with-momentum update (`SGD_UPDATE_KERNEL` of `@metad2a/core`) on the native
 * backend: one addon pass per parameter (`native/sgd.cc`) instead of ~7 element-wise kernels;
 * and `SGD_UPDATE_IN_PLACE_KERNEL`: every parameter of a step in one kernel call, written over
 * the storage of the param and buf tensors when the buffer pool proves that nothing else can see
 * it (the same addon pass with outputs = inputs: each element is read before it is written).
 */
import { SGD_UPDATE_IN_PLACE_KERNEL, SGD_UPDATE_KERNEL } from '@metad2a/core';
import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
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

/** The storage of t when only t's data id holds it (refCount 1) and the pool proves no one else sees the array, else null. */
export function exclusiveStorage(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | null {
  const v = f32(backend, t);
  if (!t || !v) return null;
  const entry = backend.data.get(t.dataId) as { refCount?: number } | undefined;
  return entry?.refCount === 1 && outputBuffers.exclusive(v) ? v : null;
}

export function sgdInPlaceKernelConfig(addon: NativeAddon, backendName: string): KernelConfig {
  return {
    kernelName: SGD_UPDATE_IN_PLACE_KERNEL,
    backendName,
    kernelFunc: ({ inputs, attrs: maybeAttrs, backend }) => {
      const b = backend as MathBackendCPU;
      const ins = inputs as Record<string, TensorInfo | undefined>;
      const attrs = maybeAttrs ?? {};
      const decays = attrs.weightDecay as unknown as number[];
      if (!Array.isArray(decays)) throw new TypeError(`${SGD_UPDATE_IN_PLACE_KERNEL}: attr weightDecay must be an array (one per parameter)`);
      const triples: [Float32Array, Float32Array, Float32Array][] = [];
      for (let i = 0; i < decays.length; i++) {
        const [param, buf, grad] = [ins[`param${i}`], ins[`buf${i}`], ins[`grad${i}`]];
        if (!param || !buf || !grad) throw new Error(`${SGD_UPDATE_IN_PLACE_KERNEL}: inputs param${i}, buf${i}, grad${i} expected`);
        if (!util.arraysEqual(buf.shape, param.shape) || !util.arraysEqual(grad.shape, param.shape))
          throw new Error(`${SGD_UPDATE_IN_PLACE_KERNEL}: shapes of param${i} [${param.shape}], buf${i} [${buf.shape}], grad${i} [${grad.shape}] differ`);
        const pv = exclusiveStorage(b, param);
        const bv = exclusiveStorage(b, buf);
        const gv = f32(b, grad);
        // all or nothing: one storage that others may see, and the caller updates out of place
        if (!pv || !bv || !gv || pv === bv || gv === pv || gv === bv) return b.makeTensorInfo([], 'float32', new Float32Array(1));
        triples.push([pv, bv, gv]);
      }
      // the composite multiplies by the JS numbers lr, μ, wd as float32 scalar tensors
      const scalars = Float32Array.from([Number(attrs.lr), Number(attrs.momentum), 0]);
      const nesterov = Boolean(attrs.nesterov);
      for (let i = 0; i < triples.length; i++) {
        const [pv, bv, gv] = triples[i]!;
        scalars[2] = Number(decays[i]);
        addon.sgdUpdate(pv, bv, gv, pv, bv, scalars, nesterov);
      }
      return [];
    },
  };
}
