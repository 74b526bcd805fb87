import * as tf from '@tensorflow/tfjs-core';
import {
  modelSpecs,
  OFFICIAL_MODEL_SPEC,
  Rng,
  MetaD2AException,
  graphConfig as makeGraphConfig,
  loadCheckpointSync,
  saveCheckpointSync,
  unwrap,
  validationError,
  type AccuracyNormalisation,
  type PriorAnchor,
  type ScoreCalibration,
  type ArchGraph,
  type GraphConfig,
  type NamedArrays,
  type PerfPredictor,
  type SetEncoder,
  type SetLayout,
} from '@metad2a/core';
import { Linear, ParameterStore } from '@metad2a/layers';
import { createSetEncoder } from '@metad2a/set-encoder';
import { BidirectionalGraphEncoder, type GraphEncoding } from './graph-encoder';
import { denormaliseScore, normaliseAccuracy } from './normalisation';

/** Parameters of the official PredictorModel that no forward pass uses (spec §2.6). */
export const PREDICTOR_DEAD_PARAMS = ['fc2.weight', 'fc2.bias', 'hv_unify.0.weight', 'hv_unify.0.bias', 'set_fc.0.weight', 'set_fc.0.bias'] as const;

export interface PredictorOptions {
  readonly graphConfig: GraphConfig;
  /** GRU hidden size of the graph encoder and hidden width of the head. Every size left out is the official setting's (core's `OFFICIAL_MODEL_SPEC`). */
  readonly hs?: number;
  /** Width of the dataset and graph embeddings. */
  readonly nz?: number;
  /** Feature width of the dataset rows (ResNet-18 features in the official setting). */
  readonly inputDim?: number;
  readonly heads?: number;
  /** Set encoder by registry name (default: the official setting's, MetaD2A's Set Transformer). */
  readonly setEncoder?: string;
  readonly rng: Rng;
  /** Target normalisation of the training split (e.g. `modelSpecs.get('nb201-official').normalisation`, or `normalisationFrom` of a database's split). */
  readonly normalisation: AccuracyNormalisation;
  /** Anchored on the space's prior score (the network then predicts the rest). */
  readonly anchor?: PriorAnchor;
  /** The accuracy calibration of its scores (a model's manifest, or fitted by meta-training). */
  readonly calibration?: ScoreCalibration;
  /** Also create the dead parameters (fc2, hv_unify, set_fc), so that exported state dicts are complete. */
  readonly includeDeadParameters?: boolean;
}

/** Σ (prediction − target)², the official `MSELoss(reduction='sum')` (spec §2.5). */
function summedSquaredError(pred: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(tf.sub(pred, targets))) as tf.Scalar);
}

/** Datasets of one class count, `[B, C·n, d]` with their layout (see {@link PredictorModel.predictGroups}). */
export interface DatasetGroup {
  readonly x: tf.Tensor3D;
  readonly layout: SetLayout;
}

/** What {@link PredictorModel.saveCheckpoint} records besides the tensors (enough to rebuild the model). */
export interface PredictorConfig {
  readonly nvt: number;
  readonly maxN: number;
  readonly hs: number;
  readonly nz: number;
  readonly inputDim: number;
  readonly heads: number;
  readonly setEncoder: string;
}

/**
 * MetaD2A's meta-performance predictor (spec §2.5): a set encoder for the dataset (`D`, nz), a
 * bidirectional D-VAE graph encoder (`G = fc1(hg)`, nz), and the head
 * `pred_fc = Linear(2nz → hs) → tanh → Linear(hs → 1)` on `[D; G]` (dataset first). Parameters
 * under the official state_dict names in {@link store}.
 */
export class PredictorModel implements PerfPredictor {
  readonly store = new ParameterStore();
  readonly graphConfig: GraphConfig;
  readonly hs: number;
  readonly nz: number;
  readonly inputDim: number;
  normalisation: AccuracyNormalisation;
  /** Set by meta-training with an anchor (`metaTrainPredictor`'s `anchor`), or from a model's manifest. */
  anchor?: PriorAnchor;
  /** Set by meta-training after the predictor phase (`fitSplitCalibration`), or from a model's manifest. */
  calibration?: ScoreCalibration;
  readonly setEncoder: SetEncoder;
  readonly graphEncoder: BidirectionalGraphEncoder;
  readonly fc1: Linear;
  readonly predFc0: Linear;
  readonly predFc2: Linear;
  readonly heads: number;
  readonly setEncoderName: string;
  /** Parameters of the dataset side (the set encoder); every other live parameter belongs to the graph side and the head. */
  readonly datasetParameterNames: readonly string[];

