import * as E from 'fp-ts/lib/Either.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, graphKey, inLists, isMetaD2AException, searchSpaces, unwrap, type ArchGraph } from '@metad2a/core';
import { fixturesRoot } from '@metad2a/fixtures';
import {
  NB201_GRAPH_EDGES,
  NB201_SIZE,
  canonicalKey,
  decodeNb201,
  encodeNb201,
  enumerateNb201,
  formatNb201,
  isValidDag,
  isValidNb201,
  nb201,
  nb201CellFrom,
  nb201CellFromMatrix,
  nb201Code,
  nb201Cost,
  nb201FromCode,
  nb201GraphFromRows,
  nb201Matrix,
  nb201Rows,
  nb201UniqueStr,
  parseNb201,
  registerSearchSpaces,
  type Nb201Cell,
} from '@metad2a/search-spaces';

interface NbGraph {
  arch_str?: string;
  label?: string;
  ops?: string[];
  rows?: number[][];
  types: number[];
  edges: [number, number][];
  in_lists?: number[][];
  matrix4x4?: number[][];
  valid?: boolean;
  official_is_valid?: boolean;
  official_is_valid_DAG?: boolean;
  decoded_str: string | null;
}
const fx = JSON.parse(fs.readFileSync(path.join(fixturesRoot(), 'graphs-nb201.json'), 'utf8')) as { valid: NbGraph[]; invalid: NbGraph[]; valid_noncanonical: NbGraph[] };
const OPT = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const graph = (g: NbGraph): ArchGraph => ({ types: g.types, edges: g.edges });

