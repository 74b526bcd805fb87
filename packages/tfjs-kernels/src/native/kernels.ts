/**
 * The kernels the `native` backend replaces: each reads the cpu backend's typed arrays, calls the
 * addon in place, and hands anything it does not cover (other dtypes, NCHW, PReLU, general batch
 * broadcasting) to the cpu kernel of the same name.
 */
import {
  AvgPool,
  AvgPoolGrad,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  FusedConv2D,
  _FusedMatMul,
  backend_util,
  util,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { SET_POOL_PROJECTED_WEIGHTS, SET_POOL_PROJECTED_KERNEL, type SetPoolProjectedAttrs } from '@metad2a/core';
import type { NativeAddon } from '../addon';
import { adamKernelConfig } from './adam-kernel';
import { batchNormKernelConfigs } from './batchnorm';
import { outputBuffers } from './buffer-pool';
import { convGeometry } from './conv-geometry';
import { copyKernelConfigs } from './copy-kernels';
import { reluConvBnKernelConfigs } from './relu-conv-bn';
import { elementwiseKernelConfigs, f32 } from './elementwise';
import { sgdInPlaceKernelConfig, sgdKernelConfig } from './sgd-kernel';
import { trainStepKernelConfig } from './train-step';

type Conv2DInfo = backend_util.Conv2DInfo;
type Inputs = Record<string, TensorInfo | undefined>;

/** Activation codes of `native/kernels.h`. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, leakyrelu: 4, elu: 5 };

function values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

let storageBackend: MathBackendCPU | undefined;
/** Every given tensor is float32 stored in a Float32Array (checked on the backend of the current call). */
function allFloat32(...ts: (TensorInfo | undefined)[]): boolean {
  return ts.every((t) => t === undefined || (storageBackend !== undefined && f32(storageBackend, t) !== null));
}

type Impl = (inputs: Inputs, attrs: NamedAttrMap, backend: MathBackendCPU) => TensorInfo | TensorInfo[] | null;

/** A kernel that tries `impl` and falls back to the cpu backend's kernel when `impl` returns null. */
function withFallback(kernelName: string, backendName: string, cpu: KernelConfig | undefined, impl: Impl): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    storageBackend = args.backend as MathBackendCPU;
    const r = impl(args.inputs as Inputs, args.attrs ?? {}, args.backend as MathBackendCPU);
    if (r !== null) return r;
    if (!cpu) throw new Error(`native backend: no fallback for ${kernelName}`);
    return cpu.kernelFunc(args);
  };
  return { kernelName, backendName, kernelFunc };
}

interface MatMulPlan {
  outShape: number[];
  batch: number;
  aStride: number;
  bStride: number;
  m: number;
  n: number;
  k: number;
}

function planMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) return null;
  const k = transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const kb = transposeB ? b.shape[br - 1]! : b.shape[br - 2]!;
  if (k !== kb) return null; // the cpu kernel raises tfjs's own error
  const m = transposeA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
  const n = transposeB ? b.shape[br - 2]! : b.shape[br - 1]!;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(outerA);
  const batchB = util.sizeFromShape(outerB);
  let outer: number[];
  if (batchA === batchB && util.arraysEqual(outerA, outerB)) outer = outerA;
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
  else return null;
  const batch = Math.max(batchA, batchB);
  return { outShape: [...outer, m, n], batch, aStride: batchA === 1 ? 0 : m * k, bStride: batchB === 1 ? 0 : k * n, m, n, k };
}

function matMulImpl(addon: NativeAddon, inputs: Inputs, attrs: NamedAttrMap, backend: MathBackendCPU): TensorInfo | null {
  const { a, b } = inputs;
  if (!a || !b || !allFloat32(a, b)) return null;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const p = planMatMul(a, b, transposeA, transposeB);
  if (!p) return null;
  const out = outputBuffers.take(p.batch * p.m * p.n, false);
  addon.matmul(values(backend, a), values(backend, b), out, p.batch, p.aStride, p.bStride, p.m, p.n, p.k, transposeA, transposeB);
  return backend.makeTensorInfo(p.outShape, 'float32', out);
}

/** Bias of `size` 1 or `cols`, as the addon's epilogue takes it; null when it is another broadcast. */
function epilogueBias(backend: MathBackendCPU, bias: TensorInfo | undefined, cols: number): Float32Array | null | undefined {
  if (!bias) return null;
  const size = util.sizeFromShape(bias.shape);
  if (size !== 1 && !(size === cols && bias.shape[bias.shape.length - 1] === cols)) return undefined;
  return values(backend, bias);
}

