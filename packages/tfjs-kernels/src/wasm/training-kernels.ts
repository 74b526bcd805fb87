/**
 * Gradient kernels that tfjs-backend-wasm 4.22 lacks, composed from wasm's own fast kernels
 * (XNNPACK convolutions, transposes, pads) at the TensorInfo level, so training a CNN works on
 * wasm; plus an exact AvgPoolGrad (tfjs's divides by the full window even where the forward
 * divided by the in-bounds count).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  AvgPoolGrad,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  Multiply,
  PadV2,
  Reshape,
  Reverse,
  Slice,
  Sum,
  Transpose,
  backend_util,
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

interface DataBackend extends KernelBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  /** wasm: a new tensor on the wasm heap. */
  makeOutput?(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): Float32Array;
  /** cpu: a new tensor owning `values`. */
  makeTensorInfo?(shape: number[], dtype: 'float32', values?: Float32Array): TensorInfo;
}

/** Runs kernels of one backend by name and disposes every intermediate it made. */
class KernelRunner {
  private readonly made: TensorInfo[] = [];
  constructor(
    private readonly backend: DataBackend,
    private readonly backendName: string,
  ) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const k = tf.getKernel(name, this.backendName);
    if (!k) throw new Error(`${this.backendName} backend has no ${name} kernel`);
    const out = k.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.made.push(out);
    return out;
  }

  constant(shape: number[], values: Float32Array): TensorInfo {
    const b = this.backend;
    let t: TensorInfo;
    if (b.makeOutput && b.typedArrayFromHeap) {
      t = b.makeOutput(shape, 'float32');
      b.typedArrayFromHeap(t).set(values);
    } else if (b.makeTensorInfo) {
      t = b.makeTensorInfo(shape, 'float32', values);
    } else {
      throw new Error(`${this.backendName} backend cannot make tensors from values`);
    }
    this.made.push(t);
    return t;
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run(Transpose, { x }, { perm });
  }
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run(Reshape, { x }, { shape });
  }
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run(Slice, { x }, { begin, size });
  }

  /** Returns `result` (kept) after disposing every other intermediate. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.made) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }

  /** Disposes everything (on error). */
  abort(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
  }
}

function withRunner(backendName: string, backend: KernelBackend, fn: (r: KernelRunner) => TensorInfo): TensorInfo {
  const r = new KernelRunner(backend as DataBackend, backendName);
  try {
    return r.finish(fn(r));
  } catch (err) {
    r.abort();
    throw err;
  }
}