  constructor(opts: PredictorOptions) {
    this.graphConfig = opts.graphConfig;
    const official = modelSpecs.get(OFFICIAL_MODEL_SPEC).predictor;
    this.hs = opts.hs ?? official.hs;
    this.nz = opts.nz ?? official.nz;
    this.inputDim = opts.inputDim ?? official.inputDim;
    this.normalisation = opts.normalisation;
    if (opts.anchor) this.anchor = opts.anchor;
    if (opts.calibration) this.calibration = opts.calibration;
    const rng = opts.rng;
    this.heads = opts.heads ?? official.heads;
    this.setEncoderName = opts.setEncoder ?? official.setEncoder;
    this.setEncoder = createSetEncoder(this.setEncoderName, { inputDim: this.inputDim, hiddenDim: this.nz, outputDim: this.nz, heads: this.heads, rng, store: this.store });
    this.datasetParameterNames = this.store.names();
    this.graphEncoder = new BidirectionalGraphEncoder(this.store, this.graphConfig, this.hs, rng);
    this.fc1 = new Linear(this.store, 'fc1', this.hs, this.nz, rng);
    this.predFc0 = new Linear(this.store, 'pred_fc.0', 2 * this.nz, this.hs, rng);
    this.predFc2 = new Linear(this.store, 'pred_fc.2', this.hs, 1, rng);
    if (opts.includeDeadParameters) {
      new Linear(this.store, 'fc2', this.hs, this.nz, rng);
      new Linear(this.store, 'hv_unify.0', 2 * this.hs, this.hs, rng);
      new Linear(this.store, 'set_fc.0', this.inputDim, this.nz, rng);
    }
  }

  /** `[B, C·n, d]` → D `[B, nz]`. */
  encodeDataset(x: tf.Tensor3D, layout: SetLayout): tf.Tensor2D {
    return this.setEncoder.encode(x, layout);
  }

  /** D is the set encoder's output itself (the contract's seam for cached row projections). */
  fromSetEncoding(setEncoding: tf.Tensor2D): tf.Tensor2D {
    return setEncoding;
  }

  /** Graphs → G `[N, nz]`, all graphs in one batched pass. */
  encodeGraphs(graphs: readonly ArchGraph[]): tf.Tensor2D {
    return tf.tidy(() => this.graphHead(this.graphEncoder.encode(graphs).hg));
  }

  /** G, hg and the per-vertex states `[N, maxN, hs]` (for inspection and golden tests). */
  encodeGraphsDetailed(graphs: readonly ArchGraph[]): GraphEncoding & { G: tf.Tensor2D } {
    return tf.tidy(() => {
      const e = this.graphEncoder.encode(graphs, { states: true });
      return { ...e, G: this.graphHead(e.hg) };
    });
  }

