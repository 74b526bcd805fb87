import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { isMetaD2AException } from '@metad2a/core';
import { PackedArrays, encodePackedArrays } from '../src/packed-arrays';

describe('packed arrays (the data-file container)', () => {
  test('round trip of every dtype, with scales', () => {
    const buf = encodePackedArrays([
      { name: 'a', dtype: 'u8', scale: 1, values: [0, 255, 7] },
      { name: 'b', dtype: 'u16', scale: 1, values: [65535, 1] },
      { name: 'acc', dtype: 'u32', scale: 1e6, values: [94.373333, 0.000001, 4294.967295] },
      { name: 'f', dtype: 'f32', scale: 1, values: [1.5, -2.25] },
      { name: 'd', dtype: 'f64', scale: 1, values: [Math.PI, NaN] },
    ]);
    const p = PackedArrays.decode('mem', buf);
    expect(p.names()).toEqual(['a', 'b', 'acc', 'f', 'd']);
    expect(Array.from(p.values('a'))).toEqual([0, 255, 7]);
    expect(Array.from(p.values('b'))).toEqual([65535, 1]);
    expect(Array.from(p.values('acc'))).toEqual([94.373333, 0.000001, 4294.967295]);
    expect(Array.from(p.float32('f'))).toEqual([1.5, -2.25]);
    const d = p.values('d');
    expect(d[0]).toBe(Math.PI);
    expect(Number.isNaN(d[1])).toBe(true);
  });
  test('values that do not fit, unknown names, bad files', () => {
    expect(() => encodePackedArrays([{ name: 'x', dtype: 'u8', scale: 1, values: [256] }])).toThrow(/x\[0\] = 256 does not fit u8/);
    const p = PackedArrays.decode('mem', encodePackedArrays([{ name: 'x', dtype: 'u8', scale: 1, values: [1] }]));
    expect(() => p.values('y')).toThrow(/mem: y: expected one of x/);
    const bad = Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.from('{"a"')]);
    expect(() => PackedArrays.decode('bad.bin', bad)).toThrow(/bad\.bin: header: expected JSON/);
    const other = Buffer.from('{"format":"other/9","arrays":[]}');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(other.length, 0);
    try {
      PackedArrays.decode('o.bin', Buffer.concat([len, other]));
      throw new Error('no error');
    } catch (e) {
      expect(isMetaD2AException(e, 'Unsupported')).toBe(true);
    }
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ss-')), 'not-gzip.bin.gz');
    fs.writeFileSync(f, 'plain text');
    expect(() => PackedArrays.readGzip(f)).toThrow(/not-gzip\.bin\.gz: expected a readable gzip file/);
    const ok = path.join(path.dirname(f), 'ok.bin.gz');
    fs.writeFileSync(ok, zlib.gzipSync(encodePackedArrays([{ name: 'z', dtype: 'u16', scale: 1, values: [3] }])));
    expect(Array.from(PackedArrays.readGzip(ok).values('z'))).toEqual([3]);
  });
});
