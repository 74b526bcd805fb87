import { Registry } from './registry';

/** Preprocessed images of the target data set, NHWC float32 (what a network of the search space takes). */
export interface ImageBatch {
  readonly images: Float32Array;
  /** [n, height, width, channels] */
  readonly shape: readonly [number, number, number, number];
}

/** The network a proxy builds for each architecture. */
export interface ZeroCostProxyOptions {
  /** Classes of the target data set (the classifier's width). */
  readonly numClasses: number;
  /** Seed of the network's initial weights. */
  readonly seed: number | string;
  /** Space-specific network size (NB201: channels C and cells per stage N; default the benchmark's 16 and 5). */
  readonly C?: number;
  readonly N?: number;
}

/**
 * A training-free score of an untrained architecture on a minibatch of the target data set
 * (higher = predicted better), e.g. NASWOT or synflow. Implementations live in
 * `@metad2a/proxies`, which registers them in {@link zeroCostProxies} when imported.
 */
export interface ZeroCostProxy {
  /** Search spaces (by registry name) whose architectures it can score. */
  readonly spaces: readonly string[];
  /** Score one architecture (the space's canonical string). */
  score(arch: string, batch: ImageBatch, opts: ZeroCostProxyOptions): number;
}

export const zeroCostProxies = new Registry<ZeroCostProxy>('zero-cost proxy');
