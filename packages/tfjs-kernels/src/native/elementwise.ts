/**
 * Native element-wise and reduction kernels: broadcasting binary ops, the unary ops of training
 * (ReLU and its gradient's Step, BatchNorm's Sqrt/Rsqrt/Square, ...), and Sum/Mean/Max over one
 * contiguous group of axes. Anything else (other dtypes, scattered axes) goes to the cpu kernel.
 */
import {
  Add,
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

type Inputs = Record<string, TensorInfo | undefined>;
type Impl = (inputs: Inputs, attrs: NamedAttrMap, backend: MathBackendCPU) => TensorInfo | null;
export type KernelMaker = (name: string, impl: Impl) => KernelConfig;

const BINARY: [string, number][] = [[Add, 0], [Sub, 1], [Multiply, 2], [RealDiv, 3], [Maximum, 4], [Minimum, 5], [SquaredDifference, 6]];
const UNARY: [string, number][] = [[Relu, 0], [Step, 1], [Neg, 2], [Square, 3], [Sqrt, 4], [Rsqrt, 5], [Exp, 6], [Log, 7], [Relu6, 8]];
const REDUCE: [string, number][] = [[Sum, 0], [Mean, 1], [Max, 2]];

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
  const dims: { n: number; a: number; b: number }[] = [];
  for (let d = 0; d < R; d++) {
    if (outShape[d] === 1) continue;
    const cur = { n: outShape[d]!, a: as[d]!, b: bs[d]! };
    const prev = dims[dims.length - 1];
    if (prev && prev.a === cur.a * cur.n && prev.b === cur.b * cur.n) {
      prev.n *= cur.n;
      prev.a = cur.a;
      prev.b = cur.b;
    } else {
      dims.push(cur);
    }
  }
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
    case '': return [1, 1, 1];
    case 'R': return [1, n(0), 1];
    case 'K': return [n(0), 1, 1];
    case 'RK': return [1, n(0), n(1)];
    case 'KR': return [n(0), n(1), 1];
    case 'KRK': return [n(0), n(1), n(2)];
    default: return null;
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
      const out = new Float32Array(size);
      if (size > 0) addon.binary(op, av, bv, out, broadcastGeometry(outShape, a.shape, b.shape));
      return backend.makeTensorInfo(outShape, 'float32', out);
    }),
  );
  const unaries = UNARY.map(([name, op]) =>
    k(name, (inputs, attrs, backend) => {
      const { x } = inputs;
      const xv = f32(backend, x);
      if (!x || !xv) return null;
      const out = new Float32Array(util.sizeFromShape(x.shape));
      addon.unary(op, xv, out, Number(attrs.alpha ?? 0));
      return backend.makeTensorInfo(x.shape, 'float32', out);
    }),
  );
  const reductions = REDUCE.map(([name, op]) =>
    k(name, (inputs, attrs, backend) => {
      const { x } = inputs;
      const xv = f32(backend, x);
      if (!x || !xv || util.sizeFromShape(x.shape) === 0) return null;
      const axes = util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape);
      const block = reductionBlock(x.shape, axes);
      if (!block) return null;
      const [k1, r, k2] = block;
      const out = new Float32Array(k1 * k2);
      addon.reduce(op, xv, out, k1, r, k2);
      const [kept] = backend_util.computeOutAndReduceShapes(x.shape, axes);
      const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept;
      return backend.makeTensorInfo(shape, 'float32', out);
    }),
  );
  return [...binaries, ...unaries, ...reductions];
}
