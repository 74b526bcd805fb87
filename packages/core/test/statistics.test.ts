import { averageRanks, kendallTau, pearson, spearman } from '../src';

describe('correlation statistics (reference values from scipy.stats 1.x)', () => {
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
    expect(Array.from(averageRanks([10, 30, 20, 30]))).toEqual([1, 3.5, 2, 3.5]);
    expect(spearman(a, b)).toBeCloseTo(0.3855701541695039, 12);
    expect(spearman(c, d)).toBeCloseTo(0.9404032585917881, 12);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
  });

  it('kendall tau-b with ties', () => {
    expect(kendallTau(a, b)).toBeCloseTo(0.3706246583305506, 12);
    expect(kendallTau(c, d)).toBeCloseTo(0.8894991799933215, 12);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
  });

  it('undefined correlations are NaN; mismatched lengths are an error', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([5, 5], [1, 2])).toBeNaN();
    expect(kendallTau([2, 2, 2], [1, 2, 3])).toBeNaN();
    expect(pearson([1], [1])).toBeNaN();
    expect(spearman([], [])).toBeNaN();
    expect(kendallTau([1], [1])).toBeNaN();
    expect(() => pearson([1, 2], [1])).toThrow(/differ in length/);
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow('spearman: arrays differ in length (3 vs 2)');
  });
});
