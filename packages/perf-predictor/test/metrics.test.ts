import { averageRanks, denormaliseScore, kendallTau, normalisationFrom, normaliseAccuracy, pearson, spearman } from '../src';

describe('correlation metrics (reference values from scipy.stats 1.x)', () => {
  const a = [1, 2, 3, 4, 5, 6, 7, 8];
  const b = [2, 4, 5, 4, 5, 9, 1, 7];
  const c = [3.1, 1.2, 1.2, 5.0, 4.4, 0.3];
  const d = [2.0, 2.0, 1.0, 3.0, 3.0, 0.5];

  it('pearson', () => {
    expect(pearson(a, b)).toBeCloseTo(0.3758990779144796, 12);
    expect(pearson(c, d)).toBeCloseTo(0.9202264050373847, 12);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
  });

  it('spearman with average ranks for ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman(a, b)).toBeCloseTo(0.3855701541695039, 12);
    expect(spearman(c, d)).toBeCloseTo(0.9404032585917881, 12);
  });

  it('kendall tau-b with ties', () => {
    expect(kendallTau(a, b)).toBeCloseTo(0.3706246583305506, 12);
    expect(kendallTau(c, d)).toBeCloseTo(0.8894991799933215, 12);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
  });

  it('rejects mismatched or too short inputs', () => {
    expect(() => pearson([1, 2], [1])).toThrow(/differ in length/);
    expect(() => kendallTau([1], [1])).toThrow(/at least 2/);
  });
});

describe('accuracy normalisation', () => {
  it('uses the unbiased std and the extra /100, and inverts exactly', () => {
    const n = normalisationFrom([70, 72, 74, 76]);
    expect(n.mean).toBe(73);
    expect(n.std).toBeCloseTo(Math.sqrt(20 / 3), 12);
    expect(normaliseAccuracy(75, { mean: 71.5715, std: 6.6932 })).toBeCloseTo((75 - 71.5715) / 6.6932 / 100, 15);
    expect(denormaliseScore(normaliseAccuracy(93.1, n), n)).toBeCloseTo(93.1, 10);
    expect(() => normalisationFrom([1, 1, 1])).toThrow(/not all equal/);
  });
});
