import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@metad2a/core';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { nb201, nb201Table } from '@metad2a/search-spaces';
import { runCli } from '../src';
import { capture } from './capture';

/** A tiny meta-database at the official feature width (512): 6 classes × 20 rows, 6 tasks × 4 NB201 records, seeded. */
function tinyDb(file: string): void {
  const rng = new Rng(7);
  const db = MetaDatabase.open(file);
  db.addDataset({ name: 'noise', source: 'test', numClasses: 6, featureDim: 512 });
  db.addFeatureSet('noise', {
    name: 'noise',
    dim: 512,
    classes: Array.from({ length: 6 }, (_, c) => ({ label: `c${c}`, count: 20, data: rng.normalArray(20 * 512, c * 0.1, 1) })),
  });
  const ids: number[] = [];
  for (let t = 0; t < 6; t++) {
    db.addTask({ name: `t${t}`, dataset: 'noise', classIds: rng.permutation(6).slice(0, 3) });
    for (let i = 0; i < 4; i++) {
      const cell = nb201.sample(rng);
      ids.push(
        db.addRecord({
          task: `t${t}`,
          space: 'nb201',
          arch: nb201.format(cell),
          accuracy: nb201Table().record(cell).datasets.cifar10.testAccuracy,
          metric: 'top1-test',
          how: 'imported:nb201-table',
        }),
      );
    }
  }
  db.setSplit('s', { train: ids.slice(4), valid: ids.slice(0, 4) });
  db.close();
}

const weightsOf = (dir: string): Buffer[] => ['generator.safetensors', 'predictor.safetensors'].map((f) => fs.readFileSync(path.join(dir, f)));

describe('metad2a meta-train', () => {
  it('SIGINT stops after a step with last.ckpt saved; --resume ends at the bytes of an uninterrupted run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mt-'));
    const db = path.join(dir, 'meta.sqlite');
    tinyDb(db);
    const args = (out: string): string[] => ['meta-train', '--db', db, '--split', 's', '--out', out, '--epochs', '2', '--predictor-hs', '8', '--batch-size', '8'];
    const straight = capture();
    const sc = await runCli(args(path.join(dir, 'straight')), straight.io);
    expect(straight.err()).not.toMatch(/error/);
    expect(sc).toBe(0);

    // SIGINT once the predictor has started (the test's own listeners are set aside, so only the command's runs)
    const others = process.listeners('SIGINT');
    process.removeAllListeners('SIGINT');
    const stopped = capture();
    const poll = setInterval(() => {
      if (stopped.err().includes('predictor: starting') && process.listenerCount('SIGINT') > 0) {
        clearInterval(poll);
        process.emit('SIGINT', 'SIGINT');
      }
    }, 1);
    let code: number;
    try {
      code = await runCli(args(path.join(dir, 'resumed')), stopped.io);
    } finally {
      clearInterval(poll);
      for (const l of others) process.on('SIGINT', l);
    }
    expect(code).toBe(1);
    expect(stopped.err()).toMatch(
      /meta-training: got aborted by the caller's AbortSignal \(SIGINT: last\.ckpt holds the last finished step; the same command with --resume continues\)/,
    );
    expect(fs.existsSync(path.join(dir, 'resumed', 'runs', 'predictor', 'last.ckpt'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'resumed', 'model.json'))).toBe(false);
    expect(process.listenerCount('SIGTERM')).toBe(0);

    const resumed = capture();
    expect(await runCli([...args(path.join(dir, 'resumed')), '--resume'], resumed.io)).toBe(0);
    expect(resumed.err()).toMatch(/predictor: resuming from its last checkpoint/);
    expect(weightsOf(path.join(dir, 'resumed'))).toEqual(weightsOf(path.join(dir, 'straight')));
  });
});
