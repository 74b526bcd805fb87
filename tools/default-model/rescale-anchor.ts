/**
 * Re-anchor a meta-trained model (#18): scale its predictor's prior-anchor weight and refit its
 * accuracy calibration on the validation records of its split, so that the printed `pred.acc` stays
 * calibrated for the new scores. The checkpoints are copied unchanged; model.json gets the new
 * anchor, the new calibration and a provenance entry that says what was done.
 *
 *   npx tsx tools/default-model/rescale-anchor.ts --model packages/default-model/models/nb201 \
 *     --db <training database: the model's db, features and split> --scale 2 --out <dir> \
 *     [--split default-model] [--seed 2026] [--per-class 20] [--why 'the measurement that chose it']
 *
 * `--out` may be `--model` itself (the files are replaced one by one, atomically). With `--scale 1`
 * the refit reproduces the model's own calibration (the same scores, split and draw of images), which
 * is how to check the database is the one the model was meta-trained on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { fail, initBackend, writeFileAtomicSync } from '@metad2a/core';
import { MetaDatabase, fitSplitCalibration } from '@metad2a/meta-trainer';
import { loadSearchModel } from '@metad2a/search';
import '@metad2a/tfjs-kernels'; // registers the native backend

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function required(name: string): string {
  const v = arg(name);
  if (v === undefined) fail('ValidationError', { source: 'rescale-anchor', field: `--${name}`, expected: 'a value', got: 'nothing' });
  return v;
}
function integer(name: string, dflt: number): number {
  const v = Number(arg(name) ?? dflt);
  if (!Number.isSafeInteger(v) || v < 0) fail('ValidationError', { source: 'rescale-anchor', field: `--${name}`, expected: 'an integer ≥ 0', got: String(arg(name)) });
  return v;
}

async function main(): Promise<void> {
  const modelDir = required('model');
  const dbFile = required('db');
  const out = required('out');
  const scale = Number(required('scale'));
  if (!(scale > 0) || !Number.isFinite(scale)) fail('ValidationError', { source: 'rescale-anchor', field: '--scale', expected: 'a finite number > 0', got: String(arg('scale')) });
  const split = arg('split') ?? 'default-model';
  const seed = integer('seed', 2026);
  const perClass = integer('per-class', 20);
  await initBackend({ prefer: 'native' });
  const model = await loadSearchModel(modelDir);
  const db = MetaDatabase.open(dbFile, { readonly: true });
  try {
    const manifestFile = path.join(modelDir, 'model.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    const anchor = model.predictor.anchor;
    if (!anchor) fail('ValidationError', { source: manifestFile, field: 'predictor.anchor', expected: 'an anchored predictor (meta-train --anchor)', got: 'none' });
    if (anchor.choices) fail('ValidationError', { source: manifestFile, field: 'predictor.anchor.choices', expected: 'a prior-only anchor', got: 'per-choice weights too' });
    const before = { anchor: { ...anchor }, calibration: model.predictor.calibration };
    // a loaded predictor is a PredictorModel, whose anchor meta-training sets (the contract reads it only)
    (model.predictor as { anchor?: typeof anchor }).anchor = { prior: anchor.prior, weight: anchor.weight * scale };
    const fitted = fitSplitCalibration(db, model.predictor, { split, seed, perClass });
    if (E.isLeft(fitted)) fail('ValidationError', { source: dbFile, field: `split ${split}`, expected: 'validation records to fit the calibration on', got: fitted.left });
    const calibration = fitted.right;
    const next = {
      ...manifest,
      predictor: { ...manifest.predictor, anchor: model.predictor.anchor, calibration },
      provenance: {
        ...manifest.provenance,
        rescaledAnchor: {
          tool: 'tools/default-model/rescale-anchor.ts',
          scale,
          anchorBefore: before.anchor,
          calibrationBefore: before.calibration ?? null,
          calibrationRefitOn: { db: dbFile, split, seed, perClass },
          ...(arg('why') !== undefined ? { why: arg('why') } : {}),
          at: new Date().toISOString(),
        },
      },
    };
    fs.mkdirSync(out, { recursive: true });
    if (path.resolve(out) !== path.resolve(modelDir))
      for (const f of fs.readdirSync(modelDir)) if (f !== 'model.json') fs.copyFileSync(path.join(modelDir, f), path.join(out, f));
    writeFileAtomicSync(path.join(out, 'model.json'), `${JSON.stringify(next, null, 2)}\n`);
    console.log(JSON.stringify({ anchor: next.predictor.anchor, calibration, before }, null, 2));
  } finally {
    db.close();
    model.dispose();
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
