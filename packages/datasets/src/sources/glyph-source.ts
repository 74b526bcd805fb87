/// <reference path="./opentype.d.ts" />
/**
 * Task sources rendered from fonts: one class per character of a writing system, each image the
 * character rasterised with a seeded augmentation (font family and weight = stroke width,
 * rotation, scale, aspect, shear, shift, a smooth elastic warp, 0–2 clutter strokes, contrast and
 * noise), strong enough that 10–20-class tasks do not saturate a small network. Fonts come
 * from versioned `@fontsource/*` Noto packages (SIL OFL 1.1), read with opentype.js and filled by
 * `raster.ts`, so image `i` of a source is the same bytes on every machine.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as opentype from 'opentype.js';
import { MetaD2AException, type Rng, notFound, validationError } from '@metad2a/core';
import type { ImageDataset } from '../images';
import { generatedDataset } from './generated-dataset';
import { boundingBox, fillContours, flattenPath, subdivide, type Contour, type PathCommand } from './raster';

/** A font family as a fontsource package ships it: `files/<family>-<subset>-<weight>-normal.woff`. */
export interface FontFamily {
  /** npm package, e.g. `@fontsource/noto-sans-armenian`. */
  readonly pkg: string;
  /** The version the source was made with (part of the source version). */
  readonly version: string;
  /** File-name stem, e.g. `noto-sans-armenian`. */
  readonly family: string;
  /** Unicode subset, e.g. `armenian`. */
  readonly subset: string;
  /** The weights (stroke widths) drawn from; default {@link WEIGHTS}. */
  readonly weights?: readonly number[];
}

export interface GlyphScript {
  readonly families: readonly FontFamily[];
  /** The characters, one class each, in class order. */
  readonly codepoints: readonly number[];
}

/** Stroke widths: the weights drawn from by default. */
export const WEIGHTS = [300, 400, 600, 800] as const;
export const GLYPH_IMAGE_SIZE = 32;

const requireHere = createRequire(__filename);

/** The font file of a family at a weight, from its installed npm package (a clear error when it is missing). */
export function fontFile(f: FontFamily, weight: number): string {
  let dir: string;
  try {
    dir = path.dirname(requireHere.resolve(`${f.pkg}/package.json`));
  } catch {
    throw new MetaD2AException(
      notFound({
        source: 'glyph source',
        field: `font package ${f.pkg}`,
        expected: `${f.pkg}@${f.version} installed (npm install ${f.pkg}@${f.version}); the rendered sources need it`,
        got: 'not installed',
      }),
    );
  }
  const file = path.join(dir, 'files', `${f.family}-${f.subset}-${weight}-normal.woff`);
  if (!fs.existsSync(file))
    throw new MetaD2AException(notFound({ source: `font package ${f.pkg}`, field: `weight ${weight}`, expected: `a file ${path.basename(file)}`, got: 'no such file' }));
  return file;
}

const fontCache = new Map<string, opentype.Font>();
function loadFont(file: string): opentype.Font {
  let font = fontCache.get(file);
  if (!font) {
    const buf = fs.readFileSync(file);
    font = opentype.parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    fontCache.set(file, font);
  }
  return font;
}

