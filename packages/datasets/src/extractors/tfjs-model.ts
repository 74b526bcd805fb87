/**
 * `tfjs-model`: a user's tfjs model from a local `model.json` (Layers model, e.g. saved from
 * Keras / tfjs, or Graph model, e.g. a ResNet-18 converted with `tensorflowjs_converter`), with
 * the feature taken from a named layer / node (`outputLayer`) or the model's output. The model
 * must take NHWC float32 images `[B, H, H, 3]`; outputs are flattened to `[B, dim]`.
 * `@tensorflow/tfjs-layers` / `-converter` are loaded only when this extractor is created.
 */
import * as crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, fail, validationError } from '@metad2a/core';
import type { ExtractorOptions, FeatureExtractor } from '../extractor';
import { fileLoadHandler, readTfjsModelFiles } from '../tfjs-files';

type Runner = { run: (x: tf.Tensor4D) => tf.Tensor; dispose: () => void; inputShape?: readonly (number | null)[] };

/** Which kind of model.json this is: `layers-model` / `graph-model` (from `format`, else the topology's shape). */
export function tfjsModelKind(json: { format?: string; modelTopology?: unknown }): 'layers' | 'graph' {
  if (json.format === 'layers-model') return 'layers';
  if (json.format === 'graph-model') return 'graph';
  const t = json.modelTopology as Record<string, unknown>;
  return t && Array.isArray(t.node) ? 'graph' : 'layers';
}

async function layersRunner(file: string, outputLayer?: string): Promise<Runner> {
  const tfl = await import('@tensorflow/tfjs-layers');
  const model = await tfl.loadLayersModel(fileLoadHandler(file));
  let m: import('@tensorflow/tfjs-layers').LayersModel = model;
  if (outputLayer !== undefined) {
    let layer: import('@tensorflow/tfjs-layers').layers.Layer;
    try {
      layer = model.getLayer(outputLayer);
    } catch {
      model.dispose();
      return fail('NotFound', {
        source: file,
        field: 'outputLayer',
        expected: `one of the layers: ${model.layers.map((l) => l.name).join(', ')}`,
        got: JSON.stringify(outputLayer),
      });
    }
    m = tfl.model({ inputs: model.inputs, outputs: layer.output as import('@tensorflow/tfjs-layers').SymbolicTensor });
  }
  return { run: (x) => m.predict(x) as tf.Tensor, dispose: () => model.dispose(), inputShape: model.inputs[0]?.shape };
}

async function graphRunner(file: string, outputLayer?: string): Promise<Runner> {
  const tfc = await import('@tensorflow/tfjs-converter');
  const model = await tfc.loadGraphModel(fileLoadHandler(file));
  const input = model.inputs[0];
  return {
    run: (x) => {
      try {
        return (outputLayer !== undefined ? model.execute(x, outputLayer) : model.predict(x)) as tf.Tensor;
      } catch (err) {
        return fail('ValidationError', {
          source: file,
          field: outputLayer !== undefined ? 'outputLayer' : 'output',
          expected: outputLayer !== undefined ? 'a node name of the graph' : 'a model with one output',
          got: String((err as Error).message).split('\n')[0],
          cause: err,
        });
      }
    },
    dispose: () => model.dispose(),
    inputShape: input?.shape,
  };
}

export async function createTfjsModelExtractor(opts: ExtractorOptions): Promise<FeatureExtractor> {
  const file = opts.modelPath;
  if (file === undefined)
    throw new MetaD2AException(validationError({ source: 'tfjs-model extractor', field: 'modelPath', expected: 'the path of a model.json', got: 'undefined' }));
  const files = readTfjsModelFiles(file);
  const kind = tfjsModelKind(files.json);
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify(files.json));
  for (const b of files.bytes) hash.update(b);
  const runner = kind === 'layers' ? await layersRunner(file, opts.outputLayer) : await graphRunner(file, opts.outputLayer);
  const shape = runner.inputShape;
  const h = shape && shape.length === 4 && typeof shape[1] === 'number' && shape[1] > 0 ? shape[1] : undefined;
  const inputSize = opts.inputSize ?? h ?? 32;
  if (
    shape &&
    shape.length === 4 &&
    ((typeof shape[1] === 'number' && shape[1] > 0 && shape[1] !== inputSize) ||
      (typeof shape[2] === 'number' && shape[2] > 0 && shape[2] !== inputSize) ||
      (typeof shape[3] === 'number' && shape[3] > 0 && shape[3] !== 3))
  ) {
    runner.dispose();
    return fail('ShapeMismatch', {
      source: file,
      field: 'input shape',
      expected: `[batch, ${inputSize}, ${inputSize}, 3] (NHWC images)`,
      got: `[${shape.map((d) => d ?? 'null').join(', ')}]`,
    });
  }
  const forward = (x: Float32Array, batch: number): tf.Tensor2D =>
    tf.tidy(() => {
      const y = runner.run(tf.tensor4d(x, [batch, inputSize, inputSize, 3]));
      return tf.reshape(y, [batch, -1]) as tf.Tensor2D;
    });
  const probe = forward(new Float32Array(inputSize * inputSize * 3), 1);
  const dim = probe.shape[1];
  probe.dispose();
  return {
    name: 'tfjs-model',
    id: `tfjs-model:v1:${kind}:${hash.digest('hex').slice(0, 32)}:output=${opts.outputLayer ?? '(model output)'}:in=${inputSize}`,
    dim,
    inputSize,
    async extract(images: Float32Array, batch: number): Promise<Float32Array> {
      const y = forward(images, batch);
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose: () => runner.dispose(),
  };
}
