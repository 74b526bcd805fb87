/**
 * What the database builder knows of each search space it can train: how a task's architectures
 * are drawn (uniform ones and ones good on the space's own benchmark knowledge), how a user's
 * architecture string is made canonical, and how one architecture is trained. The builder, its
 * plans and the queue go through {@link databaseSpace}; nothing else in them names a space.
 */
import type * as E from 'fp-ts/lib/Either.js';
import { MetaD2AException, Rng, unwrap, validationError } from '@metad2a/core';
import { mbv3OracleSamples } from '@metad2a/meta-trainer';
import {
  canonicalKey,
  enumerateNb201,
  formatNb201,
  formatMbv3,
  mbv3ActiveKey,
  mbv3Cost,
  NB201_DATASETS,
  nb201Cost,
  nb201Table,
  parseMbv3,
  parseNb201,
  sampleMbv3,
  type Nb201Cell,
} from '@metad2a/search-spaces';
import type { ImageDataset } from './dataset';
import type { Mbv3TrainRecipe, TrainRecipe } from './recipe';
import { trainArchitecture, trainMbv3 } from './trainer';

/** A validation error of the builder's options, thrown. */
export const invalid = (source: string, field: string, expected: string, got: string): never => {
  throw new MetaD2AException(validationError({ source, field, expected, got }));
};

/** The spaces whose architectures the builder trains. */
export const DATABASE_SPACES = ['nb201', 'mbv3'] as const;
export type DatabaseSpaceName = (typeof DATABASE_SPACES)[number];
/** A recipe of either space: NB201 recipes size the TinyNetwork (`C`, `N`), MBv3 ones the width (`widthMult`). */
export type DatabaseRecipe = TrainRecipe | Mbv3TrainRecipe;

/** A space as the database builder uses it, bound to one recipe. */
export interface DatabaseSpace {
  readonly name: DatabaseSpaceName;
  /** An architecture given by a user as the canonical string records carry; a parse error names what was expected. */
  canonical(arch: string): string;
  /** Grid mode: `n` distinct architectures stratified by size, deterministic for the seed. */
  grid(n: number, seed: number): string[];
  /** Per-task mode: `k` distinct architectures of a task, `round(k · goodShare)` from the space's good pool; deterministic for (seed, task). */
  taskArchitectures(task: string, k: number, goodShare: number, seed: number): string[];
  /** Train one architecture from scratch on a task's training images, evaluated on its test images. */
  train(arch: string, data: { readonly train: ImageDataset; readonly test: ImageDataset }, seed: number): Promise<{ accuracy: number; finalTrainLoss: number; trainMs: number }>;
}

/** The builder's view of `space` with `recipe`, which must be a recipe of that space. */
export function databaseSpace(space: DatabaseSpaceName, recipe: DatabaseRecipe): DatabaseSpace {
  const make = DATABASE_SPACE_MAKERS[space];
  if (!make) return invalid('database builder', 'space', `one of ${DATABASE_SPACES.join(', ')}`, JSON.stringify(space));
  return make(recipe);
}

const DATABASE_SPACE_MAKERS: Readonly<Record<DatabaseSpaceName, (recipe: DatabaseRecipe) => DatabaseSpace>> = {
  nb201: (recipe) => {
    if (!('C' in recipe && 'N' in recipe)) return invalid('database builder', 'recipe', "an NB201 recipe (with the TinyNetwork's C and N) for space nb201", recipe.name);
    return {
      name: 'nb201',
      canonical: (arch) => formatNb201(unwrap(parseNb201(arch))),
      grid: (n, seed) => sampleArchitectures(n, recipe, seed),
      taskArchitectures: sampleTaskCells,
      train: async (arch, data, seed) => {
        const r = await trainArchitecture({ arch, train: data.train, test: data.test, recipe, seed });
        r.network.dispose();
        return r;
      },
    };
  },
  mbv3: (recipe) => {
    if (!('widthMult' in recipe)) return invalid('database builder', 'recipe', 'an MBv3 recipe (with a widthMult) for space mbv3', recipe.name);
    return {
      name: 'mbv3',
      canonical: (arch) => formatMbv3(unwrap(parseMbv3(arch))),
      grid: sampleMbv3Grid,
      taskArchitectures: sampleTaskSubnets,
      train: async (arch, data, seed) => {
        const r = await trainMbv3({ config: unwrap(parseMbv3(arch)), train: data.train, test: data.test, recipe, seed });
        r.network.dispose();
        return r;
      },
    };
  },
};

