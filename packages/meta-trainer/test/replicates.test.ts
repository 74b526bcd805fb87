import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, loadCheckpointSync, unwrap } from '@metad2a/core';
import * as E from 'fp-ts/lib/Either.js';
import { loadSearchModel } from '@metad2a/search';
import {
  MetaDatabase,
  fitSplitCalibration,
  meanOfReplicates,
  metaTrainSearchModel,
  normaliseAccuracy,
  splitNormalisation,
  splitParts,
  trainingItems,
  type MetaRecord,
} from '../src';
import { fillNoiseDb } from './helpers/noise-db';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

/** The noise database with a second and third training of every record (accuracy +6 and +9 points), all in split `s`. */
function replicatedDb(tasksPerDataset: number, valid: number): MetaDatabase {
  const db = MetaDatabase.inMemory();
  fillNoiseDb(db, [{ name: 'a' }, { name: 'b' }], tasksPerDataset, valid);
  const s = db.split('s');
  const again = (ids: readonly number[]) =>
    ids.flatMap((id) => {
      const r = db.recordsById([id])[0]!;
      return [
        id,
        ...[1, 2].map((replicate) =>
          db.addRecord({ task: r.task, space: r.space, arch: r.arch, accuracy: r.accuracy + 3 * (replicate + 1), metric: r.metric, replicate, how: 'test' }),
        ),
      ];
    });
  db.setSplit('s', { train: again(s.train), valid: again(s.valid) });
  return db;
}

describe("meta-training on a (task, cell)'s several trainings (replicates)", () => {
  it('meanOfReplicates: one record per (task, architecture, metric), the first one with the mean accuracy', () => {
    const rec = (id: number, taskId: number, archId: number, accuracy: number, replicate: number, metric = 'm'): MetaRecord => ({
      id,
      taskId,
      task: `t${taskId}`,
      archId,
      space: 'nb201',
      arch: `a${archId}`,
      accuracy,
      metric,
      replicate,
      how: 'test',
      createdAt: '',
    });
    const lone = rec(5, 2, 1, 50, 0);
    const out = meanOfReplicates([rec(1, 1, 1, 90, 0), lone, rec(2, 1, 1, 80, 1), rec(3, 1, 2, 70, 0), rec(4, 1, 1, 85, 2), rec(6, 1, 1, 10, 0, 'other')]);
    expect(out.map((r) => [r.id, r.accuracy])).toEqual([
      [1, 85],
      [5, 50],
      [3, 70],
      [6, 10],
    ]);
    expect(out[1]).toBe(lone);
  });

  it("splitParts 'mean' makes one item per pair whose target is the normalised mean; 'each' (default) one per training", () => {
    const db = replicatedDb(3, 4);
    const normalisation = splitNormalisation(db, 's');
    const each = splitParts(db, 's');
    const mean = splitParts(db, 's', 'mean');
    expect([each.train.length, each.valid.length]).toEqual([3 * 20, 3 * 4]);
    expect([mean.train.length, mean.valid.length]).toEqual([20, 4]);
    const items = trainingItems(db, mean.train, { normalisation });
    items.forEach((it) => {
      const trainings = each.train.filter((r) => r.taskId === it.record.taskId && r.archId === it.record.archId);
      expect(trainings.map((r) => r.replicate).sort()).toEqual([0, 1, 2]);
      const first = trainings.find((r) => r.replicate === 0)!;
      expect(it.record.id).toBe(first.id);
      expect(it.target).toBeCloseTo(normaliseAccuracy(first.accuracy + 5, normalisation), 12);
    });
    db.close();
  });

  it("a model meta-trained with replicates 'mean' says so in its run and model.json, and is calibrated on the validation pairs' means", async () => {
    const db = replicatedDb(4, 24);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-replicates-'));
    // anchor: scores that rise with accuracy after one epoch, a calibration to compare
    const run = { out, space: 'nb201', split: 's', predictorEpochs: 1, generatorEpochs: 1, predictorHs: 8, seed: 1, anchor: true } as const;
    const r = await metaTrainSearchModel(db, { ...run, options: { batchSize: 8, replicates: 'mean' } });
    for (const run of ['predictor', 'generator']) expect(unwrap(loadCheckpointSync(path.join(out, 'runs', run, 'last.ckpt'))).meta.replicates).toBe('mean');
    const log = fs.readFileSync(path.join(out, 'runs', 'predictor', 'log.jsonl'), 'utf8');
    // 2 data sets × 4 tasks × 4 cells, the first 24 validating: 8 training pairs (24 trainings) and 24 validation pairs
    expect(JSON.parse(log.split('\n')[0]!)).toMatchObject({ event: 'start', train: 8, valid: 24 });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).provenance.metaTrained.replicates).toBe('mean');
    const model = await loadSearchModel(out);
    const mean = fitSplitCalibration(db, model.predictor, { split: 's', seed: 1, replicates: 'mean' });
    const each = fitSplitCalibration(db, model.predictor, { split: 's', seed: 1 });
    model.dispose();
    expect([mean, each].map((c) => (E.isLeft(c) ? c.left : 'fitted'))).toEqual(['fitted', 'fitted']);
    expect(r.manifest.predictor.calibration).toEqual(E.isRight(mean) ? mean.right : undefined);
    expect(r.manifest.predictor.calibration).not.toEqual(E.isRight(each) ? each.right : undefined);
    // resuming the run with each training an item would change its targets under it: refused, naming both
    await expect(metaTrainSearchModel(db, { ...run, resume: true, options: { batchSize: 8 } })).rejects.toThrow(
      'meta.replicates: expected each (the replicate use asked for), got mean (the run was trained with it: resume with it, or start a new run)',
    );
    db.close();
  }, 120_000);
});
