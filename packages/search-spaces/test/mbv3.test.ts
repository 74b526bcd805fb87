import * as E from 'fp-ts/lib/Either.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, inLists, searchSpaces, unwrap, type ArchGraph } from '@metad2a/core';
import { fixturesRoot } from '@metad2a/fixtures';
import {
  MBV3_CHAIN_EDGES,
  decodeMbv3,
  encodeMbv3,
  formatMbv3,
  isValidDag,
  isValidMbv3,
  makeDivisible,
  mbv3,
  mbv3AccuracyOracle,
  mbv3ActiveKey,
  mbv3ConfigFrom,
  mbv3Cost,
  mbv3OracleFeatures,
  mbv3SlotOf,
  mbv3SlotType,
  parseMbv3,
  type Mbv3Config,
} from '@metad2a/search-spaces';

interface MbGraph {
  label?: string;
  config?: Mbv3Config;
  types: number[];
  edges: [number, number][];
  in_lists?: number[][];
  valid?: boolean;
  official_is_valid?: boolean;
  official_is_valid_DAG?: boolean;
  decoded_config: Mbv3Config | null;
}
const fx = JSON.parse(fs.readFileSync(path.join(fixturesRoot(), 'graphs-mbv3.json'), 'utf8')) as { valid: MbGraph[]; invalid: MbGraph[]; valid_noncanonical: MbGraph[] };
const graph = (g: MbGraph): ArchGraph => ({ types: g.types, edges: g.edges });
const cfg = (ks: number, e: number, d: number): Mbv3Config => unwrap(mbv3ConfigFrom({ ks: new Array(20).fill(ks), e: new Array(20).fill(e), d: new Array(5).fill(d) }));

describe('MBv3 encoding', () => {
  test('spec §9.12: type formula and its inverse', () => {
    expect(mbv3SlotType(2, 7, 3)).toBe(8);
    expect(mbv3SlotType(4, 7, 6)).toBe(28);
    expect(mbv3SlotType(2, 3, 3)).toBe(2);
    expect(mbv3SlotType(2, 3, 6)).toBe(4);
    expect(mbv3SlotType(3, 3, 6)).toBe(13);
    expect(mbv3SlotType(4, 3, 6)).toBe(22);
    for (let t = 2; t <= 28; t++) {
      const s = mbv3SlotOf(t)!;
      expect(mbv3SlotType(s.depth, s.kernel, s.expand)).toBe(t);
    }
    expect(mbv3SlotOf(29)).toBeUndefined();
  });
  test('spec §9.13: 22 vertices, 21 chain edges, round trip over 1,000 seeded samples', () => {
    const rng = new Rng(3);
    let ok = 0;
    for (let i = 0; i < 1000; i++) {
      const c = mbv3.sample(rng);
      const g = encodeMbv3(c);
      const back = unwrap(decodeMbv3(g));
      if (
        g.types.length === 22 &&
        g.edges.length === 21 &&
        g.types[0] === 0 &&
        g.types[21] === 1 &&
        formatMbv3(back) === formatMbv3(c) &&
        JSON.stringify(back) === JSON.stringify(c)
      )
        ok++;
    }
    expect(ok).toBe(1000);
  });
  test('fixture graphs-mbv3: the 10 real OFA configs', () => {
    expect(fx.valid.length).toBe(10);
    for (const g of fx.valid) {
      const c = unwrap(mbv3ConfigFrom(g.config));
      const enc = encodeMbv3(c);
      expect(enc.types).toEqual(g.types);
      expect(enc.edges).toEqual(g.edges);
      expect(inLists(enc)).toEqual(g.in_lists);
      expect(isValidMbv3(graph(g))).toBe(g.valid);
      expect(unwrap(decodeMbv3(graph(g)))).toEqual(g.decoded_config);
      expect(unwrap(parseMbv3(formatMbv3(c)))).toEqual(c);
    }
  });
  test('fixture graphs-mbv3: invalid graphs and the valid graph with extra edges (spec §9.14)', () => {
    expect(fx.invalid.length).toBe(5);
    for (const g of [...fx.invalid, ...fx.valid_noncanonical]) {
      expect([g.label, isValidMbv3(graph(g))]).toEqual([g.label, g.official_is_valid]);
      expect([g.label, isValidDag(graph(g))]).toEqual([g.label, g.official_is_valid_DAG]);
      const d = decodeMbv3(graph(g));
      expect([g.label, E.isRight(d) ? d.right : null]).toEqual([g.label, g.decoded_config]);
    }
    const mixed = decodeMbv3(graph(fx.invalid.find((g) => g.label === 'mixed_depth_in_stage')!));
    expect(E.isLeft(mixed) && mixed.left.message).toMatch(/stage 2 \(vertices 5\.\.8\) mixes depth groups \[3, 4, 3, 3\]/);
  });
  test('a slot type above 28 or a cycle is invalid', () => {
    const g = encodeMbv3(cfg(3, 3, 2));
    expect(isValidMbv3({ types: g.types.map((t, i) => (i === 4 ? 29 : t)), edges: g.edges })).toBe(false);
    expect(isValidMbv3({ types: g.types, edges: [...MBV3_CHAIN_EDGES, [5, 2]] })).toBe(false);
  });
});

