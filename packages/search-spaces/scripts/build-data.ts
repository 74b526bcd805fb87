/**
 * Rebuilds the compact data files in `packages/search-spaces/data/` from the source files
 * described in `data/SOURCE.md`. Not needed at run time: the outputs are committed.
 *
 *   npx tsx packages/search-spaces/scripts/build-data.ts <folder holding nb201/, nb201-latency/, ofa-mbv3/ (the raw data snapshot)>
 *
 * Outputs (gzip of the packed-arrays container of src/packed-arrays.ts):
 *   nb201-200ep.bin.gz        15,625 rows: ops code, seeds, 6 accuracies, params, FLOPs, train time
 *   nb201-latency.bin.gz      15,625 rows × 27 HELP latency columns (float32, ms)
 *   ofa-acc-predictor.bin.gz  OFA accuracy-predictor MLP weights (float32, PyTorch layout)
 *   ofa-latency.bin.gz        HELP's 5,000 OFA configs (ks, e, d, r) × 12 measured GPU latency columns (float32, ms)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { unwrap } from '@metad2a/core';
import { encodePackedArrays, type PackedArraySpec } from '../src/packed-arrays';
import { nb201Cost } from '../src/nb201/cost';
import { nb201FromCode } from '../src/nb201/cell';

const src = process.argv[2];
if (!src || !fs.existsSync(path.join(src, 'nb201'))) {
  console.error('usage: npx tsx packages/search-spaces/scripts/build-data.ts <raw data folder with nb201/, nb201-latency/, ofa-mbv3/>');
  process.exit(2);
}
const out = path.resolve(__dirname, '..', 'data');

function readCsv(file: string): { header: string[]; rows: string[][] } {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

function col(t: { header: string[]; rows: string[][] }, name: string): string[] {
  const i = t.header.indexOf(name);
  if (i < 0) throw new Error(`column ${name} missing`);
  return t.rows.map((r) => r[i]!);
}

function write(name: string, arrays: PackedArraySpec[]): void {
  const buf = zlib.gzipSync(encodePackedArrays(arrays), { level: 9 });
  fs.writeFileSync(path.join(out, name), buf);
  console.log(`${name}: ${buf.length} B`);
}

// NB201 200-epoch table (arch strings are not stored: they follow from the ops code)
{
  const t = readCsv(path.join(src, 'nb201', 'nb201_200ep.csv'));
  if (t.rows.length !== 15625) throw new Error(`expected 15,625 rows, got ${t.rows.length}`);
  col(t, 'index').forEach((s, i) => {
    if (Number(s) !== i) throw new Error(`row ${i} has index ${s}`);
  });
  const arrays: PackedArraySpec[] = [
    { name: 'ops', dtype: 'u16', scale: 1, values: col(t, 'ops').map((s) => parseInt(s, 5)) },
    { name: 'n_seeds', dtype: 'u8', scale: 1, values: col(t, 'n_seeds').map(Number) },
  ];
  for (const c of ['c10_valid_acc', 'c10_test_acc', 'c100_valid_acc', 'c100_test_acc', 'in16_valid_acc', 'in16_test_acc']) {
    arrays.push({ name: c, dtype: 'u32', scale: 1e6, values: col(t, c).map(Number) });
  }
  // Source B (params, train time) disagrees with the arch for 150 rows: its params differ from the
  // exact TinyNetwork count, so its row there belongs to another cell. Params are not stored (the
  // package computes them exactly); train times of those rows are stored as NaN (unknown).
  const codes = col(t, 'ops').map((s) => parseInt(s, 5));
  const inconsistent: number[] = [];
  codes.forEach((code, i) => {
    const cell = unwrap(nb201FromCode(code));
    const ok = (['c10', 'c100', 'in16'] as const).every((c, k) => {
      const exact = nb201Cost(cell, { classes: [10, 100, 120][k]!, inputSize: c === 'in16' ? 16 : 32 }).params;
      return exact === Math.round(Number(t.rows[i]![t.header.indexOf(`${c}_params_mb`)]) * 1e6);
    });
    if (!ok) inconsistent.push(i);
  });
  console.log(`source-B rows inconsistent with their arch: ${inconsistent.length}: ${inconsistent.join(',')}`);
  const bad = new Set(inconsistent);
  for (const c of ['c10', 'c100', 'in16']) arrays.push({ name: `${c}_flops_m`, dtype: 'u32', scale: 1e6, values: col(t, `${c}_flops_m`).map(Number) });
  for (const c of ['c10', 'c100', 'in16']) arrays.push({ name: `${c}_train_time_s`, dtype: 'f64', scale: 1, values: col(t, `${c}_train_time_s`).map((s, i) => (bad.has(i) ? NaN : Number(s))) });
  write('nb201-200ep.bin.gz', arrays);
}

// NB201 HELP latency (ms as stored: 6 significant digits, kept exactly by float32 + toPrecision(6))
{
  const t = readCsv(path.join(src, 'nb201-latency', 'nb201_latency_help.csv'));
  if (t.rows.length !== 15625) throw new Error(`expected 15,625 rows, got ${t.rows.length}`);
  col(t, 'index').forEach((s, i) => {
    if (Number(s) !== i) throw new Error(`latency row ${i} has index ${s}`);
  });
  for (const s of col(t, '1080ti_1').concat(col(t, 'pixel3'))) {
    if (Number(Math.fround(Number(s)).toPrecision(6)) !== Number(s)) throw new Error(`latency ${s} not recoverable from float32`);
  }
  write('nb201-latency.bin.gz', t.header.slice(2).map((name) => ({ name, dtype: 'f32' as const, scale: 1, values: col(t, name).map(Number) })));
}

// OFA accuracy predictor (names `<torch key>` with shape in the JSON sidecar → kept in the name)
{
  const meta = JSON.parse(fs.readFileSync(path.join(src, 'ofa-mbv3', 'acc_predictor.json'), 'utf8')) as {
    tensors: { name: string; shape: number[]; offset_floats: number; count: number }[];
    test_vectors: unknown[];
  };
  const bin = fs.readFileSync(path.join(src, 'ofa-mbv3', 'acc_predictor_f32le.bin'));
  const f = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
  write(
    'ofa-acc-predictor.bin.gz',
    meta.tensors.map((t) => ({ name: t.name, dtype: 'f32' as const, scale: 1, values: f.subarray(t.offset_floats, t.offset_floats + t.count) })),
  );
  // the 5 test vectors, for the package's tests (not shipped)
  fs.writeFileSync(path.resolve(__dirname, '..', 'test', 'data', 'ofa-acc-predictor-test-vectors.json'), JSON.stringify(meta.test_vectors) + '\n');
}

// HELP's 5,000 OFA-MBv3 configs with measured latency on 12 GPU × batch settings (the MBv3 latency model's data)
{
  const t = readCsv(path.join(src, 'ofa-mbv3', 'help_ofa_5000_archs.csv'));
  if (t.rows.length !== 5000) throw new Error(`expected 5,000 OFA configs, got ${t.rows.length}`);
  const ints = (name: string, per: number): number[] =>
    col(t, name).flatMap((s, i) => {
      const v = s.split(' ').map(Number);
      if (v.length !== per || v.some((x) => !Number.isInteger(x))) throw new Error(`row ${i} ${name}: expected ${per} integers, got ${s}`);
      return v;
    });
  const lat = t.header.filter((h) => h.startsWith('lat_'));
  for (const name of lat) {
    for (const s of col(t, name)) {
      if (!(Number(s) > 0) || Number(Math.fround(Number(s)).toPrecision(6)) !== Number(s)) throw new Error(`${name} ${s}: not a positive value float32 keeps`);
    }
  }
  write('ofa-latency.bin.gz', [
    { name: 'ks', dtype: 'u8', scale: 1, values: ints('ks', 20) },
    { name: 'e', dtype: 'u8', scale: 1, values: ints('e', 20) },
    { name: 'd', dtype: 'u8', scale: 1, values: ints('d', 5) },
    { name: 'r', dtype: 'u8', scale: 1, values: col(t, 'r').map(Number) },
    ...lat.map((name) => ({ name: name.slice('lat_'.length), dtype: 'f32' as const, scale: 1, values: col(t, name).map(Number) })),
  ]);
}
