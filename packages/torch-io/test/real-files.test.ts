import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { GoldenFixture, nb201CanonicalEdges } from '@metad2a/fixtures';
import {
  PyDict,
  PyGlobal,
  PyObject,
  PyTuple,
  TorchTensor,
  decodePtSync,
  ofaAccuracyPredictorWeights,
  predictorMetaDatabaseFromPt,
  readPredictorMetaDatabase,
  readPtSync,
  readStateDict,
  readStateDictSync,
  stateDictToNamedArrays,
} from '../src';
import { DATA, FIXTURES } from './helpers';

const fixtureDirs = fs
  .readdirSync(FIXTURES)
  .filter((d) => fs.existsSync(path.join(FIXTURES, d, 'state_dict.pt')))
  .sort();

describe('fixture state_dict.pt files (zip) equal tensors.bin', () => {
  test('every fixture with a state_dict.pt is covered', () => {
    expect(fixtureDirs).toEqual(['gen-mbv3', 'gen-nb201', 'gru-golden', 'mab-golden', 'pred-mbv3', 'pred-nb201', 'pred-nb201-full', 'setenc-nb201', 'tinynet-nb201']);
  });

  test.each(fixtureDirs.filter((d) => d !== 'pred-nb201-full'))('%s', (name) => {
    const fx = GoldenFixture.load(path.join(FIXTURES, name));
    const r = readPtSync(path.join(FIXTURES, name, 'state_dict.pt'));
    expect(r.format).toBe('zip');
    const root = r.root as PyDict;
    expect(root.ordered).toBe(true);
    const params = fx.manifest.params.filter((p) => fx.has(p));
    expect(params.length).toBeGreaterThan(0);
    for (const p of params) {
      const t = root.get(p) as TorchTensor;
      expect(t).toBeInstanceOf(TorchTensor);
      const want = fx.tensor(p);
      expect(t.dtype).toBe('float32');
      expect(t.shape).toEqual(want.shape);
      expect(Buffer.from((t.data as Float32Array).buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(want.data.buffer))).toBe(true);
    }
    // Only int64 num_batches_tracked buffers are in the .pt and not in tensors.bin.
    const extra = root.keys().filter((k) => !params.includes(k as string));
    for (const k of extra) {
      expect(k as string).toMatch(/num_batches_tracked$/);
      expect((root.get(k) as TorchTensor).dtype).toBe('int64');
    }
    expect(extra.length).toBe(name === 'tinynet-nb201' ? 33 : 0);
  });

  test('pred-nb201 legacy file equals tensors.bin and the zip file', () => {
    const fx = GoldenFixture.load(path.join(FIXTURES, 'pred-nb201'));
    const legacy = readPtSync(path.join(FIXTURES, 'pred-nb201', 'state_dict_legacy.pt'));
    expect(legacy.format).toBe('legacy');
    expect(legacy.protocol).toBe(2);
    const named = stateDictToNamedArrays(legacy.root);
    expect(Object.keys(named)).toEqual(fx.manifest.params);
    for (const p of fx.manifest.params) {
      expect(named[p]!.shape).toEqual(fx.tensor(p).shape);
      expect(Buffer.from(named[p]!.data.buffer, named[p]!.data.byteOffset, named[p]!.data.byteLength).equals(Buffer.from(fx.tensor(p).data.buffer))).toBe(true);
    }
    expect((legacy.root as PyDict).attributes.has('_metadata')).toBe(true);
  });

  test('pred-nb201-full (hs = 512, weights only in the .pt): names, shapes, 4,020,361 parameters', () => {
    const fx = GoldenFixture.load(path.join(FIXTURES, 'pred-nb201-full'));
    const named = readStateDictSync(path.join(FIXTURES, 'pred-nb201-full', 'state_dict.pt'));
    const shapes = fx.manifest['param_shapes'] as Record<string, number[]>;
    expect(Object.keys(named)).toEqual(fx.manifest.params);
    for (const [k, s] of Object.entries(shapes)) expect(named[k]!.shape).toEqual(s);
    const count = Object.values(named).reduce((a, t) => a + t.data.length, 0);
    expect(count).toBe(4020361);
    expect(count).toBe((fx.manifest['param_count'] as { total: number }).total);
    expect(Object.values(named).every((t) => t.data.every(Number.isFinite))).toBe(true);
  });

  test('readStateDict with a prefix gives the official names of one model (like fixture.params(prefix))', () => {
    const fx = GoldenFixture.load(path.join(FIXTURES, 'mab-golden'));
    for (const prefix of ['toy.', 'rand.', 'rect.']) {
      const r = readStateDict(path.join(FIXTURES, 'mab-golden', 'state_dict.pt'), { prefix });
      if (E.isLeft(r)) throw new Error(r.left.message);
      const got = r.right;
      const want = fx.params(prefix);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const k of Object.keys(want)) expect(Array.from(got[k]!.data)).toEqual(Array.from(want[k]!.data));
    }
    const missing = readStateDict(path.join(FIXTURES, 'nope.pt'));
    expect(E.isLeft(missing) && missing.left._tag).toBe('IoError');
  });
});

