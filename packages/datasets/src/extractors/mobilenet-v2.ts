/**
 * `mobilenetv2`: the MobileNetV2 that `nsfwjs@4.4.0` ships as a tfjs LayersModel inside its npm
 * package (ImageNet-initialised, fine-tuned by nsfwjs on 5 image-content classes; Keras 2.2.4,
 * uint8-quantised weights, 224×224 inputs in [0, 1]). The feature is its pooled layer
 * (`out_relu` → 7×7 average pooling → `flatten_1`, 1280-d), then a fixed seeded random
 * projection to `outputDim` (default 512, the set encoder's width; 1280 keeps the pooled
 * features). Nothing is downloaded: the model is read from the installed package.
 */
import * as crypto from 'node:crypto';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, Rng, fail, validationError } from '@metad2a/core';
import type { ExtractorOptions, FeatureExtractor } from '../extractor';

export const MOBILENET_V2 = {
  /** The npm package and version whose files hold the model (pinned in package.json). */
  package: 'nsfwjs',
  version: '4.4.0',
  inputSize: 224,
  pooledLayer: 'flatten_1',
  pooledDim: 1280,
  /** Input convention of the model: pixels / 255, no mean/std (nsfwjs' own preprocessing). */
  normalisation: 'none',
  defaultOutputDim: 512,
} as const;

interface ShippedModel {
  readonly modelJson: () => Promise<{ modelTopology: unknown; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }>;
  readonly weightBundles: (() => Promise<string | { default: string }>)[];
}

let shipped: Promise<{ artifacts: tf.io.ModelArtifacts; hash: string }> | undefined;

/** The model's JSON and weights from the installed nsfwjs package, read once per process. */
function shippedArtifacts(): Promise<{ artifacts: tf.io.ModelArtifacts; hash: string }> {
  shipped ??= readShippedArtifacts().catch((err: unknown) => {
    shipped = undefined;
    throw err;
  });
  return shipped;
}

/** Read the model's JSON and base64 weight bundles (as nsfwjs loads them) from the installed package. */
async function readShippedArtifacts(): Promise<{ artifacts: tf.io.ModelArtifacts; hash: string }> {
  const req = createRequire(__filename);
  let pkgVersion: string;
  try {
    pkgVersion = (req('nsfwjs/package.json') as { version: string }).version;
  } catch {
    // the package.json is not in the export map: find it next to the resolved entry
    const entry = req.resolve('nsfwjs');
    pkgVersion = (req(entry.replace(/dist[\\/]cjs[\\/]index\.js$/, 'package.json')) as { version: string }).version;
  }
  if (pkgVersion !== MOBILENET_V2.version) {
    return fail('ValidationError', {
      source: 'mobilenetv2 extractor',
      field: 'nsfwjs version',
      expected: `${MOBILENET_V2.version} (the weights this extractor was measured with)`,
      got: pkgVersion,
    });
  }
  const mod = req('nsfwjs/models/mobilenet_v2') as { MobileNetV2Model: ShippedModel };
  const json = await mod.MobileNetV2Model.modelJson();
  const bundles = await Promise.all(mod.MobileNetV2Model.weightBundles.map((b) => b()));
  const bytes = bundles.map((b) => Buffer.from(typeof b === 'string' ? b : b.default, 'base64'));
  const weightData = new Uint8Array(Buffer.concat(bytes)).buffer;
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify(json.modelTopology));
  for (const b of bytes) hash.update(b);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  return {
    artifacts: { modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs, weightData, format: 'layers-model' },
    hash: hash.digest('hex').slice(0, 32),
  };
}

/** A fixed `[1280, outputDim]` Gaussian projection, N(0, 1/outputDim), seeded (norms are kept on average). */
export function mobilenetProjection(outputDim: number, seed: number): Float32Array {
  return new Rng(`mobilenetv2-projection|${seed}`).normalArray(MOBILENET_V2.pooledDim * outputDim, 0, 1 / Math.sqrt(outputDim));
}

export async function createMobilenetV2Extractor(opts: ExtractorOptions): Promise<FeatureExtractor> {
  const outputDim = opts.outputDim ?? MOBILENET_V2.defaultOutputDim;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(outputDim) || outputDim < 1 || outputDim > MOBILENET_V2.pooledDim) {
    throw new MetaD2AException(
      validationError({
        source: 'mobilenetv2 extractor',
        field: 'outputDim',
        expected: `an integer in [1, ${MOBILENET_V2.pooledDim}] (${MOBILENET_V2.pooledDim}: the pooled features unprojected)`,
        got: String(outputDim),
      }),
    );
  }
  if (opts.inputSize !== undefined && opts.inputSize !== MOBILENET_V2.inputSize) {
    throw new MetaD2AException(
      validationError({ source: 'mobilenetv2 extractor', field: 'inputSize', expected: `${MOBILENET_V2.inputSize} (the model's fixed input)`, got: String(opts.inputSize) }),
    );
  }
  const { artifacts, hash } = await shippedArtifacts();
  const tfl = await import('@tensorflow/tfjs-layers');
  const full = await tfl.loadLayersModel({ load: async () => artifacts });
  const pooled = tfl.model({ inputs: full.inputs, outputs: full.getLayer(MOBILENET_V2.pooledLayer).output as import('@tensorflow/tfjs-layers').SymbolicTensor });
  const project = outputDim === MOBILENET_V2.pooledDim ? undefined : tf.tensor2d(mobilenetProjection(outputDim, seed), [MOBILENET_V2.pooledDim, outputDim]);
  const S = MOBILENET_V2.inputSize;
  return {
    name: 'mobilenetv2',
    id: `mobilenetv2:v1:nsfwjs@${MOBILENET_V2.version}:${hash}:${MOBILENET_V2.pooledLayer}:${project ? `proj${outputDim}:seed=${seed}` : 'pooled'}`,
    dim: outputDim,
    inputSize: S,
    normalisation: MOBILENET_V2.normalisation,
    async extract(images: Float32Array, batch: number): Promise<Float32Array> {
      const y = tf.tidy(() => {
        const f = pooled.predict(tf.tensor4d(images, [batch, S, S, 3])) as tf.Tensor2D;
        return project ? tf.matMul(f, project) : f;
      });
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose: () => {
      project?.dispose();
      full.dispose();
    },
  };
}
