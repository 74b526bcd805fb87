import { NORMALISATION, preprocessImage, preprocessingFor, resizeBilinear, type RawImage } from '../src';

describe('resizeBilinear (PIL BILINEAR semantics)', () => {
  it('upsamples 2 → 4 with PIL triangle weights and 8-bit rounding', () => {
    const img: RawImage = { width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 255]) };
    // centres 0.25, 0.75, 1.25, 1.75: weights (1), (.75,.25), (.25,.75), (1) → 0, 63.75, 191.25, 255
    expect(Array.from(resizeBilinear(img, 4, 1).data)).toEqual([0, 64, 191, 255]);
  });
  it('antialiases when shrinking 4 → 2 (support grows with the scale)', () => {
    const img: RawImage = { width: 4, height: 1, channels: 1, data: Uint8Array.from([0, 100, 200, 40]) };
    // scale 2, support 2: centre 1 → x=0,1,2 weights (.75,.75,.25); centre 3 → x=1,2,3 weights (.25,.75,.75); each /1.75
    expect(Array.from(resizeBilinear(img, 2, 1).data)).toEqual([Math.round((75 + 50) / 1.75), Math.round((25 + 150 + 30) / 1.75)]);
  });
  it('keeps constant images constant and returns same-size images unchanged', () => {
    const c: RawImage = { width: 5, height: 3, channels: 3, data: new Uint8Array(45).fill(77) };
    const r = resizeBilinear(c, 32, 32);
    expect(r.data.length).toBe(32 * 32 * 3);
    expect(r.data.every((v) => v === 77)).toBe(true);
    expect(resizeBilinear(c, 5, 3)).toBe(c);
  });
});

describe('preprocessImage (spec §1.1)', () => {
  it('repeats grey to 3 channels and normalises with the MNIST constants', () => {
    const img: RawImage = { width: 28, height: 28, channels: 1, data: new Uint8Array(784).fill(255) };
    const out = preprocessImage(img, preprocessingFor('mnist'));
    expect(out.length).toBe(32 * 32 * 3);
    const want = Math.fround((1 - 0.1307) / 0.3081);
    expect(out.every((v) => v === want)).toBe(true);
  });
  it('normalises each RGB channel with its own CIFAR-10 constants (HWC layout)', () => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let p = 0; p < 1024; p++) data.set([255, 0, 51], 3 * p);
    const out = preprocessImage({ width: 32, height: 32, channels: 3, data }, preprocessingFor('cifar10'));
    expect(out[0]).toBeCloseTo((1 - 125.3 / 255) / (63.0 / 255), 5);
    expect(out[1]).toBeCloseTo((0 - 123.0 / 255) / (62.1 / 255), 5);
    expect(out[2]).toBeCloseTo((0.2 - 113.9 / 255) / (66.7 / 255), 5);
    expect(out[3]).toBe(out[0]);
  });
  it('has the paper constants', () => {
    expect(NORMALISATION.svhn.std[2]).toBe(0.19703614);
    expect(NORMALISATION.cifar100.mean[0]).toBeCloseTo(129.3 / 255, 12);
    expect(NORMALISATION.imagenet32.std[1]).toBeCloseTo(64.2 / 255, 12);
    expect(() => preprocessingFor('bogus' as 'mnist')).toThrow(/normalisation: expected one of/);
  });
});