  private graphHead(hg: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(hg, tf.transpose(this.fc1.weight) as tf.Tensor2D), this.fc1.bias!) as tf.Tensor2D);
  }

  /**
   * Multiply every score of the network by `factor` (the last layer's weight and bias; the anchor's
   * term is outside the network and unchanged). Meta-training on targets scaled by s
   * (`PredictorTrainOptions.targetScale`) ends with `scaleScores(1 / s)`: the official scale again.
   */
  scaleScores(factor: number): void {
    if (!(Number.isFinite(factor) && factor > 0))
      throw new MetaD2AException(validationError({ source: 'PredictorModel.scaleScores', field: 'factor', expected: 'a finite number > 0', got: String(factor) }));
    tf.tidy(() => {
      this.predFc2.weight.assign(tf.mul(this.predFc2.weight, factor));
      this.predFc2.bias!.assign(tf.mul(this.predFc2.bias!, factor));
    });
  }

  /** `pred_fc([D; G])`: D `[B, nz]`, G `[B, nz]` → `[B, 1]`. */
  head(datasetEmbedding: tf.Tensor2D, graphEmbedding: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const x = tf.concat([datasetEmbedding, graphEmbedding], 1) as tf.Tensor2D;
      const h = tf.tanh(tf.add(tf.matMul(x, tf.transpose(this.predFc0.weight) as tf.Tensor2D), this.predFc0.bias!)) as tf.Tensor2D;
      return tf.add(tf.matMul(h, tf.transpose(this.predFc2.weight) as tf.Tensor2D), this.predFc2.bias!) as tf.Tensor2D;
    });
  }

  /**
   * Scores of every (dataset, graph) pair: D `[K, nz]`, G `[N, nz]` → `[K, N]`. The first head
   * layer is split into its dataset and graph halves; the dataset half (with the bias) becomes a
   * constant column block per resample, so one matMul `[G | 1] · [[W_g, …, W_g]; [a_1, …, a_K]]`
   * gives every pre-activation without broadcasting ops.
   */
  scorePairs(datasetEmbeddings: tf.Tensor2D, graphEmbeddings: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [K] = datasetEmbeddings.shape;
      const [N] = graphEmbeddings.shape;
      const hs = this.hs;
      const w0 = this.predFc0.weight;
      const a = tf.add(tf.matMul(datasetEmbeddings, tf.transpose(tf.slice(w0, [0, 0], [hs, this.nz])) as tf.Tensor2D), this.predFc0.bias!); // [K, hs]
      const wgT = tf.transpose(tf.slice(w0, [0, this.nz], [hs, this.nz])) as tf.Tensor2D; // [nz, hs]
      const wAug = tf.concat([K === 1 ? wgT : tf.tile(wgT, [1, K]), tf.reshape(a, [1, K * hs])], 0) as tf.Tensor2D; // [nz+1, K·hs]
      const gAug = tf.concat([graphEmbeddings, tf.ones([N, 1])], 1) as tf.Tensor2D; // [N, nz+1]
      const h = tf.tanh(tf.matMul(gAug, wAug)); // [N, K·hs]: block k = resample k
      const y = tf.matMul(tf.reshape(h, [N * K, hs]) as tf.Tensor2D, tf.transpose(this.predFc2.weight) as tf.Tensor2D); // [N·K, 1]
      return tf.transpose(tf.add(tf.reshape(y, [N, K]), tf.reshape(this.predFc2.bias!, [1, 1]))) as tf.Tensor2D;
    });
  }

  /** `head(encodeDataset(x), encodeGraphs(graphs))`, one graph per dataset row → `[B, 1]`. */
  predict(x: tf.Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[]): tf.Tensor2D {
    return this.predictGroups([{ x, layout }], graphs);
  }

  /**
   * {@link predict} for items whose datasets differ in class count (MBv3 episodes): each group's
   * dataset embeddings, then the graphs of all groups (in group order, one per dataset row) in
   * ONE batched graph-encoder pass → `[ΣB, 1]`. Encoding the graphs group by group instead
   * would run the 2·maxN-step recurrence (and, under a tape, its weight-gradient outer
   * products) once per group; the values are the same up to float32 rounding.
   */
  predictGroups(groups: readonly DatasetGroup[], graphs: readonly ArchGraph[]): tf.Tensor2D {
    const rows = groups.reduce((n, g) => n + g.x.shape[0], 0);
    if (graphs.length !== rows) {
      throw new MetaD2AException(
        validationError({ source: 'PredictorModel.predict', field: 'graphs', expected: `one graph per dataset row (${rows})`, got: String(graphs.length) }),
      );
    }
    return tf.tidy(() => {
      const parts = groups.map((g) => this.encodeDataset(g.x, g.layout));
      const d = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor2D);
      return this.head(d, this.encodeGraphs(graphs));
    });
  }

  /** Summed squared error against normalised targets `[B, 1]` (spec §2.5: `MSELoss(reduction='sum')`). */
  loss(x: tf.Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[], targets: tf.Tensor2D): tf.Scalar {
    return summedSquaredError(this.predict(x, layout, graphs), targets);
  }

  /** {@link loss} of {@link predictGroups} (targets `[ΣB, 1]` in group order): the summed squared error of a whole MBv3 batch. */
  lossOfGroups(groups: readonly DatasetGroup[], graphs: readonly ArchGraph[], targets: tf.Tensor2D): tf.Scalar {
    return summedSquaredError(this.predictGroups(groups, graphs), targets);
  }

  /**
   * `store.valueAndGrads(() => lossOfGroups(groups, graphs, targets), names)` with the same
   * values up to float32 rounding, in far less memory: a tape over the whole batch keeps every
   * group's set-encoder activations until the backward pass (an MBv3 batch of 32 episodes of
   * ~500 classes: gigabytes, and per record 1.8× the time of one tape each, measured on native).
   * Here the graphs are encoded once without a tape; each group then runs its own tape (set
   * encoder and head, its rows of G as an input) and the parameter gradients are summed group by
   * group; last, one tape over the graph encoder propagates the collected ∂loss/∂G (as the
   * gradient of Σ G ⊙ ∂loss/∂G). Call it outside any gradient tape.
   */
  valueAndGradsOfGroups(
    groups: readonly DatasetGroup[],
    graphs: readonly ArchGraph[],
    targets: tf.Tensor2D,
    names: readonly string[] = this.store.names(),
  ): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const rows = groups.reduce((n, g) => n + g.x.shape[0], 0);
    if (groups.length === 0 || graphs.length !== rows || targets.shape[0] !== rows) {
      throw new MetaD2AException(
        validationError({
          source: 'PredictorModel.valueAndGradsOfGroups',
          field: 'graphs, targets',
          expected: `at least one group, and one graph and one target per dataset row (${rows})`,
          got: `${graphs.length} graphs, ${targets.shape[0]} targets`,
        }),
      );
    }
    const wanted = new Set(names);
    const graphSide = new Set(this.graphSideParameterNames().filter((n) => !n.startsWith('pred_fc.')));
    const byTfName = new Map<string, string>();
    const vars = (pick: (n: string) => boolean): tf.Variable[] =>
      this.store
        .names()
        .filter((n) => wanted.has(n) && pick(n))
        .map((n) => {
          const v = this.store.get(n);
          byTfName.set(v.name, n);
          return v;
        });
    const perGroupVars = vars((n) => !graphSide.has(n)); // set encoder and head
    const graphVars = vars((n) => graphSide.has(n)); // graph encoder and fc1
    const grads = new Map<string, tf.Tensor>();
    const accumulate = (named: tf.NamedTensorMap): void => {
      for (const [tfName, g] of Object.entries(named)) {
        const name = byTfName.get(tfName);
        if (name === undefined) continue; // the G input of a group's tape
        const prev = grads.get(name);
        if (!prev) grads.set(name, g);
        else {
          grads.set(name, tf.add(prev, g));
          tf.dispose([prev, g]);
        }
      }
    };
    const g0 = tf.tidy(() => this.encodeGraphs(graphs));
    let value: tf.Scalar | undefined;
    const dG: tf.Tensor[] = [];
    try {
      let row = 0;
      for (const group of groups) {
        const b = group.x.shape[0];
        const gIn = tf.tidy(() => tf.variable(tf.slice(g0, [row, 0], [b, this.nz]), true)); // tidy keeps the variable, frees the slice
        const y = tf.slice(targets, [row, 0], [b, 1]);
        try {
          const r = tf.variableGrads(() => summedSquaredError(this.head(this.encodeDataset(group.x, group.layout), gIn), y), [...perGroupVars, gIn]);
          dG.push(r.grads[gIn.name]!);
          delete r.grads[gIn.name];
          accumulate(r.grads);
          if (!value) value = r.value;
          else {
            const sum = tf.add(value, r.value) as tf.Scalar;
            tf.dispose([value, r.value]);
            value = sum;
          }
        } finally {
          tf.dispose([gIn, y]);
        }
        row += b;
      }
      if (graphVars.length > 0) {
        const upstream = dG.length === 1 ? dG[0]! : tf.concat(dG, 0);
        const r = tf.variableGrads(() => tf.sum(tf.mul(this.encodeGraphs(graphs), upstream)) as tf.Scalar, graphVars);
        r.value.dispose();
        if (upstream !== dG[0]) upstream.dispose();
        accumulate(r.grads);
      }
    } catch (err) {
      tf.dispose([value, ...grads.values()].filter((t): t is tf.Tensor => t !== undefined));
      throw err;
    } finally {
      tf.dispose([g0, ...dG]);
    }
    return { value: value!, grads };
  }

  /** acc (%) → normalised target, with this model's normalisation. */
  normalise(acc: number): number {
    return normaliseAccuracy(acc, this.normalisation);
  }

  /** Normalised score → accuracy (%). */
  denormalise(score: number): number {
    return denormaliseScore(score, this.normalisation);
  }

  parameters(): ReadonlyMap<string, tf.Variable> {
    return this.store.entries();
  }

  /**
   * The graph encoder, `fc1` and the head `pred_fc` (no set encoder, no dead parameters): what an
   * architecture-only prior can pre-train, since it needs no image features.
   */
  graphSideParameterNames(): string[] {
    const skip = new Set<string>([...this.datasetParameterNames, ...PREDICTOR_DEAD_PARAMS]);
    return this.store.names().filter((n) => !skip.has(n));
  }

  /** The sizes that rebuild this model. */
  config(): PredictorConfig {
    return { nvt: this.graphConfig.nvt, maxN: this.graphConfig.maxN, hs: this.hs, nz: this.nz, inputDim: this.inputDim, heads: this.heads, setEncoder: this.setEncoderName };
  }

  /**
   * Write the parameters (official names), the config and the accuracy normalisation to a core
   * checkpoint file (atomically); `meta` adds anything JSON (epoch, metrics, ...).
   */
  saveCheckpoint(file: string, meta: Record<string, unknown> = {}): void {
    saveCheckpointSync(file, {
      meta: { ...meta, kind: 'metad2a-predictor', config: this.config(), normalisation: this.normalisation, ...(this.anchor ? { anchor: this.anchor } : {}) },
      tensors: this.store.toNamedArrays(),
    });
  }

  /** Rebuild a model from {@link saveCheckpoint}'s file (optimizer slots, named `<slot>/<param>`, are skipped). */
  static loadCheckpoint(file: string): PredictorModel {
    const ck = unwrap(loadCheckpointSync(file));
    const cfg = ck.meta.config as Partial<PredictorConfig> | undefined;
    const norm = ck.meta.normalisation as AccuracyNormalisation | undefined;
    const anchor = ck.meta.anchor as PriorAnchor | undefined;
    const num = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
    if (ck.meta.kind !== 'metad2a-predictor' || !cfg || ![cfg.nvt, cfg.maxN, cfg.hs, cfg.nz, cfg.inputDim, cfg.heads].every(num) || typeof cfg.setEncoder !== 'string') {
      throw new MetaD2AException(
        validationError({
          source: file,
          field: 'meta.config',
          expected: 'a metad2a-predictor checkpoint with config {nvt, maxN, hs, nz, inputDim, heads, setEncoder}',
          got: JSON.stringify(ck.meta.config ?? null),
        }),
      );
    }
    if (!norm || typeof norm.mean !== 'number' || !(norm.std > 0)) {
      throw new MetaD2AException(validationError({ source: file, field: 'meta.normalisation', expected: '{mean, std > 0}', got: JSON.stringify(norm ?? null) }));
    }
    if (anchor !== undefined && (typeof anchor?.prior !== 'string' || !Number.isFinite(anchor.weight))) {
      throw new MetaD2AException(
        validationError({ source: file, field: 'meta.anchor', expected: '{prior: a prior score id, weight: a finite number} or no field', got: JSON.stringify(anchor) }),
      );
    }
    const model = new PredictorModel({
      graphConfig: makeGraphConfig(cfg.nvt!, cfg.maxN!),
      hs: cfg.hs,
      nz: cfg.nz,
      inputDim: cfg.inputDim,
      heads: cfg.heads,
      setEncoder: cfg.setEncoder,
      rng: new Rng(0),
      normalisation: { mean: norm.mean, std: norm.std },
      ...(anchor ? { anchor: { prior: anchor.prior, weight: anchor.weight } } : {}),
    });
    const tensors = Object.fromEntries(Object.entries(ck.tensors).filter(([k]) => !k.includes('/')));
    try {
      model.loadParameters(tensors);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  /** Load official state_dict values; the dead parameters (spec §2.6) are accepted and ignored. */
  loadParameters(values: NamedArrays, opts: { allowExtra?: boolean | readonly string[] } = {}): void {
    const extra = opts.allowExtra === true ? true : [...PREDICTOR_DEAD_PARAMS, ...(opts.allowExtra || [])];
    this.store.load(values, { allowExtra: extra, source: 'predictor parameters' });
  }

  dispose(): void {
    this.graphEncoder.dispose();
    this.store.dispose();
  }
}
