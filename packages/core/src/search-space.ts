import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { fail, type MetaD2AError } from './errors';
import type { ArchGraph, GraphConfig } from './graph';
import { Registry } from './registry';
import type { Rng } from './rng';

/** Size of a candidate network, in the units the paper reports. */
export interface CandidateCost {
  /** Millions of multiply-accumulates (NB201 and OFA both call these "FLOPs"). */
  readonly mflops: number;
  /** Millions of parameters. */
  readonly mparams: number;
}

/**
 * Benchmark facts about an architecture (NB201 table accuracies, an accuracy oracle, ...): a
 * `kind` naming the source and flat fields. The space's {@link SearchSpace.factColumns} say
 * which fields a report prints.
 */
export interface BenchmarkFacts {
  readonly kind: string;
  readonly [field: string]: string | number;
}

/** The facts of a space that has none. */
export const NO_FACTS: BenchmarkFacts = Object.freeze({ kind: 'none' });

/** One printed column of a space's facts. */
export interface FactColumn {
  /** Field of {@link BenchmarkFacts}. */
  readonly field: string;
  readonly header: string;
  /** Decimals of a number; absent: printed as is. */
  readonly digits?: number;
}

/**
 * A search space: architectures of type `A`, their graph encoding for the models, and their
 * string form. A search space never imports tfjs; models only ever see its `graphConfig`.
 * The optional members are capabilities the search uses where a space has them.
 */
export interface SearchSpace<A> {
  /** Registry name, e.g. `nb201`, `mbv3`. */
  readonly name: string;
  readonly graphConfig: GraphConfig;
  /** Architecture → the graph the models consume. */
  encode(arch: A): ArchGraph;
  /** Graph → architecture; a Left names the rule the graph breaks. */
  decode(graph: ArchGraph): Either<MetaD2AError, A>;
  /** The space's graph rules (a decoded candidate is kept only if valid; see {@link memberOf}). */
  isValid(graph: ArchGraph): boolean;
  /** Canonical string form (de-duplication key of candidates). */
  format(arch: A): string;
  /**
   * Two architectures with the same key build networks that compute the same function (NB201:
   * isomorphic cells; MBv3: the same active blocks, whatever the inactive slots hold), so one
   * measured accuracy stands for both. Absent: {@link format} is the key.
   */
  computationKey?(arch: A): string;
  /** Strict parser of {@link format}'s output; a Left says where and what was expected. */
  parse(text: string): Either<MetaD2AError, A>;
  /** A uniformly random architecture (of a constrained view: uniform over its members). */
  sample(rng: Rng): A;
  /** Number of architectures, where finite and known. */
  readonly size?: number;
  /** Every architecture in a fixed order, where the space is small enough. */
  enumerate?(): Iterable<A>;
  /** Architecture-level rules beyond the graph rules (a constrained view's filter); absent: every decoded architecture is a member. */
  admits?(arch: A): boolean;
  /** FLOPs and parameters of the network for a dataset of `classes` classes. */
  cost?(arch: A, ctx: { readonly classes: number }): CandidateCost;
  /** Benchmark facts (table look-ups, an oracle), printed with the space's {@link factColumns}. */
  facts?(arch: A): BenchmarkFacts;
  readonly factColumns?: readonly FactColumn[];
  /** The graph the predictor ranks for an architecture decoded from `decoded` (default: `encode(arch)`, the canonical graph). */
  graphToRank?(arch: A, decoded: ArchGraph): ArchGraph;
  /**
   * How many distinct architectures (distinct `format` strings) satisfy `constraints`, exactly or
   * as an upper bound, known without generating any: a request for more fails before any work.
   */
  countFeasible?(constraints: Constraints, ctx: { readonly classes: number }): FeasibleCount;
  /** Inference latency on named devices (measured, or a model fitted to measurements). */
  readonly latency?: SpaceLatency<A>;
  /** A dataset-independent score of every architecture from the space's own knowledge (a predictor may be anchored on it: {@link PriorAnchor}). */
  readonly prior?: ArchitecturePriorScore<A>;
  /** Indicators of an architecture's choices (NB201: which operation each edge carries), for an anchor that learns what each choice is worth ({@link PriorAnchor.choices}). */
  readonly choices?: ArchitectureChoices<A>;
  /**
   * How many of the two architectures' choices differ (an edit distance: NB201, the edges whose
   * operation differs; MBv3, the block slots that differ). A search can keep its reported top this
   * far apart (`topDistance`).
   */
  distance?(a: A, b: A): number;
}

