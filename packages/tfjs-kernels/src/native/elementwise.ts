/**
 * Native element-wise and reduction kernels: broadcasting binary ops, the unary ops of training
 * (ReLU and its gradient's Step, BatchNorm's Sqrt/Rsqrt/Square, ...), and Sum/Mean/Max over one
 * contiguous group of axes. Anything else (other dtypes, scattered axes) goes to the cpu kernel.
 */
import {
  Add,
  ClipByValue,
  Concat,
  Sigmoid,
  Softmax,
  Tanh,
  Transpose,
  Exp,
  Log,
  Max,
  Maximum,
  Mean,
  Minimum,
  Multiply,
  Neg,
  RealDiv,
  Relu,
  Relu6,
  Rsqrt,
  Sqrt,
  Square,
  SquaredDifference,
  Step,
  Sub,
  Sum,
  backend_util,
  util,
  type KernelConfig,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { mergedLoopDims } from './merged-dims';

type Inputs = Record<string, TensorInfo | undefined>;
type Impl = (inputs: Inputs, attrs: NamedAttrMap, backend: MathBackendCPU) => TensorInfo | TensorInfo[] | null;
export type KernelMaker = (name: string, impl: Impl) => KernelConfig;

const BINARY: [string, number][] = [
  [Add, 0],
  [Sub, 1],
  [Multiply, 2],
  [RealDiv, 3],
  [Maximum, 4],
  [Minimum, 5],
  [SquaredDifference, 6],
];
const UNARY: [string, number][] = [
  [Relu, 0],
  [Step, 1],
  [Neg, 2],
  [Square, 3],
  [Sqrt, 4],
  [Rsqrt, 5],
  [Exp, 6],
  [Log, 7],
  [Relu6, 8],
  [Sigmoid, 9],
  [Tanh, 10],
];
const REDUCE: [string, number][] = [
  [Sum, 0],
  [Mean, 1],
  [Max, 2],
];

/** The addon's code of a binary / unary op (a tfjs kernel name of the tables above). */
export function binaryOpCode(kernelName: string): number {
  const code = BINARY.find(([k]) => k === kernelName)?.[1];
  if (code === undefined) throw new Error(`native binary op: no code for ${kernelName}`);
  return code;
}

export function unaryOpCode(kernelName: string): number {
  const code = UNARY.find(([k]) => k === kernelName)?.[1];
  if (code === undefined) throw new Error(`native unary op: no code for ${kernelName}`);
  return code;
}

/** The tensor's storage when it is float32 in a Float32Array (the cpu Cast of bool keeps a Uint8Array), else null. */
export function f32(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

/**
 * [rank, shape…, aStride…, bStride…] of a broadcasting binary op, size-1 dims dropped and
 * mergeable neighbours merged (so a same-shape op is one flat loop).
 */
export function broadcastGeometry(outShape: number[], aShape: number[], bShape: number[]): Int32Array {
  const R = outShape.length;
  const stridesOf = (shape: number[]): number[] => {
    const off = R - shape.length;
    const full = outShape.map((_, d) => (d < off ? 1 : shape[d - off]!));
    const s = new Array<number>(R).fill(0);
    let acc = 1;
    for (let d = R - 1; d >= 0; d--) {
      s[d] = full[d] === 1 ? 0 : acc;
      acc *= full[d]!;
    }
    return s;
  };
  const as = stridesOf(aShape);
  const bs = stridesOf(bShape);
  const dims = mergedLoopDims(outShape, as, bs);
  if (dims.length === 0) dims.push({ n: 1, a: 0, b: 0 });
  return Int32Array.from([dims.length, ...dims.map((d) => d.n), ...dims.map((d) => d.a), ...dims.map((d) => d.b)]);
}

/** [k1, r, k2] when the reduced axes form one contiguous block (after dropping size-1 dims), else null. */
export function reductionBlock(shape: number[], axes: number[]): [number, number, number] | null {
  const groups: { reduced: boolean; n: number }[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const reduced = axes.includes(d);
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced) last.n *= n;
    else groups.push({ reduced, n });
  });
  const kinds = groups.map((g) => (g.reduced ? 'R' : 'K')).join('');
  const n = (i: number): number => groups[i]!.n;
  switch (kinds) {
    case '':
      return [1, 1, 1];
    case 'R':
      return [1, n(0), 1];
    case 'K':
      return [n(0), 1, 1];
    case 'RK':
      return [1, n(0), n(1)];
    case 'KR':
      return [n(0), n(1), 1];
    case 'KRK':
      return [n(0), n(1), n(2)];
    default:
      return null;
  }
}