/** x[N, H, W, C] → zeros inserted between rows/cols: [N, (H-1)·sh+1, (W-1)·sw+1, C]. */
function dilateSpatial(r: KernelRunner, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const x6 = r.reshape(x, [n, h, 1, w, 1, c]);
  const padded = r.run(
    PadV2,
    { x: x6 },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const flat = r.reshape(padded, [n, h * sh, w * sw, c]);
  return r.slice(flat, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): backend_util.Conv2DInfo {
  const dataFormat = (attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') throw new Error('@metad2a/tfjs-kernels wasm gradients support NHWC only');
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    ((attrs.dilations as [number, number] | undefined) ?? 1) as [number, number],
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    depthwise,
    'channelsLast',
  );
}

/**
 * dW[kh,kw,C,Co] = Σ x[n, oh·sh−pt+fh·dh, ·, c] dy[n,oh,ow,co], as ONE convolution: input x
 * transposed to [C, H, W, N] (channels become the batch), filter dy transposed to [Ho, Wo, N, Co],
 * stride = the forward dilation, dilation = the forward stride.
 */
function conv2dBackpropFilter(backendName: string) {
  return (args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: KernelBackend }): TensorInfo =>
    withRunner(backendName, args.backend, (r) => {
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const attrs = args.attrs ?? {};
      const filterShape = attrs.filterShape as number[];
      const info = convInfo(x.shape, filterShape, attrs, false);
      const { inHeight: H, inWidth: W, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: Ho, outWidth: Wo } = info;
      const { top, left } = info.padInfo;
      let xT = r.transpose(x, [3, 1, 2, 0]); // [C, H, W, N]
      // rows/cols past the last window are never read: crop them so the bottom/right pads are >= 0
      const bottom = kh + (Ho - 1) * sh - H - top;
      const right = kw + (Wo - 1) * sw - W - left;
      if (bottom < 0 || right < 0) {
        xT = r.slice(xT, [0, 0, 0, 0], [info.inChannels, H + Math.min(0, bottom), W + Math.min(0, right), info.batchSize]);
      }
      const dyT = r.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
      const pad = [
        [0, 0],
        [top, Math.max(0, bottom)],
        [left, Math.max(0, right)],
        [0, 0],
      ];
      const out = r.run(Conv2D, { x: xT, filter: dyT }, { strides: [1, 1], pad, dilations: [sh, sw], dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string });
      return r.transpose(out, [1, 2, 0, 3]); // [C, kh, kw, Co] → [kh, kw, C, Co]
    });
}

/**
 * dx = transposed convolution, as ONE wasm Conv2D: zero-dilate dy by the stride, then a stride-1
 * convolution (forward dilation kept) with the filter flipped in space and its in/out channels
 * swapped. (wasm's own Conv2DBackpropInput is a scalar loop, ~10x slower.)
 */
function conv2dBackpropInput(backendName: string) {
  return (args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: KernelBackend }): TensorInfo =>
    withRunner(backendName, args.backend, (r) => {
      const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
      const attrs = args.attrs ?? {};
      const inputShape = attrs.inputShape as number[];
      const info = convInfo(inputShape, filter.shape, attrs, false);
      const { inHeight: H, inWidth: W, filterHeight: kh, filterWidth: kw, dilationHeight: dh, dilationWidth: dw } = info;
      const dyD = dilateSpatial(r, dy, info.strideHeight, info.strideWidth);
      const [, HD, WD] = dyD.shape as [number, number, number, number];
      const ptop = (kh - 1) * dh - info.padInfo.top;
      const pleft = (kw - 1) * dw - info.padInfo.left;
      const pbottom = H - HD + info.padInfo.top;
      const pright = W - WD + info.padInfo.left;
      if (ptop < 0 || pleft < 0 || pbottom < 0 || pright < 0) throw new Error('conv2d input gradient: unsupported padding geometry');
      const f = r.transpose(r.run(Reverse, { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]); // [kh, kw, Co, Ci]
      const pad = [
        [0, 0],
        [ptop, pbottom],
        [pleft, pright],
        [0, 0],
      ];
      return r.run(Conv2D, { x: dyD, filter: f }, { strides: [1, 1], pad, dilations: [dh, dw], dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string });
    });
}

/**
 * dx = transposed depthwise conv: zero-dilate dy by the stride, then a stride-1 depthwise conv
 * with the spatially flipped filter (per output channel c·M+q), then sum the M multipliers.
 */
function depthwiseBackpropInput(backendName: string) {
  return (args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: KernelBackend }): TensorInfo =>
    withRunner(backendName, args.backend, (r) => {
      const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
      const attrs = args.attrs ?? {};
      const inputShape = attrs.inputShape as number[];
      const info = convInfo(inputShape, filter.shape, attrs, true);
      const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outChannels: CM, filterHeight: kh, filterWidth: kw, dilationHeight: dh, dilationWidth: dw } = info;
      const M = CM / C;
      const dyD = dilateSpatial(r, dy, info.strideHeight, info.strideWidth);
      const [, HD, WD] = dyD.shape as [number, number, number, number];
      const ptop = (kh - 1) * dh - info.padInfo.top;
      const pleft = (kw - 1) * dw - info.padInfo.left;
      const pbottom = H - HD + info.padInfo.top;
      const pright = W - WD + info.padInfo.left;
      if (ptop < 0 || pleft < 0 || pbottom < 0 || pright < 0) throw new Error('depthwise gradient: unsupported padding geometry');
      const flipped = r.run(Reverse, { x: filter }, { dims: [0, 1] });
      const f = r.reshape(flipped, [kh, kw, CM, 1]);
      const pad = [
        [0, 0],
        [ptop, pbottom],
        [pleft, pright],
        [0, 0],
      ];
      const y = r.run(DepthwiseConv2dNative, { x: dyD, filter: f }, { strides: [1, 1], pad, dilations: [dh, dw], dimRoundingMode: undefined as unknown as string });
      if (M === 1) return r.reshape(y, inputShape);
      const y5 = r.reshape(y, [N, H, W, C, M]);
      return r.run(Sum, { x: y5 }, { axis: [4], keepDims: false });
    });
}

