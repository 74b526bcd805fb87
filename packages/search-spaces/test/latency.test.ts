import { Rng, unwrap, checkLatencyBudget, constrainSearchSpace, memberOf, MetaD2AException } from '@metad2a/core';
import {
  MBV3_EXPANDS,
  MBV3_KERNELS,
  MBV3_STAGES,
  enumerateNb201,
  mbv3,
  mbv3ConfigFrom,
  mbv3FeasibleBound,
  mbv3Latency,
  mbv3LatencyModel,
  mbv3LatencyRange,
  nb201,
  nb201Cost,
  nb201FeasibleCount,
  nb201Latency,
  nb201Table,
  type Mbv3Config,
} from '../src';

describe('NB201 latency (HELP measurements, looked up)', () => {
  it('has a measurement for every cell on each of the 27 device settings; min/max per device are the table’s', () => {
    const devices = nb201Latency.devices();
    expect(devices).toHaveLength(27);
    const t = nb201Table();
    let measured = 0;
    for (const d of devices) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < t.size; i++) {
        const v = t.latency(i, d.name);
        if (Number.isFinite(v) && v > 0) measured++;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect([d.minMs, d.maxMs, d.kind]).toEqual([min, max, 'measured']);
    }
    expect(measured).toBe(27 * 15625);
    const titan = devices.find((d) => d.name === 'titan_rtx_1')!;
    expect([titan.batch, titan.minMs, titan.maxMs]).toEqual([1, 2.48562, 12.1831]);
  });

  it('counts exactly the cells within a latency budget and a FLOPs limit (against every cell)', () => {
    for (const [device, ms, mflops] of [
      ['titan_rtx_1', 5, undefined],
      ['pixel3', 10, 100],
      ['fpga', 1.2, undefined],
    ] as const) {
      let brute = 0;
      for (const cell of enumerateNb201()) {
        const okCost = mflops === undefined || nb201Cost(cell, { classes: 10 }).macs / 1e6 <= mflops;
        if (okCost && nb201Latency.latencyMs(cell, device) <= ms) brute++;
      }
      const f = nb201FeasibleCount({ maxLatencyMs: ms, device, maxMflops: mflops });
      expect([f.count, f.exact]).toEqual([BigInt(brute), true]);
      expect(f.minLatencyMs).toBe(nb201Latency.devices().find((d) => d.name === device)!.minMs);
    }
    expect(nb201FeasibleCount({ maxLatencyMs: 5, device: 'titan_rtx_1' }).count).toBe(2899n);
  });

  it('the constrained view admits exactly the cells within the budget (the generate stage’s filter)', () => {
    const view = constrainSearchSpace(nb201, { latencyMaxMs: 4, device: '2080ti_1' }, 10);
    let admitted = 0;
    for (const cell of enumerateNb201()) {
      const inside = nb201Latency.latencyMs(cell, '2080ti_1') <= 4;
      expect(memberOf(view, nb201.encode(cell)) !== undefined).toBe(inside);
      if (inside) admitted++;
    }
    expect(admitted).toBe(Number(nb201FeasibleCount({ maxLatencyMs: 4, device: '2080ti_1' }).count));
  });

  it('unknown devices, missing devices and infeasible budgets fail at once with named errors', () => {
    expect(() => checkLatencyBudget(nb201, { latencyMaxMs: 5, device: 'tpu_v4' })).toThrow(
      /search space nb201: device \(--device\): expected one of 1080ti_1, .*titanxp_32 \(metad2a devices lists them\), got "tpu_v4"/,
    );
    expect(() => checkLatencyBudget(nb201, { latencyMaxMs: 5 })).toThrow(/device \(--device\): expected a device setting for --latency-max/);
    expect(() => checkLatencyBudget(nb201, { latencyMaxMs: 2.4, device: 'titan_rtx_1' })).toThrow(
      'search space nb201: latency budget (--latency-max): expected at least 2.48562 ms, the lowest latency any nb201 architecture reaches on titan_rtx_1 (measured), got 2.4 ms',
    );
    expect(checkLatencyBudget(nb201, { latencyMaxMs: 2.48562, device: 'titan_rtx_1' })!.name).toBe('titan_rtx_1');
    expect(() => nb201Latency.latencyMs([3, 3, 3, 3, 3, 3] as never, 'tpu')).toThrow(MetaD2AException);
  });
});

/** The subnet of the model's lowest prediction: per stage the cheapest first block, then 1..3 cheapest later blocks. */
function fastestConfig(device: string): Mbv3Config {
  const p = mbv3LatencyModel().parts(device);
  const ks: number[] = [];
  const e: number[] = [];
  const d: number[] = [];
  for (let s = 0; s < MBV3_STAGES; s++) {
    const best = (first: boolean): [number, number, number] => {
      let b: [number, number, number] = [Infinity, 3, 3];
      for (const k of MBV3_KERNELS) for (const x of MBV3_EXPANDS) if (p.block(s, first, k, x) < b[0]) b = [p.block(s, first, k, x), k, x];
      return b;
    };
    const [, kf, ef] = best(true);
    const [ml, kl, el] = best(false);
    d.push(ml < 0 ? 4 : 2);
    ks.push(kf, kl, kl, kl);
    e.push(ef, el, el, el);
  }
  return unwrap(mbv3ConfigFrom({ ks, e, d }));
}