describe('MBv3 configs and strings', () => {
  test('strict validation names the field', () => {
    const good = { ks: new Array(20).fill(3), e: new Array(20).fill(4), d: new Array(5).fill(2) };
    const msg = (x: unknown): string => {
      const r = mbv3ConfigFrom(x);
      if (E.isRight(r)) throw new Error('expected an error');
      return r.left.message;
    };
    expect(msg({ ...good, ks: [...good.ks.slice(0, 7), 4, ...good.ks.slice(8)] })).toMatch(/ks\[7\]: expected 3, 5 or 7, got 4/);
    expect(msg({ ...good, e: good.e.slice(1) })).toMatch(/e: expected an array of 20 values in \{3, 4, 6\}, got 19 values/);
    expect(msg({ ...good, d: [2, 3, 4, 5, 2] })).toMatch(/d\[3\]: expected 2, 3 or 4, got 5/);
    expect(msg({ ...good, r: 224 })).toMatch(/unknown key "r"/);
    expect(msg(null)).toMatch(/expected an object/);
  });
  test('distance: block slots that differ, inactive slots ignored', () => {
    const c = unwrap(parseMbv3('d4:k3e3,k7e6,k5e3,k5e4|d3:k3e4,k5e3,k5e4,(k5e4)|d4:k7e3,k7e4,k7e4,k5e3|d2:k3e3,k3e3,(k5e6),(k3e3)|d4:k3e3,k5e6,k3e3,k5e3'));
    // another inactive slot: the same network, 0 apart
    const inactive = unwrap(parseMbv3('d4:k3e3,k7e6,k5e3,k5e4|d3:k3e4,k5e3,k5e4,(k7e3)|d4:k7e3,k7e4,k7e4,k5e3|d2:k3e3,k3e3,(k3e3),(k3e3)|d4:k3e3,k5e6,k3e3,k5e3'));
    // one kernel (stage 1 slot 0) and one expand ratio (stage 5 slot 3) changed, stage 4 one block deeper
    const other = unwrap(parseMbv3('d4:k5e3,k7e6,k5e3,k5e4|d3:k3e4,k5e3,k5e4,(k5e4)|d4:k7e3,k7e4,k7e4,k5e3|d3:k3e3,k3e3,k5e6,(k3e3)|d4:k3e3,k5e6,k3e3,k5e6'));
    expect(mbv3ActiveKey(inactive)).toBe(mbv3ActiveKey(c));
    expect(mbv3.distance!(c, inactive)).toBe(0);
    expect([mbv3.distance!(c, other), mbv3.distance!(other, c)]).toEqual([3, 3]);
  });
  test('readable form round trips and marks inactive slots', () => {
    const c = unwrap(mbv3ConfigFrom(fx.valid[0]!.config));
    const s = formatMbv3(c);
    expect(s).toBe('d4:k3e3,k7e6,k5e3,k5e4|d3:k3e4,k5e3,k5e4,(k5e4)|d4:k7e3,k7e4,k7e4,k5e3|d2:k3e3,k3e3,(k5e6),(k3e3)|d4:k3e3,k5e6,k3e3,k5e3');
    expect(unwrap(parseMbv3(s))).toEqual(c);
    expect(mbv3ActiveKey(c)).toBe('k3e3,k7e6,k5e3,k5e4|k3e4,k5e3,k5e4|k7e3,k7e4,k7e4,k5e3|k3e3,k3e3|k3e3,k5e6,k3e3,k5e3');
  });
  test('bad strings say where and what was expected', () => {
    const s = formatMbv3(unwrap(mbv3ConfigFrom(fx.valid[0]!.config)));
    const msg = (x: string): string => {
      const r = parseMbv3(x);
      if (E.isRight(r)) throw new Error(`parsed ${x}`);
      expect(r.left._tag).toBe('ParseError');
      return r.left.message;
    };
    expect(msg(s.replace('d3:', 'd5:'))).toMatch(/stage 2\): expected depth 2, 3 or 4, got "5"/);
    expect(msg(s.replace('(k5e4)', 'k5e4'))).toMatch(/stage 2, slot 4\): expected an inactive slot "\(k<k>e<e>\)" \(depth 3\)/);
    expect(msg(s.replace('k7e6', 'k9e6'))).toMatch(/stage 1, slot 2\): expected kernel 3, 5 or 7, got "9"/);
    expect(msg(s.replace('k7e6', 'k7e5'))).toMatch(/expected expand ratio 3, 4 or 6, got "5"/);
    expect(msg(s + '|')).toMatch(/after stage 5\): expected end of string/);
    expect(msg(s.split('|').slice(0, 4).join('|'))).toMatch(/stage 5\): expected "\|" between stages, got end of string/);
    expect(msg('')).toMatch(/position 0 \(stage 1\): expected "d<depth>:"/);
  });
  test('seeded sampling is reproducible and uniform-ish', () => {
    const a = mbv3.sample(new Rng(11));
    expect(mbv3.sample(new Rng(11))).toEqual(a);
    expect(mbv3.sample(new Rng(12))).not.toEqual(a);
    const rng = new Rng(5);
    const count = { 3: 0, 5: 0, 7: 0 } as Record<number, number>;
    for (let i = 0; i < 300; i++) for (const k of mbv3.sample(rng).ks) count[k]!++;
    for (const k of [3, 5, 7]) expect(Math.abs(count[k]! - 2000)).toBeLessThan(200);
  });
  test('registered as mbv3', () => {
    expect(searchSpaces.get('mbv3')).toBe(mbv3);
    expect(mbv3.graphConfig).toEqual({ nvt: 29, maxN: 22, startType: 0, endType: 1 });
  });
});

