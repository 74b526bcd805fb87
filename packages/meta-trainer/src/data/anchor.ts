import { MetaD2AException, ridgeSolve, validationError, type AccuracyNormalisation, type PriorAnchor } from '@metad2a/core';
import type { MetaDatabase, MetaRecord } from '../database/meta-database';
import { splitNormalisation } from './normalisation';
import { GraphResolver } from './pipeline';

/** The space's prior score of a record's architecture (the space must have a prior score with id `prior`). */
export function recordPriorScore(resolver: GraphResolver, record: MetaRecord, prior: string): number {
  const space = resolver.space(record.space);
  if (space.prior?.id !== prior)
    throw new MetaD2AException(
      validationError({
        source: 'prior anchor',
        field: `records of space ${record.space}`,
        expected: `a space with the prior score '${prior}'`,
        got: space.prior ? `'${space.prior.id}'` : 'a space without a prior score',
      }),
    );
  return space.prior.score(resolver.architecture(record.space, record.arch));
}

/** Training records from which no anchor can be fitted. */
function uninformative(expected: string, records: number, tasks: number): MetaD2AException {
  return new MetaD2AException(validationError({ source: 'prior anchor', field: 'training records', expected, got: `${records} records over ${tasks} tasks` }));
}

/**
 * The anchor's weight fitted to training records: the within-task least-squares slope of the
 * standardised accuracy ((acc − μ)/σ) on the prior score (each task's means removed, so how hard a
 * task is does not enter; tasks with one record carry no information). The network then learns
 * what the data set changes about the ranking, and what a task's difficulty is.
 */
export function fitAnchorWeight(records: readonly MetaRecord[], normalisation: AccuracyNormalisation, resolver: GraphResolver, prior: string): PriorAnchor {
  const byTask = new Map<number, { z: number; p: number }[]>();
  for (const r of records) {
    const l = byTask.get(r.taskId) ?? [];
    l.push({ z: (r.accuracy - normalisation.mean) / normalisation.std, p: recordPriorScore(resolver, r, prior) });
    byTask.set(r.taskId, l);
  }
  let sxy = 0;
  let sxx = 0;
  for (const l of byTask.values()) {
    if (l.length < 2) continue;
    const mz = l.reduce((a, x) => a + x.z, 0) / l.length;
    const mp = l.reduce((a, x) => a + x.p, 0) / l.length;
    for (const x of l) {
      sxy += (x.p - mp) * (x.z - mz);
      sxx += (x.p - mp) ** 2;
    }
  }
  if (!(sxx > 0)) throw uninformative('tasks with at least two records whose prior scores differ (to fit the weight)', records.length, byTask.size);
  return { prior, weight: sxy / sxx };
}

/** Ridge penalty of {@link fitChoiceAnchor} (on within-task standardised targets; 31 coefficients for NB201). */
export const CHOICE_ANCHOR_RIDGE = 10;

/**
 * The anchor on the prior score plus a learnt value of each of the space's choices (core
 * `PriorAnchor.choices`), fitted to training records in two steps. Direction: ridge regression
 * ({@link CHOICE_ANCHOR_RIDGE}) of each task's standardised accuracies ((acc − task mean) / task
 * sd) on the within-task centred prior score and choice indicators, so that every task counts
 * alike whatever its spread. Scale: the within-task least-squares slope of the split-normalised
 * accuracy on that direction (as {@link fitAnchorWeight}), so the term is in the units the network's
 * targets are. Tasks with fewer than two records or equal accuracies carry no information.
 * Measured on the default model's split (session 13): on the 10 held-out dev tasks' random cells the
 * term alone ranks with Spearman 0.64 against the prior score's 0.58.
 */
export function fitChoiceAnchor(records: readonly MetaRecord[], normalisation: AccuracyNormalisation, resolver: GraphResolver, prior: string): PriorAnchor {
  const byTask = new Map<number, { z: number; f: Float64Array }[]>();
  let choicesId: string | undefined;
  for (const r of records) {
    const space = resolver.space(r.space);
    if (!space.choices)
      throw new MetaD2AException(
        validationError({
          source: 'prior anchor',
          field: `records of space ${r.space}`,
          expected: 'a space with choice indicators (SearchSpace.choices)',
          got: 'a space without them',
        }),
      );
    choicesId ??= space.choices.id;
    if (space.choices.id !== choicesId)
      throw new MetaD2AException(
        validationError({
          source: 'prior anchor',
          field: `records of space ${r.space}`,
          expected: `the choice encoding '${choicesId}' of the other records`,
          got: `'${space.choices.id}'`,
        }),
      );
    const x = space.choices.indicators(resolver.architecture(r.space, r.arch));
    const f = new Float64Array(1 + x.length);
    f[0] = recordPriorScore(resolver, r, prior);
    f.set(x, 1);
    const l = byTask.get(r.taskId) ?? [];
    l.push({ z: (r.accuracy - normalisation.mean) / normalisation.std, f });
    byTask.set(r.taskId, l);
  }
  const n = byTask.size > 0 ? [...byTask.values()][0]![0]!.f.length : 0;
  const ata = new Float64Array(n * n);
  const atb = new Float64Array(n);
  // each informative task's rows, centred (features and targets) within the task
  const centred: { z: number; f: Float64Array }[][] = [];
  for (const l of byTask.values()) {
    if (l.length < 2) continue;
    const mz = l.reduce((a, x) => a + x.z, 0) / l.length;
    const sd = Math.sqrt(l.reduce((a, x) => a + (x.z - mz) ** 2, 0) / l.length);
    if (!(sd > 0)) continue;
    const mf = new Float64Array(n);
    for (const x of l) for (let j = 0; j < n; j++) mf[j]! += x.f[j]! / l.length;
    const rows = l.map((x) => ({ z: x.z - mz, f: x.f.map((v, j) => v - mf[j]!) }));
    centred.push(rows);
    for (const { z, f } of rows)
      for (let i = 0; i < n; i++) {
        atb[i]! += (f[i]! * z) / sd;
        for (let j = 0; j < n; j++) ata[i * n + j]! += f[i]! * f[j]!;
      }
  }
  if (centred.length === 0) throw uninformative('tasks with at least two records whose accuracies differ (to fit the anchor)', records.length, byTask.size);
  const w = ridgeSolve(ata, atb, n, CHOICE_ANCHOR_RIDGE);
  let sxy = 0;
  let sxx = 0;
  for (const rows of centred)
    for (const { z, f } of rows) {
      let u = 0;
      for (let j = 0; j < n; j++) u += w[j]! * f[j]!;
      sxy += u * z;
      sxx += u * u;
    }
  const scale = sxx > 0 ? sxy / sxx : 0;
  return { prior, weight: scale * w[0]!, choices: { id: choicesId!, weights: Array.from(w.subarray(1), (v) => scale * v) } };
}

/** How an anchor is fitted: the prior score alone ({@link fitAnchorWeight}) or with the space's choices ({@link fitChoiceAnchor}). */
export type AnchorKind = 'prior' | 'prior+choices';

/** The anchor on prior score `prior` (`kind` prior+choices: and the space's choices) fitted to split `split`'s training records (normalised as the split's). */
export function splitAnchor(db: MetaDatabase, split: string, prior: string, resolver: GraphResolver = new GraphResolver(), kind: AnchorKind = 'prior'): PriorAnchor {
  const fit = kind === 'prior' ? fitAnchorWeight : fitChoiceAnchor;
  return fit(db.recordsById(db.split(split).train), splitNormalisation(db, split), resolver, prior);
}