describe('NB201 strings, tuples and graphs', () => {
  test('spec §9.1: 15,625 unique strings; string ↔ tuple ↔ graph ↔ code are bijections', () => {
    const strings = new Set<string>();
    let n = 0;
    const failures: string[] = [];
    for (const cell of enumerateNb201()) {
      const s = formatNb201(cell);
      strings.add(s);
      const same = (c: Nb201Cell): boolean => c.every((o, i) => o === cell[i]);
      if (nb201Code(unwrap(parseNb201(s))) !== n) failures.push(`code ${s}`);
      if (!same(unwrap(decodeNb201(encodeNb201(cell))))) failures.push(`graph ${s}`);
      if (!same(unwrap(nb201CellFromMatrix(nb201Matrix(cell, 'op'), 'op')))) failures.push(`op matrix ${s}`);
      if (!same(unwrap(nb201CellFromMatrix(nb201Matrix(cell, 'type'), 'type')))) failures.push(`type matrix ${s}`);
      n++;
    }
    expect(failures).toEqual([]);
    expect(n).toBe(NB201_SIZE);
    expect(strings.size).toBe(15625);
  });

  test('spec §9.2: the CIFAR optimum string, types and matrix', () => {
    const cell = unwrap(parseNb201(OPT));
    expect(cell).toEqual([3, 3, 3, 1, 3, 3]);
    expect(formatNb201([3, 3, 3, 1, 3, 3])).toBe(OPT);
    expect(encodeNb201(cell).types).toEqual([0, 5, 5, 5, 3, 5, 5, 1]);
    expect(nb201Matrix(cell)).toEqual([
      [0, 0, 0, 0],
      [3, 0, 0, 0],
      [3, 3, 0, 0],
      [1, 3, 3, 0],
    ]);
    expect(nb201Matrix(cell, 'type')).toEqual([
      [0, 0, 0, 0],
      [5, 0, 0, 0],
      [5, 5, 0, 0],
      [3, 5, 5, 0],
    ]);
  });

  test('spec §9.3: every canonical graph has the 11 fixed edges and is valid', () => {
    const inl = [[], [0], [1], [1, 2], [3], [1, 4], [2, 3, 5], [6]];
    let ok = 0;
    for (const cell of enumerateNb201()) {
      const g = encodeNb201(cell);
      if (g.types.length === 8 && g.edges.length === 11 && isValidNb201(g)) ok++;
    }
    expect(ok).toBe(15625);
    expect(inLists(encodeNb201([0, 0, 0, 0, 0, 0]))).toEqual(inl);
  });

  test('the official row builder reproduces the canonical edges in igraph insertion order', () => {
    const cell: Nb201Cell = [4, 2, 0, 1, 3, 2];
    const g = unwrap(nb201GraphFromRows(nb201Rows(cell)));
    expect(g.edges).toEqual(NB201_GRAPH_EDGES);
    expect(g.types).toEqual(encodeNb201(cell).types);
    expect(unwrap(nb201GraphFromRows(nb201Rows(cell).map((r) => `[${r.join(', ')}]`)))).toEqual(g);
    expect(E.isLeft(nb201GraphFromRows([[0], [5, 1, 1]]))).toBe(true);
  });

  test('fixture graphs-nb201: every valid entry (string, ops, rows, types, edges, in-lists, matrix)', () => {
    expect(fx.valid.length).toBe(20);
    for (const g of fx.valid) {
      const cell = unwrap(parseNb201(g.arch_str!));
      expect(cell.map((o) => ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'][o])).toEqual(g.ops);
      expect(nb201Rows(cell)).toEqual(g.rows);
      const enc = encodeNb201(cell);
      expect(enc.types).toEqual(g.types);
      expect(enc.edges).toEqual(g.edges);
      expect(inLists(enc)).toEqual(g.in_lists);
      expect(unwrap(nb201GraphFromRows(g.rows!)).edges).toEqual(g.edges);
      expect(nb201Matrix(cell, 'op')).toEqual(g.matrix4x4);
      expect(isValidNb201(graph(g))).toBe(g.valid);
      expect(formatNb201(unwrap(decodeNb201(graph(g))))).toBe(g.decoded_str);
    }
  });

  test('fixture graphs-nb201: invalid and non-canonical graphs get the official verdicts', () => {
    expect(fx.invalid.length).toBe(7);
    for (const g of [...fx.invalid, ...fx.valid_noncanonical]) {
      expect([g.label, isValidNb201(graph(g))]).toEqual([g.label, g.official_is_valid]);
      expect([g.label, isValidDag(graph(g))]).toEqual([g.label, g.official_is_valid_DAG]);
      const d = decodeNb201(graph(g));
      expect(E.isRight(d) ? formatNb201(d.right) : null).toBe(g.decoded_str);
    }
  });

  test('spec §9.4: validity negatives, with the broken rule named', () => {
    const base = encodeNb201([3, 3, 3, 1, 3, 3]);
    const left = (g: ArchGraph): string => {
      const r = decodeNb201(g);
      if (E.isRight(r)) throw new Error('expected invalid');
      return r.left.message;
    };
    for (let v = 1; v <= 6; v++) {
      for (const t of [0, 1]) {
        const types = [...base.types];
        types[v] = t;
        expect(isValidNb201({ types, edges: base.edges })).toBe(false);
      }
    }
    const chain = (n: number): ArchGraph => ({ types: [0, ...new Array<number>(n - 2).fill(5), 1], edges: Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as const) });
    expect(isValidNb201(chain(8))).toBe(true);
    expect(left(chain(7))).toMatch(/rule 5: exactly 8 vertices, found 7/);
    expect(left(chain(9))).toMatch(/found 9/);
    expect(left({ types: base.types, edges: base.edges.filter(([s, t]) => !(s === 3 && t === 4)) })).toMatch(/rule 3: vertex 4/);
    expect(left({ types: base.types, edges: base.edges.filter(([s, t]) => !(s === 4 && t === 5)) })).toMatch(/rule 4: vertex 4/);
    expect(left({ types: base.types, edges: [...base.edges, [6, 2]] })).toMatch(/rule 1/);
    expect(left({ types: [0, 5, 5, 5, 3, 5, 1, 1], edges: base.edges })).toMatch(/END/);
    expect(left({ types: base.types, edges: [...base.edges, [0, 9]] })).toMatch(/existing vertices/);
  });
});

describe('NB201 parser errors', () => {
  const err = (s: string): string => {
    const r = parseNb201(s);
    if (E.isRight(r)) throw new Error(`parsed ${s}`);
    expect(r.left._tag).toBe('ParseError');
    return r.left.message;
  };
  test('bad strings say where and what was expected', () => {
    expect(err('')).toMatch(/position 0 \(start of node 1\): expected "\|", got end of string/);
    expect(err(OPT.replace('skip_connect', 'skip'))).toMatch(/position 50 \(node 3, input from node 0\): expected an operation \(none, skip_connect, .*\), got "skip"/);
    expect(err(OPT.replace('~1|+', '~2|+'))).toMatch(/node 2, input from node 1\): expected source node index 1, got "2"/);
    expect(err(OPT.replace('|+|', '||'))).toMatch(/expected "\+" separating node 1 from node 2/);
    expect(err(OPT + 'x')).toMatch(/after node 3\): expected end of string, got "x"/);
    expect(err(OPT.slice(0, -1))).toMatch(/expected "\|", got end of string/);
    expect(err(' ' + OPT)).toMatch(/position 0/);
    expect(err(OPT.replace('~0|+', '|+'))).toMatch(/expected "~0" after the operation/);
    expect(err(OPT.replace('~2|', '~22|'))).toMatch(/expected source node index 2, got "22"/);
    expect(err('|none~0|+|none~0|none~1|')).toMatch(/before node 3/);
  });
  test('tuples, codes and matrices are validated', () => {
    expect(E.isLeft(nb201CellFrom([0, 1, 2, 3, 4]))).toBe(true);
    const r = nb201CellFrom([0, 1, 2, 3, 5, 0]);
    expect(E.isLeft(r) && r.left.message).toMatch(/edge e5 \(1→3\): expected an op id 0\.\.4, got 5/);
    expect(E.isLeft(nb201FromCode(15625))).toBe(true);
    const m = nb201CellFromMatrix([
      [0, 1, 0, 0],
      [3, 0, 0, 0],
      [3, 3, 0, 0],
      [1, 3, 3, 0],
    ]);
    expect(E.isLeft(m) && m.left.message).toMatch(/M\[0\]\[1\]/);
    const t = nb201CellFromMatrix(
      [
        [0, 0, 0, 0],
        [3, 0, 0, 0],
        [3, 3, 0, 0],
        [1, 3, 3, 0],
      ],
      'type',
    );
    expect(E.isLeft(t) && t.left.message).toMatch(/M\[1\]\[0\] \(edge 0→1\): expected an op type 2\.\.6, got 3|M\[3\]\[0\]/);
  });
});

