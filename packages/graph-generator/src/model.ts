import * as tf from '@tensorflow/tfjs-core';
import {
  modelSpecs,
  OFFICIAL_MODEL_SPEC,
  MetaD2AException,
  Rng,
  makeError,
  setEncoders,
  validationError,
  type ArchGraph,
  type DecodeOptions,
  type GeneratorLoss,
  type GraphConfig,
  type GraphGenerator,
  type LatentPosterior,
  type NamedArrays,
  type PreparedGraphDecoder,
  type SetEncoder,
  type SetEncoderFactory,
  type SetLayout,
} from '@metad2a/core';
import { GRUCell, Linear, ParameterStore } from '@metad2a/layers';
import '@metad2a/set-encoder'; // registers `set-transformer` (the default encoder) in core's setEncoders
import { GraphDecoder, toGraphBatch } from './decoder';
import { decodeBatch, prepareDecoderWeights, type DecodeTrace, type DecoderWeights } from './sampling';

/** KL weight β of the official loss (spec §2.4, §8 item 10). */
export const KL_WEIGHT = 0.005;
/** Scale of the reparameterisation noise in training mode (spec §2.4, §8 item 9). */
export const EPS_SCALE = 0.01;

export interface GeneratorModelOptions {
  /** The search space's graph config (nvt, maxN): the only thing the model knows about a space. */
  readonly graphConfig: GraphConfig;
  /** GRU hidden size (must equal nz, spec §8 item 25). Every size left out is the official setting's (core's `OFFICIAL_MODEL_SPEC`). */
  readonly hs?: number;
  /** Latent size. */
  readonly nz?: number;
  /** Width of the dataset's feature rows (ResNet-18 features in the official setting). */
  readonly inputDim?: number;
  /** Set encoder: a name in core's `setEncoders` registry (default: the official setting's) or a factory. */
  readonly setEncoder?: string | SetEncoderFactory;
  /** Attention heads of the set encoder. */
  readonly heads?: number;
  /** Seed or RNG of the (PyTorch-default) initialisation. */
  readonly seed?: number | string;
  readonly rng?: Rng;
}

/** Per-graph and per-step values of a teacher-forced pass, as plain arrays (for inspection and tests). */
export interface GeneratorLossDetails {
  readonly loss: number;
  readonly recon: number;
  readonly kld: number;
  /** `[B]` */
  readonly reconPerGraph: Float32Array;
  /** `[B]` */
  readonly kldPerGraph: Float32Array;
  /** `[B, maxN−1, nvt]` log-softmax of add_vertex at steps t = 1..maxN−1. */
  readonly typeLogprobs: Float32Array;
  /** `[B, maxN−1]` log p(true type of vertex t). */
  readonly typeLL: Float32Array;
  /** `[B, maxN, maxN]` p(vi→t), 0 where vi ≥ t. */
  readonly edgeProbs: Float32Array;
}

/** Parameters of the official GeneratorModel that receive no gradient (spec §2.6). */
export function deadParameterNames(): string[] {
  const gru = (n: string): string[] => ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((l) => `${n}.${l}`);
  const lin = (n: string): string[] => [`${n}.weight`, `${n}.bias`];
  return [
    ...gru('grue_forward'),
    ...gru('grue_backward'),
    ...lin('enc_g_mu'),
    ...lin('enc_g_var'),
    ...lin('gate_forward.0'),
    ...lin('gate_backward.0'),
    'mapper_forward.0.weight',
    'mapper_backward.0.weight',
    ...lin('hv_unify.0'),
    ...lin('hg_unify.0'),
    ...lin('set_fc.0'),
  ];
}

/**
 * MetaD2A's dataset-conditioned graph generator (`GeneratorModel`, spec §2.2–§2.4): a set
 * encoder → `fc1`/`fc2` (mu, logvar) → z → the D-VAE decoder. `store` holds every parameter
 * of the official state_dict under its official name, the dead ones of §2.6 included, so
 * official checkpoints load one to one. Driven only by a `GraphConfig`: the same code serves
 * NB201 (nvt 7, maxN 8) and MobileNetV3 (nvt 29, maxN 22).
 */
export class GeneratorModel implements GraphGenerator {
  readonly store = new ParameterStore();
  readonly graphConfig: GraphConfig;
  readonly latentDim: number;
  readonly hs: number;
  readonly inputDim: number;
  readonly setEncoder: SetEncoder;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly decoder: GraphDecoder;
  private readonly dead: ReadonlySet<string>;