/**
 * dW[kh,kw,C,M] as ONE depthwise convolution over (c, n) pairs: input [1, H, W, C·N], filter
 * dy as [Ho, Wo, C·N, M], stride = forward dilation, dilation = forward stride; then Σ over n.
 */
function depthwiseBackpropFilter(backendName: string) {
  return (args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: KernelBackend }): TensorInfo =>
    withRunner(backendName, args.backend, (r) => {
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const attrs = args.attrs ?? {};
      const filterShape = attrs.filterShape as number[];
      const info = convInfo(x.shape, filterShape, attrs, true);
      const {
        batchSize: N,
        inHeight: H,
        inWidth: W,
        inChannels: C,
        outChannels: CM,
        filterHeight: kh,
        filterWidth: kw,
        strideHeight: sh,
        strideWidth: sw,
        dilationHeight: dh,
        dilationWidth: dw,
        outHeight: Ho,
        outWidth: Wo,
      } = info;
      const M = CM / C;
      if ((dh > 1 || dw > 1) && (sh > 1 || sw > 1)) throw new Error('depthwise filter gradient on wasm: dilation and stride both > 1 is not supported');
      const { top, left } = info.padInfo;
      let xr = r.reshape(r.transpose(x, [1, 2, 3, 0]), [1, H, W, C * N]); // [1, H, W, C·N]
      const bottom = (kh - 1) * dh + 1 + (Ho - 1) * sh - H - top;
      const right = (kw - 1) * dw + 1 + (Wo - 1) * sw - W - left;
      if (bottom < 0 || right < 0) xr = r.slice(xr, [0, 0, 0, 0], [1, H + Math.min(0, bottom), W + Math.min(0, right), C * N]);
      const dy5 = r.reshape(dy, [N, Ho, Wo, C, M]);
      const f = r.reshape(r.transpose(dy5, [1, 2, 3, 0, 4]), [Ho, Wo, C * N, M]);
      const pad = [
        [0, 0],
        [top, Math.max(0, bottom)],
        [left, Math.max(0, right)],
        [0, 0],
      ];
      const y = r.run(DepthwiseConv2dNative, { x: xr, filter: f }, { strides: [dh, dw], pad, dilations: [sh, sw], dimRoundingMode: undefined as unknown as string });
      const y5 = r.reshape(y, [kh, kw, C, N, M]);
      return r.run(Sum, { x: y5 }, { axis: [3], keepDims: false });
    });
}

/** Per output pixel: (window size) / (in-bounds count); null when every window is whole. */
function avgPoolScale(info: backend_util.Conv2DInfo): Float32Array | null {
  const { outHeight: Ho, outWidth: Wo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: H, inWidth: W } = info;
  const scale = new Float32Array(Ho * Wo);
  let partial = false;
  for (let oh = 0; oh < Ho; oh++) {
    const h0 = oh * sh - info.padInfo.top;
    const ch = Math.min(H, h0 + kh) - Math.max(0, h0);
    for (let ow = 0; ow < Wo; ow++) {
      const w0 = ow * sw - info.padInfo.left;
      const cw = Math.min(W, w0 + kw) - Math.max(0, w0);
      const s = (kh * kw) / Math.max(1, ch * cw);
      if (s !== 1) partial = true;
      scale[oh * Wo + ow] = s;
    }
  }
  return partial ? scale : null;
}

