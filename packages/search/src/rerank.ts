import { driveSteps, fail, zeroCostProxies, type ImageBatch, type StepControl, type Steps, type ZeroCostProxyOptions } from '@metad2a/core';

/** Progress of the re-ranking stage: `done` of `total` candidates scored by the proxy. */
export interface RerankProgress {
  readonly stage: 'rerank';
  readonly done: number;
  readonly total: number;
}

export interface RerankOptions extends ZeroCostProxyOptions, StepControl<RerankProgress> {
  /** A zero-cost proxy by registry name (`naswot`, `synflow`: import `@metad2a/proxies` to register them). */
  readonly proxy: string;
  /** A minibatch of the target data set's images, preprocessed for the space's networks. */
  readonly batch: ImageBatch;
  /** How many of the ranking's best are re-ranked (the rest keep their order after them). */
  readonly top: number;
  /** Weight of the proxy's rank in the combined rank, in [0, 1] (0: the predictor's order; 1: the proxy's). */
  readonly weight: number;
}

export interface Reranked<T> {
  /** The candidates, re-ranked ones first; each with its proxy score where it was scored. */
  readonly ranking: readonly (T & { readonly rank: number; readonly proxyScore?: number })[];
  /** Wall seconds of the proxy (all scored candidates). */
  readonly proxySeconds: number;
}

/**
 * The optional re-ranking stage of the search: score the first `top` candidates of a ranking with
 * a zero-cost proxy on a minibatch of the target data set, and order them by the combined rank
 * (1 − weight)·(predictor rank) + weight·(proxy rank) (ranks 1..top; ties keep the predictor's
 * order). Ranks, not scores, are combined: the two scales are unrelated. Hands the event loop
 * back after each candidate (`onProgress`, `signal`).
 */
export function rerankCandidates<T extends { readonly arch: string; readonly rank: number }>(ranking: readonly T[], opts: RerankOptions): Promise<Reranked<T>> {
  return driveSteps(rerankSteps(ranking, opts), 'rerank', opts);
}

function* rerankSteps<T extends { readonly arch: string; readonly rank: number }>(ranking: readonly T[], opts: RerankOptions): Steps<RerankProgress, Reranked<T>> {
  const top = Math.min(opts.top, ranking.length);
  if (!Number.isInteger(opts.top) || opts.top < 1) fail('ValidationError', { source: 'rerank', field: 'top', expected: 'a positive integer', got: String(opts.top) });
  if (!(opts.weight >= 0 && opts.weight <= 1)) fail('ValidationError', { source: 'rerank', field: 'weight', expected: 'a number in [0, 1]', got: String(opts.weight) });
  const proxy = zeroCostProxies.get(opts.proxy);
  const head = ranking.slice(0, top);
  const scores: number[] = [];
  let proxySeconds = 0;
  for (const c of head) {
    const t0 = performance.now();
    scores.push(proxy.score(c.arch, opts.batch, opts));
    proxySeconds += (performance.now() - t0) / 1000;
    yield { stage: 'rerank', done: scores.length, total: top };
  }
  // proxy rank: 1 = highest score (NaN and −∞ last), ties by predictor order
  const s = scores.map((x) => (Number.isNaN(x) ? -Infinity : x));
  const byProxy = head.map((_, i) => i).sort((i, j) => s[j]! - s[i]! || i - j);
  const proxyRank = new Array<number>(top);
  byProxy.forEach((i, r) => (proxyRank[i] = r + 1));
  const combined = head.map((_, i) => (1 - opts.weight) * (i + 1) + opts.weight * proxyRank[i]!);
  const order = head.map((_, i) => i).sort((i, j) => combined[i]! - combined[j]! || i - j);
  const reranked = [...order.map((i) => ({ ...head[i]!, proxyScore: scores[i]! })), ...ranking.slice(top)].map((c, k) => ({ ...c, rank: k + 1 }));
  return { ranking: reranked, proxySeconds };
}
