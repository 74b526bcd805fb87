import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  MetaD2AException,
  Rng,
  fail,
  loadCheckpointSync,
  parseError,
  saveCheckpointSync,
  searchSpaces,
  writeFileAtomicSync,
  type AccuracyNormalisation,
  namedArraysOf,
  type AnySearchSpace,
  type GraphGenerator,
  type MetaD2AError,
  type NamedArrays,
  type PerfPredictor,
} from '@metad2a/core';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import '@metad2a/search-spaces'; // registers nb201 and mbv3

/**
 * A search model directory (format `metad2a-model/1`): what `metad2a search --model <dir>` loads.
 *
 *   <dir>/model.json      { format, space, generator: {checkpoint, config}, predictor: {checkpoint, config, normalisation}, provenance }
 *   <dir>/generator.ckpt  generator parameters, official state_dict names (core checkpoint format)
 *   <dir>/predictor.ckpt  predictor parameters, official state_dict names
 */
export const MODEL_FORMAT = 'metad2a-model/1';

export interface GeneratorConfig {
  readonly hs: number;
  readonly nz: number;
  readonly inputDim: number;
  readonly heads: number;
  readonly setEncoder: string;
}

export interface PredictorConfig {
  readonly hs: number;
  readonly nz: number;
  readonly inputDim: number;
  readonly heads: number;
  readonly setEncoder: string;
}

export interface ModelManifest {
  readonly format: typeof MODEL_FORMAT;
  /** Registry name of the search space (`nb201`, `mbv3`, or a user's). */
  readonly space: string;
  readonly generator: { readonly checkpoint: string; readonly config: GeneratorConfig };
  readonly predictor: { readonly checkpoint: string; readonly config: PredictorConfig; readonly normalisation: AccuracyNormalisation };
  /** Where the weights come from (official checkpoint, meta-training run, ...): free-form JSON. */
  readonly provenance: Readonly<Record<string, unknown>>;
}

/** Generator + predictor + space, ready to search (typed on core's contracts: any implementation searches). */
export interface SearchModel {
  readonly manifest: ModelManifest;
  readonly space: AnySearchSpace;
  readonly generator: GraphGenerator;
  readonly predictor: PerfPredictor;
  /** The directory it was loaded from, if any. */
  readonly dir?: string;
  dispose(): void;
}

export const DEFAULT_GENERATOR_CONFIG: GeneratorConfig = { hs: 56, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' };
export const DEFAULT_PREDICTOR_CONFIG: PredictorConfig = { hs: 512, nz: 56, inputDim: 512, heads: 4, setEncoder: 'set-transformer' };

function positiveInt(src: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new MetaD2AException(parseError({ source: src, field, expected: 'a positive integer', got: JSON.stringify(v) }));
  return v;
}

function str(src: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new MetaD2AException(parseError({ source: src, field, expected: 'a non-empty string', got: JSON.stringify(v) }));
  return v;
}

/** Validate a parsed model.json (every field checked, errors name the field). */
export function parseModelManifest(json: unknown, source: string): E.Either<MetaD2AError, ModelManifest> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const m = json as Record<string, any>;
    if (!m || typeof m !== 'object') throw new MetaD2AException(parseError({ source, expected: 'a JSON object', got: typeof json }));
    if (m.format !== MODEL_FORMAT) throw new MetaD2AException(parseError({ source, field: 'format', expected: `'${MODEL_FORMAT}'`, got: JSON.stringify(m.format) }));
    const space = str(source, 'space', m.space);
    const cfg = (field: string, c: any): GeneratorConfig => ({
      hs: positiveInt(source, `${field}.hs`, c?.hs),
      nz: positiveInt(source, `${field}.nz`, c?.nz),
      inputDim: positiveInt(source, `${field}.inputDim`, c?.inputDim),
      heads: positiveInt(source, `${field}.heads`, c?.heads),
      setEncoder: str(source, `${field}.setEncoder`, c?.setEncoder),
    });
    const generator = { checkpoint: str(source, 'generator.checkpoint', m.generator?.checkpoint), config: cfg('generator.config', m.generator?.config) };
    const predictorCheckpoint = str(source, 'predictor.checkpoint', m.predictor?.checkpoint);
    const predictorConfig = cfg('predictor.config', m.predictor?.config);
    const norm = m.predictor?.normalisation;
    if (!norm || typeof norm.mean !== 'number' || typeof norm.std !== 'number' || !(norm.std > 0)) {
      throw new MetaD2AException(parseError({ source, field: 'predictor.normalisation', expected: '{mean: number, std: number > 0}', got: JSON.stringify(norm) }));
    }
    return E.right({
      format: MODEL_FORMAT,
      space,
      generator,
      predictor: { checkpoint: predictorCheckpoint, config: predictorConfig, normalisation: { mean: norm.mean, std: norm.std } },
      provenance: typeof m.provenance === 'object' && m.provenance !== null ? m.provenance : {},
    });
  } catch (err) {
    if (err instanceof MetaD2AException) return E.left(err.error);
    throw err;
  }
}

