/**
 * How many distinct architectures of a space satisfy FLOPs / parameter limits, known before any
 * generation: exactly for NB201 (all 15,625 cells enumerated) and as an upper bound for MBv3
 * (9²⁰·3⁵ configs, too many to enumerate; the cost adds up over stages, so each stage's options
 * are counted against what the other stages leave at their cheapest). A search that asks for
 * more candidates than this can fail at once instead of decoding for hours. A latency bound is
 * counted the same way: NB201 looks up every cell's measurement, MBv3's latency model adds up
 * over blocks like the cost.
 */
import { fail, type FeasibleCount } from '@metad2a/core';
import { MBV3_DEPTHS, MBV3_EXPANDS, MBV3_KERNELS, MBV3_SLOTS, MBV3_SLOTS_PER_STAGE, MBV3_STAGES } from './mbv3/config';
import { mbv3CostModel, type Mbv3PartCost } from './mbv3/cost';
import { mbv3LatencyModel, mbv3LatencyRange, type Mbv3LatencyParts } from './mbv3/latency';
import { NB201_SIZE, enumerateNb201, type Nb201Cell } from './nb201/cell';
import { nb201Cost } from './nb201/cost';
import { nb201Latency } from './nb201/latency';

export interface CostLimits {
  /** At most this many MFLOPs (NB201: MACs / 10⁶ of the TinyNetwork; MBv3: OFA's MFLOPs). */
  readonly maxMflops?: number;
  /** At most this many million parameters. */
  readonly maxMparams?: number;
  /** Classifier outputs the costs are computed for (NB201 default 10, MBv3 default 1000). */
  readonly classes?: number;
  /** At most this many ms on {@link device} (NB201: HELP's measurement; MBv3: the latency model at 224 px). */
  readonly maxLatencyMs?: number;
  /** The device setting of `maxLatencyMs` (required with it). */
  readonly device?: string;
}

function checkLimits(l: CostLimits, space: string): void {
  if (l.maxLatencyMs !== undefined && l.device === undefined)
    fail('ValidationError', { source: `${space} cost limits`, field: 'device', expected: 'a device setting for maxLatencyMs', got: 'none' });
  for (const [field, v] of [
    ['maxMflops', l.maxMflops],
    ['maxMparams', l.maxMparams],
    ['maxLatencyMs', l.maxLatencyMs],
  ] as const) {
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v)))
      fail('ValidationError', { source: `${space} cost limits`, field, expected: 'a positive finite number', got: String(v) });
  }
}

const fits = (l: CostLimits, mflops: number, mparams: number): boolean =>
  (l.maxMflops === undefined || mflops <= l.maxMflops) && (l.maxMparams === undefined || mparams <= l.maxMparams);

/**
 * Exact number of NB201 cells within the limits. A cell's cost depends only on how many of its 6
 * edges are 1×1 and 3×3 convolutions (none / skip / avg-pool have no parameters or MACs), so the
 * 15,625 cells fall into 28 cost classes of multinomial size: every cell counted, in 28 cost calls.
 */
export function nb201FeasibleCount(limits: CostLimits = {}): FeasibleCount {
  checkLimits(limits, 'nb201');
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  let count = 0;
  let cells = 0;
  let minMflops = Infinity;
  let minMparams = Infinity;
  const fitsByClass = new Map<string, boolean>(); // "n1,n3" → within the cost limits
  for (let n1 = 0; n1 <= 6; n1++) {
    for (let n3 = 0; n1 + n3 <= 6; n3++) {
      const rest = 6 - n1 - n3;
      // op ids: 0 none, 2 nor_conv_1x1, 3 nor_conv_3x3
      const cell = [...new Array(n1).fill(2), ...new Array(n3).fill(3), ...new Array(rest).fill(0)] as unknown as Nb201Cell;
      const c = nb201Cost(cell, { classes: limits.classes ?? 10 });
      const size = (fact(6) / (fact(n1) * fact(n3) * fact(rest))) * 3 ** rest;
      cells += size;
      minMflops = Math.min(minMflops, c.macs / 1e6);
      minMparams = Math.min(minMparams, c.params / 1e6);
      const ok = fits(limits, c.macs / 1e6, c.params / 1e6);
      fitsByClass.set(`${n1},${n3}`, ok);
      if (ok) count += size;
    }
  }
  if (cells !== NB201_SIZE) throw new Error(`internal: NB201 cost classes cover ${cells} cells, not ${NB201_SIZE}`);
  if (limits.maxLatencyMs === undefined) return { count: BigInt(count), exact: true, total: BigInt(NB201_SIZE), minMflops, minMparams };
  // latency differs within a cost class: every cell looked up (15,625 measurements)
  const device = limits.device!;
  let minLatencyMs = Infinity;
  count = 0;
  for (const cell of enumerateNb201()) {
    const ms = nb201Latency.latencyMs(cell, device);
    minLatencyMs = Math.min(minLatencyMs, ms);
    const n1 = cell.filter((op) => op === 2).length;
    const n3 = cell.filter((op) => op === 3).length;
    if (ms <= limits.maxLatencyMs && fitsByClass.get(`${n1},${n3}`)) count++;
  }
  return { count: BigInt(count), exact: true, total: BigInt(NB201_SIZE), minMflops, minMparams, minLatencyMs };
}