/**
 * What a space knows about an architecture's quality before seeing any data set (NB201: its
 * benchmark table's accuracies), standardised over the whole space (mean 0, standard deviation 1),
 * so a predictor can learn only what a data set changes ({@link PriorAnchor}).
 */
export interface ArchitecturePriorScore<A> {
  /** Names the score and its version, e.g. `nb201:test-200ep-mean-z` (a model records it). */
  readonly id: string;
  /** Where the score comes from, in words. */
  readonly note: string;
  score(arch: A): number;
}

/**
 * An architecture's choices as 0/1 indicators, one per (slot, option) pair (NB201: edge × operation,
 * 30), so that a linear term over them can say what each choice is worth on the records' recipe.
 */
export interface ArchitectureChoices<A> {
  /** Names the encoding and its version, e.g. `nb201:edge-op/1` (a model records it). */
  readonly id: string;
  /** One name per indicator, e.g. `e1=nor_conv_3x3`. */
  readonly names: readonly string[];
  /** The indicators of `arch` (length `names.length`). */
  indicators(arch: A): Float64Array;
}

/** A device setting (hardware × batch size) a space knows latencies for. */
export interface LatencyDevice {
  /** Name given to `--device`, e.g. `titan_rtx_32`. */
  readonly name: string;
  /** Batch size of the measurements, where the source says. */
  readonly batch?: number;
  /** `measured`: every architecture's latency is a measurement looked up; `model`: predicted by a model fitted to measurements. */
  readonly kind: 'measured' | 'model';
  /** Where the numbers come from and how good they are (source, held-out error of a model). */
  readonly note: string;
  /** Latency of the fastest architecture of the space, in ms (what a budget must at least allow). */
  readonly minMs: number;
  /** Latency of the slowest architecture, in ms. */
  readonly maxMs: number;
}

/** What a space knows about its architectures' inference latency. */
export interface SpaceLatency<A> {
  /** Every device setting, in a fixed order. */
  devices(): readonly LatencyDevice[];
  /** Latency in ms of `arch` on `device` (a registered device; an unknown one is a NotFound error naming the known ones). */
  latencyMs(arch: A, device: string): number;
}

/** The device setting `device` of `space`, or a NotFound error naming the space's devices (Unsupported where the space knows no latency). */
export function latencyDevice(space: AnySearchSpace, device: string): LatencyDevice {
  if (!space.latency) {
    return fail('Unsupported', { source: `search space ${space.name}`, field: 'latency', expected: 'a space with latency data (SearchSpace.latency)', got: 'none' });
  }
  const devices: readonly LatencyDevice[] = space.latency.devices();
  const d = devices.find((x) => x.name === device);
  if (!d) {
    return fail('NotFound', {
      source: `search space ${space.name}`,
      field: 'device (--device)',
      expected: `one of ${devices.map((x) => x.name).join(', ')} (metad2a devices lists them)`,
      got: JSON.stringify(device),
    });
  }
  return d;
}

/** What a space knows about the architectures that satisfy some {@link Constraints}. */
export interface FeasibleCount {
  /** Distinct architectures within the constraints: exact, or an upper bound. */
  readonly count: bigint;
  readonly exact: boolean;
  /** Size of the whole space. */
  readonly total: bigint;
  /** The cheapest architecture's MFLOPs and million parameters (what a limit must at least allow). */
  readonly minMflops: number;
  readonly minMparams: number;
  /** With a latency bound: the fastest architecture's latency on the constraint's device, ms. */
  readonly minLatencyMs?: number;
}

