import type { Rng } from '@metad2a/core';

/** n values uniform in [−bound, bound), float32 (PyTorch's `uniform_(-b, b)`). */
export function uniformInit(rng: Rng, n: number, bound: number): Float32Array {
  return rng.uniformArray(n, -bound, bound);
}

/**
 * PyTorch's default `nn.Linear` init: kaiming_uniform(a = √5) on the weight, which is
 * U(−1/√fan_in, 1/√fan_in), and the same bound for the bias. Values come from our seeded RNG
 * (not PyTorch's), so the distribution matches, not the draws.
 */
export function linearInit(rng: Rng, inFeatures: number, outFeatures: number, bias = true): { weight: Float32Array; bias?: Float32Array } {
  const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
  const weight = uniformInit(rng, inFeatures * outFeatures, bound);
  return bias ? { weight, bias: uniformInit(rng, outFeatures, bound) } : { weight };
}

/** PyTorch's `xavier_uniform_` for a tensor whose fan_in and fan_out are given. */
export function xavierUniformInit(rng: Rng, n: number, fanIn: number, fanOut: number, gain = 1): Float32Array {
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniformInit(rng, n, bound);
}
