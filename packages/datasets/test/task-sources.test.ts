import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as opentype from 'opentype.js';
import { Rng } from '@metad2a/core';
import { GENERATED_PER_CLASS, resolveDataset, taskSource, taskSources, type ImageDataset } from '../src';
import { fillContours, flattenPath } from '../src/sources/raster';
import { fontFile, glyphDataset } from '../src/sources/glyph-source';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);
const codepointOf = (className: string) => parseInt(className.slice(2, className.indexOf(' ')), 16);

describe('task sources', () => {
  it('has at least 8 training sources in clearly different domains, and held-out ones', () => {
    const all = taskSources();
    const train = all.filter((s) => s.split === 'train');
    expect(train.length).toBeGreaterThanOrEqual(8);
    expect(new Set(train.map((s) => s.domain))).toEqual(new Set(['glyphs', 'clothing', 'colour']));
    expect(
      all
        .filter((s) => s.split === 'heldout')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['digits', 'glyphs-latin-sans', 'glyphs-latin-serif', 'mnist', 'shapes']);
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
  });

  it('keeps Latin letters and Arabic-numeral digits out of every training source', () => {
    const glyphs = taskSources().filter((t) => t.split === 'train' && t.domain === 'glyphs');
    expect(glyphs).toHaveLength(13);
    for (const s of glyphs) {
      expect(s.codepoints).toHaveLength(s.numClasses);
      expect(new Set(s.codepoints).size).toBe(s.numClasses);
      for (const cp of s.codepoints!) {
        expect(cp < 0x30 || (cp > 0x39 && cp < 0x41) || (cp > 0x5a && cp < 0x61) || cp > 0x7a).toBe(true);
        expect(cp).toBeGreaterThan(0x24f); // nor any Latin-1 / Latin Extended letter
      }
    }
  });

  it('renders a source with one class per character, named by its code point', () => {
    const s = taskSource('glyphs-hebrew');
    const ds = s.load();
    expect(ds.classNames.map(codepointOf)).toEqual(s.codepoints);
    expect(ds.classNames[0]).toBe('U+05D0 \u05d0');
  });

  it('renders the same bytes for an image whatever the order (golden hashes pin the version)', () => {
    const greek = resolveDataset('source:glyphs-greek') as ImageDataset;
    expect(greek.size).toBe(33 * GENERATED_PER_CLASS);
    const a = greek.image(5 * GENERATED_PER_CLASS + 7);
    greek.image(3);
    const b = greek.image(5 * GENERATED_PER_CLASS + 7);
    expect([a.width, a.height, a.channels]).toEqual([32, 32, 1]);
    expect(sha(b.data)).toBe(sha(a.data));
    const tex = resolveDataset('source:textures') as ImageDataset;
    const t = tex.image(42);
    expect([t.width, t.height, t.channels]).toEqual([32, 32, 3]);
    expect(tex.labels[42]).toBe(0);
    // Golden: change these only with a new source version (records made with the old images would no longer match).
    expect({ greek: sha(a.data), textures: sha(t.data), shapes: sha((resolveDataset('source:shapes') as ImageDataset).image(1234).data) }).toMatchSnapshot();
  });

  it('images of one class differ (augmentation) and classes differ on average', () => {
    const ds = taskSource('glyphs-armenian').load();
    const mean = (c: number) => {
      const m = new Float64Array(32 * 32);
      for (let j = 0; j < 20; j++) ds.image(c * GENERATED_PER_CLASS + j).data.forEach((v, p) => (m[p]! += v / 20));
      return m;
    };
    expect(sha(ds.image(0).data)).not.toBe(sha(ds.image(1).data));
    const [m0, m1] = [mean(0), mean(1)];
    const d = m0.reduce((s, v, p) => s + Math.abs(v - m1[p]!), 0) / 1024;
    expect(d).toBeGreaterThan(5);
  });

  it('names the source when it is unknown, and the font and character when a font lacks the script', () => {
    expect(() => resolveDataset('source:klingon')).toThrow(/task sources: klingon: expected one of fashion-mnist, mnist, digits, glyphs-greek/);
    const latin = { pkg: '@fontsource/noto-sans', version: '5.3.0', family: 'noto-sans', subset: 'latin' };
    expect(() => glyphDataset('bad', 'v', { families: [latin], codepoints: [0x531] }, 10)).toThrow(
      /noto-sans-latin-300-normal\.woff: U\+0531: expected a glyph for every character of the script/,
    );
    expect(() => fontFile({ ...latin, pkg: '@fontsource/no-such-font' }, 400)).toThrow(
      /font package @fontsource\/no-such-font: expected @fontsource\/no-such-font@5\.3\.0 installed/,
    );
    expect(() =>
      taskSource('textures')
        .load()
        .image(20 * GENERATED_PER_CLASS),
    ).toThrow(/image index: expected an integer in 0\.\.3999/);
  });
});

describe('rasteriser', () => {
  it('covers a square exactly and a triangle by half, non-zero winding for holes', () => {
    const sq = fillContours(
      [
        [
          [1, 1],
          [3, 1],
          [3, 3],
          [1, 3],
        ],
      ],
      4,
      4,
      4,
    );
    expect(Array.from(sq)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const tri = fillContours(
      [
        [
          [0, 0],
          [8, 0],
          [0, 8],
        ],
      ],
      8,
      8,
      8,
    );
    expect(tri.reduce((s, v) => s + v, 0)).toBe(31.5); // sample centres with i + j ≤ 62 of 64×64: 2,016 / 64
    const ring = fillContours(
      [
        [
          [0, 0],
          [4, 0],
          [4, 4],
          [0, 4],
        ],
        [
          [1, 1],
          [1, 3],
          [3, 3],
          [3, 1],
        ],
      ],
      4,
      4,
      2,
    );
    expect(Array.from(ring)).toEqual([1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('flattens a real glyph outline into closed contours inside its advance box', () => {
    const file = fontFile({ pkg: '@fontsource/noto-sans-armenian', version: '5.3.0', family: 'noto-sans-armenian', subset: 'armenian' }, 400);
    const buf = fs.readFileSync(file);
    const font = opentype.parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const contours = flattenPath(font.charToGlyph('\u0555').getPath(0, 0, font.unitsPerEm).commands as never);
    expect(contours.length).toBe(2); // Օ: outer and inner contour
    const ink = fillContours(
      contours.map((c) => c.map(([x, y]) => [x / 40, (y + 800) / 40] as const)),
      25,
      25,
      2,
    );
    expect(ink.reduce((s, v) => s + v, 0)).toBeGreaterThan(30);
    expect(new Rng(1).int(10)).toBe(new Rng(1).int(10));
    expect(fs.existsSync(os.tmpdir()) && path.isAbsolute(file)).toBe(true);
  });
});