/**
 * Sample `n` NB201 cells stratified by network size so that accuracies spread: the 15,625 cells
 * are reduced to one per computation (the search space's `canonicalKey`, 6,466 classes), sorted
 * by their parameter count at the recipe's C and N, cut into n equal strata, and one cell is drawn
 * from each stratum. Returns canonical strings, deterministic for the seed.
 */
export function sampleArchitectures(n: number, recipe: Pick<TrainRecipe, 'C' | 'N'>, seed: number): string[] {
  if (!Number.isInteger(n) || n < 1) invalid('architecture sampling', 'archs', 'a positive integer', String(n));
  const byKey = new Map<string, { arch: string; params: number }>();
  for (const cell of enumerateNb201()) {
    const key = canonicalKey(cell);
    if (byKey.has(key)) continue;
    byKey.set(key, { arch: formatNb201(cell), params: nb201Cost(cell, { channels: recipe.C, cellsPerStage: Math.max(1, recipe.N) }).params });
  }
  const all = [...byKey.values()].sort((a, b) => a.params - b.params || (a.arch < b.arch ? -1 : 1));
  if (n > all.length) invalid('architecture sampling', 'archs', `at most ${all.length} (distinct NB201 computations)`, String(n));
  return drawStratified(all, n, new Rng(seed));
}

/** One architecture from each of `n` equal strata of `sorted` (ascending size), in a seeded random order. */
function drawStratified(sorted: readonly { readonly arch: string }[], n: number, rng: Rng): string[] {
  const out: string[] = [];
  for (let s = 0; s < n; s++) {
    const from = Math.floor((s * sorted.length) / n);
    const to = Math.floor(((s + 1) * sorted.length) / n);
    out.push(sorted[from + rng.int(to - from)]!.arch);
  }
  return rng.shuffle(out);
}

/** One NB201 cell per distinct computation (`canonicalKey`), as canonical strings, in enumeration order. */
function distinctCells(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const cell of enumerateNb201()) {
    const key = canonicalKey(cell);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(formatNb201(cell));
  }
  return out;
}

let goodCache: string[] | undefined;
/**
 * The `n` distinct computations that are best on NB201's 200-epoch table, by the mean z-score of
 * their test accuracy on CIFAR-10, CIFAR-100 and ImageNet16-120 (best first).
 */
export function goodNb201Cells(n: number): string[] {
  if (!goodCache) {
    const table = nb201Table();
    const cols = NB201_DATASETS.map((d) => table.column(d, 'testAccuracy'));
    const z = cols.map((c) => {
      const mu = c.reduce((s, v) => s + v, 0) / c.length;
      const sd = Math.sqrt(c.reduce((s, v) => s + (v - mu) ** 2, 0) / c.length);
      return (i: number) => (c[i]! - mu) / sd;
    });
    const score = new Map<string, number>();
    for (let i = 0; i < table.size; i++) {
      const key = canonicalKey(table.cellAt(i));
      const s = z.reduce((a, f) => a + f(i), 0) / z.length;
      if (!score.has(key) || s > score.get(key)!) score.set(key, s);
    }
    const byKey = new Map(distinctCells().map((a) => [canonicalKey((parseNb201(a) as E.Right<Nb201Cell>).right), a]));
    goodCache = [...score.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => byKey.get(k)!);
  }
  if (!Number.isInteger(n) || n < 1 || n > goodCache.length) invalid('architecture sampling', 'good cells', `an integer in 1..${goodCache.length}`, String(n));
  return goodCache.slice(0, n);
}

/** Size of the pool of NB201-good cells that per-task cells are drawn from. */
export const GOOD_CELL_POOL = 100;

/**
 * The cells of one task: `k` distinct computations, `round(k · goodShare)` of them drawn from the
 * {@link GOOD_CELL_POOL} cells best on NB201's tables (so the generator sees good cells and
 * tasks share cells to compare on) and the rest uniformly over all 6,466 distinct computations.
 * Deterministic for (seed, task name).
 */
