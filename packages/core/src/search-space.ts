import type { Either } from 'fp-ts/lib/Either.js';
import type { MetaD2AError } from './errors';
import type { ArchGraph, GraphConfig } from './graph';
import { Registry } from './registry';
import type { Rng } from './rng';

/**
 * A search space: architectures of type `A`, their graph encoding for the models, and their
 * string form. A search space never imports tfjs; models only ever see its `graphConfig`.
 */
export interface SearchSpace<A> {
  /** Registry name, e.g. `nb201`, `mbv3`. */
  readonly name: string;
  readonly graphConfig: GraphConfig;
  /** Architecture → the graph the models consume. */
  encode(arch: A): ArchGraph;
  /** Graph → architecture; a Left names the rule the graph breaks. */
  decode(graph: ArchGraph): Either<MetaD2AError, A>;
  /** The space's validity rules (a decoded candidate is kept only if valid). */
  isValid(graph: ArchGraph): boolean;
  /** Canonical string form (de-duplication key of candidates). */
  format(arch: A): string;
  /** Strict parser of {@link format}'s output; a Left says where and what was expected. */
  parse(text: string): Either<MetaD2AError, A>;
  /** A uniformly random architecture. */
  sample(rng: Rng): A;
  /** Number of architectures, where finite and known. */
  readonly size?: number;
  /** Every architecture in a fixed order, where the space is small enough. */
  enumerate?(): Iterable<A>;
}

/** Any search space, whatever its architecture type (for registries and generic code). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySearchSpace = SearchSpace<any>;

/** Search spaces by name. `@metad2a/search-spaces` registers `nb201` and `mbv3` on import. */
export const searchSpaces = new Registry<AnySearchSpace>('search space');
