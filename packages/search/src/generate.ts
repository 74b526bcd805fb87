import * as tf from '@tensorflow/tfjs-core';
import {
  MetaD2AException,
  Rng,
  checkFeatureSet,
  driveSteps,
  copyFeatureRow,
  drawDatasetBatch,
  drawDatasetRows,
  makeError,
  memberOf,
  rowProjectionsOf,
  validationError,
  type ArchGraph,
  type FeatureSet,
  type GraphGenerator,
  type SearchSpace,
  type StepControl,
  type Steps,
} from '@metad2a/core';

export interface GenerateOptions<A> {
  /** The space whose validity rules and string form decide which graphs are kept. */
  readonly space: SearchSpace<A>;
  /** Seed of the resampling and of the stochastic decoding. */
  readonly seed: number | string;
  /** Independently resampled datasets (= graphs decoded) per batch; official NB201: 100. */
  readonly batchSize?: number;
  /** Feature rows drawn per class (official: 20). */
  readonly perClass?: number;
  /**
   * `independent` (NB201 meta-test, spec §3.6): one graph per resample, `batchSize` graphs per batch.
   * `pooled` (MBv3 meta-test, spec §4.6, §8 item 16): the `batchSize` resamples are pooled into one
   * set of `batchSize`·C classes, giving one z and one graph per iteration.
   */
  readonly resampling?: 'independent' | 'pooled';
  /** Give up after decoding this many graphs (default 1,000 · n). */
  readonly maxAttempts?: number;
  /**
   * Give up when this many decoded graphs in a row brought no new architecture (default the larger
   * of 10,000 and 20 · n): generation has stopped finding new cells (the model, or a constrained
   * space, does not produce more), so waiting for maxAttempts would only take longer.
   */
  readonly maxStallAttempts?: number;
  /**
   * Project each distinct feature row through the set encoder's first SAB once per call and gather
   * the projections for every resample (default true; equal to the plain encoding up to float32
   * rounding). `false`: encode every resampled dataset from its raw rows, as the official code.
   */
  readonly projectionCache?: boolean;
}

/** Progress of the generation stage, after each batch: `done` of `total` unique valid candidates. */
export interface GenerateProgress {
  readonly stage: 'generate';
  readonly done: number;
  readonly total: number;
  /** Graphs decoded so far. */
  readonly attempts: number;
  /** Of which valid in the space. */
  readonly valid: number;
  /** Unique valid architectures so far. */
  readonly unique: number;
  readonly batches: number;
}

/** Whether an encoding stage used its set encoder's cached row projections, and why not where it did not. */
export type ProjectionUse = { readonly used: true } | { readonly used: false; readonly reason: string };

export interface GenerateResult<A> extends Omit<GenerateProgress, 'stage' | 'done' | 'total'> {
  /** The space the candidates are members of (a constrained view, where one was given). */
  readonly space: SearchSpace<A>;
  /** n unique valid architectures, in first-seen order. */
  readonly architectures: A[];
  /** Their `space.format` strings (the de-duplication keys), same order. */
  readonly strings: string[];
  /** The decoded graphs they came from, same order. */
  readonly graphs: ArchGraph[];
  /** Wall time from the first resample until n unique valid architectures existed (spec §3.6 "generator time"), without the event-loop turns between batches. */
  readonly elapsedMs: number;
  readonly projection: ProjectionUse;
}

/**
 * The generation stage of the search. Meta-test generation (spec §3.6 step 1, §4.6, §8 items 15–16): per batch, resample the dataset
 * `batchSize` times independently (perClass rows of every class), encode, take z = mu, decode one
 * graph per resample stochastically (or, `resampling: 'pooled'`, one graph from the pooled set), drop graphs that are not
 * members of the space (`memberOf`: graph rules, one decode, the space's `admits`), de-duplicate by
 * `space.format` keeping first-seen order, and stop as soon as n unique valid architectures
 * exist (the rest of the batch is abandoned). Unlike the official loop, which never ends when a
 * model cannot produce n, it rejects with a ValidationError after `maxAttempts` decoded graphs.
 * Hands the event loop back after every batch (`onProgress`); an aborted `signal` stops it there.
 */
