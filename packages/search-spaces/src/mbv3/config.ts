/**
 * MobileNetV3 / Once-for-All subnets (spec §4.1): `{ks[20], e[20], d[5]}` — kernel and expand
 * ratio per block slot (5 stages × 4 slots, stage-major) and the active depth per stage. Slots
 * beyond a stage's depth keep their ks/e (ignored by the network, kept by the encoding).
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseError, validationError, type MetaD2AError, type Rng } from '@metad2a/core';

export const MBV3_KERNELS = [3, 5, 7] as const;
export const MBV3_EXPANDS = [3, 4, 6] as const;
export const MBV3_DEPTHS = [2, 3, 4] as const;
export const MBV3_STAGES = 5;
export const MBV3_SLOTS_PER_STAGE = 4;
export const MBV3_SLOTS = MBV3_STAGES * MBV3_SLOTS_PER_STAGE;

export type Mbv3Kernel = (typeof MBV3_KERNELS)[number];
export type Mbv3Expand = (typeof MBV3_EXPANDS)[number];
export type Mbv3Depth = (typeof MBV3_DEPTHS)[number];

/** An OFA MobileNetV3 subnet, in the official dict layout. */
export interface Mbv3Config {
  readonly ks: readonly Mbv3Kernel[];
  readonly e: readonly Mbv3Expand[];
  readonly d: readonly Mbv3Depth[];
}

const SOURCE = 'MBv3 config';

function checkList(x: unknown, field: string, len: number, allowed: readonly number[]): MetaD2AError | undefined {
  if (!Array.isArray(x) || x.length !== len) {
    return validationError({
      source: SOURCE,
      field,
      expected: `an array of ${len} values in {${allowed.join(', ')}}`,
      got: Array.isArray(x) ? `${x.length} values` : JSON.stringify(x),
    });
  }
  for (let i = 0; i < len; i++) {
    if (!allowed.includes(x[i] as number))
      return validationError({ source: SOURCE, field: `${field}[${i}]`, expected: allowed.join(', ').replace(/, (\d+)$/, ' or $1'), got: JSON.stringify(x[i]) });
  }
  return undefined;
}

/** Strict validation of an arbitrary value (e.g. parsed JSON) as a config; extra keys are an error. */
export function mbv3ConfigFrom(x: unknown): E.Either<MetaD2AError, Mbv3Config> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return E.left(validationError({ source: SOURCE, expected: 'an object {ks, e, d}', got: JSON.stringify(x) }));
  const o = x as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'ks' && k !== 'e' && k !== 'd');
  if (extra.length > 0)
    return E.left(validationError({ source: SOURCE, field: extra.join(', '), expected: 'only the keys ks, e, d', got: `unknown key ${JSON.stringify(extra[0])}` }));
  const err = checkList(o.ks, 'ks', MBV3_SLOTS, MBV3_KERNELS) ?? checkList(o.e, 'e', MBV3_SLOTS, MBV3_EXPANDS) ?? checkList(o.d, 'd', MBV3_STAGES, MBV3_DEPTHS);
  if (err) return E.left(err);
  return E.right(Object.freeze({ ks: Object.freeze([...(o.ks as Mbv3Kernel[])]), e: Object.freeze([...(o.e as Mbv3Expand[])]), d: Object.freeze([...(o.d as Mbv3Depth[])]) }));
}

/** A uniformly random config (each ks, e and d drawn independently, like OFA's `sample_active_subnet`). */
export function sampleMbv3(rng: Rng): Mbv3Config {
  const ks = Array.from({ length: MBV3_SLOTS }, () => rng.choice(MBV3_KERNELS));
  const e = Array.from({ length: MBV3_SLOTS }, () => rng.choice(MBV3_EXPANDS));
  const d = Array.from({ length: MBV3_STAGES }, () => rng.choice(MBV3_DEPTHS));
  return Object.freeze({ ks: Object.freeze(ks), e: Object.freeze(e), d: Object.freeze(d) });
}

/**
 * Readable form: one group per stage, `d<depth>:` then the 4 slots as `k<kernel>e<expand>`;
 * inactive slots (beyond the depth) are in parentheses, e.g.
 * `d4:k3e3,k7e6,k5e3,k5e4|d3:k3e4,k5e3,k5e4,(k5e4)|…` (5 groups). Bijective with the dict.
 */
export function formatMbv3(c: Mbv3Config): string {
  const stages: string[] = [];
  for (let s = 0; s < MBV3_STAGES; s++) {
    const slots: string[] = [];
    for (let j = 0; j < MBV3_SLOTS_PER_STAGE; j++) {
      const i = s * MBV3_SLOTS_PER_STAGE + j;
      const slot = `k${c.ks[i]}e${c.e[i]}`;
      slots.push(j < c.d[s]! ? slot : `(${slot})`);
    }
    stages.push(`d${c.d[s]}:${slots.join(',')}`);
  }
  return stages.join('|');
}

