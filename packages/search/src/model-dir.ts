import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  MetaD2AException,
  Rng,
  fail,
  eitherOf,
  loadCheckpoint,
  parseError,
  unwrap,
  saveCheckpointSync,
  searchSpaces,
  writeFileAtomicSync,
  type AccuracyNormalisation,
  type PriorAnchor,
  type ScoreCalibration,
  modelSpecs,
  namedArraysOf,
  type AnySearchSpace,
  type GeneratorSpec,
  type PredictorSpec,
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
 *   <dir>/model.json      { format, space, generator: {checkpoint, config}, predictor: {checkpoint, config, normalisation, predicts?, anchor?, calibration?}, extractor?, search?: {topDistance}, provenance }
 *   <dir>/generator.safetensors  generator parameters, official state_dict names (safetensors, the @metad2a/core checkpoint format)
 *   <dir>/predictor.safetensors  predictor parameters, official state_dict names
 */
export const MODEL_FORMAT = 'metad2a-model/1';

export type GeneratorConfig = GeneratorSpec;
export type PredictorConfig = PredictorSpec;

/**
 * The feature extractor whose class features a model was meta-trained on: `name` as
 * `createExtractor` of `@metad2a/datasets` takes it, the `id` that extractor had (everything that
 * determines its features), and how many images per class the meta-database's features used.
 */
export interface ModelExtractor {
  readonly name: string;
  readonly id: string;
  readonly perClass: number;
}

