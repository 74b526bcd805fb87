/**
 * The seeded fuzz corpus of issue #19: for each input format a reader takes from users (.pt, IDX,
 * CSV, JSON, .npy, checkpoints, model directories), a few valid seeds and a mutator. A case is a
 * (format, seed, mutation) from one seed number, so any failure replays exactly. Used by the
 * fast suite (`packages/cli/test/fuzz.test.ts`) and by `npm run fuzz` (tools/fuzz/main.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MetaD2AException, Rng, loadCheckpointSync, saveCheckpointSync } from '@metad2a/core';
import { encodeNpy, parseIdx, parseNpy, readFeatureFile, writeFeatureFile } from '@metad2a/datasets';
import { MetaDatabase, importOfficialNb201PredictorDb } from '@metad2a/meta-trainer';
import { loadSearchModel, manifestFromSpec } from '@metad2a/search';
import { decodePtSync, featureSetFromByLabel, stateDictToNamedArrays } from '@metad2a/torch-io';

export type Outcome = 'ok' | 'named error' | 'unnamed exception' | 'hang > 5 s' | 'peak > 1 GB';
export const OUTCOMES: readonly Outcome[] = ['named error', 'ok', 'hang > 5 s', 'peak > 1 GB', 'unnamed exception'];

const ROOT = path.resolve(__dirname, '..', '..');
const TORCH_DATA = path.join(ROOT, 'packages', 'torch-io', 'test', 'data');
const FIXTURES = path.join(ROOT, 'fixtures');

export interface FuzzTarget {
  readonly format: 'pt' | 'idx' | 'csv' | 'json' | 'npy' | 'checkpoint' | 'model-dir';
  /** Valid inputs the mutations start from (read once). */
  seeds(): Uint8Array[];
  /** Read one (mutated) input the way users' files are read; `scratch` is an empty folder for this case. */
  run(bytes: Uint8Array, scratch: string): void | Promise<void>;
}

const bytesOf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

function idxBytes(typeCode: number, dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = typeCode;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return new Uint8Array(Buffer.concat([head, Buffer.from(data)]));
}

/** The first rows of the shipped official database, as a small valid CSV + JSON triple. */
const OFFICIAL_DIR = path.join(ROOT, 'packages', 'meta-trainer', 'data', 'nb201-official');
function officialCsvSeed(rows: number): { csv: string; tasks: string; splits: string } {
  const read = (f: string): string => {
    const p = path.join(OFFICIAL_DIR, f);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : zlib.gunzipSync(fs.readFileSync(`${p}.gz`)).toString('utf8');
  };
  const csv = read('predictor_db.csv')
    .split('\n')
    .slice(0, rows + 1)
    .join('\n');
  const perm = new Rng(5).permutation(rows);
  return { csv: `${csv}\n`, tasks: read('task_classes.json'), splits: JSON.stringify({ predictor_idx: perm }) };
}