/** A character's outline in font units, flattened; throws a named error when the font has no glyph for it. */
function glyphContours(font: opentype.Font, file: string, cp: number): Contour[] {
  const ch = String.fromCodePoint(cp);
  if (font.charToGlyphIndex(ch) === 0) {
    throw new MetaD2AException(
      validationError({
        source: file,
        field: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`,
        expected: 'a glyph for every character of the script (a font that covers the script)',
        got: 'no glyph (.notdef)',
      }),
    );
  }
  const contours = flattenPath(font.charToGlyph(ch).getPath(0, 0, font.unitsPerEm).commands as unknown as PathCommand[]);
  if (contours.length === 0)
    throw new MetaD2AException(
      validationError({ source: file, field: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, expected: 'a visible glyph', got: 'an empty outline' }),
    );
  return contours;
}

/** Render one augmented character (grey, white on dark) from outlines in font units. */
export function renderGlyph(outline: readonly Contour[], rng: Rng, size = GLYPH_IMAGE_SIZE): Uint8Array {
  const bb = boundingBox(outline);
  const cx = (bb.minX + bb.maxX) / 2;
  const cy = (bb.minY + bb.maxY) / 2;
  const extent = Math.max(bb.maxX - bb.minX, bb.maxY - bb.minY, 1e-6);
  const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const scale = ((0.62 * size) / extent) * clip(Math.exp(0.18 * rng.normal()), 0.65, 1.35);
  const aspect = clip(Math.exp(0.1 * rng.normal()), 0.8, 1.25);
  const rot = (clip(15 * rng.normal(), -30, 30) * Math.PI) / 180;
  const shear = clip(0.15 * rng.normal(), -0.35, 0.35);
  const tx = size / 2 + rng.uniformIn(-4, 4);
  const ty = size / 2 + rng.uniformIn(-4, 4);
  const cos = Math.cos(rot);
  const sin = Math.sin(rot);
  // Elastic warp: a smooth displacement field of two random plane waves per axis (≤ ~2 px).
  const waves = [0, 1, 2, 3].map(() => {
    const ang = rng.uniformIn(0, 2 * Math.PI);
    const k = (2 * Math.PI) / rng.uniformIn(12, 24);
    return { kx: k * Math.cos(ang), ky: k * Math.sin(ang), phase: rng.uniformIn(0, 2 * Math.PI), amp: rng.uniformIn(0, 1) };
  });
  const placed = subdivide(
    outline.map((c) =>
      c.map(([x, y]): [number, number] => {
        const u = (x - cx) * scale * aspect;
        const v = (y - cy) * scale;
        const us = u + shear * v;
        return [tx + cos * us - sin * v, ty + sin * us + cos * v];
      }),
    ),
    1,
  ).map((c) =>
    c.map(([x, y]): [number, number] => [
      x + waves[0]!.amp * Math.sin(waves[0]!.kx * x + waves[0]!.ky * y + waves[0]!.phase) + waves[1]!.amp * Math.sin(waves[1]!.kx * x + waves[1]!.ky * y + waves[1]!.phase),
      y + waves[2]!.amp * Math.sin(waves[2]!.kx * x + waves[2]!.ky * y + waves[2]!.phase) + waves[3]!.amp * Math.sin(waves[3]!.kx * x + waves[3]!.ky * y + waves[3]!.phase),
    ]),
  );
  // Clutter: 0–2 thin random strokes that belong to no class.
  const strokes = rng.int(3);
  for (let k = 0; k < strokes; k++) {
    const x0 = rng.uniformIn(0, size);
    const y0 = rng.uniformIn(0, size);
    const a = rng.uniformIn(0, Math.PI);
    const len = rng.uniformIn(6, 16);
    const w = rng.uniformIn(0.6, 1.4);
    const [dx, dy] = [Math.cos(a), Math.sin(a)];
    placed.push([
      [x0 - (dy * w) / 2, y0 + (dx * w) / 2],
      [x0 + dx * len - (dy * w) / 2, y0 + dy * len + (dx * w) / 2],
      [x0 + dx * len + (dy * w) / 2, y0 + dy * len - (dx * w) / 2],
      [x0 + (dy * w) / 2, y0 - (dx * w) / 2],
    ]);
  }
  const cover = fillContours(placed, size, size, 4);
  const bg = rng.uniformIn(0, 90);
  const fg = rng.uniformIn(bg + 80, 255);
  const noise = rng.uniformIn(0, 22);
  const out = new Uint8Array(size * size);
  for (let p = 0; p < out.length; p++) out[p] = clip(Math.round(bg + (fg - bg) * Math.min(1, cover[p]!) + noise * rng.normal()), 0, 255);
  return out;
}

/** The image dataset of a rendered source: `perClass` images per character (see {@link generatedDataset}). */
export function glyphDataset(name: string, version: string, script: GlyphScript, perClass: number): ImageDataset {
  const fonts = script.families.flatMap((f) => (f.weights ?? WEIGHTS).map((w) => fontFile(f, w)));
  // Check every character in every font up front: a font without the script's glyphs fails here.
  const outlines = new Map<string, Contour[]>();
  for (const file of fonts) {
    const font = loadFont(file);
    for (const cp of script.codepoints) outlines.set(`${file}|${cp}`, glyphContours(font, file, cp));
  }
  const classNames = script.codepoints.map((cp) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${String.fromCodePoint(cp)}`);
  return generatedDataset(name, version, classNames, perClass, 'mnist', (c, rng) => {
    const file = fonts[rng.int(fonts.length)]!;
    return { width: GLYPH_IMAGE_SIZE, height: GLYPH_IMAGE_SIZE, channels: 1, data: renderGlyph(outlines.get(`${file}|${script.codepoints[c]}`)!, rng) };
  });
}
