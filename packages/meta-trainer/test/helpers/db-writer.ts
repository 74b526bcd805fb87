/**
 * Child process of database.test.ts: writes batches of 10 records, one transaction each, and
 * prints `committed <n>` after each commit, until it is killed (or has written 2,000 batches).
 */
import { MetaDatabase } from '../../src/database/meta-database';

const file = process.argv[2]!;
const db = MetaDatabase.open(file);
db.addDataset({ name: 'toy', source: 'test', numClasses: 10 });
db.addTask({ name: 'toy/t0', dataset: 'toy', classIds: [0, 1, 2] });
// bounded, in case the parent dies before killing it
for (let n = 1; n <= 2000; n++) {
  db.addRecords(
    Array.from({ length: 10 }, (_, i) => ({
      task: 'toy/t0',
      space: 'toy-space',
      arch: `arch-${n}-${i}`,
      accuracy: n + i / 10,
      metric: 'top1',
      how: 'test:db-writer',
      extra: { batch: n, item: i, padding: 'x'.repeat(200) },
    })),
  );
  process.stdout.write(`committed ${n}\n`);
}