function convInfo(x: TensorInfo, filterShape: number[], attrs: NamedAttrMap, depthwise: boolean, dilations: unknown = 1): Conv2DInfo | null {
  const dataFormat = (attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') return null;
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (dilations ?? 1) as [number, number],
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    depthwise,
    'channelsLast',
  );
}

/** The native backend's kernels, with the cpu backend's kernels as fallbacks. */
export function nativeKernelConfigs(addon: NativeAddon, backendName: string, cpuKernel: (name: string) => KernelConfig | undefined): KernelConfig[] {
  const k = (name: string, impl: Impl): KernelConfig => withFallback(name, backendName, cpuKernel(name), impl);
  return [
    ...elementwiseKernelConfigs(addon, k),
    ...batchNormKernelConfigs(addon, k),
    ...reluConvBnKernelConfigs(addon, k),
    ...copyKernelConfigs(addon, k),
    adamKernelConfig(addon, k),
    sgdKernelConfig(addon, k),
    sgdInPlaceKernelConfig(addon, backendName),
    // a stale addon without the fused ReLU-conv-BN kernels (or their optional dx) leaves training to the tape
    ...(typeof addon.reluConvBnTrain === 'function' && addon.reluConvBnTrainGradOptionalDx === true ? [trainStepKernelConfig(addon, backendName)] : []),
    k(BatchMatMul, (inputs, attrs, backend) => matMulImpl(addon, inputs, attrs, backend)),
    setPoolProjectedKernel(addon, backendName),
    k(_FusedMatMul, (inputs, attrs, backend) => {
      const { a, b, bias, preluActivationWeights } = inputs;
      const activation = (attrs.activation as string | undefined) ?? 'linear';
      if (preluActivationWeights || !(activation in ACTIVATIONS) || !a || !b || !allFloat32(a, b, bias)) return null;
      const p = planMatMul(a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB));
      if (!p) return null;
      const biasValues = epilogueBias(backend, bias, p.n);
      if (biasValues === undefined) return null;
      const out = matMulImpl(addon, { a, b }, attrs, backend);
      if (!out) return null;
      addon.biasActivation(values(backend, out), p.batch * p.m, p.n, biasValues, ACTIVATIONS[activation]!, Number(attrs.leakyreluAlpha ?? 0.2));
      return out;
    }),
    k(Conv2D, (inputs, attrs, backend) => {
      const { x, filter } = inputs;
      if (!x || !filter || !allFloat32(x, filter)) return null;
      const info = convInfo(x, filter.shape, attrs, false, attrs.dilations);
      if (!info) return null;
      const out = outputBuffers.take(util.sizeFromShape(info.outShape));
      addon.conv2d(values(backend, x), values(backend, filter), out, convGeometry(info));
      return backend.makeTensorInfo(info.outShape, 'float32', out);
    }),
    k(FusedConv2D, (inputs, attrs, backend) => {
      const { x, filter, bias, preluActivationWeights } = inputs;
      const activation = (attrs.activation as string | undefined) ?? 'linear';
      if (preluActivationWeights || !(activation in ACTIVATIONS) || !x || !filter || !allFloat32(x, filter, bias)) return null;
      const info = convInfo(x, filter.shape, attrs, false, attrs.dilations);
      if (!info) return null;
      const biasValues = epilogueBias(backend, bias, info.outChannels);
      if (biasValues === undefined) return null;
      const out = outputBuffers.take(util.sizeFromShape(info.outShape));
      addon.conv2d(values(backend, x), values(backend, filter), out, convGeometry(info));
      addon.biasActivation(out, out.length / info.outChannels, info.outChannels, biasValues, ACTIVATIONS[activation]!, Number(attrs.leakyreluAlpha ?? 0.2));
      return backend.makeTensorInfo(info.outShape, 'float32', out);
    }),
    k(Conv2DBackpropInput, (inputs, attrs, backend) => {
      const { dy, filter } = inputs;
      if (!dy || !filter || !allFloat32(dy, filter)) return null;
      const inputShape = attrs.inputShape as number[];
      const info = convInfo({ ...dy, shape: inputShape }, filter.shape, attrs, false);
      if (!info) return null;
      const out = outputBuffers.take(util.sizeFromShape(inputShape));
      addon.conv2dBackpropInput(values(backend, dy), values(backend, filter), out, convGeometry(info));
      return backend.makeTensorInfo(inputShape, 'float32', out);
    }),
    k(Conv2DBackpropFilter, (inputs, attrs, backend) => {
      const { x, dy } = inputs;
      if (!x || !dy || !allFloat32(x, dy)) return null;
      const filterShape = attrs.filterShape as number[];
      const info = convInfo(x, filterShape, attrs, false);
      if (!info) return null;
      const out = outputBuffers.take(util.sizeFromShape(filterShape));
      addon.conv2dBackpropFilter(values(backend, x), values(backend, dy), out, convGeometry(info));
      return backend.makeTensorInfo(filterShape, 'float32', out);
    }),
    k(DepthwiseConv2dNative, (inputs, attrs, backend) => {
      const { x, filter } = inputs;
      if (!x || !filter || !allFloat32(x, filter)) return null;
      const info = convInfo(x, filter.shape, attrs, true, attrs.dilations);
      if (!info) return null;
      const out = outputBuffers.take(util.sizeFromShape(info.outShape));
      addon.depthwiseConv2d(values(backend, x), values(backend, filter), out, convGeometry(info));
      return backend.makeTensorInfo(info.outShape, 'float32', out);
    }),
    k(DepthwiseConv2dNativeBackpropInput, (inputs, attrs, backend) => {
      const { dy, filter } = inputs;
      if (!dy || !filter || !allFloat32(dy, filter)) return null;
      const inputShape = attrs.inputShape as number[];
      const info = convInfo({ ...dy, shape: inputShape }, filter.shape, attrs, true, attrs.dilations);
      if (!info) return null;
      const out = outputBuffers.take(util.sizeFromShape(inputShape));
      addon.depthwiseBackpropInput(values(backend, dy), values(backend, filter), out, convGeometry(info));
      return backend.makeTensorInfo(inputShape, 'float32', out);
    }),
    k(DepthwiseConv2dNativeBackpropFilter, (inputs, attrs, backend) => {
      const { x, dy } = inputs;
      if (!x || !dy || !allFloat32(x, dy)) return null;
      const filterShape = attrs.filterShape as number[];
      const info = convInfo(x, filterShape, attrs, true, attrs.dilations);
      if (!info) return null;
      const out = outputBuffers.take(util.sizeFromShape(filterShape));
      addon.depthwiseBackpropFilter(values(backend, x), values(backend, dy), out, convGeometry(info));
      return backend.makeTensorInfo(filterShape, 'float32', out);
    }),
    k(AvgPool, (inputs, attrs, backend) => {
      const { x } = inputs;
      if (!x || !allFloat32(x)) return null;
      const info = backend_util.computePool2DInfo(
        x.shape as [number, number, number, number],
        attrs.filterSize as [number, number],
        attrs.strides as [number, number],
        1,
        attrs.pad as 'same',
        attrs.dimRoundingMode as 'floor' | undefined,
      );
      const out = outputBuffers.take(util.sizeFromShape(info.outShape));
      addon.avgPool(values(backend, x), out, convGeometry(info));
      return backend.makeTensorInfo(info.outShape, 'float32', out);
    }),
    k(AvgPoolGrad, (inputs, attrs, backend) => {
      const { dy, input } = inputs;
      if (!dy || !input || !allFloat32(dy, input)) return null;
      const info = backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        attrs.filterSize as [number, number],
        attrs.strides as [number, number],
        1,
        attrs.pad as 'same',
      );
      const out = outputBuffers.take(util.sizeFromShape(input.shape));
      addon.avgPoolGrad(values(backend, dy), out, convGeometry(info));
      return backend.makeTensorInfo(input.shape, 'float32', out);
    }),
  ];
}

