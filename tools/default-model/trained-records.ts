/** A database's trained NB201 records, read once for the research tools beside the default-model build (ranking-ceiling, strong-cells). */
import { fail } from '@metad2a/core';
import { MetaDatabase, resolveDatabase, type MetaRecord } from '@metad2a/meta-trainer';

/** A database's trained NB201 records and each task's source (its data set). */
export interface TrainedDatabase {
  readonly name: string;
  readonly records: readonly MetaRecord[];
  readonly sourceOf: ReadonlyMap<string, string>;
}

/** The trained NB201 records of a database reference (`builtin:…` or a file); errors name the tool and the reference. */
export function readTrainedDatabase(tool: string, ref: string): TrainedDatabase {
  const d = MetaDatabase.open(resolveDatabase(ref, process.env).file, { readonly: true });
  try {
    const records = d.records().filter((r) => r.space === 'nb201' && r.how.startsWith('trained:'));
    if (records.length === 0) fail('ValidationError', { source: tool, field: ref, expected: 'trained NB201 records', got: 'none' });
    return { name: ref, records, sourceOf: new Map(d.tasks().map((t) => [t.name, t.dataset])) };
  } finally {
    d.close();
  }
}
