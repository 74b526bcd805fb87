import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonLinesLog, ProgressBar, type TrainingEvent } from '../src';

describe('progress and logs', () => {
  test('the progress bar shows epoch, batch, loss, lr and an ETA', () => {
    let out = '';
    const stream = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar(stream, 100);
    bar.update({ step: 1, epoch: 1, epochs: 10, batch: 1, batches: 10, loss: 33.25, lr: 1e-4 });
    expect(out).toMatch(/^\repoch 1\/10 \[##\.{18}\] 1\/10 {2}loss 33\.250 {2}lr 1\.0e-4 .* step\/s {2}ETA \S+/);
    bar.line('epoch 1 done');
    expect(out.endsWith('\repoch 1 done\n')).toBe(true);
    // without a stream (not a TTY): silent
    const silent = ProgressBar.forMode('never', 10);
    expect(() => silent.update({ step: 1, epoch: 1, epochs: 1, batch: 1, batches: 1, loss: 1, lr: 1 })).not.toThrow();
  });

  test('JSON-lines log: one parseable object per event, forwarded to the callback', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-log-')), 'run', 'log.jsonl');
    const seen: TrainingEvent[] = [];
    const log = new JsonLinesLog(file, (e) => seen.push(e));
    log.write('start', { epochs: 2 });
    log.write('step', { step: 1, loss: 3.5 });
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrainingEvent);
    expect(lines).toEqual(seen);
    expect(lines.map((l) => [l.event, l.step ?? l.epochs])).toEqual([
      ['start', 2],
      ['step', 1],
    ]);
    expect(Number.isNaN(Date.parse(lines[0]!.time))).toBe(false);
  });
});