/** The fused SetPool inference of `@metad2a/core`'s contract ({@link SET_POOL_PROJECTED_KERNEL}); no cpu fallback (callers check for the kernel). */
function setPoolProjectedKernel(addon: NativeAddon, backendName: string): KernelConfig {
  return {
    kernelName: SET_POOL_PROJECTED_KERNEL,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as MathBackendCPU;
      const a = attrs as unknown as SetPoolProjectedAttrs;
      const arr = (name: string): Float32Array => {
        const t = (inputs as Inputs)[name];
        if (!t || t.dtype !== 'float32') throw new TypeError(`${SET_POOL_PROJECTED_KERNEL}: input ${name} must be a float32 tensor`);
        return values(b, t);
      };
      const slots = (inputs as Inputs).slots;
      if (!slots || slots.dtype !== 'int32') throw new TypeError(`${SET_POOL_PROJECTED_KERNEL}: input slots must be an int32 tensor`);
      const out = outputBuffers.take(a.sets * a.numOutputs * a.outDim, false); // every element is written
      addon.setPoolProjected(
        arr('q'),
        arr('k'),
        arr('v'),
        b.data.get(slots.dataId).values as Int32Array,
        SET_POOL_PROJECTED_WEIGHTS.map(arr),
        [a.heads, a.dim, a.numOutputs, a.outDim, a.perSet, a.sets, a.capacity, a.rows],
        out,
      );
      return b.makeTensorInfo([a.sets, a.numOutputs, a.outDim], 'float32', out);
    },
  };
}
