/**
 * Fused kernels: MetaD2A-specific tfjs kernels that a backend may register (through tfjs's kernel
 * registry, `tf.registerKernel`) to replace a whole sub-graph of small ops. Model code asks
 * `tf.getKernel(name, tf.getBackend())` and falls back to its composite tfjs ops when the current
 * backend has none. This module is the contract between the model packages (callers) and the
 * backends (the package that registers a backend registers them for it); neither depends on the other.
 */
import { processWide } from './process-wide';

/**
 * One `torch.optim.Adam` step of one parameter (no weight decay, no amsgrad).
 * Inputs `{ param, m, v, grad }` (float32, same shape); attrs `{ beta1, beta2, eps, stepSize,
 * sqrtBc2 }` (`stepSize` = lr / (1 − β1ᵗ), `sqrtBc2` = √(1 − β2ᵗ)); outputs `[param', m', v']`:
 * m' = m·β1 + g·(1−β1), v' = v·β2 + g²·(1−β2), param' = param − (m' / (√v' / sqrtBc2 + ε))·stepSize,
 * each operation rounded to float32 in that order (as the composite tfjs ops do).
 */
export const ADAM_UPDATE_KERNEL = 'MetaD2AAdamUpdate';

/**
 * One `torch.optim.SGD` step of one parameter after the first (momentum buffer present, dampening 0).
 * Inputs `{ param, buf, grad }` (float32, same shape); attrs `{ lr, momentum, weightDecay, nesterov }`;
 * outputs `[param', buf']`: g' = g + param·weightDecay (skipped when 0), buf' = buf·μ + g',
 * d = g' + buf'·μ (Nesterov) or buf', param' = param − d·lr, each operation rounded to float32 in
 * that order (as the composite tfjs ops do).
 */
export const SGD_UPDATE_KERNEL = 'MetaD2ASgdUpdate';

/**
 * The same SGD step for many parameters at once, written over their own storage. Inputs
 * `{ param0, buf0, grad0, param1, buf1, grad1, … }` (float32, same shape per index); attrs
 * `{ lr, momentum, nesterov, weightDecay: number[] }` (one decay per parameter). All or nothing:
 * when the backend can prove that every param and buf storage is held by that tensor alone (no
 * other tensor shares it, no array of it was handed to user code), it updates them in place with
 * the arithmetic of {@link SGD_UPDATE_KERNEL} and returns `[]`; otherwise it changes nothing and
 * returns one scalar, and the caller updates out of place. One kernel call per step instead of one
 * per parameter, with no new tensors (an `nb201-db` step has 129 parameters).
 */
export const SGD_UPDATE_IN_PLACE_KERNEL = 'MetaD2ASgdUpdateInPlace';

/**
 * Training-mode batch normalisation over every axis but the last (channels-last).
 * Inputs `{ x, gamma, beta }` (float32; gamma, beta [C]); attr `{ epsilon }`; outputs
 * `[y, mean, variance]`: per-channel batch mean and biased variance [C],
 * y = (x − mean)·(γ / √(variance + ε)) + β. `@metad2a/layers`' `batchNormTrain` registers its gradient.
 */
export const BATCH_NORM_TRAIN_KERNEL = 'MetaD2ABatchNormTrain';

/**
 * Gradient of `BATCH_NORM_TRAIN_KERNEL` w.r.t. x, γ, β. Inputs `{ dy, x, gamma, mean, variance,
 * dmean, dvariance }` (the last two: gradients reaching the mean / variance outputs, [C]); attr
 * `{ epsilon }`; outputs `[dx, dgamma, dbeta]`.
 */
export const BATCH_NORM_TRAIN_GRAD_KERNEL = 'MetaD2ABatchNormTrainGrad';

/**
 * PyTorch's `ReLU → Conv2d(bias=False) → BatchNorm2d` in training mode as one kernel (NAS-Bench-201's
 * `ReLUConvBN`, its stem without the ReLU). Inputs `{ x, filter, gamma, beta }`: x NHWC, filter in
 * PyTorch's layout `[out, in, k, k]`, gamma, beta `[out]`; attrs `{ stride, pad, relu, epsilon }`
 * (symmetric zero padding `pad` on both spatial axes, dilation 1). Outputs `[y, mean, variance,
 * activated, conv]`: y, the batch mean and biased variance as `BATCH_NORM_TRAIN_KERNEL` gives them
 * for conv = conv2d(activated, filter), activated = relu(x) (x when `relu` is false). The last two
 * are what the gradient needs.
 */
export const RELU_CONV_BN_TRAIN_KERNEL = 'MetaD2AReluConvBnTrain';

/**
 * Gradient of `RELU_CONV_BN_TRAIN_KERNEL`. Inputs `{ dy, dmean?, dvariance?, activated, conv,
 * filter, gamma, mean, variance }`; attrs as the forward; outputs `[dx, dfilter, dgamma, dbeta]`
 * (dfilter in the `[out, in, k, k]` layout; dx masked by activated > 0 when `relu`), or
 * `[dfilter, dgamma, dbeta]` when the attr `inputGradient` is false (dx not computed).
 */
export const RELU_CONV_BN_TRAIN_GRAD_KERNEL = 'MetaD2AReluConvBnTrainGrad';

export interface ReluConvBnAttrs {
  readonly stride: number;
  readonly pad: number;
  readonly relu: boolean;
  readonly epsilon: number;
  /** Gradient kernel only: false skips dx (an input that is data, e.g. a network's stem); default true. */
  readonly inputGradient?: boolean;
}

