/**
 * tfjs models on the local file system without `@tensorflow/tfjs-node`: a load handler for a
 * `model.json` (+ its weight files, paths relative to it) and a save handler writing that layout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, ioError, parseError, writeFileAtomicSync } from '@metad2a/core';

function readJson(file: string): tf.io.ModelJSON {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MetaD2AException(ioError({ source: file, expected: 'a readable tfjs model.json', got: (err as Error).message, cause: err }));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MetaD2AException(parseError({ source: file, field: 'JSON', expected: 'valid JSON', got: (err as Error).message, cause: err }));
  }
  const m = json as Partial<tf.io.ModelJSON>;
  if (typeof m !== 'object' || m === null || typeof m.modelTopology !== 'object' || m.modelTopology === null) {
    throw new MetaD2AException(parseError({ source: file, field: 'modelTopology', expected: 'an object (a tfjs Layers or Graph model.json)', got: typeof m?.modelTopology }));
  }
  if (!Array.isArray(m.weightsManifest))
    throw new MetaD2AException(parseError({ source: file, field: 'weightsManifest', expected: 'an array of { paths, weights }', got: JSON.stringify(m.weightsManifest) }));
  return m as tf.io.ModelJSON;
}

/** The model.json plus every weight file's bytes, concatenated in manifest order. */
export function readTfjsModelFiles(modelJsonPath: string): { json: tf.io.ModelJSON; weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer; bytes: Buffer[] } {
  const json = readJson(modelJsonPath);
  const dir = path.dirname(modelJsonPath);
  const bytes: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  json.weightsManifest.forEach((group, g) => {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new MetaD2AException(
        parseError({ source: modelJsonPath, field: `weightsManifest[${g}]`, expected: '{ paths: string[], weights: [...] }', got: JSON.stringify(group).slice(0, 80) }),
      );
    }
    for (const p of group.paths) {
      const f = path.resolve(dir, p);
      try {
        bytes.push(fs.readFileSync(f));
      } catch (err) {
        throw new MetaD2AException(
          ioError({ source: modelJsonPath, field: `weightsManifest[${g}].paths`, expected: `a readable weight file ${f}`, got: (err as Error).message, cause: err }),
        );
      }
    }
    weightSpecs.push(...group.weights);
  });
  const weightData = tf.io.concatenateArrayBuffers(bytes.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer));
  return { json, weightSpecs, weightData, bytes };
}

/** A tfjs load handler for a local `model.json` (Layers or Graph model). */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const { json, weightSpecs, weightData } = readTfjsModelFiles(modelJsonPath);
      return tf.io.getModelArtifactsForJSONSync(json, weightSpecs, weightData);
    },
  };
}

/**
 * A tfjs save handler writing `<dir>/model.json` and `<dir>/weights.bin` (atomically), the layout
 * `tensorflowjs_converter` and `model.save('file://…')` produce. Use with `model.save(fileSaveHandler(dir))`.
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts) => {
      fs.mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      writeFileAtomicSync(path.join(dir, 'weights.bin'), new Uint8Array(data));
      const a = artifacts;
      const json: Record<string, unknown> = {
        modelTopology: a.modelTopology,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      };
      for (const k of ['signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig'] as const) if (a[k] !== undefined) json[k] = a[k];
      writeFileAtomicSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}