function vattrs(types: number[]): PyDict {
  const d = new PyDict(false);
  d.entries.set('type', types);
  return d;
}

describe("the authors' NB201 predictor meta-training database", () => {
  const dir = path.join(DATA, 'metad2a-nb201');
  const db = E.getOrElseW((e: { message: string }) => {
    throw new Error(e.message);
  })(readPredictorMetaDatabase(dir));
  const csv = zlib
    .gunzipSync(fs.readFileSync(path.join(dir, 'predictor_db.csv.gz')))
    .toString('utf8')
    .trim()
    .split('\n');

  test('4,630 records over 3,031 tasks of 20 classes (1-based ids 1..600)', () => {
    expect(db.records).toHaveLength(4630);
    expect(new Set(db.records.map((r) => r.task)).size).toBe(3031);
    expect(db.tasks).toHaveLength(5000);
    expect(db.tasks.every((t) => t.length === 20 && new Set(t).size === 20)).toBe(true);
    const ids = new Set(db.tasks.flat());
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(600);
    expect(ids.size).toBe(600);
    const bad = db.records.filter((r) => r.classIds !== db.tasks[r.task] || r.featureKeys.some((k, j) => k !== r.classIds[j]! - 1));
    expect(bad).toEqual([]);
  });

  test('the same rows as predictor_db.csv', () => {
    expect(csv[0]).toBe('row,task,nb201_index,arch_str,acc,flops_norm,params_norm,latency_norm');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(db.records.length);
    const mismatches: string[] = [];
    const close = (a: number | undefined, b: string): boolean => a !== undefined && Math.abs(a - Number(b)) <= 5e-7; // the CSV has 6 decimals
    rows.forEach(([row, task, , arch, acc, flops, params, latency], i) => {
      const r = db.records[i]!;
      const ok =
        r.index === Number(row) &&
        r.task === Number(task) &&
        r.arch === arch &&
        close(r.accuracy, acc!) &&
        close(r.flops, flops!) &&
        close(r.params, params!) &&
        close(r.latency, latency!);
      if (!ok) mismatches.push(`row ${i}: ${JSON.stringify(r)} vs ${rows[i]!.join(',')}`);
    });
    expect(mismatches).toEqual([]);
    const accs = db.records.map((r) => r.accuracy);
    expect(Math.min(...accs)).toBeCloseTo(40.99, 2);
    expect(Math.max(...accs)).toBeCloseTo(86.0, 2);
    expect(new Set(db.records.map((r) => r.arch)).size).toBe(1553);
  });

  test('every igraph decodes to the canonical NB201 graph of its string (types from the ops, 11 edges in insertion order)', () => {
    const ops = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
    const want = JSON.stringify(nb201CanonicalEdges());
    const bad = db.records.filter((r) => {
      const opTypes = [...r.arch!.matchAll(/([a-z_0-9]+)~\d/g)].map((m) => 2 + ops.indexOf(m[1]!));
      return r.graph.types.join(',') !== [0, ...opTypes, 1].join(',') || JSON.stringify(r.graph.edges) !== want;
    });
    expect(bad).toEqual([]);
    expect(db.records[0]!.graph.types).toEqual([0, 5, 5, 5, 3, 5, 5, 1]);
  });

  test('the split permutation: the stored _idx.pt, first 400 validation', () => {
    const want = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'splits-predictor_idx.json.gz'))).toString('utf8')) as { predictor_idx: number[] };
    expect(db.permutation).toEqual(want.predictor_idx);
    expect(db.validIndices).toEqual(want.predictor_idx.slice(0, 400));
    expect(db.trainIndices).toHaveLength(4230);
    expect(new Set([...db.validIndices, ...db.trainIndices]).size).toBe(4630);
  });

  test('inconsistent inputs are named errors', () => {
    // A one-record database built by hand from the first record's igraph.
    const idx = readPtSync(path.join(dir, 'meta_train_tasks_predictor_idx.pt')).root;
    expect(idx).toBeInstanceOf(TorchTensor);
    const records = new PyDict(false);
    records.entries.set('acc', [70.5]);
    records.entries.set('task', [3]);
    records.entries.set('g', [
      new PyObject(new PyGlobal('igraph', 'Graph'), new PyTuple([2, [new PyTuple([0, 1])], true, new PyDict(false), vattrs([0, 1]), new PyDict(false)]), 'reduce'),
    ]);
    const tasks = [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ];
    const ok = predictorMetaDatabaseFromPt({ records, tasks, permutation: [0] }, { validCount: 0 });
    expect(ok.records[0]).toEqual({ index: 0, task: 3, classIds: [7, 8], featureKeys: [6, 7], graph: { types: [0, 1], edges: [[0, 1]] }, accuracy: 70.5 });
    expect(() => predictorMetaDatabaseFromPt({ records, tasks: tasks.slice(0, 2), permutation: [0] })).toThrow(/task index < 2/);
    expect(() => predictorMetaDatabaseFromPt({ records, tasks, permutation: [1] })).toThrow(/permutation/);
    expect(() => predictorMetaDatabaseFromPt({ records, tasks: [[0]], permutation: [0] })).toThrow(/1-based/);
    records.entries.set('g', [
      new PyObject(new PyGlobal('igraph', 'Graph'), new PyTuple([2, [new PyTuple([0, 2])], true, new PyDict(false), vattrs([0, 1]), new PyDict(false)]), 'reduce'),
    ]);
    expect(() => predictorMetaDatabaseFromPt({ records, tasks, permutation: [0] })).toThrow(/igraph edge 0/);
    const missing = readPredictorMetaDatabase(path.join(DATA, 'synthetic'));
    expect(E.isLeft(missing) && missing.left._tag).toBe('IoError');
  });
});