/**
 * Inference of MetaD2A's `SetPool` (sabPF: SAB → SAB → PMA → Linear, no layer norm; spec §2.1)
 * over many sets whose first-SAB projections fc_q/fc_k/fc_v are cached per feature row.
 *
 * Inputs (tensors, float32 unless said): `q`, `k`, `v` — the caches, head-major
 * `[heads · capacity · dim/heads]` (k already multiplied by 1/√dim); `slots` (int32, `[sets · perSet]`,
 * the cache rows of each set, set-contiguous); then the weights named in
 * {@link SET_POOL_PROJECTED_WEIGHTS} in PyTorch layout (`w [out, in]`, `b [out]`, `seeds [numOutputs, dim]`).
 * Attributes: {@link SetPoolProjectedAttrs}. Output: `[sets, numOutputs, outDim]`.
 */
export const SET_POOL_PROJECTED_KERNEL = 'MetaD2ASetPoolProjected';

/** The weight inputs of {@link SET_POOL_PROJECTED_KERNEL}, in the order the native addon takes them. */
export const SET_POOL_PROJECTED_WEIGHTS = [
  'sab1O_w',
  'sab1O_b',
  'sab2Q_w',
  'sab2Q_b',
  'sab2K_w',
  'sab2K_b',
  'sab2V_w',
  'sab2V_b',
  'sab2O_w',
  'sab2O_b',
  'seeds',
  'pmaQ_w',
  'pmaQ_b',
  'pmaK_w',
  'pmaK_b',
  'pmaV_w',
  'pmaV_b',
  'pmaO_w',
  'pmaO_b',
  'out_w',
  'out_b',
] as const;

export type SetPoolProjectedWeight = (typeof SET_POOL_PROJECTED_WEIGHTS)[number];

export interface SetPoolProjectedAttrs {
  readonly heads: number;
  /** Width of every attention block (d_V = hidden dim). */
  readonly dim: number;
  /** PMA seeds k. */
  readonly numOutputs: number;
  readonly outDim: number;
  /** Rows per set. */
  readonly perSet: number;
  readonly sets: number;
  /** Rows the caches have room for (their second axis). */
  readonly capacity: number;
  /** Rows filled (valid slots are 0..rows-1). */
  readonly rows: number;
}

/**
 * The graph decoder's weights re-laid out for sampling (float64; produced by
 * `prepareDecoderWeights` of @metad2a/graph-generator, which documents each block).
 */
export interface GraphDecodeWeights {
  readonly hs: number;
  readonly nz: number;
  readonly fc3W: Float64Array;
  readonly fc3B: Float64Array;
  readonly giByType: Float64Array;
  readonly whh: Float64Array;
  readonly bhh: Float64Array;
  readonly av0W: Float64Array;
  readonly av0B: Float64Array;
  readonly av2W: Float64Array;
  readonly av2B: Float64Array;
  readonly aeOld: Float64Array;
  readonly aeNew: Float64Array;
  readonly ae0B: Float64Array;
  readonly ae2W: Float64Array;
  readonly ae2B: number;
  readonly gateH: Float64Array;
  readonly gateByVid: Float64Array;
  readonly mapH: Float64Array;
  readonly mapByVid: Float64Array;
}

/** One batched decode: what `decodeBatch` of @metad2a/graph-generator computes, as flat arrays. */
export interface GraphDecodeRequest {
  readonly weights: GraphDecodeWeights;
  readonly nvt: number;
  readonly maxN: number;
  readonly startType: number;
  readonly endType: number;
  readonly batch: number;
  /** z `[batch, nz]`. */
  readonly z: Float32Array;
  /** Stochastic decoding draws from this xoshiro128** state (advanced in place); deterministic when absent. */
  readonly rngState?: Uint32Array;
}

export interface GraphDecodeResult {
  /** `[batch, maxN]`, −1 after a graph's last vertex. */
  readonly types: Int32Array;
  /** `[batch, maxN(maxN−1)/2, 2]`, each graph's edges in insertion order. */
  readonly edges: Int32Array;
  /** `[batch]` edges of each graph. */
  readonly edgeCounts: Int32Array;
  /** `[batch, maxN−2, nvt]`, NaN where no type was decided. */
  readonly typeLogits: Float32Array;
  /** `[batch, maxN, maxN]`, −1 where no edge was decided. */
  readonly edgeProbs: Float32Array;
}

/**
 * A backend's implementation of the batched graph decoding (a plain loop over small vectors, not a
 * tensor op, so it is registered here rather than in tfjs's kernel registry). It must give the
 * same graphs and draws as the TypeScript `decodeBatch`.
 */
export type GraphDecodeKernel = (req: GraphDecodeRequest) => GraphDecodeResult;

/** Process-wide (see {@link processWide}): else the compiled decoder registered by the ESM copy is never found and the TypeScript loop runs, ~5× slower. */
const graphDecodeKernels = processWide('graph-decode-kernels', () => new Map<string, GraphDecodeKernel>());

/** Register the graph decoding kernel of the tfjs backend `backendName` (replaces an earlier one). */
export function registerGraphDecodeKernel(backendName: string, kernel: GraphDecodeKernel): void {
  graphDecodeKernels.set(backendName, kernel);
}

/** The graph decoding kernel registered for `backendName`, if any. */
export function getGraphDecodeKernel(backendName: string): GraphDecodeKernel | undefined {
  return graphDecodeKernels.get(backendName);
}