/** Any search space, whatever its architecture type (for registries and generic code). */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds spaces of every architecture type
export type AnySearchSpace = SearchSpace<any>;

/** Search spaces by name. `@metad2a/search-spaces` registers `nb201` and `mbv3` on import. */
export const searchSpaces = new Registry<AnySearchSpace>('search space');

/** The architecture a decoded graph stands for if it is a member of the space (graph rules, decoding, {@link SearchSpace.admits}), decoding once. */
export function memberOf<A>(space: SearchSpace<A>, graph: ArchGraph): A | undefined {
  if (!space.isValid(graph)) return undefined;
  const arch = space.decode(graph);
  if (E.isLeft(arch)) return undefined;
  return space.admits && !space.admits(arch.right) ? undefined : arch.right;
}

/** The graph the predictor ranks for `arch` (see {@link SearchSpace.graphToRank}). */
export function graphToRank<A>(space: SearchSpace<A>, arch: A, decoded: ArchGraph): ArchGraph {
  return space.graphToRank ? space.graphToRank(arch, decoded) : space.encode(arch);
}

export interface SearchSpaceView<A> {
  /** Name of the view (default: the base space's). */
  readonly name?: string;
  /** Keep only architectures it accepts (on top of the base space's own `admits`). */
  readonly admits?: (arch: A) => boolean;
  /** Rejection-sampling bound of the view's `sample` (default 100,000 draws). */
  readonly maxSampleDraws?: number;
}

/**
 * A view of `base` that keeps every member of the contract (cost, facts, graph choice, ...) and
 * filters architectures with `admits`: membership is still decided by one decode
 * ({@link memberOf}); `enumerate` filters, `size` counts the members (lazily, enumerable spaces
 * only), `sample` rejection-samples and fails clearly when no draw is admitted.
 */
export function makeSearchSpace<A>(base: SearchSpace<A>, view: SearchSpaceView<A>): SearchSpace<A> {
  const own = view.admits;
  if (!own) return view.name === undefined || view.name === base.name ? base : { ...base, name: view.name };
  const baseAdmits = base.admits?.bind(base);
  const admits = (a: A): boolean => (baseAdmits === undefined || baseAdmits(a)) && own(a);
  const name = view.name ?? base.name;
  const maxDraws = view.maxSampleDraws ?? 100_000;
  const enumerate = base.enumerate?.bind(base);
  let counted: number | undefined;
  const derived: SearchSpace<A> = {
    ...base,
    name,
    admits,
    sample(rng: Rng): A {
      for (let i = 0; i < maxDraws; i++) {
        const a = base.sample(rng);
        if (admits(a)) return a;
      }
      return fail('ValidationError', {
        source: `search space ${name}`,
        field: 'sample',
        expected: `an admitted architecture within ${maxDraws} draws`,
        got: 'none (the constraints may exclude every architecture)',
      });
    },
    enumerate: enumerate
      ? function* (): Iterable<A> {
          for (const a of enumerate()) if (admits(a)) yield a;
        }
      : undefined,
  };
  if (enumerate) {
    Object.defineProperty(derived, 'size', {
      enumerable: true,
      get(): number {
        if (counted === undefined) {
          let n = 0;
          for (const a of enumerate()) if (admits(a)) n++;
          counted = n;
        }
        return counted;
      },
    });
  } else {
    delete (derived as { size?: number }).size;
  }
  // the base space's counts do not know the view's filter
  delete (derived as { countFeasible?: unknown }).countFeasible;
  return derived;
}

/** Upper bounds on a candidate's cost. */
export interface Constraints {
  /** Keep candidates with at most this many MFLOPs. */
  readonly flopsMaxM?: number;
  /** Keep candidates with at most this many million parameters. */
  readonly paramsMaxM?: number;
  /** Keep candidates whose latency on {@link device} is at most this many ms (needs `device`). */
  readonly latencyMaxMs?: number;
  /** The device setting of `latencyMaxMs` (one of the space's {@link SpaceLatency.devices}); alone, it only adds each candidate's latency to the report. */
  readonly device?: string;
}