export function generateCandidates<A>(model: GraphGenerator, dataset: FeatureSet, n: number, opts: GenerateOptions<A> & StepControl<GenerateProgress>): Promise<GenerateResult<A>> {
  return driveSteps(generateSteps(model, dataset, n, opts), 'generate', opts);
}

/** {@link generateCandidates} as steps: one batch per step (for a caller composing stages, e.g. `runSearch`). */
export function* generateSteps<A>(model: GraphGenerator, dataset: FeatureSet, n: number, opts: GenerateOptions<A>): Steps<GenerateProgress, GenerateResult<A>> {
  const { space } = opts;
  const maxAttempts = opts.maxAttempts ?? 1000 * n;
  const maxStall = opts.maxStallAttempts ?? Math.max(10_000, 20 * n);
  const src = 'generate';
  if (!Number.isInteger(n) || n < 1) throw new MetaD2AException(validationError({ source: src, field: 'n', expected: 'a positive integer', got: String(n) }));
  const decoder = batchDecoder(model, dataset, opts, src);
  const out = new Candidates(space);
  let lastNew = 0; // attempts when the latest new architecture came
  let batches = 0;
  let elapsedMs = 0;
  let t0 = performance.now();
  while (out.strings.length < n) {
    if (out.attempts >= maxAttempts) {
      throw new MetaD2AException(
        validationError({
          source: src,
          field: 'maxAttempts',
          expected: `${n} unique valid ${space.name} architectures within ${maxAttempts} decoded graphs`,
          got: `${out.strings.length} unique of ${out.valid} valid after ${out.attempts} graphs (the model cannot produce enough distinct valid graphs; raise maxAttempts or ask for fewer)`,
        }),
      );
    }
    if (out.attempts - lastNew >= maxStall) {
      throw new MetaD2AException(
        validationError({
          source: src,
          field: 'maxStallAttempts',
          expected: `${n} unique valid ${space.name} architectures`,
          got: `${out.strings.length} unique after ${out.attempts} graphs and no new one in the last ${out.attempts - lastNew} (generation stopped finding new architectures: the model produces no more distinct valid ones under these settings; ask for at most ${out.strings.length}, or relax the constraints)`,
        }),
      );
    }
    const decoded = decoder.decode(Math.min(decoder.batchSize, maxAttempts - out.attempts));
    batches++;
    for (const g of decoded) {
      if (out.add(g) !== 'new') continue;
      lastNew = out.attempts;
      if (out.strings.length === n) break;
    }
    elapsedMs += performance.now() - t0;
    yield { stage: 'generate', done: out.strings.length, total: n, attempts: out.attempts, valid: out.valid, unique: out.strings.length, batches };
    t0 = performance.now();
  }
  elapsedMs += performance.now() - t0;
  return out.result(batches, elapsedMs, decoder.projection);
}

/** Progress of the sampling stage, after each batch: `done` of `total` graphs decoded. */
export interface SampleProgress extends Omit<GenerateProgress, 'stage'> {
  readonly stage: 'sample';
}

/** What `decodes` graphs decoded the search's way gave (`attempts` = decodes; `elapsedMs`: their wall time). */
export interface SampleResult<A> extends GenerateResult<A> {
  /** The architecture of every valid decoded graph, in decode order, repeats kept (`valid` of them); `architectures` are the distinct ones. */
  readonly members: A[];
}

/**
 * Decode exactly `decodes` graphs the way {@link generateCandidates} does (same resampling, set
 * encoding, z = mu and stochastic decoding, same batches for a seed), without stopping at a count
 * of unique ones: what a generator proposes for a data set — its valid share, its distinct
 * architectures and every valid one with repeats (`members`), e.g. to evaluate a generator.
 * They are the first `decodes` graphs generation with the same options decodes, in the same order
 * (whole batches are decoded; the graphs past `decodes` in the last one are left out).
 */
