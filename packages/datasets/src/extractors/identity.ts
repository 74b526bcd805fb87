/**
 * `identity`: the extractor of precomputed features (a feature source passes through unchanged).
 * Applied to images it returns the preprocessed pixels themselves, flattened
 * (`inputSize·inputSize·3` = 3,072 values at 32×32): a raw-pixel baseline.
 */
import type { ExtractorOptions, FeatureExtractor } from '../extractor';

export function createIdentityExtractor(inputSize = 32): FeatureExtractor {
  const dim = inputSize * inputSize * 3;
  return {
    name: 'identity',
    id: `identity:in=${inputSize}`,
    dim,
    inputSize,
    extract: async (images: Float32Array) => images.slice(),
    dispose: () => undefined,
  };
}

export async function identityFactory(opts: ExtractorOptions): Promise<FeatureExtractor> {
  return createIdentityExtractor(opts.inputSize ?? 32);
}
