import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { CHECKPOINT_FORMAT, checkNamedShapes, isMetaD2AException, loadCheckpoint, loadCheckpointSync, saveCheckpointSync, writeFileAtomicSync, type NamedArray } from '../src';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-ckpt-'));

const tensors: Record<string, NamedArray> = {
  'fc1.weight': { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) },
  'fc1.bias': { shape: [2], data: new Float32Array([0.25, -0]) },
  scalar: { shape: [], data: new Float32Array([Math.PI]) },
  empty: { shape: [0, 4], data: new Float32Array(0) },
};

describe('checkpoints', () => {
  it('round-trips tensors and meta exactly', async () => {
    const file = path.join(tmp(), 'a.ckpt');
    const meta = { config: { hs: 56 }, step: 12, rng: { algorithm: 'xoshiro128**', s: [1, 2, 3, 4] } };
    saveCheckpointSync(file, { meta, tensors });
    const back = await loadCheckpoint(file)();
    if (E.isLeft(back)) throw new Error(back.left.message);
    expect(back.right.meta).toEqual(meta);
    expect(Object.keys(back.right.tensors)).toEqual(Object.keys(tensors));
    for (const [k, v] of Object.entries(tensors)) {
      expect(back.right.tensors[k]!.shape).toEqual(v.shape);
      expect(Array.from(back.right.tensors[k]!.data)).toEqual(Array.from(v.data));
    }
    expect(back.right.tensors.scalar!.data[0]).toBe(Math.fround(Math.PI));
  });

  it('reports every mismatch by name on load', () => {
    const file = path.join(tmp(), 'b.ckpt');
    saveCheckpointSync(file, { meta: {}, tensors });
    const r = loadCheckpointSync(file, { 'fc1.weight': [3, 2], 'fc1.bias': [2], 'fc2.weight': [1, 2] });
    expect(E.isLeft(r)).toBe(true);
    if (E.isRight(r)) return;
    expect(r.left._tag).toBe('CheckpointMismatch');
    expect(r.left.details).toEqual(['shape of fc1.weight: expected [3, 2], got [2, 3]', 'missing: fc2.weight [1, 2]', 'unexpected: scalar []', 'unexpected: empty [0, 4]']);
    expect(r.left.message).toContain(file);
    const ok = loadCheckpointSync(file, { 'fc1.weight': [2, 3], 'fc1.bias': [2] }, { allowExtra: ['scalar', 'empty'] });
    expect(E.isRight(ok)).toBe(true);
    expect(checkNamedShapes(tensors, { 'fc1.weight': [2, 3] }, 'x', { allowExtra: true })).toBeUndefined();
  });

  it('rejects files that are not checkpoints or are cut short, naming the file and field', () => {
    const dir = tmp();
    const bad = path.join(dir, 'bad.ckpt');
    fs.writeFileSync(bad, 'PK\u0003\u0004 not a checkpoint at all');
    const r1 = loadCheckpointSync(bad);
    expect(E.isLeft(r1) && r1.left.message).toMatch(/bad\.ckpt: header length: expected a safetensors file/);
    const good = path.join(dir, 'good.ckpt');
    saveCheckpointSync(good, { meta: {}, tensors });
    const bytes = fs.readFileSync(good);
    fs.writeFileSync(bad, bytes.subarray(0, bytes.length - 8));
    const r2 = loadCheckpointSync(bad);
    expect(E.isLeft(r2) && r2.left.message).toMatch(/header\.(scalar|fc1\.\w+)\.data_offsets: expected 0 ≤ begin ≤ end ≤ \d+ \(the data section\)/);
    const r3 = loadCheckpointSync(path.join(dir, 'missing.ckpt'));
    expect(E.isLeft(r3) && r3.left._tag).toBe('IoError');
  });

  it('a failed save leaves the previous file intact and no temporary file behind', () => {
    const dir = tmp();
    const file = path.join(dir, 'c.ckpt');
    saveCheckpointSync(file, { meta: { v: 1 }, tensors });
    const before = fs.readFileSync(file);
    const broken = { ...tensors, 'zz.bad': { shape: [5], data: new Float32Array(3) } };
    expect(() => saveCheckpointSync(file, { meta: { v: 2 }, tensors: broken })).toThrow(/zz\.bad: expected 5 values for shape \[5\], got 3/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['c.ckpt']);
  });

  it('writeFileAtomicSync: a writer that throws midway leaves nothing', () => {
    const dir = tmp();
    const file = path.join(dir, 'x.json');
    expect(() =>
      writeFileAtomicSync(file, (write) => {
        write(Buffer.from('{"partial":'));
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(fs.readdirSync(dir)).toEqual([]);
    writeFileAtomicSync(file, '{"ok":true}');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"ok":true}');
  });
});

/**
 * An independent safetensors reader, written from the format's specification alone
 * (github.com/huggingface/safetensors, "Format"): u64 little-endian header size N, N bytes of
 * JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { str: str } }`,
 * then the byte buffer, which the tensors must cover entirely without holes.
 */
function specReader(bytes: Buffer): { metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>; dataStart: number } {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const dataStart = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  delete header.__metadata__;
  const tensors: Record<string, { dtype: string; shape: number[]; values: number[] }> = {};
  const covered: [number, number][] = [];
  for (const [name, t] of Object.entries(header)) {
    const [b, e] = t.data_offsets as [number, number];
    covered.push([b, e]);
    const values: number[] = [];
    for (let o = dataStart + b; o < dataStart + e; o += 4) values.push(bytes.readFloatLE(o));
    tensors[name] = { dtype: t.dtype, shape: t.shape, values };
  }
  covered.sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [b, e] of covered) {
    if (b !== at) throw new Error(`hole or overlap at ${at}`);
    at = e;
  }
  if (at !== bytes.length - dataStart) throw new Error('buffer not entirely indexed');
  return { metadata, tensors, dataStart };
}

/** safetensors bytes as another tool would write them: unpadded header, no metad2a metadata. */
function foreignSafetensors(header: Record<string, unknown>, data: Float32Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

describe('checkpoints are safetensors', () => {
  it('a standard safetensors reader reads them: F32 tensors, string metadata, aligned data, the meta as JSON', () => {
    const file = path.join(tmp(), 'model.safetensors');
    const meta = { role: 'generator', config: { hs: 56, nz: 56 }, step: 3 };
    saveCheckpointSync(file, { meta, tensors });
    const bytes = fs.readFileSync(file);
    const r = specReader(bytes);
    expect(r.dataStart % 8).toBe(0);
    expect(Object.keys(r.tensors)).toEqual(['fc1.weight', 'fc1.bias', 'scalar', 'empty']);
    expect(r.tensors['fc1.weight']).toEqual({ dtype: 'F32', shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5] });
    expect(r.tensors.scalar).toEqual({ dtype: 'F32', shape: [], values: [Math.fround(Math.PI)] });
    expect(r.tensors.empty).toEqual({ dtype: 'F32', shape: [0, 4], values: [] });
    expect(Object.values(r.metadata).every((v) => typeof v === 'string')).toBe(true);
    expect(r.metadata.format).toBe(CHECKPOINT_FORMAT);
    expect(JSON.parse(r.metadata.meta!)).toEqual(meta);
    expect(r.metadata.sha256).toBe(require('node:crypto').createHash('sha256').update(bytes.subarray(r.dataStart)).digest('hex'));
  });

  it('loads safetensors written by another tool (no metadata, other tensor order, unpadded header)', () => {
    const file = path.join(tmp(), 'foreign.safetensors');
    const data = new Float32Array([9, 8, 7, 1, 2]);
    fs.writeFileSync(file, foreignSafetensors({ b: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, a: { dtype: 'F32', shape: [1, 2], data_offsets: [12, 20] } }, data));
    const r = loadCheckpointSync(file, { a: [1, 2], b: [3] });
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.meta).toEqual({});
    expect(Array.from(r.right.tensors.a!.data)).toEqual([1, 2]);
    expect(Array.from(r.right.tensors.b!.data)).toEqual([9, 8, 7]);
  });

  it('refuses a modified file (SHA-256 of the data in the header), other dtypes, and holes, naming the field', () => {
    const dir = tmp();
    const file = path.join(dir, 'm.safetensors');
    saveCheckpointSync(file, { meta: {}, tensors });
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x01; // one bit of the last tensor value
    fs.writeFileSync(file, bytes);
    const r = loadCheckpointSync(file);
    expect(E.isLeft(r) && r.left._tag).toBe('IntegrityError');
    expect(E.isLeft(r) && r.left.message).toMatch(/m\.safetensors: __metadata__\.sha256: expected [0-9a-f]{64}, got [0-9a-f]{64} \(the file is corrupted or was modified\)/);

    fs.writeFileSync(file, foreignSafetensors({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Float32Array(1)));
    const r2 = loadCheckpointSync(file);
    expect(E.isLeft(r2) && r2.left._tag).toBe('Unsupported');
    expect(E.isLeft(r2) && r2.left.message).toMatch(/header\.h\.dtype: expected F32 \(float32\) tensors, got "F16"/);

    fs.writeFileSync(file, foreignSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Float32Array(2)));
    const r3 = loadCheckpointSync(file);
    expect(E.isLeft(r3) && r3.left.message).toMatch(/header\.a\.data_offsets: expected to start at byte 0/);
  });

  it('NaN or Infinity in weights is refused on save (nothing written) and on load, naming the tensor', () => {
    const dir = tmp();
    const file = path.join(dir, 'n.safetensors');
    const bad = { ok: { shape: [2], data: new Float32Array([1, 2]) }, 'head.weight': { shape: [2, 2], data: new Float32Array([0, Number.NaN, Infinity, 1]) } };
    let thrown: unknown;
    try {
      saveCheckpointSync(file, { meta: {}, tensors: bad });
    } catch (err) {
      thrown = err;
    }
    expect(isMetaD2AException(thrown, 'NonFiniteValues')).toBe(true);
    expect((thrown as Error).message).toMatch(/n\.safetensors: head\.weight: expected finite float32 weights, got 2 NaN\/Infinity values \(first at flat index 1: NaN\)/);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.writeFileSync(file, foreignSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, new Float32Array([1, -Infinity, 0])));
    const r = loadCheckpointSync(file);
    expect(E.isLeft(r) && r.left._tag).toBe('NonFiniteValues');
    expect(E.isLeft(r) && r.left.message).toMatch(/w: expected finite float32 weights, got 1 NaN\/Infinity value \(first at flat index 1: -Infinity\)/);
  });

  it('the previous format (MD2ACKPT, version 1) still loads', () => {
    const file = path.join(tmp(), 'old.ckpt');
    const header = Buffer.from(
      JSON.stringify({
        format: 'metad2a-checkpoint/1',
        meta: { step: 7 },
        tensors: [
          { name: 'w', shape: [2, 2], offset: 0, length: 4 },
          { name: 'b', shape: [2], offset: 16, length: 2 },
        ],
      }),
    );
    const head = Buffer.alloc(16);
    head.write('MD2ACKPT', 0, 'ascii');
    head.writeUInt32LE(1, 8);
    head.writeUInt32LE(header.length, 12);
    const pad = Buffer.alloc((8 - ((16 + header.length) % 8)) % 8);
    const data = new Float32Array([1, 2, 3, 4, -1, 0.5]);
    fs.writeFileSync(file, Buffer.concat([head, header, pad, Buffer.from(data.buffer)]));
    const r = loadCheckpointSync(file, { w: [2, 2], b: [2] });
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.meta).toEqual({ step: 7 });
    expect(Array.from(r.right.tensors.w!.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(r.right.tensors.b!.data)).toEqual([-1, 0.5]);
  });
});
