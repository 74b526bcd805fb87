/**
 * Re-anchor a meta-trained model (#18): scale its predictor's prior-anchor weight and refit its
 * accuracy calibration on the validation records of its split, so that the printed `pred.acc` stays
 * calibrated for the new scores. The checkpoints are copied unchanged; model.json gets the new
 * anchor, the new calibration and a provenance entry that says what was done.
 *
 *   npx tsx tools/default-model/rescale-anchor.ts --model packages/default-model/models/nb201 \
 *     --db <training database: the model's db, features and split> --scale 2 --out <dir> \
 *     [--split default-model] [--seed 2026] [--per-class 20] [--batch-size 32] [--why 'the measurement that chose it']
 *
 * `--out` may be `--model` itself (the files are replaced one by one, atomically). With `--scale 1`
 * the refit reproduces the model's own calibration (the same scores, split and draw of images), which
 * is how to check the database is the one the model was meta-trained on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { fail, initBackend, writeFileAtomicSync, type ScoreCalibration } from '@metad2a/core';
import { MetaDatabase, fitSplitCalibration } from '@metad2a/meta-trainer';
import { loadSearchModel } from '@metad2a/search';
import { toolFlags } from './tool-flags';
import '@metad2a/tfjs-kernels'; // registers the native backend

const { arg, required, integer } = toolFlags('rescale-anchor');

export interface RescaleAnchorOptions {
  /** The model directory to re-anchor (read only, unless `out` is the same directory). */
  readonly model: string;
  /** The meta-database the model was meta-trained on: its records, features and `split`. */
  readonly db: string;
  readonly scale: number;
  readonly out: string;
  readonly split?: string;
  readonly seed?: number;
  readonly perClass?: number;
  readonly batchSize?: number;
  /** Why (goes into the provenance). */
  readonly why?: string;
}

/**
 * Scale the predictor's prior-anchor weight and refit the calibration on the split's validation
 * records (a model without a calibration stays without one when the split has too few records to
 * fit; one with a calibration must get a new one). Returns the new manifest's anchor and calibration.
 */
export async function rescaleAnchor(o: RescaleAnchorOptions): Promise<{ anchor: { prior: string; weight: number }; calibration: ScoreCalibration | null }> {
  if (!(o.scale > 0) || !Number.isFinite(o.scale)) fail('ValidationError', { source: 'rescale-anchor', field: 'scale', expected: 'a finite number > 0', got: String(o.scale) });
  const split = o.split ?? 'default-model';
  const seed = o.seed ?? 2026;
  const perClass = o.perClass ?? 20;
  const batchSize = o.batchSize ?? 32;
  const model = await loadSearchModel(o.model);
  const db = MetaDatabase.open(o.db, { readonly: true });
  try {
    const manifestFile = path.join(o.model, 'model.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    const anchor = model.predictor.anchor;
    if (!anchor) fail('ValidationError', { source: manifestFile, field: 'predictor.anchor', expected: 'an anchored predictor (meta-train --anchor)', got: 'none' });
    if (anchor.choices) fail('ValidationError', { source: manifestFile, field: 'predictor.anchor.choices', expected: 'a prior-only anchor', got: 'per-choice weights too' });
    const before = { anchor: { prior: anchor.prior, weight: anchor.weight }, calibration: model.predictor.calibration ?? null };
    const next = { prior: anchor.prior, weight: anchor.weight * o.scale };
    // a loaded predictor is a PredictorModel, whose anchor meta-training sets (the contract reads it only)
    (model.predictor as { anchor?: typeof anchor }).anchor = next;
    const fitted = fitSplitCalibration(db, model.predictor, { split, seed, perClass, batchSize });
    if (E.isLeft(fitted) && before.calibration !== null)
      fail('ValidationError', { source: o.db, field: `split ${split}`, expected: "validation records to refit the model's calibration on", got: fitted.left });
    const calibration = E.isRight(fitted) ? fitted.right : null;
    const { calibration: _old, ...predictor } = manifest.predictor;
    const written = {
      ...manifest,
      predictor: { ...predictor, anchor: next, ...(calibration !== null ? { calibration } : {}) },
      provenance: {
        ...manifest.provenance,
        rescaledAnchor: {
          tool: 'tools/default-model/rescale-anchor.ts',
          scale: o.scale,
          anchorBefore: before.anchor,
          calibrationBefore: before.calibration,
          calibrationRefitOn: { db: o.db, split, seed, perClass, batchSize },
          ...(o.why !== undefined ? { why: o.why } : {}),
        },
      },
    };
    fs.mkdirSync(o.out, { recursive: true });
    if (path.resolve(o.out) !== path.resolve(o.model)) {
      for (const f of fs.readdirSync(o.model)) if (f !== 'model.json') fs.copyFileSync(path.join(o.model, f), path.join(o.out, f));
    }
    writeFileAtomicSync(path.join(o.out, 'model.json'), `${JSON.stringify(written, null, 2)}\n`);
    return { anchor: next, calibration };
  } finally {
    db.close();
    model.dispose();
  }
}

async function main(): Promise<void> {
  await initBackend({ prefer: 'native' });
  const r = await rescaleAnchor({
    model: required('model'),
    db: required('db'),
    scale: Number(required('scale')),
    out: required('out'),
    split: arg('split'),
    seed: integer('seed', 2026),
    perClass: integer('per-class', 20),
    batchSize: integer('batch-size', 32),
    why: arg('why'),
  });
  console.log(JSON.stringify(r, null, 2));
}

if (require.main === module)
  main().catch((e) => {
    console.error((e as Error).message);
    process.exitCode = 1;
  });