/** Strict parser of {@link formatMbv3}; a Left names the stage/slot, the position and what was expected. */
export function parseMbv3(text: string): E.Either<MetaD2AError, Mbv3Config> {
  const src = 'MBv3 arch string';
  if (typeof text !== 'string') return E.left(parseError({ source: src, expected: 'a string', got: typeof text }));
  const re = /\(?k(\d+)e(\d+)\)?/y;
  let pos = 0;
  const ks: number[] = [];
  const e: number[] = [];
  const d: number[] = [];
  const err = (where: string, expected: string, got: string): E.Either<MetaD2AError, Mbv3Config> =>
    E.left(
      parseError({
        source: src,
        field: `position ${pos} (${where})`,
        expected,
        got,
        message: `${src} ${JSON.stringify(text)}: at position ${pos} (${where}): expected ${expected}, got ${got}`,
      }),
    );
  const show = (n: number): string => (pos >= text.length ? 'end of string' : JSON.stringify(text.slice(pos, pos + n)));
  for (let s = 0; s < MBV3_STAGES; s++) {
    const where = `stage ${s + 1}`;
    if (s > 0) {
      if (text[pos] !== '|') return err(where, '"|" between stages', show(1));
      pos++;
    }
    const dm = /d(\d+):/y;
    dm.lastIndex = pos;
    const m = dm.exec(text);
    if (!m) return err(where, '"d<depth>:"', show(3));
    const depth = Number(m[1]);
    if (!(MBV3_DEPTHS as readonly number[]).includes(depth) || m[1]!.length !== 1) return err(where, 'depth 2, 3 or 4', JSON.stringify(m[1]));
    pos += m[0].length;
    d.push(depth);
    for (let j = 0; j < MBV3_SLOTS_PER_STAGE; j++) {
      const slotWhere = `stage ${s + 1}, slot ${j + 1}`;
      if (j > 0) {
        if (text[pos] !== ',') return err(slotWhere, '","', show(1));
        pos++;
      }
      const active = j < depth;
      const open = text[pos] === '(';
      if (open === active) return err(slotWhere, active ? `an active slot "k<k>e<e>" (depth ${depth})` : `an inactive slot "(k<k>e<e>)" (depth ${depth})`, show(1));
      re.lastIndex = pos;
      const sm = re.exec(text);
      if (!sm || sm[0].startsWith('(') !== sm[0].endsWith(')')) return err(slotWhere, active ? '"k<kernel>e<expand>"' : '"(k<kernel>e<expand>)"', show(8));
      const k = Number(sm[1]);
      const x = Number(sm[2]);
      if (!(MBV3_KERNELS as readonly number[]).includes(k) || sm[1]!.length !== 1) return err(slotWhere, 'kernel 3, 5 or 7', JSON.stringify(sm[1]));
      if (!(MBV3_EXPANDS as readonly number[]).includes(x) || sm[2]!.length !== 1) return err(slotWhere, 'expand ratio 3, 4 or 6', JSON.stringify(sm[2]));
      pos += sm[0].length;
      ks.push(k);
      e.push(x);
    }
  }
  if (pos !== text.length) return err('after stage 5', 'end of string', show(10));
  return mbv3ConfigFrom({ ks, e, d });
}

/** Exact equality including inactive slots (the official de-duplication rule). */
export function mbv3Equal(a: Mbv3Config, b: Mbv3Config): boolean {
  return formatMbv3(a) === formatMbv3(b);
}

/**
 * Block slots in which two subnets differ: a slot active in one and not the other (a different
 * depth), or active in both with another kernel or expand ratio. Inactive slots do not count (they
 * compute nothing), so two subnets with the same {@link mbv3ActiveKey} are 0 apart.
 */
export function mbv3Distance(a: Mbv3Config, b: Mbv3Config): number {
  let n = 0;
  for (let s = 0; s < MBV3_STAGES; s++) {
    for (let j = 0; j < MBV3_SLOTS_PER_STAGE; j++) {
      const inA = j < a.d[s]!;
      const inB = j < b.d[s]!;
      const k = s * MBV3_SLOTS_PER_STAGE + j;
      if (inA !== inB || (inA && (a.ks[k] !== b.ks[k] || a.e[k] !== b.e[k]))) n++;
    }
  }
  return n;
}

/**
 * A key of the subnet the network actually runs (active slots only): two configs with the same
 * active key build the same network, whatever their inactive slots hold.
 */
export function mbv3ActiveKey(c: Mbv3Config): string {
  const parts: string[] = [];
  for (let s = 0; s < MBV3_STAGES; s++) {
    const slots: string[] = [];
    for (let j = 0; j < c.d[s]!; j++) slots.push(`k${c.ks[s * 4 + j]}e${c.e[s * 4 + j]}`);
    parts.push(slots.join(','));
  }
  return parts.join('|');
}
