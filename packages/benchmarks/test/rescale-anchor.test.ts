import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@metad2a/core';
import { MetaDatabase, addDatabaseFeatures, importExportDir, makeTaskSplit } from '@metad2a/meta-trainer';
import { rescaleAnchor } from '../../../tools/default-model/rescale-anchor';

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
});

// the shipped NB201 model's meta-training database, as tools/default-model/build.ts makes it:
// the committed export of nb201-v1, random-conv features of the first 20 images per class, split default-model
describe('tools/default-model/rescale-anchor.ts on the shipped NB201 model', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-rescale-'));
  const dbFile = path.join(dir, 'db.sqlite');
  const shipped = path.resolve(__dirname, '../../default-model/models/nb201');
  const manifest = JSON.parse(fs.readFileSync(path.join(shipped, 'model.json'), 'utf8'));
  beforeAll(async () => {
    const db = MetaDatabase.open(dbFile);
    try {
      importExportDir(path.join(__dirname, '../../meta-trainer/data/nb201-measured'), db);
      await addDatabaseFeatures(db, { extractor: 'random-conv', perClass: 20 });
      makeTaskSplit(db, { name: 'default-model', metric: 'top1-test@nb201-db', space: 'nb201', validShare: 0.15, seed: 2026 });
    } finally {
      db.close();
    }
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scale 1 refits exactly the calibration the model shipped with (same database, split and draw)', async () => {
    const r = await rescaleAnchor({ model: shipped, db: dbFile, scale: 1, out: path.join(dir, 'x1') });
    expect(r.anchor).toEqual(manifest.predictor.anchor);
    expect(r.calibration).toEqual(manifest.predictor.calibration);
  }, 120_000);

  it('scale 2 doubles the anchor weight, refits the calibration, copies the checkpoints and says so in the provenance', async () => {
    const out = path.join(dir, 'x2');
    const r = await rescaleAnchor({ model: shipped, db: dbFile, scale: 2, out, why: 'test' });
    expect(r.anchor).toEqual({ prior: manifest.predictor.anchor.prior, weight: 2 * manifest.predictor.anchor.weight });
    expect(r.calibration!.fittedOn).toBe(manifest.predictor.calibration.fittedOn);
    expect(r.calibration!.slope).toBeGreaterThan(0);
    expect(r.calibration!.slope).not.toBeCloseTo(manifest.predictor.calibration.slope, 3);
    const written = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    expect(written.predictor.anchor).toEqual(r.anchor);
    expect(written.predictor.calibration).toEqual(r.calibration);
    expect(written.provenance.rescaledAnchor).toMatchObject({ scale: 2, anchorBefore: manifest.predictor.anchor, calibrationBefore: manifest.predictor.calibration, why: 'test' });
    for (const f of ['generator.safetensors', 'predictor.safetensors']) expect(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(shipped, f)))).toBe(true);
    await expect(rescaleAnchor({ model: shipped, db: dbFile, scale: 0, out })).rejects.toThrow('rescale-anchor: scale: expected a finite number > 0, got 0');
  }, 120_000);
});
