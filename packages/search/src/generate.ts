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
  const batchSize = opts.batchSize ?? 100;
  const perClass = opts.perClass ?? 20;
  const maxAttempts = opts.maxAttempts ?? 1000 * n;
  const maxStall = opts.maxStallAttempts ?? Math.max(10_000, 20 * n);
  const src = 'generate';
  if (!Number.isInteger(n) || n < 1) throw new MetaD2AException(validationError({ source: src, field: 'n', expected: 'a positive integer', got: String(n) }));
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
  const seen = new Set<string>();
  const architectures: A[] = [];
  const strings: string[] = [];
  const graphs: ArchGraph[] = [];
  let attempts = 0;
  let lastNew = 0; // attempts when the latest new architecture came
  let valid = 0;
  let batches = 0;
  // first-block projections of the feature rows, cached across batches (spec §7.2); rows → cache slots
  const projected = opts.projectionCache === false ? ({ ok: false, reason: 'projectionCache: false' } as const) : rowProjectionsOf(model.setEncoder);
  const proj = projected.ok ? projected.cache : undefined;
  const slotOf = new Int32Array(dataset.classes.reduce((a, c) => a + c.count, 0)).fill(-1);
  let elapsedMs = 0;
  let t0 = performance.now();
  while (strings.length < n) {
    if (attempts >= maxAttempts) {
      throw new MetaD2AException(
        validationError({
          source: src,
          field: 'maxAttempts',
          expected: `${n} unique valid ${space.name} architectures within ${maxAttempts} decoded graphs`,
          got: `${strings.length} unique of ${valid} valid after ${attempts} graphs (the model cannot produce enough distinct valid graphs; raise maxAttempts or ask for fewer)`,
        }),
      );
    }
    if (attempts - lastNew >= maxStall) {
      throw new MetaD2AException(
        validationError({
          source: src,
          field: 'maxStallAttempts',
          expected: `${n} unique valid ${space.name} architectures`,
          got: `${strings.length} unique after ${attempts} graphs and no new one in the last ${attempts - lastNew} (generation stopped finding new architectures: the model produces no more distinct valid ones under these settings; ask for at most ${strings.length}, or relax the constraints)`,
        }),
      );
    }
    const pooled = opts.resampling === 'pooled';
    const bs = pooled ? batchSize : Math.min(batchSize, maxAttempts - attempts);
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
      const [shape, layout] = pooled ? ([[1, bs * draw.shape[1], draw.shape[2]], { classes: bs * draw.layout.classes, perClass }] as const) : ([draw.shape, draw.layout] as const);
      mu = tf.tidy(() => model.encodeDataset(tf.tensor3d(draw.data, [...shape] as [number, number, number]), layout).mu);
    }
    const z = mu.dataSync() as Float32Array;
    mu.dispose();
    const decoded = decode(z, pooled ? 1 : bs, { stochastic: true, rng: decodeRng });
    batches++;
    for (const g of decoded) {
      attempts++;
      const arch = memberOf(space, g);
      if (arch === undefined) continue;
      valid++;
      const key = space.format(arch);
      if (seen.has(key)) continue;
      seen.add(key);
      lastNew = attempts;
      architectures.push(arch);
      strings.push(key);
      graphs.push(g);
      if (strings.length === n) break;
    }
    elapsedMs += performance.now() - t0;
    yield { stage: 'generate', done: strings.length, total: n, attempts, valid, unique: strings.length, batches };
    t0 = performance.now();
  }
  elapsedMs += performance.now() - t0;
  const projection: ProjectionUse = projected.ok ? { used: true } : { used: false, reason: projected.reason };
  return { space, architectures, strings, graphs, attempts, valid, unique: strings.length, batches, elapsedMs, projection };
}
