import { denormaliseScore, normalisationFrom, normaliseAccuracy } from '../src';

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