export function elementwiseKernelConfigs(addon: NativeAddon, k: KernelMaker): KernelConfig[] {
  const binaries = BINARY.map(([name, op]) =>
    k(name, (inputs, _attrs, backend) => {
      const { a, b } = inputs;
      const av = f32(backend, a);
      const bv = f32(backend, b);
      if (!a || !b || !av || !bv) return null;
      const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const size = util.sizeFromShape(outShape);
      const out = outputBuffers.take(size, false);
      if (size > 0) addon.binary(op, av, bv, out, broadcastGeometry(outShape, a.shape, b.shape));
      return backend.makeTensorInfo(outShape, 'float32', out);
    }),
  );
  const unaries = UNARY.map(([name, op]) =>
    k(name, (inputs, attrs, backend) => {
      const { x } = inputs;
      const xv = f32(backend, x);
      if (!x || !xv) return null;
      const out = outputBuffers.take(util.sizeFromShape(x.shape), false);
      addon.unary(op, xv, out, Number(attrs.alpha ?? 0));
      return backend.makeTensorInfo(x.shape, 'float32', out);
    }),
  );
  const clip = k(ClipByValue, (inputs, attrs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!x || !xv) return null;
    const out = outputBuffers.take(util.sizeFromShape(x.shape), false);
    addon.clip(xv, out, Number(attrs.clipValueMin), Number(attrs.clipValueMax));
    return backend.makeTensorInfo(x.shape, 'float32', out);
  });
  const reductions = REDUCE.map(([name, op]) =>
    k(name, (inputs, attrs, backend) => {
      const { x } = inputs;
      const xv = f32(backend, x);
      if (!x || !xv || util.sizeFromShape(x.shape) === 0) return null;
      const axes = util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape);
      const block = reductionBlock(x.shape, axes);
      if (!block) return null;
      const [k1, r, k2] = block;
      const out = outputBuffers.take(k1 * k2, false);
      addon.reduce(op, xv, out, k1, r, k2);
      const [kept] = backend_util.computeOutAndReduceShapes(x.shape, axes);
      const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept;
      return backend.makeTensorInfo(shape, 'float32', out);
    }),
  );
  const softmax = k(Softmax, (inputs, attrs, backend) => {
    const { logits } = inputs;
    const xv = f32(backend, logits);
    if (!logits || !xv) return null;
    const rank = logits.shape.length;
    const dim = util.parseAxisParam(attrs.dim as number, logits.shape)[0];
    if (rank === 0 || dim !== rank - 1) return null;
    const cols = logits.shape[rank - 1]!;
    const size = util.sizeFromShape(logits.shape);
    const out = outputBuffers.take(size, false);
    if (size > 0) addon.softmax(xv, out, size / cols, cols);
    return backend.makeTensorInfo(logits.shape, 'float32', out);
  });
  const transpose = k(Transpose, (inputs, attrs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!x || !xv || x.shape.length === 0 || x.shape.length > 8) return null;
    const perm = attrs.perm as number[];
    const outShape = perm.map((p) => x.shape[p]!);
    const out = outputBuffers.take(xv.length, false);
    if (xv.length > 0) addon.transpose(xv, out, Int32Array.from(x.shape), Int32Array.from(perm));
    return backend.makeTensorInfo(outShape, 'float32', out);
  });
  const concat = k(Concat, (inputs, attrs, backend) => {
    const list = Object.values(inputs).filter((t): t is TensorInfo => t !== undefined);
    if (list.length === 0) return null;
    const vals = list.map((t) => f32(backend, t));
    if (vals.some((v) => v === null)) return null;
    const axis = util.parseAxisParam(attrs.axis as number, list[0]!.shape)[0]!;
    const outShape = backend_util.computeOutShape(
      list.map((t) => t.shape),
      axis,
    );
    const outer = util.sizeFromShape(outShape.slice(0, axis));
    const out = outputBuffers.take(util.sizeFromShape(outShape), false);
    const inners = list.map((t) => util.sizeFromShape(t.shape.slice(axis)));
    const rowLen = inners.reduce((a, b) => a + b, 0);
    let col = 0;
    list.forEach((_, i) => {
      const v = vals[i]!;
      const inner = inners[i]!;
      if (inner > 0) {
        if (outer === 1) out.set(v, col);
        else for (let o = 0; o < outer; o++) out.set(v.subarray(o * inner, (o + 1) * inner), o * rowLen + col);
      }
      col += inner;
    });
    return backend.makeTensorInfo(outShape, 'float32', out);
  });
  return [...binaries, ...unaries, clip, ...reductions, softmax, transpose, concat];
}