export interface ModelManifest {
  readonly format: typeof MODEL_FORMAT;
  /** Registry name of the search space (`nb201`, `mbv3`, or a user's). */
  readonly space: string;
  readonly generator: { readonly checkpoint: string; readonly config: GeneratorConfig };
  readonly predictor: {
    readonly checkpoint: string;
    readonly config: PredictorConfig;
    readonly normalisation: AccuracyNormalisation;
    /** What its accuracies are: the metric and training recipe of the records it was meta-trained on (absent in older manifests). */
    readonly predicts?: string;
    /** Anchored on the space's prior score (core `PriorAnchor`); absent: the network's score alone. */
    readonly anchor?: PriorAnchor;
    /** Its scores' accuracy calibration (core `ScoreCalibration`); absent: the linear denormalisation. */
    readonly calibration?: ScoreCalibration;
  };
  /** The extractor of the features it was meta-trained on; absent in older manifests, which mean `random-conv` (see `modelExtractorName`). */
  readonly extractor?: ModelExtractor;
  /**
   * Search settings the model was evaluated with, which a search uses unless told otherwise:
   * `topDistance` (see `SearchOptions.topDistance`). Absent: the official search (the ranking's first k).
   */
  readonly search?: { readonly topDistance: number };
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

/** What a model's predicted accuracy is, for a report: its manifest's `predicts` (and its calibration), else a plain warning. */
export function predictionTarget(manifest: ModelManifest): string {
  const target = manifest.predictor.predicts ?? 'an accuracy on an unknown scale (the model does not say which metric and training recipe its records had)';
  const c = manifest.predictor.calibration;
  return c ? `${target}, calibrated on ${c.fittedOn} (mean absolute error there ${c.mae.calibrated.toFixed(1)} points; uncalibrated ${c.mae.linear.toFixed(1)})` : target;
}

/** A manifest's `predictor.calibration`: absent, or a logistic map with a positive slope (so it keeps the ranking). */
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON; every field is checked
function parseCalibration(source: string, c: any): ScoreCalibration | undefined {
  if (c === undefined) return undefined;
  const finite = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= max;
  const ok =
    c !== null &&
    typeof c === 'object' &&
    c.kind === 'logistic' &&
    finite(c.intercept, 1e3) &&
    finite(c.slope, 1e3) &&
    c.slope > 0 &&
    typeof c.fittedOn === 'string' &&
    c.fittedOn.trim() !== '' &&
    finite(c.mae?.calibrated, 100) &&
    finite(c.mae?.linear, 1e6);
  if (!ok)
    throw new MetaD2AException(
      parseError({
        source,
        field: 'predictor.calibration',
        expected:
          "{kind: 'logistic', intercept: a finite number, slope: a number > 0 (|both| ≤ 1000), fittedOn: a non-empty string, mae: {calibrated, linear}: finite numbers} or no field",
        got: JSON.stringify(c),
      }),
    );
  return { kind: 'logistic', intercept: c.intercept, slope: c.slope, fittedOn: c.fittedOn, mae: { calibrated: c.mae.calibrated, linear: c.mae.linear } };
}

/**
 * The manifest of a model directory for a registered model setting (`modelSpecs`, e.g.
 * `nb201-official`): its space and sizes, the predictor's hidden size and normalisation where the
 * caller gives them (the setting's normalisation otherwise; a setting without one needs it given).
 */
export function manifestFromSpec(
  specName: string,
  opts: { predictorHs?: number; normalisation?: AccuracyNormalisation; provenance?: Record<string, unknown>; checkpoints?: { generator: string; predictor: string } } = {},
): ModelManifest {
  const spec = modelSpecs.get(specName);
  const normalisation = opts.normalisation ?? spec.normalisation;
  if (!normalisation)
    fail('ValidationError', {
      source: `model spec ${specName}`,
      field: 'normalisation',
      expected: "the predictor's accuracy normalisation (this setting fixes none)",
      got: 'none given',
    });
  return {
    format: MODEL_FORMAT,
    space: spec.space,
    generator: { checkpoint: opts.checkpoints?.generator ?? 'generator.safetensors', config: spec.generator },
    predictor: { checkpoint: opts.checkpoints?.predictor ?? 'predictor.safetensors', config: { ...spec.predictor, hs: opts.predictorHs ?? spec.predictor.hs }, normalisation },
    provenance: { spec: specName, ...opts.provenance },
  };
}

/** Bounds of the size fields: beyond them a model cannot be built (typed arrays, memory), so they are refused by name. */
const MAX_WIDTH = 65536;
const MAX_HEADS = 64;

function intIn(src: string, field: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
    throw new MetaD2AException(parseError({ source: src, field, expected: `an integer in [1, ${max}]`, got: JSON.stringify(v) }));
  return v;
}

function str(src: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new MetaD2AException(parseError({ source: src, field, expected: 'a non-empty string', got: JSON.stringify(v) }));
  return v;
}

/** A checkpoint named in model.json: a plain file name inside the model directory. */
function fileName(src: string, field: string, v: unknown): string {
  const s = str(src, field, v);
  if (s.includes('/') || s.includes('\\') || s === '.' || s === '..')
    throw new MetaD2AException(parseError({ source: src, field, expected: 'a file name inside the model directory', got: JSON.stringify(s) }));
  return s;
}

/** Validate a parsed model.json (every field checked, errors name the field). */
export function parseModelManifest(json: unknown, source: string): E.Either<MetaD2AError, ModelManifest> {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON; every field is checked below
    const m = json as Record<string, any>;
    if (!m || typeof m !== 'object') throw new MetaD2AException(parseError({ source, expected: 'a JSON object', got: typeof json }));
    if (m.format !== MODEL_FORMAT) throw new MetaD2AException(parseError({ source, field: 'format', expected: `'${MODEL_FORMAT}'`, got: JSON.stringify(m.format) }));
    const space = str(source, 'space', m.space);
    if (!searchSpaces.has(space))
      throw new MetaD2AException(parseError({ source, field: 'space', expected: `a registered search space (${searchSpaces.names().join(', ')})`, got: JSON.stringify(space) }));
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON; every field is checked
    const cfg = (field: string, c: any): GeneratorConfig => ({
      hs: intIn(source, `${field}.hs`, c?.hs, MAX_WIDTH),
      nz: intIn(source, `${field}.nz`, c?.nz, MAX_WIDTH),
      inputDim: intIn(source, `${field}.inputDim`, c?.inputDim, MAX_WIDTH),
      heads: intIn(source, `${field}.heads`, c?.heads, MAX_HEADS),
      setEncoder: str(source, `${field}.setEncoder`, c?.setEncoder),
    });
    const generator = { checkpoint: fileName(source, 'generator.checkpoint', m.generator?.checkpoint), config: cfg('generator.config', m.generator?.config) };
    const predictorCheckpoint = fileName(source, 'predictor.checkpoint', m.predictor?.checkpoint);
    const predictorConfig = cfg('predictor.config', m.predictor?.config);
    const norm = m.predictor?.normalisation;
    if (!norm || !Number.isFinite(norm.mean) || !Number.isFinite(norm.std) || !(norm.std > 0) || Math.abs(norm.mean) > 1e6 || norm.std > 1e6) {
      throw new MetaD2AException(
        parseError({ source, field: 'predictor.normalisation', expected: '{mean: a finite number, std: a finite number > 0} (|mean|, std ≤ 10⁶)', got: JSON.stringify(norm) }),
      );
    }
    const predicts = m.predictor?.predicts;
    if (predicts !== undefined && (typeof predicts !== 'string' || predicts.trim() === '')) {
      throw new MetaD2AException(
        parseError({ source, field: 'predictor.predicts', expected: 'a non-empty string (the metric and recipe its accuracies are) or no field', got: JSON.stringify(predicts) }),
      );
    }
    const an = m.predictor?.anchor;
    let anchor: PriorAnchor | undefined;
    if (an !== undefined) {
      const prior = searchSpaces.get(space).prior;
      if (an === null || typeof an !== 'object' || an.prior !== prior?.id || typeof an.weight !== 'number' || !Number.isFinite(an.weight) || Math.abs(an.weight) > 1e3)
        throw new MetaD2AException(
          parseError({
            source,
            field: 'predictor.anchor',
            expected: prior
              ? `{prior: '${prior.id}' (space ${space}'s prior score), weight: a finite number, |weight| ≤ 1000} or no field`
              : `no field (space ${space} has no prior score)`,
            got: JSON.stringify(an),
          }),
        );
      const ch = (an as { choices?: unknown }).choices;
      if (ch !== undefined) {
        const enc = searchSpaces.get(space).choices;
        const c = ch as { id?: unknown; weights?: unknown };
        const weights = c !== null && typeof c === 'object' && Array.isArray(c.weights) ? (c.weights as unknown[]) : undefined;
        if (
          !enc ||
          c === null ||
          typeof c !== 'object' ||
          c.id !== enc.id ||
          weights === undefined ||
          weights.length !== enc.names.length ||
          !weights.every((w) => typeof w === 'number' && Number.isFinite(w) && Math.abs(w) <= 1e3)
        )
          throw new MetaD2AException(
            parseError({
              source,
              field: 'predictor.anchor.choices',
              expected: enc
                ? `{id: '${enc.id}' (space ${space}'s choice encoding), weights: ${enc.names.length} finite numbers, each |w| ≤ 1000} or no field`
                : `no field (space ${space} has no choice encoding)`,
              got: JSON.stringify(ch).slice(0, 200),
            }),
          );
        anchor = { prior: an.prior, weight: an.weight, choices: { id: enc.id, weights: weights as number[] } };
      } else anchor = { prior: an.prior, weight: an.weight };
    }
    const calibration = parseCalibration(source, m.predictor?.calibration);
    const ex = m.extractor;
    if (ex !== undefined && (ex === null || typeof ex !== 'object' || Array.isArray(ex)))
      throw new MetaD2AException(
        parseError({ source, field: 'extractor', expected: '{name, id, perClass} (the extractor of the meta-training features) or no field', got: JSON.stringify(ex) }),
      );
    const extractor: ModelExtractor | undefined =
      ex === undefined
        ? undefined
        : { name: str(source, 'extractor.name', ex.name), id: str(source, 'extractor.id', ex.id), perClass: intIn(source, 'extractor.perClass', ex.perClass, 1_000_000) };
    const se = m.search;
    if (se !== undefined && (se === null || typeof se !== 'object' || Array.isArray(se) || Object.keys(se).some((k) => k !== 'topDistance')))
      throw new MetaD2AException(parseError({ source, field: 'search', expected: '{topDistance: an integer ≥ 1} or no field', got: JSON.stringify(se) }));
    const search = se === undefined ? undefined : { topDistance: intIn(source, 'search.topDistance', se.topDistance, 1000) };
    if (search && !searchSpaces.get(space).distance)
      throw new MetaD2AException(
        parseError({ source, field: 'search.topDistance', expected: `no field (space ${space} has no architecture distance)`, got: String(search.topDistance) }),
      );
    return E.right({
      format: MODEL_FORMAT,
      space,
      generator,
      predictor: {
        checkpoint: predictorCheckpoint,
        config: predictorConfig,
        normalisation: { mean: norm.mean, std: norm.std },
        ...(predicts !== undefined ? { predicts } : {}),
        ...(anchor !== undefined ? { anchor } : {}),
        ...(calibration !== undefined ? { calibration } : {}),
      },
      ...(extractor !== undefined ? { extractor } : {}),
      ...(search !== undefined ? { search } : {}),
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
      ...(manifest.predictor.anchor ? { anchor: manifest.predictor.anchor } : {}),
      ...(manifest.predictor.calibration ? { calibration: manifest.predictor.calibration } : {}),
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

/**
 * Load `<dir>/model.json` and its two checkpoints (read without blocking the event loop). Rejects
 * with a MetaD2AException whose message names the file and field.
 */
export async function loadSearchModel(dir: string): Promise<SearchModel> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fail('IoError', { source: file, expected: 'a readable model.json', got: (err as Error).message, cause: err });
    fail('NotFound', {
      source: dir,
      field: 'model.json',
      expected: `a model directory (${MODEL_FORMAT}: model.json, generator.safetensors, predictor.safetensors; see 'metad2a convert-official')`,
      got: 'no model.json',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail('ParseError', { source: file, expected: 'JSON', got: (err as Error).message });
  }
  const m = unwrap(parseModelManifest(json, file));
  const read = async (rel: string): Promise<NamedArrays> => unwrap(await loadCheckpoint(path.join(dir, rel))()).tensors;
  const [generator, predictor] = await Promise.all([read(m.generator.checkpoint), read(m.predictor.checkpoint)]);
  return buildSearchModel(m, { generator, predictor }, dir);
}

/** {@link loadSearchModel} with its expected failures as a Left. */
export function loadSearchModelEither(dir: string): Promise<E.Either<MetaD2AError, SearchModel>> {
  return eitherOf(loadSearchModel(dir));
}

/** Write a model directory (atomically per file). */
export function saveSearchModel(
  dir: string,
  parts: {
    space: string;
    generator: GraphGenerator;
    generatorConfig: GeneratorConfig;
    predictor: PerfPredictor;
    predictorConfig: PredictorConfig;
    provenance?: Record<string, unknown>;
    predicts?: string;
    /** The extractor of the meta-training features (`metaTrainSearchModel` of @metad2a/meta-trainer records the database's). */
    extractor?: ModelExtractor;
  },
): ModelManifest {
  fs.mkdirSync(dir, { recursive: true });
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    space: parts.space,
    generator: { checkpoint: 'generator.safetensors', config: parts.generatorConfig },
    predictor: {
      checkpoint: 'predictor.safetensors',
      config: parts.predictorConfig,
      normalisation: parts.predictor.normalisation,
      ...(parts.predicts !== undefined ? { predicts: parts.predicts } : {}),
      ...(parts.predictor.anchor !== undefined ? { anchor: parts.predictor.anchor } : {}),
      ...(parts.predictor.calibration !== undefined ? { calibration: parts.predictor.calibration } : {}),
    },
    ...(parts.extractor !== undefined ? { extractor: { name: parts.extractor.name, id: parts.extractor.id, perClass: parts.extractor.perClass } } : {}),
    provenance: parts.provenance ?? {},
  };
  saveCheckpointSync(path.join(dir, 'generator.safetensors'), { meta: { role: 'generator', config: parts.generatorConfig }, tensors: namedArraysOf(parts.generator) });
  saveCheckpointSync(path.join(dir, 'predictor.safetensors'), { meta: { role: 'predictor', config: parts.predictorConfig }, tensors: namedArraysOf(parts.predictor) });
  writeFileAtomicSync(path.join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
