/**
 * Hostile inputs that used to hang the reader or blow its memory up (issue #19): each is now
 * linear in time or stopped by a named budget error.
 */
import * as zlib from 'node:zlib';
import { type PySet, decodePtSync, unpickle, type PyValue } from '../src';
import { Pk, errorOf, f32bytes, zipStored } from './helpers';

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const timed = <A>(f: () => A): [A, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
};

describe('LONG1 / LONG4 decode in linear time', () => {
  test.each(process.env.BEFORE ? [300_000] : [300_000, 1_000_000, 9_000_000])('a LONG4 of %i bytes decodes exactly, well under 3 s', (n) => {
    const b = new Uint8Array(n + 8);
    b.set([0x80, 2, 0x8b, ...u32(n)]);
    b[7 + n - 1] = 0x01; // little-endian: the value is 2^(8(n-1))
    b[7 + n] = 0x2e;
    const [v, ms] = timed(() => unpickle(b, 0, { source: 'long4' }).value);
    expect(typeof v).toBe('bigint');
    expect(v === 1n << BigInt(8 * (n - 1))).toBe(true);
    expect(ms).toBeLessThan(3000);
  });

  test("negative LONG1 / LONG4 values (two's complement)", () => {
    // LONG1 [0x00 0xff] = -256 ... as little-endian: 0xff00 → -256; LONG4 of 12 0xff bytes = -1
    const v = unpickle(
      Uint8Array.from([0x80, 2, 0x28, 0x8a, 2, 0x00, 0xff, 0x8b, 12, 0, 0, 0, ...new Array(12).fill(0xff), 0x8a, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x6c, 0x2e]),
      0,
      { source: 't' },
    ).value;
    expect(v).toEqual([-256, -1, -(2n ** 71n) + 1n]);
  });
});

describe('a decoded-size budget for the whole unpickling', () => {
  test('set() of a memoised list referenced thousands of times is refused by the budget, quickly', () => {
    // a list of 20,000 references (one DUP each), memoised, then set(memo) 4,000 times:
    // an 40 KB pickle that copied 640 MB of references before the budget.
    const pk = new Pk().proto(2).op(0x5d).op(0x71, 0).op(0x28).op(0x4e);
    for (let i = 1; i < 20_000; i++) pk.op(0x32);
    pk.op(0x65).op(0x30).op(0x28); // APPENDS (the list holds 20,000 Nones), POP it, MARK
    pk.global('builtins', 'set').op(0x71, 1).op(0x30);
    for (let i = 0; i < 4000; i++) pk.op(0x68, 1, 0x68, 0, 0x85, 0x52);
    pk.op(0x6c).stop();
    const bytes = pk.bytes();
    expect(bytes.length).toBeLessThan(64_000);
    const [e, ms] = timed(() => errorOf(() => unpickle(bytes, 0, { source: 'amplify.pkl' })));
    expect(e.error._tag).toBe('ParseError');
    expect(e.error.field).toMatch(/decoded-size budget/);
    expect(e.message).toContain('amplify.pkl');
    expect(ms).toBeLessThan(3000);
    // a few copies of the same list are within budget and decode normally
    const ok = new Pk().proto(2).op(0x5d).op(0x71, 0).op(0x28).op(0x4e);
    for (let i = 1; i < 1000; i++) ok.op(0x32);
    ok.op(0x65).op(0x30).op(0x28).global('builtins', 'set').op(0x71, 1).op(0x30);
    for (let i = 0; i < 3; i++) ok.op(0x68, 1, 0x68, 0, 0x85, 0x52);
    const v = unpickle(ok.op(0x6c).stop().bytes(), 0, { source: 'ok' }).value as PyValue[];
    expect(v).toHaveLength(3);
    expect((v[0] as PySet).items).toHaveLength(1000);
  });

  test('bytearray() of a memoised bytes object shares it instead of copying it', () => {
    const payload = 100_000;
    const pk = new Pk()
      .proto(2)
      .op(0x28)
      .op(0x42, ...u32(payload));
    for (let i = 0; i < payload; i++) pk.op(7);
    pk.op(0x71, 0);
    pk.global('builtins', 'bytearray').op(0x71, 1).op(0x30);
    for (let i = 0; i < 3000; i++) pk.op(0x68, 1, 0x68, 0, 0x85, 0x52);
    const [v, ms] = timed(() => unpickle(pk.op(0x6c).stop().bytes(), 0, { source: 'ba' }).value as Uint8Array[]);
    expect(v).toHaveLength(3001);
    expect(v[1]).toBe(v[0]);
    expect(v[3000]).toBe(v[0]);
    expect(v[0]![payload - 1]).toBe(7);
    expect(ms).toBeLessThan(3000);
  });

  test('many tensor views of one storage count every copy against the budget', () => {
    const numel = 1 << 18; // 1 MiB of float32
    const storage = f32bytes(Array.from({ length: numel }, (_, i) => i));
    const pk = new Pk().proto(2).op(0x28);
    for (let i = 0; i < 300; i++) pk.tensor(numel, 0, [numel], [1]);
    const file = zipStored({ 'a/data.pkl': pk.op(0x6c).stop().bytes(), 'a/data/0': storage });
    const e = errorOf(() => decodePtSync(file, { source: 'views.pt' }));
    expect(e.error.field).toMatch(/decoded-size budget/);
    expect(e.message).toContain('views.pt');
    // the same file with a budget that covers 300 copies decodes
    const r = decodePtSync(file, { source: 'views.pt', maxDecodedBytes: 400 * 4 * numel });
    expect(r.tensors).toHaveLength(300);
    expect((r.tensors[299]!.data as Float32Array)[numel - 1]).toBe(numel - 1);
  });
});

describe('a total-bytes budget for zip entries and gzip streams', () => {
  test('deflated entries within the ratio limit but 256 MB in total are refused quickly', () => {
    const numel = 8 << 20; // 32 MiB of zeros per storage
    const pk = new Pk().proto(2).op(0x28);
    const entries: Record<string, Uint8Array> = {};
    for (let k = 0; k < 8; k++) pk.tensor(numel, 0, [1], [1], 'FloatStorage', String(k));
    entries['a/data.pkl'] = pk.op(0x6c).stop().bytes();
    const zeros = new Uint8Array(4 * numel);
    for (let k = 0; k < 8; k++) entries[`a/data/${k}`] = zeros;
    const file = zipStored(entries, { deflate: true });
    expect(file.length).toBeLessThan(300_000);
    const [e, ms] = timed(() => errorOf(() => decodePtSync(file, { source: 'bomb.pt' })));
    expect(e.error.field).toMatch(/inflated-size budget/);
    expect(e.message).toContain('bomb.pt');
    expect(ms).toBeLessThan(3000);
  });

  test('a gzip stream inflating far beyond its size is refused by the same budget', () => {
    const gz = zlib.gzipSync(new Uint8Array(200 << 20));
    const e = errorOf(() => decodePtSync(gz, { source: 'bomb.pt.gz' }));
    expect(e.error.field).toMatch(/inflated-size budget/);
  });

  test('a deflated file under the budget still decodes', () => {
    const pk = new Pk().proto(2).tensor(6, 0, [6], [1]).stop();
    const r = decodePtSync(zipStored({ 'a/data.pkl': pk.bytes(), 'a/data/0': f32bytes([0, 1, 2, 3, 4, 5]) }, { deflate: true }));
    expect(Array.from(r.tensors[0]!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