export function sampleTaskCells(task: string, k: number, goodShare: number, seed: number): string[] {
  if (!(goodShare >= 0 && goodShare <= 1)) invalid('architecture sampling', 'goodCellShare', 'a number in [0, 1]', String(goodShare));
  const rng = new Rng(`${seed}|cells|${task}`);
  const good = goodNb201Cells(GOOD_CELL_POOL);
  const all = (uniformPool ??= distinctCells());
  const out = new Set<string>();
  const nGood = Math.round(k * goodShare);
  for (const i of rng.permutation(good.length).slice(0, nGood)) out.add(good[i]!);
  while (out.size < k) out.add(all[rng.int(all.length)]!);
  return [...out];
}
let uniformPool: string[] | undefined;

/** Size of the pool of MBv3 subnets good on OFA's accuracy predictor that per-task subnets are drawn from. */
export const GOOD_SUBNET_POOL = 100;
/** The good pool is the best {@link GOOD_SUBNET_POOL} of this many distinct uniform subnets (a fixed seed). */
export const GOOD_SUBNET_SAMPLES = 10_000;

let goodSubnetCache: string[] | undefined;
/**
 * The `n` best of {@link GOOD_SUBNET_SAMPLES} distinct uniform MBv3 subnets (seed
 * `mbv3-good-pool`) by OFA's accuracy predictor (ImageNet top-1 at 224 px), best first: MBv3's
 * counterpart of {@link goodNb201Cells}.
 */
export function goodMbv3Subnets(n: number): string[] {
  goodSubnetCache ??= mbv3OracleSamples(GOOD_SUBNET_SAMPLES, 'mbv3-good-pool')
    .sort((a, b) => b.accuracy - a.accuracy || (a.arch < b.arch ? -1 : 1))
    .map((x) => x.arch);
  if (!Number.isInteger(n) || n < 1 || n > goodSubnetCache.length) invalid('architecture sampling', 'good subnets', `an integer in 1..${goodSubnetCache.length}`, String(n));
  return goodSubnetCache.slice(0, n);
}

/**
 * The subnets of one task: `k` distinct networks (distinct active blocks: `mbv3ActiveKey`),
 * `round(k · goodShare)` from {@link goodMbv3Subnets} and the rest uniform (OFA's
 * `sample_active_subnet`: kernel, expand and depth drawn independently). Deterministic for
 * (seed, task name).
 */
export function sampleTaskSubnets(task: string, k: number, goodShare: number, seed: number): string[] {
  if (!(goodShare >= 0 && goodShare <= 1)) invalid('architecture sampling', 'goodCellShare', 'a number in [0, 1]', String(goodShare));
  const rng = new Rng(`${seed}|subnets|${task}`);
  const good = goodMbv3Subnets(GOOD_SUBNET_POOL);
  const out = new Map<string, string>();
  const nGood = Math.round(k * goodShare);
  for (const i of rng.permutation(good.length).slice(0, nGood)) {
    const arch = good[i]!;
    out.set(mbv3ActiveKey(unwrap(parseMbv3(arch))), arch);
  }
  while (out.size < k) {
    const c = sampleMbv3(rng);
    const key = mbv3ActiveKey(c);
    if (!out.has(key)) out.set(key, formatMbv3(c));
  }
  return [...out.values()];
}

/**
 * `n` MBv3 subnets stratified by size: `20 · n` distinct uniform subnets drawn with the seed,
 * sorted by MFLOPs (OFA's count at 224 px), cut into `n` strata, one drawn from each. MBv3's
 * counterpart of {@link sampleArchitectures}.
 */
export function sampleMbv3Grid(n: number, seed: number): string[] {
  if (!Number.isInteger(n) || n < 1) invalid('architecture sampling', 'archs', 'a positive integer', String(n));
  const rng = new Rng(`${seed}|mbv3-grid`);
  const seen = new Set<string>();
  const pool: { arch: string; mflops: number }[] = [];
  while (pool.length < 20 * n) {
    const c = sampleMbv3(rng);
    const key = mbv3ActiveKey(c);
    if (seen.has(key)) continue;
    seen.add(key);
    pool.push({ arch: formatMbv3(c), mflops: mbv3Cost(c).mflops });
  }
  pool.sort((a, b) => a.mflops - b.mflops || (a.arch < b.arch ? -1 : 1));
  return drawStratified(pool, n, rng);
}
