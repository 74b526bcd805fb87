import * as fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { MetaD2AException, ioError, parseError } from '@metad2a/core';
import type { MetaDatabase, RecordInput, RecordWrite } from '../database/meta-database';

/**
 * RFC 4180 CSV (quoted fields with commas, quotes and line breaks; CRLF or LF) into rows of
 * strings keyed by the header, through csv-parse. The header must hold every `required` column;
 * each row must have as many fields as the header. Errors name the file, line and column.
 */
export function readCsvRows(text: string, source: string, required: readonly string[]): Record<string, string>[] {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (err) {
    const e = err as { message: string; lines?: number };
    throw new MetaD2AException(parseError({ source, field: e.lines !== undefined ? `line ${e.lines}` : 'csv', expected: 'RFC 4180 CSV', got: e.message }));
  }
  if (rows.length === 0) throw new MetaD2AException(parseError({ source, field: 'header', expected: required.join(','), got: 'an empty file' }));
  const header = rows[0]!;
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length)
    throw new MetaD2AException(
      parseError({ source, field: 'header', expected: `the columns ${required.join(', ')}`, got: `missing ${missing.join(', ')} in ${JSON.stringify(header.join(','))}` }),
    );
  return rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!])));
}

/** Columns of {@link recordsCsv}'s export that an import reads (`id`, `created_at`, `split_part` optional). */
export const RECORDS_CSV_REQUIRED = ['task', 'dataset', 'class_ids', 'space', 'arch', 'accuracy', 'metric', 'how'] as const;

export interface RecordsCsvImport {
  readonly tasks: number;
  readonly records: readonly RecordWrite[];
  /** Records that were already in the database (same task, architecture, metric and replicate). */
  readonly alreadyPresent: number;
}

/**
 * Import records from the project's own CSV export (`metad2a db export --format csv`,
 * {@link recordsCsv}) into a database whose datasets exist: tasks are added (or must match the
 * stored ones), records are put idempotently, all in one transaction (nothing is written on error).
 */
export function importRecordsCsv(db: MetaDatabase, file: string): RecordsCsvImport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MetaD2AException(ioError({ source: file, expected: 'a readable CSV file', got: (err as Error).message, cause: err }));
  }
  const rows = readCsvRows(text, file, RECORDS_CSV_REQUIRED);
  const num = (row: Record<string, string>, i: number, col: string, int: boolean): number => {
    const v = Number(row[col]);
    if (row[col] === '' || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
      throw new MetaD2AException(parseError({ source: file, field: `line ${i + 2} ${col}`, expected: int ? 'an integer' : 'a number', got: JSON.stringify(row[col]) }));
    }
    return v;
  };
  const tasks = new Map<string, { dataset: string; classIds: number[] }>();
  const records: RecordInput[] = rows.map((row, i) => {
    const classIds =
      row.class_ids!.trim() === ''
        ? []
        : row
            .class_ids!.trim()
            .split(/\s+/)
            .map((c) => num({ class_ids: c }, i, 'class_ids', true));
    tasks.set(row.task!, { dataset: row.dataset!, classIds });
    return {
      task: row.task!,
      space: row.space!,
      arch: row.arch!,
      accuracy: num(row, i, 'accuracy', false),
      metric: row.metric!,
      how: row.how!,
      ...(row.created_at ? { createdAt: row.created_at } : {}),
      ...(row.replicate !== undefined && row.replicate !== '' ? { replicate: num(row, i, 'replicate', true) } : {}),
    };
  });
  return db.transaction(() => {
    for (const [name, t] of tasks) db.addTask({ name, dataset: t.dataset, classIds: t.classIds });
    const written = db.putRecords(records);
    return { tasks: tasks.size, records: written, alreadyPresent: written.filter((w) => !w.inserted).length };
  });
}