describe('MBv3 latency model (ridge, fitted to HELP’s measured OFA configs)', () => {
  it('held-out errors on the seeded split are the recorded ones (README table)', () => {
    const m = mbv3LatencyModel();
    expect(m.split).toEqual({ train: 4000, heldOut: 1000, seed: 'mbv3-latency-split' });
    const got = Object.fromEntries(m.heldOut.map((x) => [x.device, [x.maeMs, x.meanRelativeError, x.spearman]]));
    const recorded: Record<string, [number, number, number]> = {
      '2080ti_1': [1.078, 0.0863, 0.7501],
      '2080ti_32': [1.553, 0.1, 0.7996],
      '2080ti_64': [0.892, 0.0372, 0.978],
      titan_rtx_1: [0.266, 0.0421, 0.8985],
      titan_rtx_32: [0.245, 0.0204, 0.9974],
      titan_rtx_64: [0.492, 0.0214, 0.9973],
      titan_xp_1: [0.845, 0.067, 0.7861],
      titan_xp_32: [0.661, 0.0302, 0.9919],
      titan_xp_64: [1.099, 0.0258, 0.9961],
      v100_1: [0.492, 0.0464, 0.8831],
      v100_32: [0.564, 0.05, 0.9383],
      v100_64: [0.354, 0.0187, 0.9974],
    };
    expect(Object.keys(got)).toEqual(Object.keys(recorded));
    for (const [device, [mae, rel, rho]] of Object.entries(recorded)) {
      expect(got[device]![0]).toBeCloseTo(mae, 3);
      expect(got[device]![1]).toBeCloseTo(rel, 4);
      expect(got[device]![2]).toBeCloseTo(rho, 4);
    }
  });

  it('adds up over blocks at 224 px; the space’s fastest latency is reached by a subnet and undercut by none', () => {
    const m = mbv3LatencyModel();
    const rng = new Rng(5);
    for (const device of ['titan_rtx_1', 'v100_64']) {
      const p = m.parts(device);
      const { minMs, maxMs } = mbv3LatencyRange(p);
      for (let i = 0; i < 300; i++) {
        const c = mbv3.sample(rng);
        let sum = p.base;
        for (let s = 0; s < MBV3_STAGES; s++) for (let j = 0; j < c.d[s]!; j++) sum += p.block(s, j === 0, c.ks[4 * s + j]!, c.e[4 * s + j]!);
        const ms = mbv3Latency.latencyMs(c, device);
        expect(ms).toBeCloseTo(sum, 9);
        expect(ms).toBeGreaterThanOrEqual(minMs);
        expect(ms).toBeLessThanOrEqual(maxMs);
      }
      expect(m.predict(fastestConfig(device), device)).toBeCloseTo(minMs, 9);
      expect(mbv3FeasibleBound({ maxLatencyMs: minMs - 1e-6, device }).count).toBe(0n);
      expect(mbv3FeasibleBound({ maxLatencyMs: minMs + 1e-6, device }).count).toBeGreaterThan(0n);
    }
    expect(mbv3Latency.devices().find((d) => d.name === 'titan_rtx_1')!.minMs).toBeCloseTo(3.4844, 4);
  });

  it('the constrained view drops every sampled subnet over the budget; the bound is an upper bound', () => {
    const view = constrainSearchSpace(mbv3, { latencyMaxMs: 5.5, device: 'titan_rtx_1' }, 10);
    const rng = new Rng(9);
    let inside = 0;
    for (let i = 0; i < 500; i++) {
      const c = mbv3.sample(rng);
      const ok = mbv3Latency.latencyMs(c, 'titan_rtx_1') <= 5.5;
      expect(memberOf(view, mbv3.encode(c)) !== undefined).toBe(ok);
      if (ok) inside++;
    }
    expect(inside).toBeGreaterThan(50);
    expect(inside).toBeLessThan(450);
    const f = mbv3FeasibleBound({ maxLatencyMs: 5.5, device: 'titan_rtx_1' });
    expect(f.exact).toBe(false);
    expect(f.minLatencyMs).toBeCloseTo(3.4844, 4);
  });

  it('refuses unknown devices, resolutions outside the measured range and infeasible budgets', () => {
    const c = mbv3.sample(new Rng(1));
    expect(() => mbv3LatencyModel().predict(c, 'a100_1')).toThrow(/MBv3 latency model: device: expected one of 2080ti_1, .*v100_64, got "a100_1"/);
    expect(() => mbv3LatencyModel().predict(c, 'v100_1', 240)).toThrow(/resolution: expected an integer in 128..224 \(the measured range\), got 240/);
    expect(() => checkLatencyBudget(mbv3, { latencyMaxMs: 3, device: 'titan_rtx_1' })).toThrow(
      /latency budget \(--latency-max\): expected at least 3\.48\d+ ms, the lowest latency any mbv3 architecture reaches on titan_rtx_1 \(latency model\), got 3 ms/,
    );
    expect(() => checkLatencyBudget(mbv3, { latencyMaxMs: 5, device: '1080ti_1' })).toThrow(/device \(--device\): expected one of 2080ti_1/);
  });
});