  constructor(opts: GeneratorModelOptions) {
    const cfg = opts.graphConfig;
    const official = modelSpecs.get(OFFICIAL_MODEL_SPEC).generator;
    const hs = opts.hs ?? official.hs;
    const nz = opts.nz ?? official.nz;
    if (hs !== nz)
      throw new MetaD2AException(
        validationError({
          source: 'GeneratorModel',
          field: 'hs',
          expected: `hs = nz (fc1/fc2 are declared hs→nz and fed the nz-wide set vector, spec §8 item 25): ${nz}`,
          got: String(hs),
        }),
      );
    this.graphConfig = cfg;
    this.latentDim = nz;
    this.hs = hs;
    this.inputDim = opts.inputDim ?? official.inputDim;
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    const s = this.store;
    // official state_dict order; dead parameters (spec §2.6) exist only to load checkpoints 1:1
    new GRUCell(s, 'grue_forward', cfg.nvt, hs, rng);
    new GRUCell(s, 'grue_backward', cfg.nvt, hs, rng);
    new Linear(s, 'enc_g_mu', hs, nz, rng);
    new Linear(s, 'enc_g_var', hs, nz, rng);
    this.fc1 = new Linear(s, 'fc1', hs, nz, rng);
    this.fc2 = new Linear(s, 'fc2', hs, nz, rng);
    this.decoder = new GraphDecoder(s, { hs, nz, graphConfig: cfg }, rng);
    const vs = hs + cfg.maxN;
    new Linear(s, 'gate_forward.0', vs, hs, rng);
    new Linear(s, 'gate_backward.0', vs, hs, rng);
    new Linear(s, 'mapper_forward.0', vs, hs, rng, { bias: false });
    new Linear(s, 'mapper_backward.0', vs, hs, rng, { bias: false });
    new Linear(s, 'hv_unify.0', 2 * hs, hs, rng);
    new Linear(s, 'hg_unify.0', 2 * hs, hs, rng);
    const factory = typeof opts.setEncoder === 'function' ? opts.setEncoder : setEncoders.get(opts.setEncoder ?? official.setEncoder);
    this.setEncoder = factory({ inputDim: this.inputDim, hiddenDim: nz, outputDim: nz, heads: opts.heads ?? official.heads, rng, prefix: '', store: s });
    if (this.setEncoder.outputDim !== hs) {
      throw new MetaD2AException(validationError({ source: 'GeneratorModel', field: 'setEncoder.outputDim', expected: String(hs), got: String(this.setEncoder.outputDim) }));
    }
    new Linear(s, 'set_fc.0', this.inputDim, nz, rng);
    this.dead = new Set(deadParameterNames());
  }

  parameters(): ReadonlyMap<string, tf.Variable> {
    return this.store.entries();
  }

  /** Names of the parameters that the loss reaches (everything but the dead ones), in store order. */
  usedParameterNames(): string[] {
    return this.store.names().filter((n) => !this.dead.has(n));
  }

  /**
   * Copy parameters in by official name. Dead parameters (spec §2.6) may be present (loaded) or
   * absent (kept); a missing or mis-shaped used parameter, or an unexpected name (unless
   * `allowExtra`), is reported by name in one CheckpointMismatch error and nothing is loaded.
   */
  loadParameters(values: NamedArrays, opts: { allowExtra?: boolean | readonly string[]; source?: string } = {}): void {
    const filled: Record<string, NamedArrays[string]> = { ...values };
    for (const name of this.dead) {
      if (!(name in filled) && this.store.has(name)) {
        const v = this.store.get(name);
        filled[name] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
      }
    }
    this.store.load(filled, { allowExtra: opts.allowExtra, source: opts.source ?? 'GeneratorModel parameters' });
  }

  dispose(): void {
    this.setEncoder.dispose(); // the encoder's parameters live in this.store; it releases only what it owns privately
    this.store.dispose();
  }

  /** Set encoding → mu = fc1(v), logvar = fc2(v), both `[B, nz]`. */
  encodeDataset(x: tf.Tensor3D, layout: SetLayout): LatentPosterior {
    return tf.tidy(() => {
      const v = this.setEncoder.encode(x, layout);
      return { mu: this.fromSetEncoding(v), logvar: this.fc2.apply(v) };
    }) as LatentPosterior;
  }

  /** mu = fc1(v) from the set encoder's output v `[B, nz]` (the contract's seam for cached row projections). */
  fromSetEncoding(setEncoding: tf.Tensor2D): tf.Tensor2D {
    return this.fc1.apply(setEncoding);
  }

  /** z = mu (evaluation) or mu + 0.01·ε·exp(logvar/2), ε ~ N(0, I) from `rng` (training). */
  sampleLatent(post: LatentPosterior, opts: { training?: boolean; rng?: Rng } = {}): tf.Tensor2D {
    if (!opts.training) return tf.clone(post.mu);
    if (!opts.rng) throw new MetaD2AException(validationError({ source: 'GeneratorModel.sampleLatent', field: 'rng', expected: 'an Rng in training mode', got: 'undefined' }));
    const eps = opts.rng.normalArray(post.mu.size);
    return tf.tidy(() => tf.add(post.mu, tf.mul(tf.tensor(eps, post.mu.shape), tf.mul(EPS_SCALE, tf.exp(tf.mul(0.5, post.logvar))))) as tf.Tensor2D);
  }

  /** Teacher-forced loss of true graphs given their datasets (spec §2.4), summed over the batch. */
  loss(x: tf.Tensor3D, layout: SetLayout, graphs: readonly ArchGraph[], opts: { training?: boolean; rng?: Rng } = {}): GeneratorLoss {
    return tf.tidy(() => this.lossFromPosterior(this.encodeDataset(x, layout), graphs, opts) as unknown as tf.TensorContainer) as unknown as GeneratorLoss;
  }