describe('canonicalKey', () => {
  const key = (s: string): string => canonicalKey(unwrap(parseNb201(s)));
  test('ops that cannot reach the output, or sit on a zero input, do not matter', () => {
    // node 1 feeds nothing (e3 = e5 = none): e1's op is irrelevant
    const a = key('|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|');
    const b = key('|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|');
    expect(a).toBe(b);
    // node 1 is zero (e1 = none): ops applied to it are zero
    expect(key('|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|skip_connect~2|')).toBe(key('|none~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|'));
    // commutativity of the sum: skip(x) + conv(x) at node 3 either way round
    expect(key('|none~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|')).toBe(key('|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|skip_connect~2|'));
    // all-none output is '0'
    expect(canonicalKey([3, 3, 3, 0, 0, 0])).toBe('0');
    // different functions differ
    expect(key(OPT)).not.toBe(key(OPT.replace('skip_connect~0', 'nor_conv_1x1~0')));
    expect(key(OPT)).toBe('nor_conv_3x3(nor_conv_3x3(nor_conv_3x3(x))+nor_conv_3x3(x))+nor_conv_3x3(nor_conv_3x3(x))+x');
  });
  test('class counts: 4,930 (this rule) and 6,466 (NB201 to_unique_str, the paper number)', () => {
    const cells = [...enumerateNb201()];
    expect(new Set(cells.map(canonicalKey)).size).toBe(4930);
    expect(new Set(cells.map(nb201UniqueStr)).size).toBe(6466);
    // canonicalKey is coarser: equal unique strings ⇒ equal keys
    const byUnique = new Map<string, string>();
    let conflicts = 0;
    for (const c of cells) {
      const u = nb201UniqueStr(c);
      const k = canonicalKey(c);
      if (byUnique.has(u) && byUnique.get(u) !== k) conflicts++;
      byUnique.set(u, k);
    }
    expect(conflicts).toBe(0);
  });
});

