import { isMetaD2AException } from '@metad2a/core';
import { formatMeanCI, incompleteBeta, logGamma, meanCI, studentTCdf, studentTQuantile } from '../src';

describe('Student t', () => {
  it('matches scipy t.ppf(0.975, df) to 1e-6', () => {
    // scipy.stats.t.ppf(0.975, df)
    const expected: [number, number][] = [
      [1, 12.706204736],
      [2, 4.30265273],
      [4, 2.776445105],
      [9, 2.262157163],
      [29, 2.045229642],
      [100, 1.983971519],
    ];
    for (const [df, t] of expected) expect(Math.abs(studentTQuantile(0.975, df) - t)).toBeLessThan(1e-6);
    expect(Math.abs(studentTQuantile(0.975, 1e7) - 1.959963985)).toBeLessThan(1e-5);
    expect(studentTQuantile(0.025, 9)).toBeCloseTo(-2.262157163, 6);
    expect(studentTQuantile(0.5, 3)).toBe(0);
  });
  it('CDF, incomplete beta and log-gamma agree with closed forms', () => {
    // df = 1 is Cauchy: F(t) = 1/2 + atan(t)/π; df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t²))
    for (const t of [-3, -0.5, 0, 0.7, 2.5, 10]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 10);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 10);
    }
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.3, 2, 1)).toBeCloseTo(0.09, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });
  it('rejects bad arguments', () => {
    expect(() => studentTQuantile(1, 3)).toThrow(/probability/);
    expect(() => studentTQuantile(0.9, 0)).toThrow(/degrees of freedom/);
  });
});

describe('meanCI', () => {
  it('half-width 0 when all values are equal (CIFAR-100 73.51±0.00, spec §9 item 19)', () => {
    const c = meanCI(Array(10).fill(73.51));
    expect(c).toMatchObject({ mean: 73.51, halfWidth: 0, std: 0, n: 10 });
    expect(formatMeanCI(c)).toBe('73.51±0.00');
    expect(meanCI([5]).halfWidth).toBe(0);
  });
  it('t_{0.975,n−1} · s/√n', () => {
    const c = meanCI([1, 2, 3, 4, 5]);
    expect(c.mean).toBe(3);
    expect(c.std).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(c.halfWidth).toBeCloseTo((2.776445105 * Math.sqrt(2.5)) / Math.sqrt(5), 6);
    const c90 = meanCI([1, 2, 3, 4, 5], 0.9);
    expect(c90.halfWidth).toBeCloseTo((2.131846786 * Math.sqrt(2.5)) / Math.sqrt(5), 6);
    expect(c90.halfWidth).toBeLessThan(c.halfWidth);
  });
  it('names the problem on bad input', () => {
    try {
      meanCI([]);
      throw new Error('no throw');
    } catch (e) {
      expect(isMetaD2AException(e, 'ValidationError')).toBe(true);
    }
    expect(() => meanCI([1, NaN])).toThrow(/finite/);
  });
});
