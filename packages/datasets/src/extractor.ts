/**
 * Feature extractors: images (preprocessed, NHWC `[B, size, size, 3]`) → feature rows `[B, dim]`.
 * Chosen by name from the {@link featureExtractors} registry, so that a user can add their own.
 */
import { Registry } from '@metad2a/core';

export interface FeatureExtractor {
  /** The registry name it was created under. */
  readonly name: string;
  /**
   * Everything that determines its output (name, options, a hash of its weights): part of the
   * feature-cache key, so two extractors with the same id must give the same features.
   */
  readonly id: string;
  /** Width of a feature row. */
  readonly dim: number;
  /** Side of the square images it takes (32 for the paper's ResNet-18 at CIFAR scale). */
  readonly inputSize: number;
  /**
   * The input convention of a pretrained extractor (e.g. `none`: pixels in [0, 1]); when set it is
   * the default preprocessing normalisation instead of the data set's (an explicit option still wins).
   */
  readonly normalisation?: import('./preprocess').NormalisationName;
  /**
   * Features `[batch, dim]` of `batch` preprocessed images packed as `[batch, inputSize, inputSize, 3]`.
   * (Precomputed features never reach an extractor: `loadFeatureSet` returns them as they are.)
   */
  extract(images: Float32Array, batch: number): Promise<Float32Array>;
  /** Free tensors / models it holds. */
  dispose(): void;
}

export interface ExtractorOptions {
  /** Seed of a randomly initialised extractor (`random-conv`; default 0). */
  readonly seed?: number;
  /** `tfjs-model`: path to a `model.json` (Layers or Graph model). */
  readonly modelPath?: string;
  /** `tfjs-model`: name of the layer (Layers) or node (Graph) whose output is the feature; default the model output. */
  readonly outputLayer?: string;
  /** Side of the input images (default 32). */
  readonly inputSize?: number;
  /** `mobilenetv2`: width of the fixed random projection of its 1280-d pooled features (default 512; 1280: none). */
  readonly outputDim?: number;
}

export type ExtractorFactory = (opts: ExtractorOptions) => Promise<FeatureExtractor>;

/** Name → factory. Built in: `random-conv`, `tfjs-model`, `identity`, `mobilenetv2`. */
export const featureExtractors = new Registry<ExtractorFactory>('feature extractor');

/** Create the extractor registered under `name`; a NotFound error lists the known names. */
export async function createExtractor(name: string, opts: ExtractorOptions = {}): Promise<FeatureExtractor> {
  return featureExtractors.get(name)(opts);
}