let modelSeedDir: string | undefined;
/** A model directory converted from the fixture weights (once per process). */
function modelSeed(scratchRoot: string): string {
  if (modelSeedDir) return modelSeedDir;
  const dir = path.join(scratchRoot, 'model-seed');
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    // saveSearchModel of the fixture weights, without tfjs: write the checkpoints directly
    fs.mkdirSync(dir, { recursive: true });
    const gen = stateDictToNamedArrays(decodePtSync(fs.readFileSync(path.join(FIXTURES, 'gen-nb201', 'state_dict.pt'))).root);
    const pred = stateDictToNamedArrays(decodePtSync(fs.readFileSync(path.join(FIXTURES, 'pred-nb201', 'state_dict.pt'))).root, { integerTensors: 'skip' });
    saveCheckpointSync(path.join(dir, 'generator.ckpt'), { meta: { role: 'generator' }, tensors: gen });
    saveCheckpointSync(path.join(dir, 'predictor.ckpt'), { meta: { role: 'predictor' }, tensors: pred });
    const manifest = manifestFromSpec('nb201-official', { predictorHs: 64 }); // pred-nb201 is the official predictor at hs 64
    fs.writeFileSync(path.join(dir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  modelSeedDir = dir;
  return dir;
}

/** Model-directory inputs: the first byte says which file is mutated (0: model.json, 1: generator.ckpt, 2: predictor.ckpt). */
function modelDirTarget(scratchRoot: string): FuzzTarget {
  const files = ['model.json', 'generator.ckpt', 'predictor.ckpt'];
  return {
    format: 'model-dir',
    seeds: () => {
      const dir = modelSeed(scratchRoot);
      return files.map((f, i) => new Uint8Array(Buffer.concat([Buffer.from([i]), fs.readFileSync(path.join(dir, f))])));
    },
    run: async (bytes, scratch) => {
      const dir = modelSeed(scratchRoot);
      const which = files[(bytes[0] ?? 0) % 3]!;
      for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(scratch, f));
      fs.writeFileSync(path.join(scratch, which), bytes.subarray(1));
      (await loadSearchModel(scratch)).dispose();
    },
  };
}

export function fuzzTargets(scratchRoot: string): FuzzTarget[] {
  return [
    {
      format: 'pt',
      seeds: () =>
        [
          path.join(TORCH_DATA, 'synthetic', 'variety_p2.pt'),
          path.join(TORCH_DATA, 'synthetic', 'variety_p4.pt'),
          path.join(TORCH_DATA, 'synthetic', 'variety_legacy.pt'),
          path.join(TORCH_DATA, 'synthetic', 'variety_deflated.pt'),
          path.join(TORCH_DATA, 'synthetic', 'tinybylabel.pt'),
          path.join(FIXTURES, 'gru-golden', 'state_dict.pt'),
        ].map((f) => new Uint8Array(fs.readFileSync(f))),
      run: (bytes) => {
        const r = decodePtSync(bytes, { source: 'fuzz.pt' });
        for (const adapt of [() => stateDictToNamedArrays(r.root), () => featureSetFromByLabel(r.root)]) {
          try {
            adapt();
          } catch (e) {
            if (!(e instanceof MetaD2AException)) throw e;
          }
        }
      },
    },
    {
      format: 'idx',
      seeds: () => [
        idxBytes(
          0x08,
          [3, 4, 4],
          Uint8Array.from({ length: 48 }, (_, i) => i * 5),
        ),
        idxBytes(
          0x08,
          [10],
          Uint8Array.from({ length: 10 }, (_, i) => i),
        ),
        idxBytes(0x0d, [2, 3], new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer).reverse()),
      ],
      run: (bytes) => void parseIdx(bytes, 'fuzz.idx'),
    },
    {
      format: 'npy',
      seeds: () => [
        encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
        encodeNpy(
          Uint8Array.from({ length: 64 }, (_, i) => i),
          [4, 4, 4],
        ),
        encodeNpy(Float64Array.from([0.5, -1]), [2]),
      ],
      run: (bytes) => void parseNpy(bytes, 'fuzz.npy'),
    },
    {
      format: 'csv',
      seeds: () => [bytesOf(officialCsvSeed(40).csv)],
      run: (bytes, scratch) => {
        const s = officialCsvSeed(40);
        fs.writeFileSync(path.join(scratch, 'predictor_db.csv'), bytes);
        fs.writeFileSync(path.join(scratch, 'task_classes.json'), s.tasks);
        fs.writeFileSync(path.join(scratch, 'splits.json'), s.splits);
        const db = MetaDatabase.inMemory();
        try {
          importOfficialNb201PredictorDb(db, { dir: scratch });
        } finally {
          db.close();
        }
      },
    },
    {
      format: 'json',
      seeds: () => {
        const dir = path.join(scratchRoot, 'json-seed');
        fs.mkdirSync(dir, { recursive: true });
        const manifest = writeFeatureFile(path.join(dir, 'f'), {
          name: 'f',
          dim: 3,
          classes: [
            { label: 'a', count: 2, data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
            { label: 'b', count: 1, data: Float32Array.from([7, 8, 9]) },
          ],
        });
        return [new Uint8Array(fs.readFileSync(manifest))];
      },
      run: (bytes, scratch) => {
        fs.copyFileSync(path.join(scratchRoot, 'json-seed', 'f.features.npy'), path.join(scratch, 'f.features.npy'));
        fs.writeFileSync(path.join(scratch, 'f.features.json'), bytes);
        readFeatureFile(path.join(scratch, 'f.features.json'));
      },
    },
    {
      format: 'checkpoint',
      seeds: () => {
        const f = path.join(scratchRoot, 'seed.ckpt');
        saveCheckpointSync(f, {
          meta: { epoch: 3, note: 'fuzz seed' },
          tensors: { 'a.weight': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, b: { shape: [4], data: Float32Array.from([0, -1, 2.5, 1e-3]) } },
        });
        return [new Uint8Array(fs.readFileSync(f))];
      },
      run: (bytes, scratch) => {
        const f = path.join(scratch, 'x.ckpt');
        fs.writeFileSync(f, bytes);
        const r = loadCheckpointSync(f);
        if (r._tag === 'Left') throw new MetaD2AException(r.left);
      },
    },
    modelDirTarget(scratchRoot),
  ];
}

/** One mutation of `seed`: bit flips, overwrites, truncation, insertion, duplication, big length fields, text edits. */
export function mutate(seed: Uint8Array, rng: Rng): Uint8Array {
  const b = seed.slice();
  const at = (): number => rng.int(Math.max(1, b.length));
  switch (rng.int(8)) {
    case 0:
      for (let k = 1 + rng.int(4); k > 0; k--) b[at()]! ^= 1 << rng.int(8);
      return b;
    case 1:
      for (let k = 1 + rng.int(8); k > 0; k--) b[at()] = rng.int(256);
      return b;
    case 2:
      return b.subarray(0, at());
    case 3: {
      const i = at();
      const ins = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
      return new Uint8Array(Buffer.concat([b.subarray(0, i), ins, b.subarray(i)]));
    }
    case 4: {
      // a chunk repeated many times (amplification-shaped inputs)
      const i = at();
      const len = 1 + rng.int(Math.min(64, b.length - i));
      const chunk = b.subarray(i, i + len);
      return new Uint8Array(Buffer.concat([b.subarray(0, i), ...new Array(1 + rng.int(200)).fill(Buffer.from(chunk)), b.subarray(i)]));
    }
    case 5: {
      // a 4-byte field set to a huge or negative size
      const i = Math.min(at(), Math.max(0, b.length - 4));
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x40000000, 0xfffffffe][rng.int(5)]!;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (b.length >= 4) dv.setUint32(i, v, rng.int(2) === 0);
      return b;
    }
    case 6: {
      // text edits: a digit run replaced by a huge / negative / fractional / non-finite number
      const s = Buffer.from(b).toString('latin1');
      const m = [...s.matchAll(/-?\d+(\.\d+)?/g)];
      if (m.length === 0) return b;
      const pick = m[rng.int(m.length)]!;
      const v = ['2e9', '-1', '0', '1e309', 'NaN', '3.5', '99999999999999999999', '""', 'null', '[]'][rng.int(10)]!;
      return new Uint8Array(Buffer.from(s.slice(0, pick.index) + v + s.slice(pick.index! + pick[0].length), 'latin1'));
    }
    default: {
      const i = at();
      const j = Math.min(b.length, i + 1 + rng.int(256));
      b.fill(0, i, j);
      return b;
    }
  }
}