/** Whether any bound is set. */
export function hasConstraints(c: Constraints): boolean {
  return c.flopsMaxM !== undefined || c.paramsMaxM !== undefined || c.latencyMaxMs !== undefined;
}

/** The bounds as text, e.g. `≤ 100 MFLOPs, ≤ 12 ms on titan_rtx_32` ('' when none). */
export function describeConstraints(c: Constraints): string {
  return [
    c.flopsMaxM !== undefined ? `≤ ${c.flopsMaxM} MFLOPs` : '',
    c.paramsMaxM !== undefined ? `≤ ${c.paramsMaxM} M params` : '',
    c.latencyMaxMs !== undefined ? `≤ ${c.latencyMaxMs} ms on ${c.device}` : '',
  ]
    .filter((x) => x !== '')
    .join(', ');
}

/**
 * Check a latency budget before any work: `device` given and known to the space, and the budget at
 * least the fastest architecture's latency there (an infeasible budget fails at once, naming the
 * flag, the device and the minimum achievable latency). Returns the device (undefined: no device).
 */
export function checkLatencyBudget(space: AnySearchSpace, c: Constraints): LatencyDevice | undefined {
  if (c.latencyMaxMs !== undefined && c.device === undefined) {
    fail('ValidationError', { source: 'search constraints', field: 'device (--device)', expected: 'a device setting for --latency-max (metad2a devices lists them)', got: 'none' });
  }
  if (c.device === undefined) return undefined;
  const d = latencyDevice(space, c.device);
  const max = c.latencyMaxMs;
  if (max === undefined) return d;
  if (!(typeof max === 'number' && max > 0 && Number.isFinite(max))) {
    fail('ValidationError', { source: 'search constraints', field: 'latency budget (--latency-max)', expected: 'a positive number of ms', got: String(max) });
  }
  if (max < d.minMs) {
    fail('ValidationError', {
      source: `search space ${space.name}`,
      field: 'latency budget (--latency-max)',
      expected: `at least ${d.minMs.toPrecision(6)} ms, the lowest latency any ${space.name} architecture reaches on ${d.name} (${d.kind === 'measured' ? 'measured' : 'latency model'})`,
      got: `${max} ms`,
    });
  }
  return d;
}

/**
 * The view of `space` whose members satisfy `constraints` for a dataset of `classes` classes
 * (the space itself when there are none): FLOPs / parameters by the space's cost model, latency
 * on `constraints.device` by its latency knowledge (checked first: {@link checkLatencyBudget}).
 * A space without the model a bound needs cannot be constrained by it.
 */
export function constrainSearchSpace<A>(space: SearchSpace<A>, constraints: Constraints, classes: number): SearchSpace<A> {
  if (!hasConstraints(constraints)) return space;
  const lat = checkLatencyBudget(space, constraints) && constraints.latencyMaxMs !== undefined ? space.latency : undefined;
  const latencyMaxMs = constraints.latencyMaxMs ?? Infinity;
  const device = constraints.device ?? '';
  const cost = space.cost?.bind(space);
  if (!cost && (constraints.flopsMaxM !== undefined || constraints.paramsMaxM !== undefined)) {
    fail('Unsupported', {
      source: `search space ${space.name}`,
      field: 'constraints',
      expected: 'a space with a FLOPs/params model (SearchSpace.cost)',
      got: '--flops-max/--params-max on a space without one',
    });
  }
  const { flopsMaxM, paramsMaxM } = constraints;
  const costBound = flopsMaxM !== undefined || paramsMaxM !== undefined;
  return makeSearchSpace(space, {
    admits: (arch) => {
      if (costBound) {
        const c = cost!(arch, { classes });
        if (!((flopsMaxM === undefined || c.mflops <= flopsMaxM) && (paramsMaxM === undefined || c.mparams <= paramsMaxM))) return false;
      }
      return lat === undefined || lat.latencyMs(arch, device) <= latencyMaxMs;
    },
  });
}