describe('MBv3 cost and accuracy oracle', () => {
  test('make_divisible as OFA', () => {
    expect(makeDivisible(16 * 3)).toBe(48);
    expect(makeDivisible(24 * 4)).toBe(96);
    expect(makeDivisible(18)).toBe(24); // 16 would be < 0.9·18, so one divisor is added
    expect(makeDivisible(Math.floor(120 / 4))).toBe(32);
  });
  test('one-slot changes cost exactly the hand-derived layer difference', () => {
    const base = cfg(3, 3, 2);
    const k5 = unwrap(mbv3ConfigFrom({ ...base, ks: base.ks.map((k, i) => (i === 0 ? 5 : k)) }));
    // stage 1, block 1: mid = make_divisible(16·3) = 48, depthwise at 56×56 (stride 2 from 112)
    expect(mbv3Cost(k5).flops - mbv3Cost(base).flops).toBe(48 * (25 - 9) * 56 * 56);
    expect(mbv3Cost(k5).params - mbv3Cost(base).params).toBe(48 * (25 - 9));
    // stage 1 depth 2 → 3 adds block 24→24, mid 72, k3, 56×56, no SE
    const d3 = unwrap(mbv3ConfigFrom({ ...base, d: [3, 2, 2, 2, 2] }));
    const block = { flops: (24 * 72 + 72 * 9 + 72 * 24) * 56 * 56, params: 24 * 72 + 144 + 72 * 9 + 144 + 72 * 24 + 48 };
    expect(mbv3Cost(d3).flops - mbv3Cost(base).flops).toBe(block.flops);
    expect(mbv3Cost(d3).params - mbv3Cost(base).params).toBe(block.params);
    // stage 2 depth 2 → 3 adds block 40→40, mid 120, k3, 28×28, SE 120→32→120 (with biases)
    const s2 = unwrap(mbv3ConfigFrom({ ...base, d: [2, 3, 2, 2, 2] }));
    const se = { flops: (40 * 120 + 120 * 9 + 120 * 40) * 28 * 28 + 120 * 32 * 2, params: 40 * 120 + 240 + 120 * 9 + 240 + 120 * 32 + 32 + 32 * 120 + 120 + 120 * 40 + 80 };
    expect(mbv3Cost(s2).flops - mbv3Cost(base).flops).toBe(se.flops);
    expect(mbv3Cost(s2).params - mbv3Cost(base).params).toBe(se.params);
  });
  test('FLOPs / params: ordering, inactive slots, resolution and classes', () => {
    const min = mbv3Cost(cfg(3, 3, 2));
    const max = mbv3Cost(cfg(7, 6, 4));
    expect(min.params).toBeLessThan(max.params);
    expect(min.flops).toBeLessThan(max.flops);
    // inactive slots do not change the network
    const a = unwrap(mbv3ConfigFrom({ ks: new Array(20).fill(3), e: new Array(20).fill(3), d: new Array(5).fill(2) }));
    const b = unwrap(mbv3ConfigFrom({ ks: new Array(20).fill(3).map((k, i) => (i % 4 >= 2 ? 7 : k)), e: new Array(20).fill(3), d: new Array(5).fill(2) }));
    expect(mbv3Cost(b)).toEqual(mbv3Cost(a));
    // the head and first layers are resolution-independent in params, and FLOPs scale with area
    expect(mbv3Cost(a, { resolution: 160 }).params).toBe(min.params);
    expect(mbv3Cost(a, { classes: 10 }).params).toBe(min.params - 990 * 1281);
    expect(() => mbv3Cost(a, { resolution: 0 })).toThrow(/resolution/);
  });
  test('reproduces the 5 OFA predictor test vectors to 1e-5 (features exactly)', () => {
    const tv = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'ofa-acc-predictor-test-vectors.json'), 'utf8')) as {
      ks: number[];
      e: number[];
      d: number[];
      r: number;
      features: number[];
      output: number;
    }[];
    expect(tv.length).toBe(5);
    const oracle = mbv3AccuracyOracle();
    for (const v of tv) {
      const c = unwrap(mbv3ConfigFrom({ ks: v.ks, e: v.e, d: v.d }));
      expect(Array.from(mbv3OracleFeatures(c, v.r))).toEqual(v.features);
      expect(Math.abs(oracle.predict(c, v.r) - v.output)).toBeLessThan(1e-5);
    }
    expect(() => oracle.predict(tv[0] as unknown as Mbv3Config, 100)).toThrow(/resolution: expected an integer 112\.\.239/);
  });
  test('matches the predictor outputs stored with 100 HELP OFA configs (resolutions 128..224)', () => {
    const rows = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'help-ofa-archs-every-50th.json'), 'utf8')) as {
      ks: number[];
      e: number[];
      d: number[];
      r: number;
      ofa_pred_acc: number;
    }[];
    expect(rows.length).toBe(100);
    const oracle = mbv3AccuracyOracle();
    let worst = 0;
    for (const r of rows) worst = Math.max(worst, Math.abs(oracle.predict(unwrap(mbv3ConfigFrom({ ks: r.ks, e: r.e, d: r.d })), r.r) - r.ofa_pred_acc));
    expect(worst).toBeLessThan(1e-6); // stored with 6 decimals
    expect(new Set(rows.map((r) => r.r)).size).toBeGreaterThan(10);
  });
});