/** A user-facing failure: a MetaD2AException that is not torch-io's marker of an unforeseen one. */
export function isNamedError(e: unknown): boolean {
  return e instanceof MetaD2AException && e.error.field !== 'internal';
}

export interface CaseSpec {
  readonly format: FuzzTarget['format'];
  readonly seedIndex: number;
  readonly caseSeed: number;
}

/** The i-th case of a run seeded `runSeed`: formats in turn, seeds and mutations drawn from one Rng per case. */
export function caseSpec(targets: readonly FuzzTarget[], seedsOf: (t: FuzzTarget) => Uint8Array[], runSeed: number, i: number): CaseSpec {
  const t = targets[i % targets.length]!;
  const rng = new Rng(`${runSeed}/${i}`);
  return { format: t.format, seedIndex: rng.int(seedsOf(t).length), caseSeed: rng.int(2 ** 31) };
}

/** Run one case in this thread: outcome (ok / named error / unnamed exception), milliseconds, and the message of an unnamed exception. */
export async function runCase(target: FuzzTarget, seed: Uint8Array, caseSeed: number, scratch: string): Promise<{ outcome: Outcome; ms: number; detail?: string }> {
  const input = mutate(seed, new Rng(caseSeed));
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  const t0 = performance.now();
  try {
    await target.run(input, scratch);
    return { outcome: 'ok', ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    if (isNamedError(e)) return { outcome: 'named error', ms };
    return { outcome: 'unnamed exception', ms, detail: String((e as Error)?.stack ?? e).slice(0, 2000) };
  }
}
