import { isMetaD2AException } from '@metad2a/core';
import { PyDict, PyGlobal, PyObject, type PySet, PyTuple, TorchStorage, TorchTensor, archGraphFromIGraph, decodePtSync, outline, unpickle, type PyValue } from '../src';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FIXTURES, Pk, errorOf, f32bytes, zipStored } from './helpers';

const run = (bytes: Uint8Array | number[]): PyValue => unpickle(Uint8Array.from(bytes), 0, { source: 'test' }).value;
describe('pickle VM', () => {
  test('numbers of every encoding, including longs beyond 2^53', () => {
    // LONG1 of 2^64 (9 bytes: 00 ×8, 01), BININT -5, BININT2 65535, LONG1 -1 (ff), BINFLOAT 1.5 (big-endian)
    const v = run([
      0x80, 2, 0x28, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x4a, 0xfb, 0xff, 0xff, 0xff, 0x4d, 0xff, 0xff, 0x8a, 1, 0xff, 0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x6c, 0x2e,
    ]);
    expect(v).toEqual([2n ** 64n, -5, 65535, -1, 1.5]);
  });

  test('protocol 0 text opcodes: INT, LONG, FLOAT, STRING, UNICODE, DICT, GET/PUT', () => {
    const text = "(dp0\nS'a\\x41\\n'\np1\nI01\nsV\\u00e9t\\u00e9\np2\n(lp3\nL12345678901234567890L\naF0.25\nag1\naI-7\nas.";
    const v = run([...Buffer.from(text, 'latin1')]) as PyDict;
    expect(v.get('aA\n')).toBe(true);
    expect(v.get('été')).toEqual([12345678901234567890n, 0.25, 'aA\n', -7]);
  });

  test('protocol 4 framing, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE, sets and bytes', () => {
    const b = [0x80, 4, 0x95, 10, 0, 0, 0, 0, 0, 0, 0, 0x28, 0x8c, 3, ...Buffer.from('abc'), 0x94, 0x8f, 0x28, 0x4b, 7, 0x90, 0x68, 0, 0x43, 2, 9, 8, 0x74, 0x2e];
    const v = run(b) as PyTuple;
    expect(v.items[0]).toBe('abc');
    expect((v.items[1] as PySet).items).toEqual([7]);
    expect(v.items[2]).toBe('abc');
    expect(Array.from(v.items[3] as Uint8Array)).toEqual([9, 8]);
  });

  test('unknown globals become inert described objects with args, state and items', () => {
    const p = new Pk().proto(2).global('os', 'system').mark().str('rm -rf /').tuple().reduce();
    p.mark().str('k').int(1).op(0x64).op(0x62).stop();
    const v = run(p.bytes());
    expect(v).toBeInstanceOf(PyObject);
    const o = v as PyObject;
    expect(o.cls).toEqual(new PyGlobal('os', 'system'));
    expect(o.args.items).toEqual(['rm -rf /']);
    expect((o.state as PyDict).get('k')).toBe(1);
  });

  test.each([
    ['unknown opcode', [0x80, 2, 0xff], /unknown opcode 0xff/],
    ['stack underflow', [0x80, 2, 0x85, 0x2e], /stack underflow/],
    ['memo misuse (BINGET of an unset index)', [0x80, 2, 0x68, 3, 0x2e], /memo entry 3/],
    ['a pop below the MARK', [0x80, 2, 0x4b, 1, 0x28, 0x85, 0x2e], /stack underflow/],
    ['no MARK for TUPLE', [0x80, 2, 0x74, 0x2e], /MARK/],
    ['an absurd string length', [0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61], /truncated or absurd length/],
    ['an absurd BINBYTES8 length', [0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40], /length within the file/],
    ['a missing STOP', [0x80, 2, 0x4b, 1], /STOP/],
    ['two values at STOP', [0x80, 2, 0x4b, 1, 0x4b, 2, 0x2e], /exactly one value/],
    ['REDUCE of a non-global', [0x80, 2, 0x4b, 1, 0x29, 0x52, 0x2e], /global/],
    ['SETITEM on a list', [0x80, 2, 0x5d, 0x4b, 1, 0x4b, 2, 0x73, 0x2e], /dict to set items on/],
  ])('%s is a named ParseError', (_name, bytes, message) => {
    const e = errorOf(() => run(bytes as number[]));
    expect(e.error._tag).toBe('ParseError');
    expect(e.message).toMatch(message as RegExp);
    expect(e.error.source).toBe('test');
  });

  test('protocol 6 and extension codes are Unsupported', () => {
    expect(errorOf(() => run([0x80, 6, 0x4e, 0x2e])).error._tag).toBe('Unsupported');
    expect(errorOf(() => run([0x80, 2, 0x82, 1, 0x2e])).error._tag).toBe('Unsupported');
  });

  test('memo indices out of order, overwritten, and far beyond the dense range', () => {
    // 'a' LONG_BINPUT 100000, 'b' BINPUT 0, 'c' BINPUT 0 (overwrite), then MARK GET 100000, GET 0, LIST
    const v = run([
      0x80, 2, 0x8c, 1, 0x61, 0x72, 0xa0, 0x86, 0x01, 0x00, 0x30, 0x8c, 1, 0x62, 0x71, 0, 0x30, 0x8c, 1, 0x63, 0x71, 0, 0x30, 0x28, 0x6a, 0xa0, 0x86, 0x01, 0x00, 0x68, 0, 0x6c,
      0x2e,
    ]);
    expect(v).toEqual(['a', 'c']);
  });

  test('a self-referencing list (memo cycle) decodes without recursion', () => {
    // [] PUT 0, GET 0, APPEND → l = [l]
    const v = run([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]) as PyValue[];
    expect(v[0]).toBe(v);
  });
});

