/**
 * Child process of database.test.ts: takes the write lock of a database file (BEGIN IMMEDIATE on
 * a raw connection), prints `locked`, holds it for argv[3] ms, commits and exits.
 */
import Database from 'better-sqlite3';

const raw = new Database(process.argv[2]!);
raw.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\n');
setTimeout(() => {
  raw.exec('COMMIT');
  raw.close();
  process.stdout.write('released\n');
}, Number(process.argv[3]));
