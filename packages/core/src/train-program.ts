/**
 * A whole training step as one kernel: a network with a static graph describes itself as a
 * {@link TrainProgram} (a list of layer ops over numbered activation slots, parameters by name),
 * and a backend that registers {@link TRAIN_STEP_KERNEL} runs forward, mean softmax cross-entropy,
 * backward and the SGD update of every parameter over its own arrays, with no tfjs op, tensor or
 * tape per layer (a reduced NB201 step through the tape makes ~190 addon calls, each through the
 * tfjs engine).
 * The network's tfjs forward pass under a gradient tape stays the reference: the same ops, equal
 * to float rounding (gradients are summed in another order).
 */

/** `TRAIN_STEP_KERNEL`: see {@link TrainStepAttrs} for its inputs, attributes and outputs. */
export const TRAIN_STEP_KERNEL = 'MetaD2ATrainStep';

/**
 * One op of a {@link TrainProgram}. Slots are activations (NHWC, or [B, features] after
 * `spatialMean`); slot 0 is the input batch. Each op writes a new slot; a slot may be read by
 * several ops (its gradient is their sum). Parameter names are keys of the step's `params`;
 * filters are in PyTorch's `[out, in, k, k]` layout, linear weights `[out, in]`.
 */
export type TrainProgramOp =
  /** [ReLU →] Conv2d(bias = False, symmetric padding `pad`) → BatchNorm2d with batch statistics. `inputGradient` false: x is data. */
  | {
      readonly op: 'reluConvBn';
      readonly x: number;
      readonly y: number;
      readonly filter: string;
      readonly gamma: string;
      readonly beta: string;
      readonly stride: number;
      readonly pad: number;
      readonly relu: boolean;
      readonly inputGradient: boolean;
    }
  /** Conv2d(bias = False, symmetric padding `pad`). */
  | { readonly op: 'conv'; readonly x: number; readonly y: number; readonly filter: string; readonly stride: number; readonly pad: number }
  /** Average pooling with tfjs' 'same' / 'valid' padding, averaging over the pixels inside the image (PyTorch's count_include_pad = False). */
  | { readonly op: 'avgPool'; readonly x: number; readonly y: number; readonly size: number; readonly stride: number; readonly padding: 'same' | 'valid' }
  | { readonly op: 'add'; readonly a: number; readonly b: number; readonly y: number }
  /** Zeros of the shape of slot `like` (a cell node no edge reaches); `like` receives a zero gradient (as tfjs' zerosLike gives it). */
  | { readonly op: 'zeros'; readonly like: number; readonly y: number }
  /** BatchNorm2d with batch statistics over every axis but the last. */
  | { readonly op: 'batchNorm'; readonly x: number; readonly y: number; readonly gamma: string; readonly beta: string }
  | { readonly op: 'relu'; readonly x: number; readonly y: number }
  /** Mean over H and W: [B, H, W, C] → [B, C]. */
  | { readonly op: 'spatialMean'; readonly x: number; readonly y: number }
  /** y = x·weightᵀ + bias. */
  | { readonly op: 'linear'; readonly x: number; readonly y: number; readonly weight: string; readonly bias?: string };

export interface TrainProgram {
  readonly ops: readonly TrainProgramOp[];
  /** Number of slots (ops write slots 1 … slots − 1, each once). */
  readonly slots: number;
  /** The slot of the logits [B, classes]. */
  readonly logits: number;
  /** BatchNorm epsilon of every `reluConvBn` / `batchNorm` op. */
  readonly epsilon: number;
}

/**
 * Inputs `{ x, labels, param0, buf0, param1, buf1, … }`: x the float32 NHWC batch, labels int32
 * [B], param/buf every parameter and its SGD momentum buffer in the order of `params`.
 * Attributes: the program, the parameter names, and SGD's lr, momentum, nesterov and a weight
 * decay per parameter, with the arithmetic of `SGD_UPDATE_KERNEL`, applied in place.
 * Only the parameters the backward pass reaches are updated (as a tape gives no gradient to the
 * others); each of them needs its buf. Outputs `[loss, statistics, counts]`: the mean
 * cross-entropy before the update (scalar); the batch mean and biased variance of every BatchNorm
 * in op order (mean then variance, [Σ 2·C]); and the values per channel each BatchNorm's
 * statistics were taken over (N·H·W; int32, one per BatchNorm). All or nothing, under the proof
 * of `SGD_UPDATE_IN_PLACE_KERNEL` (but with the opposite sentinel: `[]` means declined here): when
 * a reached parameter has no buf or the backend cannot prove that every param and buf storage it
 * would update is held by that tensor alone, it changes nothing and returns `[]`; the caller then
 * runs the step through the tape. Labels must lie in 0 … classes − 1 (checked before any work);
 * each parameter belongs to one op, and `params` names each once.
 */
export interface TrainStepAttrs {
  readonly program: TrainProgram;
  readonly params: readonly string[];
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: readonly number[];
}
