import * as tf from '@tensorflow/tfjs-core';
import { processWide } from './process-wide';

/**
 * What model code needs to know about a tensor backend to pick the faster of two equal
 * computations — registered by whoever registers the backend, read by model code instead of
 * comparing backend names. Every trait only chooses between computations with the same result
 * (up to float32 rounding).
 */
export interface BackendTraits {
  /** Tensor values live in JS memory (`dataSync` is free): small element-wise steps run faster as plain loops than as the backend's kernels (inference only). */
  readonly jsMemory: boolean;
  /** matMul with a transposed operand is slow: transpose small weights explicitly. */
  readonly explicitTranspose: boolean;
  /** `tf.softmax` is a fast kernel (otherwise a composite without broadcasting ops is used). */
  readonly fastSoftmax: boolean;
  /** Attention heads are split and merged by transposes rather than by a batch-broadcasting matMul. */
  readonly transposeHeads: boolean;
  /** `tf.gather` is slow beside its GEMM: select rows by a one-hot matMul. */
  readonly gatherByMatMul: boolean;
}

/** A backend nobody described: the generic composite paths. */
export const GENERIC_BACKEND_TRAITS: BackendTraits = Object.freeze({ jsMemory: false, explicitTranspose: false, fastSoftmax: false, transposeHeads: false, gatherByMatMul: false });

/** Process-wide (see {@link processWide}): the backend's package may register through another copy of core. */
const traitsByBackend = processWide('backend-traits', () => new Map<string, BackendTraits>());

/** Describe a backend by its tfjs name (the backend's registrar calls this when it registers the backend). */
export function registerBackendTraits(tfName: string, traits: Partial<BackendTraits>): void {
  traitsByBackend.set(tfName, Object.freeze({ ...GENERIC_BACKEND_TRAITS, ...traits }));
}

/** The traits of a backend (default: the current one); {@link GENERIC_BACKEND_TRAITS} where none are registered. */
export function backendTraits(tfName: string = tf.getBackend()): BackendTraits {
  return traitsByBackend.get(tfName) ?? GENERIC_BACKEND_TRAITS;
}

// tfjs's own backends, which core loads (see initBackend): their measured behaviour
registerBackendTraits('cpu', { jsMemory: true });
registerBackendTraits('wasm', { explicitTranspose: true, fastSoftmax: true, transposeHeads: true });
