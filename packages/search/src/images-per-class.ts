/**
 * Images per class whose features a search extracts by default (`maxPerClass` of
 * `@metad2a/datasets`' `loadFeatureSet`): the predictor's 10 resamples × 20 rows per class need no
 * more, and Fashion-MNIST then extracts 2,000 images instead of 10,000. The first images of each
 * class are used; digits (at most 183 per class) is unaffected.
 */
export const SEARCH_IMAGES_PER_CLASS = 200;
