import * as E from 'fp-ts/lib/Either.js';
import { match, P } from 'ts-pattern';
import { fail, type AnySearchSpace, type ArchGraph, type SearchSpace } from '@metad2a/core';
import { mbv3AccuracyOracle, mbv3Cost, mbv3FeasibleBound, nb201Cost, nb201FeasibleCount, nb201Table, type FeasibleCount, type Mbv3Config, type Nb201Cell } from '@metad2a/search-spaces';

/** Size of a candidate network, in the units the paper reports. */
export interface CandidateCost {
  /** Millions of multiply-accumulates (NB201 and OFA both call these "FLOPs"). */
  readonly mflops: number;
  /** Millions of parameters. */
  readonly mparams: number;
}

/** Benchmark facts about a candidate, where the space has them (NB201 table; MBv3 oracle). */
export type CandidateFacts =
  | {
      readonly kind: 'nb201';
      readonly index: number;
      /** 200-epoch test accuracies (%) of the NB201 benchmark table. */
      readonly cifar10: number;
      readonly cifar100: number;
      readonly imagenet16_120: number;
    }
  | { readonly kind: 'mbv3'; /** OFA accuracy predictor's ImageNet top-1 estimate (%) at 224 px. */ readonly oracleTop1: number }
  | { readonly kind: 'none' };

export interface SpaceDescriber {
  /** Whether {@link cost} knows FLOPs/params for this space (constraints need it). */
  readonly hasCost: boolean;
  cost(arch: unknown, classes: number): CandidateCost | undefined;
  facts(arch: unknown): CandidateFacts;
  /** The graph the predictor scores: NB201 scores the canonical encoding, MBv3 the decoded graph (spec §8 item 17). */
  scoredGraph(arch: unknown, decoded: ArchGraph): ArchGraph;
  /** How many distinct architectures satisfy the constraints (exact or an upper bound), where the space knows. */
  feasible(constraints: Constraints, classes: number): FeasibleCount | undefined;
}

/** What the search reports and constrains for each space (closed over the spaces we know). */
export function describerFor(space: AnySearchSpace): SpaceDescriber {
  return match(space.name)
    .with('nb201', (): SpaceDescriber => {
      const table = nb201Table();
      return {
        hasCost: true,
        cost: (arch, classes) => {
          const c = nb201Cost(arch as Nb201Cell, { classes });
          return { mflops: c.macs / 1e6, mparams: c.params / 1e6 };
        },
        facts: (arch) => {
          const r = table.record(arch as Nb201Cell);
          return { kind: 'nb201', index: r.index, cifar10: r.datasets.cifar10.testAccuracy, cifar100: r.datasets.cifar100.testAccuracy, imagenet16_120: r.datasets['imagenet16-120'].testAccuracy };
        },
        scoredGraph: (arch) => space.encode(arch),
        feasible: (c, classes) => nb201FeasibleCount({ maxMflops: c.flopsMaxM, maxMparams: c.paramsMaxM, classes }),
      };
    })
    .with('mbv3', (): SpaceDescriber => {
      const oracle = mbv3AccuracyOracle();
      return {
        hasCost: true,
        cost: (arch) => {
          const c = mbv3Cost(arch as Mbv3Config);
          return { mflops: c.mflops, mparams: c.params / 1e6 };
        },
        facts: (arch) => ({ kind: 'mbv3', oracleTop1: 100 * oracle.predict(arch as Mbv3Config) }),
        scoredGraph: (_arch, decoded) => decoded,
        feasible: (c) => mbv3FeasibleBound({ maxMflops: c.flopsMaxM, maxMparams: c.paramsMaxM }),
      };
    })
    .with(P.string, (): SpaceDescriber => ({ hasCost: false, cost: () => undefined, facts: () => ({ kind: 'none' }), scoredGraph: (arch) => space.encode(arch), feasible: () => undefined }))
    .exhaustive();
}

export interface Constraints {
  /** Keep candidates with at most this many MFLOPs. */
  readonly flopsMaxM?: number;
  /** Keep candidates with at most this many million parameters. */
  readonly paramsMaxM?: number;
}

/**
 * The space seen through a constraint: the same space, whose `isValid` also requires the decoded
 * architecture to satisfy the constraints. Generating from it yields N candidates that all fit.
 */
export function constrainedSpace<A>(space: SearchSpace<A>, describer: SpaceDescriber, constraints: Constraints, classes: number): SearchSpace<A> {
  if (constraints.flopsMaxM === undefined && constraints.paramsMaxM === undefined) return space;
  if (!describer.hasCost) {
    fail('Unsupported', { source: `search space ${space.name}`, field: 'constraints', expected: 'a space with a FLOPs/params model (nb201, mbv3)', got: '--flops-max/--params-max on a space without one' });
  }
  const fits = (arch: A): boolean => {
    const c = describer.cost(arch, classes)!;
    return (constraints.flopsMaxM === undefined || c.mflops <= constraints.flopsMaxM) && (constraints.paramsMaxM === undefined || c.mparams <= constraints.paramsMaxM);
  };
  return {
    name: space.name,
    graphConfig: space.graphConfig,
    encode: (a) => space.encode(a),
    decode: (g) => space.decode(g),
    format: (a) => space.format(a),
    parse: (t) => space.parse(t),
    sample: (r) => space.sample(r),
    isValid: (g) => {
      if (!space.isValid(g)) return false;
      const a = space.decode(g);
      return E.isRight(a) && fits(a.right);
    },
  };
}

/** "≤ 0.5 MFLOPs, ≤ 1 M params" (empty without constraints). */
export function describeConstraints(c: Constraints): string {
  return [c.flopsMaxM !== undefined ? `≤ ${c.flopsMaxM} MFLOPs` : '', c.paramsMaxM !== undefined ? `≤ ${c.paramsMaxM} M params` : ''].filter((x) => x !== '').join(', ');
}

/**
 * Fail at once when fewer than `candidates` distinct architectures can satisfy the constraints
 * (rather than decoding for hours): the message gives the achievable number.
 */
export function checkFeasible(spaceName: string, describer: SpaceDescriber, constraints: Constraints, classes: number, candidates: number): void {
  const f = describer.feasible(constraints, classes);
  if (f === undefined || f.count >= BigInt(candidates)) return;
  const limits = describeConstraints(constraints);
  const cheapest = f.count === 0n && limits !== '' ? `; the cheapest has ${f.minMflops.toFixed(2)} MFLOPs and ${f.minMparams.toFixed(3)} M params` : '';
  fail('ValidationError', {
    source: 'search',
    field: 'candidates',
    expected: `at most ${f.count} (${f.exact ? 'exactly' : 'at most'} ${f.count} distinct ${spaceName} architectures${limits !== '' ? ` satisfy ${limits}` : ' exist'}${cheapest})`,
    got: String(candidates),
  });
}
