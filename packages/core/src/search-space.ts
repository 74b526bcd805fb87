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
}

/** Whether any bound is set. */
export function hasConstraints(c: Constraints): boolean {
  return c.flopsMaxM !== undefined || c.paramsMaxM !== undefined;
}

/**
 * The view of `space` whose members satisfy `constraints` for a dataset of `classes` classes
 * (the space itself when there are none). A space without a cost model cannot be constrained.
 */
export function constrainSearchSpace<A>(space: SearchSpace<A>, constraints: Constraints, classes: number): SearchSpace<A> {
  if (!hasConstraints(constraints)) return space;
  const cost = space.cost?.bind(space);
  if (!cost) {
    fail('Unsupported', {
      source: `search space ${space.name}`,
      field: 'constraints',
      expected: 'a space with a FLOPs/params model (SearchSpace.cost)',
      got: '--flops-max/--params-max on a space without one',
    });
  }
  const { flopsMaxM, paramsMaxM } = constraints;
  return makeSearchSpace(space, {
    admits: (arch) => {
      const c = cost(arch, { classes });
      return (flopsMaxM === undefined || c.mflops <= flopsMaxM) && (paramsMaxM === undefined || c.mparams <= paramsMaxM);
    },
  });
}