describe('tensor rebuild checks (hand-made zip files)', () => {
  const file = (pickle: Uint8Array, storage: Uint8Array, folder = 'ckpt_400'): Uint8Array =>
    zipStored({ [`${folder}/data.pkl`]: pickle, [`${folder}/data/0`]: storage, [`${folder}/version`]: Uint8Array.from([0x33, 0x0a]) });
  const six = f32bytes([0, 1, 2, 3, 4, 5]);

  test('strides and offsets are honoured; a transposed view becomes a contiguous copy', () => {
    const pk = new Pk().proto(2).tensor(6, 1, [2, 2], [1, 2]).stop();
    const r = decodePtSync(file(pk.bytes(), six));
    expect(r.tensors).toHaveLength(1);
    const t = r.tensors[0]!;
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 3, 2, 4]);
  });

  test('any top-level folder name works', () => {
    const pk = new Pk().proto(2).tensor(6, 0, [6], [1]).stop();
    expect(Array.from(decodePtSync(file(pk.bytes(), six, 'whatever_name')).tensors[0]!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test.each([
    ['shape beyond the storage', 6, 0, [7], [1], /out of range/],
    ['stride beyond the storage', 6, 0, [2, 3], [3, 2], /out of range/],
    ['offset beyond the storage', 6, 6, [1], [1], /out of range/],
    ['negative size', 6, 0, [-1], [1], /non-negative integer sizes/],
    ['rank mismatch of size and stride', 6, 0, [2, 3], [1], /strides/],
    ['an absurd size', 6, 0, [1 << 20, 1 << 20], [0, 0], /absurd size/],
    ['an absurd expanded view of a small storage', 6, 0, [1 << 13, 1 << 12], [0, 0], /larger than its storage/],
  ])('%s is a named ParseError', (_n, numel, offset, size, stride, message) => {
    const pk = new Pk()
      .proto(2)
      .tensor(numel as number, offset as number, size as number[], stride as number[])
      .stop();
    const e = errorOf(() => decodePtSync(file(pk.bytes(), six), { source: 'x.pt' }));
    expect(e.error._tag).toBe('ParseError');
    expect(e.message).toMatch(message as RegExp);
    expect(e.message).toContain('x.pt');
  });

  test('a small expanded view (stride 0) is allowed and copied', () => {
    const pk = new Pk().proto(2).tensor(6, 2, [2, 3], [0, 1]).stop();
    expect(Array.from(decodePtSync(file(pk.bytes(), six)).tensors[0]!.data as Float32Array)).toEqual([2, 3, 4, 2, 3, 4]);
  });

  test('a deflated entry claiming an impossible size is a named error', () => {
    const pk = new Pk().proto(2).tensor(6, 0, [6], [1]).stop();
    const z = Buffer.from(file(pk.bytes(), six));
    // mark the first central directory entry as deflated with a huge uncompressed size
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    z.writeUInt16LE(8, cd + 10);
    z.writeUInt32LE(0xfffffff0, cd + 24);
    expect(errorOf(() => decodePtSync(z)).message).toMatch(/absurd size/);
  });

  test('a storage shorter than declared is a named error', () => {
    const pk = new Pk().proto(2).tensor(8, 0, [8], [1]).stop();
    expect(errorOf(() => decodePtSync(file(pk.bytes(), six))).message).toMatch(/storage too short/);
  });

  test('a storage record that is missing is a named error', () => {
    const pk = new Pk().proto(2).tensor(6, 0, [6], [1], 'FloatStorage', '7').stop();
    expect(errorOf(() => decodePtSync(file(pk.bytes(), six))).message).toMatch(/data\/7/);
  });

  test('an unknown storage type is Unsupported', () => {
    const pk = new Pk().proto(2).tensor(3, 0, [3], [1], 'ComplexFloatStorage').stop();
    expect(errorOf(() => decodePtSync(file(pk.bytes(), six))).error._tag).toBe('Unsupported');
  });

  test('bad magic, empty input and a zip without data.pkl are named errors', () => {
    expect(errorOf(() => decodePtSync(Uint8Array.from([1, 2, 3, 4]))).message).toMatch(/magic number/);
    expect(errorOf(() => decodePtSync(new Uint8Array(0))).message).toMatch(/empty file/);
    expect(errorOf(() => decodePtSync(zipStored({ 'a/b.txt': six }))).message).toMatch(/data\.pkl/);
    // legacy start with a wrong magic number
    const wrong = new Pk().proto(2).int(12345).stop().bytes();
    expect(errorOf(() => decodePtSync(wrong)).message).toMatch(/magic number/);
  });

  test('a corrupted storage fails the CRC check, and is read as is without it', () => {
    const pk = new Pk().proto(2).tensor(6, 0, [6], [1]).stop();
    const z = file(pk.bytes(), six);
    const at = Buffer.from(z).indexOf(Buffer.from(six));
    z[at + 5] ^= 0x40;
    expect(errorOf(() => decodePtSync(z)).message).toMatch(/CRC-32/);
    const r = decodePtSync(z, { verifyCrc: false });
    expect((r.tensors[0]!.data as Float32Array)[1]).not.toBe(1);
  });

  test('the root value and nested containers come back as plain values', () => {
    const pk = new Pk().proto(2).global('collections', 'OrderedDict').op(0x29).reduce().str('w').tensor(6, 0, [3, 2], [2, 1]).op(0x73).stop();
    const r = decodePtSync(file(pk.bytes(), six));
    expect(r.root).toBeInstanceOf(PyDict);
    const d = r.root as PyDict;
    expect(d.ordered).toBe(true);
    expect(d.get('w')).toBe(r.tensors[0]);
    expect(isMetaD2AException(errorOf(() => decodePtSync(file(pk.bytes().slice(0, -1), six))))).toBe(true);
  });
});

describe('igraph.Graph → ArchGraph', () => {
  const graph = (n: number, edges: [number, number][], types: PyValue[]): PyObject => {
    const vattrs = new PyDict(false);
    vattrs.entries.set('type', types);
    return new PyObject(new PyGlobal('igraph', 'Graph'), new PyTuple([n, edges.map((e) => new PyTuple(e)), true, new PyDict(false), vattrs, new PyDict(false)]), 'reduce');
  };
  const scalar = (v: number): TorchTensor => {
    const t = new TorchTensor('float32', [], false, { storage: new TorchStorage('float32', '0', 1, 'cpu'), offset: 0, stride: [] });
    t.data = Float32Array.of(v);
    return t;
  };

  test('types from ints or 0-d float tensors (MBv3 files), edges in insertion order', () => {
    expect(
      archGraphFromIGraph(
        graph(
          3,
          [
            [1, 2],
            [0, 1],
          ],
          [0, scalar(7), 1],
        ),
        'g',
      ),
    ).toEqual({
      types: [0, 7, 1],
      edges: [
        [1, 2],
        [0, 1],
      ],
    });
  });

  test.each([
    ['a non-integral type', graph(2, [[0, 1]], [0, scalar(1.5)]), /vertex type/],
    ['an edge out of range', graph(2, [[0, 2]], [0, 1]), /igraph edge 0/],
    ['too few types', graph(3, [], [0, 1]), /3 types/],
    ['another class', new PyObject(new PyGlobal('networkx', 'DiGraph'), new PyTuple([]), 'reduce'), /igraph\.Graph/],
  ])('%s is a named ParseError', (_n, v, message) => {
    const e = errorOf(() => archGraphFromIGraph(v, 'g'));
    expect(e.error._tag).toBe('ParseError');
    expect(e.message).toMatch(message);
  });
});

describe('outline', () => {
  test('a bounded, readable outline of a file, cycles marked', () => {
    const r = decodePtSync(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'gru-golden', 'state_dict.pt'))));
    expect(outline(r.root, { maxDepth: 1, maxItems: 2 }).split('\n')).toEqual([
      'OrderedDict (8 keys)',
      '  toy.weight_ih: tensor float32 [6, 2]',
      '  toy.weight_hh: tensor float32 [6, 2]',
      '  … 6 more',
    ]);
    const cyclic = run([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]);
    expect(outline(cyclic).split('\n')).toEqual(['list (1 items)', '  [0] list (1 items)', '    (cycle)']);
  });

  test('gzip inside gzip is refused', () => {
    const twice = zlib.gzipSync(zlib.gzipSync(Buffer.from([0x80, 2, 0x4e, 0x2e])));
    expect(errorOf(() => decodePtSync(twice)).error._tag).toBe('Unsupported');
  });
});
