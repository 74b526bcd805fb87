/**
 * metad2a — the common case in one package: a MetaD2A architecture search for a dataset with the
 * embedded default model, in one call. Everything else of the search, dataset and core packages
 * is re-exported for the next step (your own model directory, your own feature set).
 */
import { MetaD2AException, currentBackend, importBackendPackage, initBackend, validationError, type BackendChoice, type BackendName, type FeatureSet } from '@metad2a/core';
import type { DatasetRef } from '@metad2a/datasets';
import { defaultModelDir } from '@metad2a/default-model';
import {
  SEARCH_IMAGES_PER_CLASS,
  formatSearchReport,
  loadSearchFeatures,
  loadSearchModel,
  runSearch,
  searchExtractor,
  type SearchOptions,
  type SearchResult,
} from '@metad2a/search';

export interface QuickSearchOptions extends SearchOptions {
  /** Search space of the model: `nb201` (default; the embedded default model) or `mbv3`. */
  readonly space?: string;
  /** A model directory (model.json + generator and predictor checkpoints); default: the embedded model of `space`. */
  readonly model?: string;
  /**
   * Feature extractor for image datasets: only the model's own is accepted (its model.json
   * `extractor`; `random-conv` for models that name none), `identity` for precomputed features;
   * default the model's. Any other is refused with a ValidationError naming both.
   */
  readonly extractor?: string;
  /** Image datasets: features of at most this many images per class (default `SEARCH_IMAGES_PER_CLASS`, 200), or `'all'`. */
  readonly imagesPerClass?: number | 'all';
  /** Tensor backend when none is initialised yet (default: the fastest available). */
  readonly backend?: BackendName;
}

export interface QuickSearchResult extends SearchResult {
  /** The human-readable report: settings, top-k table with benchmark facts, timings. */
  readonly report: string;
  /** The model directory that was used. */
  readonly model: string;
  readonly backendChoice: BackendChoice;
  /** Seconds spent reading the dataset and extracting its features. */
  readonly featuresSeconds: number;
}

/**
 * Search architectures for a dataset: any reference of `@metad2a/datasets` (`builtin:digits`, an
 * image folder, a CIFAR folder, IDX, `.npy`, `*bylabel.pt`, a feature file) or a FeatureSet.
 * Initialises the backend on first use, loads the model, runs the search, frees the model.
 */
export async function search(dataset: DatasetRef | FeatureSet, opts: QuickSearchOptions = {}): Promise<QuickSearchResult> {
  const space = opts.space ?? 'nb201';
  const modelDir = opts.model ?? defaultModelDir(space);
  if (!modelDir) {
    throw new MetaD2AException(
      validationError({
        source: 'search options',
        field: 'model',
        expected: `a model directory (no embedded default model ships for space '${space}'; 'metad2a convert-official' or 'metad2a meta-train' make one)`,
        got: 'none',
      }),
    );
  }
  let backendChoice = currentBackend();
  if (!backendChoice) {
    // the optional kernels package registers the native backend and wasm/cpu training kernels on import
    await importBackendPackage('@metad2a/tfjs-kernels', 'native');
    backendChoice = await initBackend({ prefer: opts.backend });
  }
  const maxPerClass = imagesPerClass(opts.imagesPerClass);
  const model = await loadSearchModel(modelDir);
  try {
    if (model.manifest.space !== space) {
      throw new MetaD2AException(validationError({ source: modelDir, field: 'space', expected: `a model for space '${space}'`, got: model.manifest.space }));
    }
    const t0 = performance.now();
    let features: FeatureSet;
    if (isFeatureSet(dataset)) {
      searchExtractor(model.manifest, { requested: opts.extractor, precomputed: true, flag: 'extractor', source: modelDir });
      features = dataset;
    } else features = await loadSearchFeatures(model, dataset, { extractor: opts.extractor, maxPerClass });
    const featuresSeconds = (performance.now() - t0) / 1000;
    const result = await runSearch(model, features, opts);
    return { ...result, report: formatSearchReport(result, { featuresSeconds, backendLine: `model: ${modelDir}` }), model: modelDir, backendChoice, featuresSeconds };
  } finally {
    model.dispose();
  }
}

function imagesPerClass(n: number | 'all' | undefined): number | undefined {
  if (n === 'all') return undefined;
  if (n === undefined) return SEARCH_IMAGES_PER_CLASS;
  if (!Number.isInteger(n) || n < 1)
    throw new MetaD2AException(validationError({ source: 'search options', field: 'imagesPerClass', expected: "a positive integer or 'all'", got: String(n) }));
  return n;
}

function isFeatureSet(x: DatasetRef | FeatureSet): x is FeatureSet {
  return typeof x === 'object' && x !== null && 'classes' in x && 'dim' in x && !('kind' in x);
}

export * from '@metad2a/search';
export { loadFeatureSet, sampleDataset, resolveDataset, BUILTIN_DATASETS, type DatasetRef } from '@metad2a/datasets';
export { defaultModelDir, defaultModelSpaces } from '@metad2a/default-model';
export { Rng, initBackend, describeBackend, currentBackend, MetaD2AException, isMetaD2AException, type FeatureSet, type BackendName, type BackendChoice } from '@metad2a/core';
