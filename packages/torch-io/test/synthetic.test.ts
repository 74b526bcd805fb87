import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { drawClassSamples, Rng } from '@metad2a/core';
import { PyDict, type PySet, type PyTuple, TorchTensor, decodePtSync, featureSetFromByLabel, readFeatureSet, readPtSync, stateDictToNamedArrays } from '../src';
import { readFileBytes } from '../src/file-bytes';
import { DATA } from './helpers';

const dir = path.join(DATA, 'synthetic');
interface Expected {
  dtype: string;
  shape: number[];
  values: (number | string)[];
  requires_grad: boolean;
}
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, Expected>;

describe.each(['variety_p2.pt', 'variety_p4.pt', 'variety_p5.pt', 'variety_legacy.pt', 'variety_deflated.pt', 'variety_bigendian.pt'])('%s', (file) => {
  const r = readPtSync(path.join(dir, file));
  const root = r.root as PyDict;

  test('format, protocol and byte order', () => {
    expect(r.format).toBe(file.includes('legacy') ? 'legacy' : 'zip');
    expect(r.protocol).toBe(file.includes('p4') ? 4 : file.includes('p5') ? 5 : 2);
    expect(r.byteOrder).toBe(file.includes('bigendian') ? 'big' : 'little');
    expect(root.ordered).toBe(true);
  });

  test.each(Object.keys(expected))('tensor %s equals what torch reads', (name) => {
    const e = expected[name]!;
    const t = root.get(name) as TorchTensor;
    expect(t).toBeInstanceOf(TorchTensor);
    expect(t.dtype).toBe(e.dtype);
    expect(t.shape).toEqual(e.shape);
    expect(t.requiresGrad).toBe(e.requires_grad);
    const got = Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : e.dtype === 'float64' ? Math.fround(x) : x));
    const want = e.values.map((v) => (typeof v === 'string' ? v : v));
    if (e.dtype.startsWith('int') || e.dtype === 'uint8' || e.dtype === 'bool') expect(got.map(String)).toEqual(want.map(String));
    else expect(got).toEqual(want);
  });

  test('views of one storage share its values', () => {
    const base = root.get('base') as TorchTensor;
    const tr = root.get('transposed') as TorchTensor;
    expect(tr.source.storage).toBe(base.source.storage);
    expect(tr.data[1 * 4 + 2]).toBe(base.data[2 * 6 + 1]);
  });

  test('plain Python values', () => {
    const p = root.get('plain') as PyDict;
    expect(p.get('none')).toBeNull();
    expect(p.get('t')).toBe(true);
    expect(p.get('f')).toBe(false);
    expect(p.get('int')).toBe(-123456);
    expect(p.get('big')).toBe(2n ** 70n);
    expect(p.get('neg_big')).toBe(-(2n ** 65n));
    expect(p.get('float')).toBe(0.1);
    expect(p.get('str')).toBe('héllo ✓');
    expect(Array.from(p.get('bytes') as Uint8Array)).toEqual([0, 1, 255]);
    const l = p.get('list') as unknown[];
    expect(l[0]).toBe(1);
    expect(l[1]).toEqual([2, 3]);
    expect((l[2] as PyTuple).items).toEqual([4, 'x']);
    expect((p.get('tuple') as PyTuple).length).toBe(0);
    expect((p.get('set') as PySet).items).toEqual([3]);
    expect(p.get(1)).toBe('int key');
  });
});

test('stateDictToNamedArrays converts every tensor to float32 and keeps names; integer tensors can be skipped', () => {
  const root = readPtSync(path.join(dir, 'variety_p2.pt')).root as PyDict;
  (root.entries as Map<unknown, unknown>).delete('plain');
  const all = stateDictToNamedArrays(root);
  expect(Object.keys(all)).toEqual(Object.keys(expected));
  expect(Array.from(all['i64']!.data)).toEqual([0, -1, 2 ** 40, -(2 ** 53) - 5, 7].map(Math.fround));
  expect(all['f64']!.data).toBeInstanceOf(Float32Array);
  expect(all['transposed']!.shape).toEqual([6, 4]);
  const floats = stateDictToNamedArrays(root, { integerTensors: 'skip' });
  expect(Object.keys(floats).sort()).toEqual(['base', 'bf16', 'empty', 'expanded', 'f16', 'f32', 'f64', 'param', 'scalar', 'sliced', 'transposed']);
});

describe('*bylabel.pt → FeatureSet', () => {
  const want = JSON.parse(fs.readFileSync(path.join(dir, 'tinybylabel.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
  test('classes in key order, values exact, class-contiguous draws work', () => {
    const fs1 = E.getOrElseW((e) => {
      throw new Error(String(e));
    })(readFeatureSet(path.join(dir, 'tinybylabel.pt'), { name: 'tiny' }));
    expect(fs1.name).toBe('tiny');
    expect(fs1.dim).toBe(8);
    expect(fs1.classes.map((c) => [c.label, c.count])).toEqual([
      ['0', 21],
      ['1', 25],
      ['2', 20],
    ]);
    fs1.classes.forEach((c) => expect(Array.from(c.data)).toEqual(want[c.label]!.values));
    const x = drawClassSamples(fs1, 20, new Rng(1));
    expect(x.length).toBe(3 * 20 * 8);
    // rows 20..39 come from class 1
    const row = Array.from(x.subarray(20 * 8, 21 * 8));
    const c1 = fs1.classes[1]!.data;
    expect([...Array(25).keys()].some((r) => row.every((v, j) => v === c1[r * 8 + j]))).toBe(true);
  });

  test('a subset of keys in a given order (a task), and named errors for missing keys', () => {
    const root = decodePtSync(fs.readFileSync(path.join(dir, 'tinybylabel.pt'))).root;
    const sub = featureSetFromByLabel(root, { keys: [2, 0] });
    expect(sub.classes.map((c) => c.label)).toEqual(['2', '0']);
    expect(() => featureSetFromByLabel(root, { keys: [5] })).toThrow(/class 5/);
    expect(() => featureSetFromByLabel(new PyDict(false))).toThrow(/at least one class/);
  });
});

test('large files are read in chunks (simulated with a tiny limit): same bytes, same decode', () => {
  const file = path.join(dir, 'variety_legacy.pt');
  const chunked = readFileBytes(file, 1000, 10);
  expect(Buffer.from(chunked).equals(fs.readFileSync(file))).toBe(true);
  expect(decodePtSync(chunked).tensors.length).toBe(readPtSync(file).tensors.length);
});