export function sampleCandidates<A>(
  model: GraphGenerator,
  dataset: FeatureSet,
  decodes: number,
  opts: Omit<GenerateOptions<A>, 'maxAttempts' | 'maxStallAttempts'> & StepControl<SampleProgress>,
): Promise<SampleResult<A>> {
  return driveSteps(sampleSteps(model, dataset, decodes, opts), 'sample', opts);
}

/** {@link sampleCandidates} as steps: one batch per step. */
export function* sampleSteps<A>(
  model: GraphGenerator,
  dataset: FeatureSet,
  decodes: number,
  opts: Omit<GenerateOptions<A>, 'maxAttempts' | 'maxStallAttempts'>,
): Steps<SampleProgress, SampleResult<A>> {
  const src = 'sample';
  if (!Number.isInteger(decodes) || decodes < 1)
    throw new MetaD2AException(validationError({ source: src, field: 'decodes', expected: 'a positive integer', got: String(decodes) }));
  const decoder = batchDecoder(model, dataset, opts, src);
  const out = new Candidates(opts.space);
  const members: A[] = [];
  let batches = 0;
  let elapsedMs = 0;
  let t0 = performance.now();
  while (out.attempts < decodes) {
    // whole batches, as generation draws them (a smaller batch would draw and decode other graphs); the excess is left
    const decoded = decoder.decode(decoder.batchSize);
    batches++;
    for (const g of decoded) {
      if (out.add(g) !== 'invalid') members.push(out.lastMember!);
      if (out.attempts === decodes) break;
    }
    elapsedMs += performance.now() - t0;
    yield { stage: 'sample', done: out.attempts, total: decodes, attempts: out.attempts, valid: out.valid, unique: out.strings.length, batches };
    t0 = performance.now();
  }
  elapsedMs += performance.now() - t0;
  return { ...out.result(batches, elapsedMs, decoder.projection), members };
}

/** Decoded graphs sorted into the space's members, de-duplicated by `space.format` in first-seen order. */
class Candidates<A> {
  readonly architectures: A[] = [];
  readonly strings: string[] = [];
  readonly graphs: ArchGraph[] = [];
  private readonly seen = new Set<string>();
  attempts = 0;
  valid = 0;
  /** The architecture of the graph last added, where it was a member. */
  lastMember: A | undefined;
  constructor(readonly space: SearchSpace<A>) {}

  /** Count one decoded graph: not a member of the space, a repeat of a member, or a new one. */
  add(g: ArchGraph): 'invalid' | 'repeat' | 'new' {
    this.attempts++;
    const arch = memberOf(this.space, g);
    this.lastMember = arch;
    if (arch === undefined) return 'invalid';
    this.valid++;
    const key = this.space.format(arch);
    if (this.seen.has(key)) return 'repeat';
    this.seen.add(key);
    this.architectures.push(arch);
    this.strings.push(key);
    this.graphs.push(g);
    return 'new';
  }

  result(batches: number, elapsedMs: number, projection: ProjectionUse): GenerateResult<A> {
    const { space, architectures, strings, graphs, attempts, valid } = this;
    return { space, architectures, strings, graphs, attempts, valid, unique: strings.length, batches, elapsedMs, projection };
  }
}

/**
 * The search's draw → set encoding → z = mu → stochastic decoding, one batch per call: checks the
 * options, the space and the data set against the model, forks the seed into the resampling and
 * the decoding streams, and holds the first-SAB projection cache of the data set's rows (spec §7.2).
 */
