import { MetaD2AException, validationError, type AccuracyNormalisation, type PriorAnchor } from '@metad2a/core';
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
  if (!(sxx > 0))
    throw new MetaD2AException(
      validationError({
        source: 'prior anchor',
        field: 'training records',
        expected: 'tasks with at least two records whose prior scores differ (to fit the weight)',
        got: `${records.length} records over ${byTask.size} tasks`,
      }),
    );
  return { prior, weight: sxy / sxx };
}

/** The anchor on prior score `prior` with its weight fitted to split `split`'s training records (normalised as the split's). */
export function splitAnchor(db: MetaDatabase, split: string, prior: string, resolver: GraphResolver = new GraphResolver()): PriorAnchor {
  return fitAnchorWeight(db.recordsById(db.split(split).train), splitNormalisation(db, split), resolver, prior);
}