  /** The loss from a posterior (mu, logvar) instead of datasets. */
  lossFromPosterior(post: LatentPosterior, graphs: readonly ArchGraph[], opts: { training?: boolean; rng?: Rng } = {}): GeneratorLoss {
    this.checkBatch(post.mu.shape[0], graphs.length);
    const batch = toGraphBatch(graphs, this.graphConfig);
    return tf.tidy(() => {
      const z = this.sampleLatent(post, opts);
      const pass = this.decoder.teacherForced(z, batch);
      const recon = tf.sub(pass.edgeBce, pass.typeLogLik) as tf.Scalar;
      const kld = tf.sum(klPerGraph(post)) as tf.Scalar;
      return { loss: tf.add(recon, tf.mul(KL_WEIGHT, kld)) as tf.Scalar, recon, kld } as unknown as tf.TensorContainer;
    }) as unknown as GeneratorLoss;
  }

  /** Every per-graph / per-step value of a teacher-forced pass (evaluation mode unless `training`). */
  lossDetails(post: LatentPosterior, graphs: readonly ArchGraph[], opts: { training?: boolean; rng?: Rng } = {}): GeneratorLossDetails {
    this.checkBatch(post.mu.shape[0], graphs.length);
    const batch = toGraphBatch(graphs, this.graphConfig);
    const ts = tf.tidy(() => {
      const z = this.sampleLatent(post, opts);
      const pass = this.decoder.teacherForced(z, batch);
      const kldPerGraph = klPerGraph(post);
      const recon = tf.sub(pass.edgeBce, pass.typeLogLik);
      const kld = tf.sum(kldPerGraph);
      return [tf.add(recon, tf.mul(KL_WEIGHT, kld)), recon, kld, pass.reconPerGraph, kldPerGraph, pass.typeLogprobs, pass.typeLL, pass.edgeProbs];
    });
    const [loss, recon, kld, rpg, kpg, tlp, tll, ep] = ts.map((t) => t.dataSync() as Float32Array);
    ts.forEach((t) => t.dispose());
    return { loss: loss![0]!, recon: recon![0]!, kld: kld![0]!, reconPerGraph: rpg!, kldPerGraph: kpg!, typeLogprobs: tlp!, typeLL: tll!, edgeProbs: ep! };
  }

  /** Decode one graph per row of z `[B, nz]` (spec §2.4): stochastic with `rng`, else argmax / p > 0.5. */
  decode(z: tf.Tensor2D, opts: DecodeOptions): ArchGraph[] {
    return this.decodeTrace(z.dataSync() as Float32Array, z.shape[0], opts).graphs;
  }

  /** Decode from z given as values `[B·nz]`, with the logits and edge probabilities of every decision taken. */
  decodeTrace(z: Float32Array, batchSize: number, opts: DecodeOptions): DecodeTrace {
    if (z.length !== batchSize * this.latentDim) {
      throw new MetaD2AException(
        makeError('ShapeMismatch', { source: 'GeneratorModel.decode', field: 'z', expected: `${batchSize}×${this.latentDim} values`, got: String(z.length) }),
      );
    }
    if (opts.stochastic && !opts.rng)
      throw new MetaD2AException(validationError({ source: 'GeneratorModel.decode', field: 'rng', expected: 'an Rng for stochastic decoding', got: 'undefined' }));
    const mode = opts.stochastic ? { stochastic: true as const, rng: opts.rng! } : { stochastic: false as const };
    return decodeBatch(this.decoderWeights(), this.graphConfig, z, batchSize, mode);
  }

  /** Stochastic or deterministic decoding of z values with the decoder's weights read and prepared once, now. */
  preparedDecoder(): PreparedGraphDecoder {
    const weights = prepareDecoderWeights(this.decoderWeights(), this.graphConfig);
    return (z, batch, opts) => {
      if (opts.stochastic && !opts.rng)
        throw new MetaD2AException(validationError({ source: 'GeneratorModel.decode', field: 'rng', expected: 'an Rng for stochastic decoding', got: 'undefined' }));
      const mode = opts.stochastic ? { stochastic: true as const, rng: opts.rng! } : { stochastic: false as const };
      return decodeBatch(weights, this.graphConfig, z, batch, mode).graphs;
    };
  }

  /** The decoder's parameters as plain arrays (read from the store at call time). */
  decoderWeights(): DecoderWeights {
    return this.decoder.weights();
  }

  private checkBatch(b: number, g: number): void {
    if (b !== g)
      throw new MetaD2AException(makeError('ShapeMismatch', { source: 'GeneratorModel.loss', field: 'graphs', expected: `one graph per batch row (${b})`, got: String(g) }));
  }
}

/** −0.5 · Σ_dims (1 + logvar − mu² − exp(logvar)) per batch row `[B]`. */
function klPerGraph(post: LatentPosterior): tf.Tensor1D {
  return tf.tidy(() => tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, post.logvar), tf.square(post.mu)), tf.exp(post.logvar)), 1)) as tf.Tensor1D);
}