/** Build generator and predictor for a manifest and load their weights (official names). */
export function buildSearchModel(manifest: ModelManifest, weights: { generator: NamedArrays; predictor: NamedArrays }, dir?: string): SearchModel {
  const space = searchSpaces.get(manifest.space);
  const g = manifest.generator.config;
  const p = manifest.predictor.config;
  const generator = new GeneratorModel({ graphConfig: space.graphConfig, hs: g.hs, nz: g.nz, inputDim: g.inputDim, heads: g.heads, setEncoder: g.setEncoder, seed: 0 });
  let predictor: PredictorModel | undefined;
  try {
    generator.loadParameters(weights.generator);
    predictor = new PredictorModel({
      graphConfig: space.graphConfig,
      hs: p.hs,
      nz: p.nz,
      inputDim: p.inputDim,
      heads: p.heads,
      setEncoder: p.setEncoder,
      rng: new Rng(0),
      normalisation: manifest.predictor.normalisation,
    });
    predictor.loadParameters(weights.predictor);
  } catch (err) {
    generator.dispose();
    predictor?.dispose();
    throw err;
  }
  const pred = predictor;
  return {
    manifest,
    space,
    generator,
    predictor: pred,
    dir,
    dispose() {
      generator.dispose();
      pred.dispose();
    },
  };
}

/** Load `<dir>/model.json` and its two checkpoints. Errors name the file and field. */
export function loadSearchModel(dir: string): SearchModel {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) {
    fail('NotFound', { source: dir, field: 'model.json', expected: `a model directory (${MODEL_FORMAT}: model.json, generator.ckpt, predictor.ckpt; see 'metad2a convert-official')`, got: 'no model.json' });
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail('ParseError', { source: file, expected: 'JSON', got: (err as Error).message });
  }
  const manifest = parseModelManifest(json, file);
  if (E.isLeft(manifest)) throw new MetaD2AException(manifest.left);
  const m = manifest.right;
  const read = (rel: string): NamedArrays => {
    const ck = loadCheckpointSync(path.join(dir, rel));
    if (E.isLeft(ck)) throw new MetaD2AException(ck.left);
    return ck.right.tensors;
  };
  return buildSearchModel(m, { generator: read(m.generator.checkpoint), predictor: read(m.predictor.checkpoint) }, dir);
}

/** Write a model directory (atomically per file). */
export function saveSearchModel(
  dir: string,
  parts: { space: string; generator: GraphGenerator; generatorConfig: GeneratorConfig; predictor: PerfPredictor; predictorConfig: PredictorConfig; provenance?: Record<string, unknown> },
): ModelManifest {
  fs.mkdirSync(dir, { recursive: true });
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    space: parts.space,
    generator: { checkpoint: 'generator.ckpt', config: parts.generatorConfig },
    predictor: { checkpoint: 'predictor.ckpt', config: parts.predictorConfig, normalisation: parts.predictor.normalisation },
    provenance: parts.provenance ?? {},
  };
  saveCheckpointSync(path.join(dir, 'generator.ckpt'), { meta: { role: 'generator', config: parts.generatorConfig }, tensors: namedArraysOf(parts.generator) });
  saveCheckpointSync(path.join(dir, 'predictor.ckpt'), { meta: { role: 'predictor', config: parts.predictorConfig }, tensors: namedArraysOf(parts.predictor) });
  writeFileAtomicSync(path.join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
