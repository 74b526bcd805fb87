/**
 * The features a search reads: a model learns from one extractor's class features, so a search
 * must extract with the same one. The model directory says which (`extractor` of model.json);
 * models written before that field were all meta-trained on `random-conv` features.
 */
import { fail, type FeatureSet } from '@metad2a/core';
import { createExtractor, loadFeatureSet, resolveDataset, type DatasetRef, type DatasetSource, type FeatureExtractor, type LoadOptions } from '@metad2a/datasets';
import type { ModelManifest, SearchModel } from './model-dir';

/** The extractor of a model whose model.json names none (every model written before the field). */
export const LEGACY_MODEL_EXTRACTOR = 'random-conv';

/** The registry name of the extractor a model was meta-trained with. */
export function modelExtractorName(manifest: ModelManifest): string {
  return manifest.extractor?.name ?? LEGACY_MODEL_EXTRACTOR;
}

/** The model's extractor for a message: its name, and its id and images per class where the model records them. */
export function describeModelExtractor(manifest: ModelManifest): string {
  const e = manifest.extractor;
  return e === undefined
    ? `${LEGACY_MODEL_EXTRACTOR} (the model names no extractor: models without the field were meta-trained on random-conv features)`
    : `${e.name} (${e.id}, ${e.perClass} images per class in meta-training)`;
}

export interface ExtractorRequest {
  /** The extractor the caller asked for, if any. */
  readonly requested?: string;
  /** The data set holds precomputed features (no extractor runs; only `identity` may be asked for). */
  readonly precomputed: boolean;
  /** How the caller names the request in an error: `--extractor` (CLI), `extractor` (options). */
  readonly flag: string;
  /** The model, for an error: its directory. */
  readonly source: string;
}

/**
 * The extractor a search of `manifest` runs on an image data set: the model's. Throws a
 * ValidationError naming `flag`, the model's extractor and the request when the request differs
 * (a model reads only features like those it learnt from); `identity` passes for precomputed
 * features, which no extractor touches. Returns undefined for precomputed features.
 */
export function searchExtractor(manifest: ModelManifest, req: ExtractorRequest): string | undefined {
  const own = modelExtractorName(manifest);
  if (req.precomputed) {
    if (req.requested !== undefined && req.requested !== 'identity')
      fail('ValidationError', {
        source: req.source,
        field: req.flag,
        expected: `'identity' or none: the data set holds precomputed features (they must come from the model's extractor, ${describeModelExtractor(manifest)})`,
        got: JSON.stringify(req.requested),
      });
    return undefined;
  }
  if (req.requested !== undefined && req.requested !== own)
    fail('ValidationError', {
      source: req.source,
      field: req.flag,
      expected: `the model's extractor, ${describeModelExtractor(manifest)}: a model ranks only features like those it was meta-trained on (leave ${req.flag} out to use it, or meta-train a model on ${req.requested} features)`,
      got: JSON.stringify(req.requested),
    });
  return own;
}

/**
 * Create the model's extractor and check that it still makes the features the model learnt from
 * (its id equals the recorded one: same version, options, weights); the caller disposes it.
 */
export async function createModelExtractor(manifest: ModelManifest, source: string): Promise<FeatureExtractor> {
  const extractor = await createExtractor(modelExtractorName(manifest));
  const recorded = manifest.extractor?.id;
  if (recorded !== undefined && extractor.id !== recorded) {
    extractor.dispose();
    fail('ValidationError', {
      source,
      field: 'extractor.id',
      expected: `the id of extractor '${extractor.name}' as this installation creates it (${extractor.id}): the model was meta-trained on features of another version or setting`,
      got: JSON.stringify(recorded),
    });
  }
  return extractor;
}

export interface SearchFeaturesOptions extends Omit<LoadOptions, 'extractor' | 'extractorOptions'> {
  /** The extractor asked for (must be the model's; `identity` for precomputed features); default the model's. */
  readonly extractor?: string;
  /** How an error names `extractor` (default `extractor`; the CLI passes `--extractor`). */
  readonly flag?: string;
}

/**
 * The feature set a search of `model` reads for a data set: precomputed features as they are, an
 * image data set's extracted (cached) with the model's extractor (see {@link searchExtractor}).
 */
export async function loadSearchFeatures(model: SearchModel, dataset: DatasetRef | DatasetSource, opts: SearchFeaturesOptions = {}): Promise<FeatureSet> {
  const { extractor: requested, flag = 'extractor', ...load } = opts;
  const src = typeof dataset === 'object' && (dataset.kind === 'images' || dataset.kind === 'features') ? (dataset as DatasetSource) : resolveDataset(dataset as DatasetRef);
  const source = model.dir ?? 'the model';
  const name = searchExtractor(model.manifest, { requested, precomputed: src.kind === 'features', flag, source });
  if (name === undefined) return loadFeatureSet(src, load);
  const extractor = await createModelExtractor(model.manifest, source);
  try {
    return await loadFeatureSet(src, { ...load, extractor });
  } finally {
    extractor.dispose();
  }
}