/** Exact AvgPoolGrad on top of a backend's full-window one: dy scaled by window/count first. */
function exactAvgPoolGrad(backendName: string, original: KernelConfig) {
  return (args: { inputs: Record<string, TensorInfo>; attrs?: NamedAttrMap; backend: KernelBackend }): TensorInfo => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const attrs = args.attrs ?? {};
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize as [number, number],
      attrs.strides as [number, number],
      1,
      attrs.pad as 'same',
    );
    const scale = avgPoolScale(info);
    if (!scale) return original.kernelFunc(args) as TensorInfo;
    return withRunner(backendName, args.backend, (r) => {
      const s = r.constant([1, info.outHeight, info.outWidth, 1], scale);
      const scaled = r.run(Multiply, { a: dy, b: s });
      const out = original.kernelFunc({ ...args, inputs: { dy: scaled, input } }) as TensorInfo;
      return out;
    });
  };
}

export interface TrainingKernelsReport {
  /** Kernels registered, as `backend:Kernel`. */
  readonly registered: string[];
}

const done = new Set<string>();

/**
 * Register the training kernels a backend lacks (idempotent). For `wasm`: Conv2DBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput / BackpropFilter, and an exact AvgPoolGrad. For `cpu`: the
 * exact AvgPoolGrad. The backend's package must be imported first (its kernels are the parts).
 */
export function registerTrainingKernels(backendName: 'wasm' | 'cpu' = 'wasm'): TrainingKernelsReport {
  const registered: string[] = [];
  const add = (kernelName: string, kernelFunc: KernelConfig['kernelFunc']): void => {
    const key = `${backendName}:${kernelName}`;
    if (done.has(key)) return;
    const previous = tf.getKernel(kernelName, backendName);
    if (previous) tf.unregisterKernel(kernelName, backendName);
    // keep the replaced kernel's setup (a wrapped kernel calls it; wasm sets its C bindings up there)
    tf.registerKernel({ kernelName, backendName, kernelFunc, setupFunc: previous?.setupFunc, disposeFunc: previous?.disposeFunc });
    done.add(key);
    registered.push(key);
  };
  if (backendName === 'wasm') {
    if (!tf.getKernel(Conv2D, 'wasm')) throw new Error('registerTrainingKernels(wasm): import @tensorflow/tfjs-backend-wasm first');
    add(Conv2DBackpropInput, conv2dBackpropInput('wasm') as KernelConfig['kernelFunc']);
    if (!tf.getKernel(Conv2DBackpropFilter, 'wasm') || done.has(`wasm:${Conv2DBackpropFilter}`))
      add(Conv2DBackpropFilter, conv2dBackpropFilter('wasm') as KernelConfig['kernelFunc']);
    if (!tf.getKernel(DepthwiseConv2dNativeBackpropInput, 'wasm') || done.has(`wasm:${DepthwiseConv2dNativeBackpropInput}`))
      add(DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInput('wasm') as KernelConfig['kernelFunc']);
    if (!tf.getKernel(DepthwiseConv2dNativeBackpropFilter, 'wasm') || done.has(`wasm:${DepthwiseConv2dNativeBackpropFilter}`))
      add(DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilter('wasm') as KernelConfig['kernelFunc']);
  }
  const avgGrad = tf.getKernel(AvgPoolGrad, backendName);
  if (avgGrad && !done.has(`${backendName}:${AvgPoolGrad}`)) add(AvgPoolGrad, exactAvgPoolGrad(backendName, avgGrad) as KernelConfig['kernelFunc']);
  return { registered };
}
