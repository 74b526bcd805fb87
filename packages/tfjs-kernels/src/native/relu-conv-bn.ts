/**
 * The fused `ReLU → Conv2d → BatchNorm2d` training kernels (`native/relu_conv_bn.cc`) under the
 * names of `@metad2a/core`'s fused-kernels, run by `@metad2a/layers`' `reluConvBnTrain`:
 * - `MetaD2AReluConvBnTrain` {x, filter [Co, C, k, k], gamma, beta}, attrs {stride, pad, relu,
 *   epsilon} → [y, mean, variance, activated, conv];
 * - `MetaD2AReluConvBnTrainGrad` {dy, dmean?, dvariance?, activated, conv, filter, gamma, mean,
 *   variance} → [dx, dfilter, dgamma, dbeta], or [dfilter, dgamma, dbeta] when the attr
 *   `inputGradient` is false (dx is not computed: a stem's input is data).
 * One kernel each way instead of ~6 forward and ~9 backward tfjs ops (two filter transposes).
 */
import { RELU_CONV_BN_TRAIN_GRAD_KERNEL, RELU_CONV_BN_TRAIN_KERNEL } from '@metad2a/core';
import { util, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { symmetricConvGeometry } from './conv-geometry';
import { f32, type KernelMaker } from './elementwise';

interface Plan {
  geometry: Int32Array;
  inShape: number[];
  outShape: number[];
  co: number;
}

/** ConvGeom of an NHWC x and a [Co, C, k, k] filter with PyTorch's symmetric padding; null when they do not fit. */
function plan(x: TensorInfo, filter: TensorInfo, attrs: NamedAttrMap): Plan | null {
  const conv = symmetricConvGeometry(x.shape, filter.shape, Number(attrs.stride), Number(attrs.pad));
  return conv && { geometry: conv.geometry, inShape: x.shape, outShape: conv.outShape, co: conv.outShape[3]! };
}

export function reluConvBnKernelConfigs(addon: NativeAddon, k: KernelMaker): KernelConfig[] {
  // an addon built before these kernels existed (a stale build/): the op runs its composite graph
  if (typeof addon.reluConvBnTrain !== 'function' || typeof addon.reluConvBnTrainGrad !== 'function') return [];
  return [
    k(RELU_CONV_BN_TRAIN_KERNEL, (inputs, attrs, backend) => {
      const { x, filter, gamma, beta } = inputs;
      if (!x || !filter) return null;
      const [xv, fv, gv, bv] = [x, filter, gamma, beta].map((t) => f32(backend, t));
      const p = plan(x, filter, attrs);
      if (!p || !xv || !fv || !gv || !bv || gv.length !== p.co || bv.length !== p.co) return null;
      const inSize = util.sizeFromShape(p.inShape);
      const outSize = util.sizeFromShape(p.outShape);
      const y = outputBuffers.take(outSize, false);
      const mean = outputBuffers.take(p.co, false);
      const variance = outputBuffers.take(p.co, false);
      const activated = outputBuffers.take(inSize, false);
      const conv = outputBuffers.take(outSize, false);
      addon.reluConvBnTrain(xv, fv, gv, bv, y, mean, variance, activated, conv, p.geometry, Boolean(attrs.relu), Number(attrs.epsilon));
      return [
        backend.makeTensorInfo(p.outShape, 'float32', y),
        backend.makeTensorInfo([p.co], 'float32', mean),
        backend.makeTensorInfo([p.co], 'float32', variance),
        backend.makeTensorInfo(p.inShape, 'float32', activated),
        backend.makeTensorInfo(p.outShape, 'float32', conv),
      ];
    }),
    k(RELU_CONV_BN_TRAIN_GRAD_KERNEL, (inputs, attrs, backend) => {
      const { dy, dmean, dvariance, activated, conv, filter, gamma, mean, variance } = inputs;
      if (!dy || !activated || !conv || !filter) return null;
      const [dyv, av, cv, fv, gv, mv, vv] = [dy, activated, conv, filter, gamma, mean, variance].map((t) => f32(backend, t));
      const dmv = dmean ? f32(backend, dmean) : null;
      const dvv = dvariance ? f32(backend, dvariance) : null;
      const p = plan(activated, filter, attrs);
      if (!p || !dyv || !av || !cv || !fv || !gv || !mv || !vv || (dmean && !dmv) || (dvariance && !dvv)) return null;
      if (!util.arraysEqual(dy.shape, p.outShape) || !util.arraysEqual(conv.shape, p.outShape)) return null;
      if ([gv, mv, vv, dmv, dvv].some((a) => a !== null && a.length !== p.co)) return null;
      const withDx = attrs.inputGradient !== false;
      // an addon built before dx became optional computes it into a scratch array
      const dx = withDx || addon.reluConvBnTrainGradOptionalDx !== true ? outputBuffers.take(util.sizeFromShape(p.inShape), false) : null;
      const dfilter = outputBuffers.take(util.sizeFromShape(filter.shape), false);
      const dgamma = outputBuffers.take(p.co, false);
      const dbeta = outputBuffers.take(p.co, false);
      addon.reluConvBnTrainGrad(dyv, dmv, dvv, av, cv, fv, gv, mv, vv, dx, dfilter, dgamma, dbeta, p.geometry, Boolean(attrs.relu), Number(attrs.epsilon));
      const rest = [backend.makeTensorInfo(filter.shape, 'float32', dfilter), backend.makeTensorInfo([p.co], 'float32', dgamma), backend.makeTensorInfo([p.co], 'float32', dbeta)];
      return withDx ? [backend.makeTensorInfo(p.inShape, 'float32', dx!), ...rest] : rest;
    }),
  ];
}
