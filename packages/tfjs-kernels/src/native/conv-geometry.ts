import type { backend_util } from '@tensorflow/tfjs-core';

/** Geometry array of `ConvGeom` (native/kernels.h) from a tfjs conv / pool info. */
export function convGeometry(info: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

/**
 * The `ConvGeom` of an NHWC input and a PyTorch-layout `[out, in, k, k]` filter with PyTorch's
 * symmetric zero padding `pad` and dilation 1, and the output shape; null when they do not fit.
 */
export function symmetricConvGeometry(xShape: readonly number[], filterShape: readonly number[], stride: number, pad: number): { geometry: Int32Array; outShape: number[] } | null {
  if (xShape.length !== 4 || filterShape.length !== 4 || !Number.isInteger(stride) || stride < 1 || !Number.isInteger(pad) || pad < 0) return null;
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [co, ci, kh, kw] = filterShape as [number, number, number, number];
  if (ci !== c || co < 1 || c < 1) return null;
  const ho = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - kw) / stride) + 1;
  if (ho < 1 || wo < 1) return null;
  return { geometry: Int32Array.from([n, h, w, c, ho, wo, co, kh, kw, stride, stride, 1, 1, pad, pad]), outShape: [n, ho, wo, co] };
}