/** One way to fill a stage: its active blocks' cost and how many configs share it (inactive slots are free). */
interface StageOption extends Mbv3PartCost {
  /** Predicted latency of the active blocks, ms (0 without a latency bound). */
  readonly ms: number;
  readonly configs: bigint;
}

function stageOptions(model: ReturnType<typeof mbv3CostModel>, s: number, latency: Mbv3LatencyParts | undefined): StageOption[] {
  const choices: [number, number][] = [];
  for (const k of MBV3_KERNELS) for (const e of MBV3_EXPANDS) choices.push([k, e]);
  const first = choices.map(([k, e]) => ({ ...model.block(s, true, k, e), ms: latency?.block(s, true, k, e) ?? 0 }));
  const later = choices.map(([k, e]) => ({ ...model.block(s, false, k, e), ms: latency?.block(s, false, k, e) ?? 0 }));
  const out: StageOption[] = [];
  for (const d of MBV3_DEPTHS) {
    const inactive = BigInt(choices.length) ** BigInt(MBV3_SLOTS_PER_STAGE - d);
    // every (kernel, expand) of the d active slots, as mixed-radix digits
    const combos = choices.length ** d;
    for (let c = 0; c < combos; c++) {
      let flops = 0;
      let params = 0;
      let ms = 0;
      let x = c;
      for (let j = 0; j < d; j++) {
        const b = (j === 0 ? first : later)[x % choices.length]!;
        x = Math.floor(x / choices.length);
        flops += b.flops;
        params += b.params;
        ms += b.ms;
      }
      out.push({ flops, params, ms, configs: inactive });
    }
  }
  return out;
}

/**
 * An upper bound on the MBv3 configs within the limits (exact when the limits exclude every
 * config or admit every config). Stage s may use at most the limit minus the other stages'
 * cheapest options; the bound is the product over stages of the configs that pass that test.
 */
export function mbv3FeasibleBound(limits: CostLimits = {}): FeasibleCount {
  checkLimits(limits, 'mbv3');
  const model = mbv3CostModel({ classes: limits.classes ?? 1000 });
  const latency = limits.maxLatencyMs === undefined ? undefined : mbv3LatencyModel().parts(limits.device!);
  const stages = Array.from({ length: MBV3_STAGES }, (_, s) => stageOptions(model, s, latency));
  const minF = stages.map((o) => Math.min(...o.map((x) => x.flops)));
  const minP = stages.map((o) => Math.min(...o.map((x) => x.params)));
  const maxF = stages.map((o) => Math.max(...o.map((x) => x.flops)));
  const maxP = stages.map((o) => Math.max(...o.map((x) => x.params)));
  const minL = stages.map((o) => Math.min(...o.map((x) => x.ms)));
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  const minMflops = (model.base.flops + sum(minF)) / 1e6;
  const minMparams = (model.base.params + sum(minP)) / 1e6;
  const range = latency ? mbv3LatencyRange(latency) : undefined;
  const lat = range ? { minLatencyMs: range.minMs } : {};
  const L = limits.maxLatencyMs ?? Infinity;
  // 9²⁰·3⁵ (MBV3_SIZE; not imported: the space object imports this module)
  const total = BigInt(MBV3_KERNELS.length * MBV3_EXPANDS.length) ** BigInt(MBV3_SLOTS) * BigInt(MBV3_DEPTHS.length) ** BigInt(MBV3_STAGES);
  const F = limits.maxMflops === undefined ? Infinity : limits.maxMflops * 1e6;
  const Pm = limits.maxMparams === undefined ? Infinity : limits.maxMparams * 1e6;
  if (model.base.flops + sum(maxF) <= F && model.base.params + sum(maxP) <= Pm && (range === undefined || range.maxMs <= L))
    return { count: total, exact: true, total, minMflops, minMparams, ...lat };
  let count = 1n;
  for (let s = 0; s < MBV3_STAGES; s++) {
    const slackF = F - model.base.flops - (sum(minF) - minF[s]!);
    const slackP = Pm - model.base.params - (sum(minP) - minP[s]!);
    const slackL = L - (latency?.base ?? 0) - (sum(minL) - minL[s]!);
    let n = 0n;
    for (const o of stages[s]!) if (o.flops <= slackF && o.params <= slackP && o.ms <= slackL) n += o.configs;
    count *= n;
  }
  return { count, exact: count === 0n, total, minMflops, minMparams, ...lat };
}
