/**
 * Child process of database.test.ts: one of several writers racing on one file. Each writes the
 * same 40 tasks' records (arch `a<k>`, k = 0..4), one transaction per record, in an order of its
 * own (argv[3] = a rotation), re-checking `hasRecord` first as a database builder does. Prints
 * `inserted <n> existing <m>` at the end.
 */
import { MetaDatabase } from '../../src/database/meta-database';

const file = process.argv[2]!;
const rotate = Number(process.argv[3] ?? 0);
const db = MetaDatabase.open(file);
db.addDataset({ name: 'toy', source: 'test', numClasses: 10 });
const tasks = Array.from({ length: 40 }, (_, t) => ({ name: `toy/t${t}`, dataset: 'toy', classIds: [t % 10, (t + 1) % 10] }));
db.addTasks(tasks);
const pairs = tasks.flatMap((t) => Array.from({ length: 5 }, (_, k) => ({ task: t.name, arch: `a${k}` })));
const order = [...pairs.slice(rotate), ...pairs.slice(0, rotate)];
let inserted = 0;
let existing = 0;
for (const p of order) {
  if (db.hasRecord({ task: p.task, space: 'toy-space', arch: p.arch, metric: 'top1' })) {
    existing++;
    continue;
  }
  const [w] = db.putRecords([{ task: p.task, space: 'toy-space', arch: p.arch, accuracy: p.arch.length + Number(p.task.slice(5)), metric: 'top1', how: `test:writer-${rotate}` }]);
  if (w!.inserted) inserted++;
  else existing++;
}
db.close();
process.stdout.write(`inserted ${inserted} existing ${existing}\n`);