function batchDecoder<A>(
  model: GraphGenerator,
  dataset: FeatureSet,
  opts: Omit<GenerateOptions<A>, 'maxAttempts' | 'maxStallAttempts'>,
  src: string,
): { readonly batchSize: number; readonly projection: ProjectionUse; decode(resamples: number): ArchGraph[] } {
  const { space } = opts;
  const batchSize = opts.batchSize ?? 100;
  const perClass = opts.perClass ?? 20;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new MetaD2AException(validationError({ source: src, field: 'batchSize', expected: 'a positive integer', got: String(batchSize) }));
  const cfg = model.graphConfig;
  if (space.graphConfig.nvt !== cfg.nvt || space.graphConfig.maxN !== cfg.maxN) {
    throw new MetaD2AException(
      validationError({
        source: src,
        field: `space ${space.name}`,
        expected: `graphs with nvt ${cfg.nvt} and maxN ${cfg.maxN} (the model's)`,
        got: `nvt ${space.graphConfig.nvt}, maxN ${space.graphConfig.maxN}`,
      }),
    );
  }
  if (dataset.dim !== model.inputDim) {
    throw new MetaD2AException(makeError('ShapeMismatch', { source: dataset.name, field: 'dim', expected: String(model.inputDim), got: String(dataset.dim) }));
  }
  checkFeatureSet(dataset, perClass);
  const root = new Rng(opts.seed);
  const dataRng = root.fork();
  const decodeRng = root.fork();
  const decode = model.preparedDecoder();
  const pooled = opts.resampling === 'pooled';
  // first-block projections of the feature rows, cached across batches (spec §7.2); rows → cache slots
  const projected = opts.projectionCache === false ? ({ ok: false, reason: 'projectionCache: false' } as const) : rowProjectionsOf(model.setEncoder);
  const proj = projected.ok ? projected.cache : undefined;
  const slotOf = new Int32Array(dataset.classes.reduce((a, c) => a + c.count, 0)).fill(-1);
  return {
    batchSize,
    projection: projected.ok ? { used: true } : { used: false, reason: projected.reason },
    /** `resamples` graphs from as many resampled datasets; pooled: one graph from `batchSize` pooled resamples. */
    decode(resamples: number): ArchGraph[] {
      const bs = pooled ? batchSize : resamples;
      let mu: tf.Tensor2D;
      if (proj) {
        // same draw as drawDatasetBatch; each distinct row's first-SAB projections computed once per search
        const draw = drawDatasetRows(dataset, perClass, bs, dataRng);
        let fresh = 0;
        for (const r of draw.rows) if (slotOf[r] === -1) slotOf[r] = -2 - fresh++;
        if (fresh > 0) {
          const rows = new Float32Array(fresh * dataset.dim);
          const first = proj.rows;
          for (let r = 0; r < slotOf.length; r++) {
            if (slotOf[r]! <= -2) {
              const i = -2 - slotOf[r]!;
              copyFeatureRow(dataset, r, rows, i * dataset.dim);
              slotOf[r] = first + i;
            }
          }
          proj.append(rows, fresh);
        }
        const slots = draw.rows.map((r) => slotOf[r]!);
        const layout = pooled ? { classes: bs * draw.layout.classes, perClass } : draw.layout;
        const enc = (projected as Extract<typeof projected, { ok: true }>).encoder;
        mu = tf.tidy(() => model.fromSetEncoding(enc.encodeProjected(proj, slots, pooled ? 1 : bs, layout)));
      } else {
        const draw = drawDatasetBatch(dataset, perClass, bs, dataRng);
        const [shape, layout] = pooled
          ? ([[1, bs * draw.shape[1], draw.shape[2]], { classes: bs * draw.layout.classes, perClass }] as const)
          : ([draw.shape, draw.layout] as const);
        mu = tf.tidy(() => model.encodeDataset(tf.tensor3d(draw.data, [...shape] as [number, number, number]), layout).mu);
      }
      const z = mu.dataSync() as Float32Array;
      mu.dispose();
      return decode(z, pooled ? 1 : bs, { stochastic: true, rng: decodeRng });
    },
  };
}
