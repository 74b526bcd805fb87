import * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, parseError } from '@metad2a/core';
import { nb201 } from '@metad2a/search-spaces';
import { readPredictorMetaDatabase } from '@metad2a/torch-io';
import type { MetaDatabase } from '../database/meta-database';
import { importOfficialNb201Rows, type OfficialImportReport, type OfficialRow } from './nb201-official';

/**
 * Import the official NB201 predictor database straight from the authors' `.pt` files
 * (`meta_train_tasks_predictor.pt`, `meta_train_tasks_predictor_idx.pt`,
 * `meta_train_task_lst.pt`, each plain or `.gz`, in `dir`), read with `@metad2a/torch-io`'s safe
 * unpickler. Gives the same database as {@link importOfficialNb201PredictorDb} (same names,
 * records, split). Architecture strings come from the file's `str` entries, or, where a file has
 * none, from its igraph graphs decoded in the `nb201` space. `nb201Index` is not in the `.pt`
 * files and is left out of the records' `extra`.
 */
export function importOfficialNb201PredictorPt(db: MetaDatabase, dir: string, opts: { importedAt?: string } = {}): OfficialImportReport {
  const parsed = readPredictorMetaDatabase(dir, { validCount: 400 });
  if (E.isLeft(parsed)) throw new MetaD2AException(parsed.left);
  const pdb = parsed.right;
  const rows: OfficialRow[] = pdb.records.map((r) => {
    let arch = r.arch;
    if (arch === undefined) {
      const cell = nb201.decode(r.graph);
      if (E.isLeft(cell)) throw new MetaD2AException(parseError({ source: dir, field: `record ${r.index} graph`, expected: 'a valid NB201 graph', got: cell.left.message }));
      arch = nb201.format(cell.right);
    }
    return {
      row: r.index,
      task: r.task,
      arch,
      acc: r.accuracy,
      ...(r.flops !== undefined ? { flopsNorm: r.flops } : {}),
      ...(r.params !== undefined ? { paramsNorm: r.params } : {}),
      ...(r.latency !== undefined ? { latencyNorm: r.latency } : {}),
    };
  });
  return importOfficialNb201Rows(db, rows, pdb.tasks, pdb.permutation, {
    source: dir,
    importedAt: opts.importedAt,
    how: 'imported:MetaD2A meta_train_tasks_predictor.pt (DiffusionNAG copy, read with @metad2a/torch-io)',
  });
}
