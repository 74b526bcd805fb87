import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { checkNamedShapes, loadCheckpoint, loadCheckpointSync, saveCheckpointSync, writeFileAtomicSync, type NamedArray } from '../src';

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
    expect(E.isLeft(r1) && r1.left.message).toMatch(/bad\.ckpt: magic: expected 'MD2ACKPT'/);
    const good = path.join(dir, 'good.ckpt');
    saveCheckpointSync(good, { meta: {}, tensors });
    const bytes = fs.readFileSync(good);
    fs.writeFileSync(bad, bytes.subarray(0, bytes.length - 8));
    const r2 = loadCheckpointSync(bad);
    expect(E.isLeft(r2) && r2.left.message).toMatch(/header\.tensors\[\d\] \(fc1\.bias\): expected data within the file/);
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
