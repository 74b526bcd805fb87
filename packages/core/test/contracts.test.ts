import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  Rng,
  drawClassSamples,
  drawDatasetBatch,
  drawDatasetRows,
  copyFeatureRow,
  graphConfig,
  graphKey,
  inLists,
  isAcyclic,
  outLists,
  Registry,
  searchSpaces,
  setEncoders,
  unwrap,
  parseError,
  type ArchGraph,
  type FeatureSet,
} from '../src';

describe('graphs', () => {
  // an NB201 cell's canonical graph as the official code builds it (the golden fixture; core's tests cannot import @metad2a/fixtures, which depends on core)
  const official = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../fixtures/graphs-nb201.json'), 'utf8')).valid[0] as ArchGraph & { in_lists: number[][] };
  const nb201Canonical: ArchGraph = { types: official.types, edges: official.edges };
  it('in/out lists follow the edge set (spec §9 item 3)', () => {
    expect(inLists(nb201Canonical)).toEqual(official.in_lists);
    expect(inLists(nb201Canonical)).toEqual([[], [0], [1], [1, 2], [3], [1, 4], [2, 3, 5], [6]]);
    expect(outLists(nb201Canonical)[1]).toEqual([2, 3, 5]);
    expect(isAcyclic(nb201Canonical)).toBe(true);
    expect(
      isAcyclic({
        types: [0, 2, 1],
        edges: [
          [0, 1],
          [1, 2],
          [2, 1],
        ],
      }),
    ).toBe(false);
    expect(isAcyclic({ types: [0, 1], edges: [[0, 5]] })).toBe(false);
  });
  it('graphKey ignores edge order', () => {
    const shuffled = { ...nb201Canonical, edges: [...nb201Canonical.edges].reverse() };
    expect(graphKey(shuffled)).toBe(graphKey(nb201Canonical));
  });
  it('graphConfig validates', () => {
    expect(graphConfig(7, 8)).toEqual({ nvt: 7, maxN: 8, startType: 0, endType: 1 });
    expect(() => graphConfig(2, 8)).toThrow(/nvt/);
  });
});

describe('registries', () => {
  it('lookup by name, with the known names in the error', () => {
    const r = new Registry<number>('thing');
    r.register('a', 1, { description: 'first' });
    r.register('b', 2);
    expect(r.get('a')).toBe(1);
    const miss = r.lookup('c');
    expect(E.isLeft(miss) && miss.left.message).toBe('thing registry: c: expected one of: a, b, got "c"');
    expect(() => r.register('a', 3)).toThrow(/already registered/);
    r.register('a', 3, { replace: true });
    expect(r.get('a')).toBe(3);
    expect(() => r.register('Bad Name', 1)).toThrow(/lower-case/);
    expect(searchSpaces.kind).toBe('search space');
    expect(setEncoders.kind).toBe('set encoder');
  });
  it('unwrap throws the tagged error', () => {
    expect(() => unwrap(E.left(parseError({ source: 'arch string', field: 'position 3', expected: "'|'", got: "'x'" })))).toThrow("arch string: position 3: expected '|', got 'x'");
  });
});

describe('feature sets', () => {
  const fs: FeatureSet = {
    name: 'toy',
    dim: 2,
    classes: [
      { label: 'a', count: 3, data: new Float32Array([0, 0, 1, 1, 2, 2]) },
      { label: 'b', count: 4, data: new Float32Array([10, 10, 11, 11, 12, 12, 13, 13]) },
    ],
  };
  it('draws n rows per class without replacement, class-contiguous, seeded', () => {
    const x = drawClassSamples(fs, 2, new Rng(1));
    expect(x.length).toBe(2 * 2 * 2);
    const rows = [0, 1, 2, 3].map((i) => x[2 * i]!);
    expect(rows[0]! < 3 && rows[1]! < 3 && rows[0] !== rows[1]).toBe(true);
    expect(rows[2]! >= 10 && rows[3]! >= 10 && rows[2] !== rows[3]).toBe(true);
    expect(Array.from(drawClassSamples(fs, 2, new Rng(1)))).toEqual(Array.from(x));
    const b = drawDatasetBatch(fs, 3, 4, new Rng(2));
    expect(b.shape).toEqual([4, 6, 2]);
    expect(b.layout).toEqual({ classes: 2, perClass: 3 });
  });
  it('drawDatasetRows names the rows drawDatasetBatch copies, consuming the rng alike', () => {
    const rngA = new Rng(7);
    const rngB = new Rng(7);
    const b = drawDatasetBatch(fs, 3, 4, rngA);
    const r = drawDatasetRows(fs, 3, 4, rngB);
    expect(r.shape).toEqual(b.shape);
    expect(r.layout).toEqual(b.layout);
    expect(r.rows).toHaveLength(4 * 2 * 3);
    const copied = new Float32Array(r.rows.length * 2);
    r.rows.forEach((row, i) => copyFeatureRow(fs, row, copied, 2 * i));
    expect(Array.from(copied)).toEqual(Array.from(b.data));
    expect(rngB.uniform()).toBe(rngA.uniform());
    expect(() => copyFeatureRow(fs, 7, copied, 0)).toThrow(/row 7 out of range/);
  });
  it('drawDatasetRows takes the first perClass entries of rng.permutation per class and resample, with the same draws', () => {
    const rngA = new Rng(11);
    const rngB = new Rng(11);
    const r = drawDatasetRows(fs, 2, 5, rngB);
    const expected: number[] = [];
    for (let b = 0; b < 5; b++) {
      let offset = 0;
      for (const c of fs.classes) {
        for (const i of rngA.permutation(c.count).slice(0, 2)) expected.push(offset + i);
        offset += c.count;
      }
    }
    expect(Array.from(r.rows)).toEqual(expected);
    expect(rngB.nextU32()).toBe(rngA.nextU32());
  });
  it('a class with too few samples is a clear error', () => {
    expect(() => drawClassSamples(fs, 4, new Rng(1))).toThrow('toy: class 0 (a): expected at least 4 samples, got 3');
  });
});
