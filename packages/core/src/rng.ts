/**
 * The seeded random number generator every package samples with.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna) on four 32-bit words, seeded through
 * splitmix32 so that nearby seeds give unrelated streams. Its whole state is four integers,
 * so it can be saved in a checkpoint and restored exactly (`state()` / `Rng.fromState`).
 */

export interface RngState {
  readonly algorithm: 'xoshiro128**';
  readonly s: readonly [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Hash a seed given as a number (any integer, negative allowed) or a string into 32 bits. */
export function seedToU32(seed: number | string): number {
  if (typeof seed === 'string') {
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    return h >>> 0;
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed: expected a safe integer or a string, got ${seed}`);
  // fold the high bits in, so seeds above 2^32 differ from their low 32 bits
  const hi = Math.floor(seed / 0x100000000);
  return (seed ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator seeded by an integer or a string; the same seed always gives the same stream. */
  constructor(seed: number | string = 0) {
    const next = splitmix32(seedToU32(seed));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: RngState): Rng {
    if (state.algorithm !== 'xoshiro128**' || state.s.length !== 4 || state.s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError(`RngState: expected {algorithm: 'xoshiro128**', s: four uint32}, got ${JSON.stringify(state)}`);
    }
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.s as [number, number, number, number];
    return r;
  }

  state(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Continue from `state` (e.g. after a native kernel advanced a copy of this generator's state). */
  setState(state: RngState): void {
    const r = Rng.fromState(state);
    [this.s0, this.s1, this.s2, this.s3] = [r.s0, r.s1, r.s2, r.s3];
  }

  /** A copy with the same state (the copy and the original then give the same stream). */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** A new, independent generator seeded from this one's next outputs (advances this one). */
  fork(): Rng {
    const r = new Rng(0);
    r.s0 = this.nextU32();
    r.s1 = this.nextU32();
    r.s2 = this.nextU32();
    r.s3 = this.nextU32() | 1;
    return r;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform double in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`Rng.int: expected an integer in [1, 2^32], got ${n}`);
    if (n === 0x100000000) return this.nextU32();
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal N(0, 1) by the Box–Muller transform (two uniforms per value, no cache). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    this.shuffle(a);
    return a;
  }

  /** Shuffle an array in place (Fisher–Yates) and return it. */
  shuffle<T>(a: T[]): T[] {
    return fisherYates(this, a, a.length);
  }

  /**
   * `out[0..n)` becomes a random permutation of 0..n-1 with the draws of `permutation(n)`, without
   * allocating (hot loops reuse `out`, which must hold at least n entries).
   */
  permutationInto(out: Int32Array, n: number): Int32Array {
    for (let i = 0; i < n; i++) out[i] = i;
    return fisherYates(this, out, n);
  }

  /** One element chosen uniformly. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.choice: empty array');
    return items[this.int(items.length)]!;
  }

  /** k distinct indices of 0..n-1 in random order (the first k of a permutation). */
  sampleIndices(n: number, k: number): number[] {
    if (k > n || k < 0) throw new RangeError(`Rng.sampleIndices: cannot draw ${k} of ${n} without replacement`);
    return this.permutation(n).slice(0, k);
  }

  /** An index drawn from unnormalised non-negative weights. */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]!;
    if (!(total > 0)) throw new RangeError('Rng.categorical: weights must have a positive sum');
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** n values of N(mean, std²) as float32. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** n values uniform in [lo, hi) as float32. */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** In-place Fisher–Yates of `a[0..n)`: the one implementation behind `shuffle`, `permutation` and `permutationInto`. */
function fisherYates<A extends { [i: number]: unknown }>(rng: Rng, a: A, n: number): A {
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = a[i];
    a[i] = a[j] as A[number];
    a[j] = tmp as A[number];
  }
  return a;
}
