/**
 * @metad2a/datasets — from real images (or precomputed features) to the set encoder's input.
 *
 * Readers (IDX, CIFAR binary, image folders, .npy, feature files), the paper's preprocessing,
 * feature extractors chosen by name, an on-disk feature cache, built-in data sets
 * (`builtin:mnist`, `builtin:fashion-mnist`, `builtin:digits`), `resolveDataset` for any of these
 * references, `sampleDataset` for a `[C*n, dim]` set-encoder input, and meta-learning tasks.
 */
export * from './images';
export { selectImages } from './image-subset';
export * from './readers/npy';
export * from './readers/idx';
export * from './readers/cifar';
export * from './readers/image-folder';
export * from './preprocess';
export * from './extractor';
export * from './builtin';
import { featureExtractors } from './extractor';
import { randomConvFactory } from './extractors/random-conv';
export { createRandomConv, randomFilters, RANDOM_CONV_DEFAULTS, type RandomConvConfig } from './extractors/random-conv';

featureExtractors.register('random-conv', randomConvFactory, {
  description: 'built-in: 16 fixed random 5×5 filters, two-sided ReLU, 4×4-grid average pooling → 512-d (offline, seeded)',
});
export * from './readers/npy-dataset';
export * from './readers/feature-file';
export * from './progress';
export * from './extract';
export * from './resolve';
export * from './tasks';
export { createIdentityExtractor } from './extractors/identity';
import { identityFactory } from './extractors/identity';
featureExtractors.register('identity', identityFactory, { description: 'precomputed features pass through; images give their flattened preprocessed pixels (3,072-d)' });
export { fileLoadHandler, fileSaveHandler, readTfjsModelFiles } from './tfjs-files';
export { createTfjsModelExtractor, tfjsModelKind } from './extractors/tfjs-model';
import { createTfjsModelExtractor } from './extractors/tfjs-model';
export { createMobilenetV2Extractor, mobilenetProjection, MOBILENET_V2 } from './extractors/mobilenet-v2';
import { createMobilenetV2Extractor } from './extractors/mobilenet-v2';
featureExtractors.register('mobilenetv2', createMobilenetV2Extractor, {
  description: 'MobileNetV2 of the installed nsfwjs@4.4.0 package (tfjs LayersModel, 224×224): 1280-d pooled features, fixed seeded projection to outputDim (default 512)',
});
featureExtractors.register('tfjs-model', createTfjsModelExtractor, { description: 'your tfjs model.json (Layers or Graph), features from outputLayer or the model output' });
export { taskSources, taskSource, GENERATED_PER_CLASS, type TaskSource, type SourceSplit } from './sources/task-sources';
export { TEXTURE_CLASSES, COLOUR_BLOB_CLASSES, SHAPE_CLASSES, PROCEDURAL_IMAGE_SIZE } from './sources/procedural';
export { GLYPH_IMAGE_SIZE } from './sources/glyph-source';