describe('OFA acc_predictor.pth (legacy, saved from cuda:0)', () => {
  const dir = path.join(DATA, 'ofa-mbv3');
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'acc_predictor.json'), 'utf8')) as {
    tensors: { name: string; shape: number[]; offset_floats: number; count: number }[];
    test_vectors: { features: number[]; output: number }[];
  };
  const bin = fs.readFileSync(path.join(dir, 'acc_predictor_f32le.bin'));
  const r = decodePtSync(fs.readFileSync(path.join(dir, 'acc_predictor.pth')), { source: 'acc_predictor.pth' });
  const w = ofaAccuracyPredictorWeights(r.root);

  test('equals acc_predictor_f32le.bin exactly', () => {
    expect(r.format).toBe('legacy');
    expect(Object.keys(w)).toEqual(meta.tensors.map((t) => t.name));
    for (const t of meta.tensors) {
      expect(w[t.name]!.shape).toEqual(t.shape);
      const want = bin.subarray(4 * t.offset_floats, 4 * (t.offset_floats + t.count));
      expect(Buffer.from(w[t.name]!.data.buffer, w[t.name]!.data.byteOffset, w[t.name]!.data.byteLength).equals(want)).toBe(true);
    }
  });

  test('the MLP on these weights reproduces the recorded outputs', () => {
    for (const v of meta.test_vectors) {
      let x: number[] = v.features;
      for (const l of [0, 2, 4, 6]) {
        const W = w[`${l}.weight`]!;
        const b = w[`${l}.bias`]!.data;
        const [out, inF] = W.shape as [number, number];
        x = Array.from({ length: out }, (_, o) => {
          let s = b[o]!;
          for (let i = 0; i < inF; i++) s += W.data[o * inF + i]! * x[i]!;
          return l < 6 ? Math.max(0, s) : s;
        });
      }
      expect(Math.abs(x[0]! - v.output)).toBeLessThan(1e-5);
    }
  });

  test('a state dict that is not the OFA predictor is a CheckpointMismatch listing the problems', () => {
    const other = readPtSync(path.join(FIXTURES, 'gru-golden', 'state_dict.pt')).root;
    try {
      ofaAccuracyPredictorWeights(other);
      throw new Error('no error');
    } catch (e) {
      expect((e as { error: { _tag: string; details: string[] } }).error._tag).toBe('CheckpointMismatch');
      expect((e as { error: { details: string[] } }).error.details).toContain('missing 0.weight [400, 128]');
    }
  });
});