describe('NB201 TinyNetwork cost', () => {
  test('spec §3.7 / §9.8 reference sizes', () => {
    expect(nb201Cost([3, 3, 3, 3, 3, 3])).toEqual({ params: 1531546, macs: 220119680 });
    expect(nb201Cost([0, 0, 0, 0, 0, 0])).toEqual({ params: 73306, macs: 7783040 });
    const opt = nb201Cost(unwrap(parseNb201(OPT)));
    expect(opt.params).toBe(1288506);
    expect((opt.macs / 1e6).toFixed(2)).toBe('184.73');
  });
  test('param_counts of fixtures/tinynet-nb201', () => {
    const m = JSON.parse(fs.readFileSync(path.join(fixturesRoot(), 'tinynet-nb201', 'manifest.json'), 'utf8')) as {
      param_counts: Record<string, number>;
      models: { prefix: string; arch_str: string }[];
    };
    const cell = (p: string): Nb201Cell => unwrap(parseNb201(m.models.find((x) => x.prefix === p)!.arch_str));
    expect(nb201Cost(cell('net0.'), { channels: 8, cellsPerStage: 1 }).params).toBe(m.param_counts['net0 (C=8,N=1)']);
    expect(nb201Cost(cell('net1.'), { channels: 8, cellsPerStage: 1 }).params).toBe(m.param_counts['net1 (C=8,N=1)']);
    expect(nb201Cost(cell('net0.')).params).toBe(m.param_counts['net0 arch at C=16,N=5']);
    expect(nb201Cost(cell('net1.')).params).toBe(m.param_counts['net1 arch at C=16,N=5']);
    expect(nb201Cost([0, 0, 0, 0, 0, 0]).params).toBe(m.param_counts['all_none at C=16,N=5']);
    expect(nb201Cost(unwrap(parseNb201(OPT))).params).toBe(m.param_counts['cifar_optimum at C=16,N=5']);
  });
  test('scales with classes, input size and channels; rejects sizes the network cannot take', () => {
    const c: Nb201Cell = [3, 3, 3, 3, 3, 3];
    expect(nb201Cost(c, { classes: 100 }).params - nb201Cost(c).params).toBe(90 * 65);
    expect(nb201Cost(c, { inputSize: 16 }).macs).toBe((220119680 - 640) / 4 + 640);
    expect(nb201Cost([0, 0, 0, 0, 0, 0], { inputSize: [32, 64] }).macs).toBe((7783040 - 640) * 2 + 640);
    expect(() => nb201Cost(c, { inputSize: 30 })).toThrow(/stage 3 input is 15×15/);
    expect(() => nb201Cost(c, { channels: 0 })).toThrow(/channels: expected a positive integer/);
  });
});

describe('nb201 SearchSpace', () => {
  test('distance: the edges whose operation differs', () => {
    const cell = (s: string) => unwrap(nb201.parse(s));
    const a = cell('|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
    const b = cell('|nor_conv_1x1~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|');
    const c = cell('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
    expect(nb201.distance!(a, a)).toBe(0);
    expect([nb201.distance!(a, b), nb201.distance!(b, a)]).toEqual([2, 2]);
    expect(nb201.distance!(a, c)).toBe(6);
  });
  test('is registered on import, idempotently', () => {
    expect(searchSpaces.get('nb201')).toBe(nb201);
    registerSearchSpaces();
    registerSearchSpaces();
    expect(searchSpaces.get('nb201')).toBe(nb201);
    expect(nb201.graphConfig).toEqual({ nvt: 7, maxN: 8, startType: 0, endType: 1 });
    expect(nb201.size).toBe(15625);
  });
  test('seeded sampling is reproducible and covers every op on every edge', () => {
    const a = Array.from(
      { length: 50 },
      (
        (r) => () =>
          nb201.sample(r)
      )(new Rng(7)),
    );
    const b = Array.from(
      { length: 50 },
      (
        (r) => () =>
          nb201.sample(r)
      )(new Rng(7)),
    );
    expect(a).toEqual(b);
    const seen = new Set<string>();
    const rng = new Rng(1);
    for (let i = 0; i < 2000; i++) nb201.sample(rng).forEach((o, e) => seen.add(`${e}:${o}`));
    expect(seen.size).toBe(30);
    for (const c of a) expect(unwrap(nb201.parse(nb201.format(c)))).toEqual(c);
  });
  test('decode of an invalid graph is a ValidationError; unwrap throws it', () => {
    const bad = { types: [0, 5, 5, 5, 5, 5, 1], edges: [] };
    expect(() => unwrap(nb201.decode(bad))).toThrow(/NB201 graph is invalid/);
    try {
      unwrap(nb201.decode(bad));
    } catch (e) {
      expect(isMetaD2AException(e, 'ValidationError')).toBe(true);
    }
    expect(graphKey(nb201.encode([1, 2, 3, 4, 0, 1]))).toBe(graphKey({ types: [0, 3, 4, 5, 6, 2, 3, 1], edges: NB201_GRAPH_EDGES }));
  });
});
