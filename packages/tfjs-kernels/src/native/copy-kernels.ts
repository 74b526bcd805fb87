/**
 * Native data-movement kernels: Slice, SplitV, Unpack, PadV2 and Tile as strided copies
 * (`native/strided.cc`). tfjs-cpu computes a flat index per element in JS for every non-contiguous
 * slice or pad, which cost milliseconds per call in the gradients of concat (SplitV) and of weight
 * row slices (PadV2) in a meta-training step. Non-float32 tensors go to the cpu kernels.
 */
import { PadV2, Slice, SplitV, Tile, Unpack, slice_util, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { f32, type KernelMaker } from './elementwise';
import { mergedLoopDims } from './merged-dims';

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/**
 * Geometry `[rank, shape…, srcStride…, dstStride…, srcOffset, dstOffset]` of a strided copy, with
 * size-1 dims dropped and neighbours that are contiguous in both arrays merged (a contiguous block
 * becomes one memcpy). Null when more than 8 dims remain or an offset does not fit an int32.
 */
export function stridedGeometry(shape: readonly number[], srcStride: readonly number[], dstStride: readonly number[], srcOffset: number, dstOffset: number): Int32Array | null {
  const dims = mergedLoopDims(shape, srcStride, dstStride).map(({ n, a, b }) => ({ n, s: a, d: b }));
  if (dims.length === 0) dims.push({ n: 1, s: 1, d: 1 });
  if (dims.length > 8 || srcOffset > 0x7fffffff || dstOffset > 0x7fffffff || dims.some((x) => x.n * Math.max(x.s, x.d) > 0x7fffffff)) return null;
  return Int32Array.from([dims.length, ...dims.map((x) => x.n), ...dims.map((x) => x.s), ...dims.map((x) => x.d), srcOffset, dstOffset]);
}

/** x[begin : begin + size] as a new Float32Array, or null when the geometry does not fit. */
function sliceValues(addon: NativeAddon, xv: Float32Array, shape: readonly number[], begin: readonly number[], size: readonly number[]): Float32Array | null {
  const n = util.sizeFromShape(size as number[]);
  const strides = stridesOf(shape);
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d]!, 0);
  if (n === 0) return new Float32Array(0);
  if (slice_util.isSliceContinous(shape as number[], begin as number[], size as number[])) {
    const out = outputBuffers.take(n, false);
    out.set(xv.subarray(offset, offset + n));
    return out;
  }
  const g = stridedGeometry(size, strides, stridesOf(size), offset, 0);
  if (!g) return null;
  const out = outputBuffers.take(n, false);
  addon.stridedCopy(xv, out, g);
  return out;
}

/** Split sizes of `tf.split` (a count of equal parts, or sizes with at most one −1). */
function splitSizes(dim: number, numOrSizeSplits: number | number[]): number[] {
  if (typeof numOrSizeSplits === 'number') return new Array<number>(numOrSizeSplits).fill(dim / numOrSizeSplits);
  const known = numOrSizeSplits.reduce((a, s) => (s === -1 ? a : a + s), 0);
  return numOrSizeSplits.map((s) => (s === -1 ? dim - known : s));
}

export function copyKernelConfigs(addon: NativeAddon, k: KernelMaker): KernelConfig[] {
  const make = (backend: MathBackendCPU, shape: number[], v: Float32Array): TensorInfo => backend.makeTensorInfo(shape, 'float32', v);
  const slice = k(Slice, (inputs, attrs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!x || !xv) return null;
    const [begin, size] = slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    slice_util.assertParamsValid(x, begin!, size!);
    const out = sliceValues(addon, xv, x.shape, begin!, size!);
    return out ? make(backend, size!, out) : null;
  });
  const splitV = k(SplitV, (inputs, attrs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!x || !xv) return null;
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
    const sizes = splitSizes(x.shape[axis]!, attrs.numOrSizeSplits as number | number[]);
    const begin = x.shape.map(() => 0);
    const outs: Float32Array[] = [];
    for (const s of sizes) {
      const size = [...x.shape];
      size[axis] = s;
      const v = sliceValues(addon, xv, x.shape, begin, size);
      if (!v) return null;
      outs.push(v);
      begin[axis]! += s;
    }
    return outs.map((v, i) => {
      const size = [...x.shape];
      size[axis] = sizes[i]!;
      return make(backend, size, v);
    }) as unknown as TensorInfo;
  });
  const unpack = k(Unpack, (inputs, attrs, backend) => {
    const { value } = inputs;
    const xv = f32(backend, value);
    if (!value || !xv) return null;
    const axis = util.parseAxisParam(attrs.axis as number, value.shape)[0]!;
    const outShape = value.shape.filter((_, d) => d !== axis);
    const size = [...value.shape];
    size[axis] = 1;
    const begin = value.shape.map(() => 0);
    const outs: TensorInfo[] = [];
    for (let i = 0; i < value.shape[axis]!; i++) {
      begin[axis] = i;
      const v = sliceValues(addon, xv, value.shape, begin, size);
      if (!v) {
        outs.forEach((t) => backend.disposeIntermediateTensorInfo(t));
        return null;
      }
      outs.push(make(backend, outShape, v));
    }
    return outs as unknown as TensorInfo;
  });
  const pad = k(PadV2, (inputs, attrs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!x || !xv) return null;
    const paddings = attrs.paddings as [number, number][];
    const outShape = x.shape.map((n, d) => paddings[d]![0] + n + paddings[d]![1]);
    const out = outputBuffers.take(util.sizeFromShape(outShape));
    const value = Number(attrs.constantValue ?? 0);
    if (value !== 0) out.fill(value);
    if (xv.length > 0) {
      const dstStrides = stridesOf(outShape);
      const offset = paddings.reduce((acc, p, d) => acc + p[0] * dstStrides[d]!, 0);
      const g = stridedGeometry(x.shape, stridesOf(x.shape), dstStrides, 0, offset);
      if (!g) return null;
      addon.stridedCopy(xv, out, g);
    }
    return make(backend, outShape, out);
  });
  const tile = k(Tile, (inputs, attrs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!x || !xv) return null;
    const reps = attrs.reps as number[];
    const outShape = x.shape.map((n, d) => n * reps[d]!);
    const out = outputBuffers.take(util.sizeFromShape(outShape), false);
    if (out.length === 0) return make(backend, outShape, out);
    // out viewed as [r0, n0, r1, n1, …]: source strides [0, s0, 0, s1, …]
    const src = stridesOf(x.shape);
    const dst = stridesOf(outShape);
    const shape: number[] = [];
    const ss: number[] = [];
    const ds: number[] = [];
    x.shape.forEach((n, d) => {
      shape.push(reps[d]!, n);
      ss.push(0, src[d]!);
      ds.push(n * dst[d]!, dst[d]!);
    });
    const g = stridedGeometry(shape, ss, ds, 0, 0);
    if (!g) return null;
    addon.stridedCopy(xv, out, g);
    return make(backend, outShape, out);
  });
  return [slice, splitV, unpack, pad, tile];
}
