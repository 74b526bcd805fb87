/**
 * Procedurally generated colour task sources (32×32 RGB): the class fixes the structure
 * (texture kind and scale, dominant hue and layout, shape), each image draws colours, phase,
 * jitter and noise from a generator seeded by (source, version, class, index).
 */
import type { Rng } from '@metad2a/core';
import type { ImageDataset } from '../images';
import { generatedDataset } from './generated-dataset';
import { fillContours, type Contour } from './raster';

export const PROCEDURAL_IMAGE_SIZE = 32;
const S = PROCEDURAL_IMAGE_SIZE;
type Rgb = [number, number, number];

const clip255 = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** HSV (h in degrees) → RGB 0..255. */
function hsv(h: number, s: number, v: number): Rgb {
  const c = v * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = v - c;
  return [255 * (r + m), 255 * (g + m), 255 * (b + m)];
}

const luma = (c: Rgb) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];

/** Two random colours whose luminance differs by at least 50 (so the structure is visible). */
function colourPair(rng: Rng): [Rgb, Rgb] {
  for (;;) {
    const a = hsv(rng.uniformIn(0, 360), rng.uniformIn(0.2, 1), rng.uniformIn(0.15, 1));
    const b = hsv(rng.uniformIn(0, 360), rng.uniformIn(0.2, 1), rng.uniformIn(0.15, 1));
    if (Math.abs(luma(a) - luma(b)) >= 50) return [a, b];
  }
}

/** Mix two colours by t ∈ [0,1] per pixel, add noise, write RGB bytes. */
function paint(t: Float32Array, a: Rgb, b: Rgb, noise: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(S * S * 3);
  for (let p = 0; p < S * S; p++) {
    const w = Math.min(1, Math.max(0, t[p]!));
    for (let ch = 0; ch < 3; ch++) out[3 * p + ch] = clip255(a[ch]! + (b[ch]! - a[ch]!) * w + noise * rng.normal());
  }
  return out;
}

/** Smooth random field in [0,1] from a few random low-frequency waves. */
function smoothField(rng: Rng, waves: number, minPeriod: number, maxPeriod: number): Float32Array {
  const ws = Array.from({ length: waves }, () => {
    const ang = rng.uniformIn(0, 2 * Math.PI);
    const k = (2 * Math.PI) / rng.uniformIn(minPeriod, maxPeriod);
    return { kx: k * Math.cos(ang), ky: k * Math.sin(ang), ph: rng.uniformIn(0, 2 * Math.PI) };
  });
  const t = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) t[y * S + x] = 0.5 + ws.reduce((s, w) => s + Math.sin(w.kx * x + w.ky * y + w.ph), 0) / (2 * Math.sqrt(waves));
  return t;
}

// --- textures: 20 classes of structure ---------------------------------------------------------

export const TEXTURE_CLASSES = [
  'stripes-0-wide',
  'stripes-45-wide',
  'stripes-90-wide',
  'stripes-135-wide',
  'stripes-0-fine',
  'stripes-45-fine',
  'stripes-90-fine',
  'stripes-135-fine',
  'checker-wide',
  'checker-fine',
  'rings-wide',
  'rings-fine',
  'dots-sparse',
  'dots-dense',
  'spokes-6',
  'spokes-12',
  'hatch-wide',
  'hatch-fine',
  'blobs',
  'grain',
] as const;

function texture(c: number, rng: Rng): Uint8Array {
  const [a, b] = colourPair(rng);
  const jit = (p: number) => p * rng.uniformIn(0.88, 1.12);
  const soft = rng.bernoulli(0.5); // sinusoidal or square-wave profile
  const wave = (u: number) => (soft ? 0.5 + 0.5 * Math.sin(u) : Math.sin(u) >= 0 ? 1 : 0);
  const phase = rng.uniformIn(0, 2 * Math.PI);
  const cx = S / 2 + rng.uniformIn(-4, 4);
  const cy = S / 2 + rng.uniformIn(-4, 4);
  const t = new Float32Array(S * S);
  const name = TEXTURE_CLASSES[c]!;
  const field = (f: (x: number, y: number) => number) => {
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) t[y * S + x] = f(x, y);
  };
  if (name.startsWith('stripes')) {
    const deg = Number(name.split('-')[1]) + rng.uniformIn(-8, 8);
    const k = (2 * Math.PI) / jit(name.endsWith('wide') ? 8 : 4);
    const [ux, uy] = [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
    field((x, y) => wave(k * (ux * x + uy * y) + phase));
  } else if (name.startsWith('checker')) {
    const k = (2 * Math.PI) / jit(name.endsWith('wide') ? 8 : 4);
    const r = (rng.uniformIn(-10, 10) * Math.PI) / 180;
    field((x, y) => (Math.sin(k * (Math.cos(r) * x + Math.sin(r) * y) + phase) * Math.sin(k * (-Math.sin(r) * x + Math.cos(r) * y)) >= 0 ? 1 : 0));
  } else if (name.startsWith('rings')) {
    const k = (2 * Math.PI) / jit(name.endsWith('wide') ? 6 : 3.5);
    field((x, y) => wave(k * Math.hypot(x - cx, y - cy) + phase));
  } else if (name.startsWith('dots')) {
    const p = jit(name.endsWith('sparse') ? 8 : 5);
    const rad = p * rng.uniformIn(0.22, 0.32);
    const ox = rng.uniformIn(0, p);
    const oy = rng.uniformIn(0, p);
    field((x, y) => {
      const dx = ((((x + ox) % p) + p) % p) - p / 2;
      const dy = ((((y + oy) % p) + p) % p) - p / 2;
      return Math.hypot(dx, dy) <= rad ? 1 : 0;
    });
  } else if (name.startsWith('spokes')) {
    const n = Number(name.split('-')[1]);
    field((x, y) => wave(n * Math.atan2(y - cy, x - cx) + phase));
  } else if (name.startsWith('hatch')) {
    const k = (2 * Math.PI) / jit(name.endsWith('wide') ? 8 : 4);
    const r = (rng.uniformIn(0, 90) * Math.PI) / 180;
    field((x, y) => Math.max(wave(k * (Math.cos(r) * x + Math.sin(r) * y) + phase), wave(k * (-Math.sin(r) * x + Math.cos(r) * y))));
  } else if (name === 'blobs') {
    const f = smoothField(rng, 6, 10, 22);
    field((x, y) => (f[y * S + x]! > 0.5 ? 1 : 0));
  } else {
    field(() => (rng.bernoulli(0.5) ? 1 : 0));
  }
  return paint(t, a, b, rng.uniformIn(0, 8), rng);
}

// --- colour blobs: 12 classes = dominant hue (6 bins) × layout (one blob / many) --------------

export const COLOUR_BLOB_CLASSES = ['red', 'yellow', 'green', 'cyan', 'blue', 'magenta'].flatMap((h) => [`${h}-one`, `${h}-many`]);

function colourBlobs(c: number, rng: Rng): Uint8Array {
  const hue = 60 * Math.floor(c / 2) + rng.uniformIn(-22, 22);
  const many = c % 2 === 1;
  const fg = hsv(hue, rng.uniformIn(0.55, 1), rng.uniformIn(0.55, 1));
  const bg = hsv(rng.uniformIn(0, 360), rng.uniformIn(0, 0.3), rng.uniformIn(0.1, 0.9));
  const blobs = Array.from({ length: many ? 5 + rng.int(5) : 1 }, () => ({
    x: rng.uniformIn(4, S - 4),
    y: rng.uniformIn(4, S - 4),
    r: many ? rng.uniformIn(2, 4.5) : rng.uniformIn(7, 12),
  }));
  const t = new Float32Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let v = 0;
      for (const b of blobs) v = Math.max(v, Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r)));
      t[y * S + x] = v > 0.5 ? 1 : v * 2 * 0.6;
    }
  }
  return paint(t, bg, fg, rng.uniformIn(0, 10), rng);
}

// --- shapes: 10 classes, one filled shape on a gradient background ---------------------------

export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'star', 'ring', 'cross', 'ellipse', 'hexagon', 'l-shape', 'arrow'] as const;

function polygon(n: number, r: number, start = 0): Contour {
  return Array.from({ length: n }, (_, i) => [r * Math.cos(start + (2 * Math.PI * i) / n), r * Math.sin(start + (2 * Math.PI * i) / n)] as const);
}

function shapeOutline(name: (typeof SHAPE_CLASSES)[number]): Contour[] {
  switch (name) {
    case 'circle':
      return [polygon(48, 1)];
    case 'square':
      return [
        [
          [-0.8, -0.8],
          [0.8, -0.8],
          [0.8, 0.8],
          [-0.8, 0.8],
        ],
      ];
    case 'triangle':
      return [polygon(3, 1, -Math.PI / 2)];
    case 'star':
      return [
        Array.from(
          { length: 10 },
          (_, i) => [(i % 2 ? 0.42 : 1) * Math.cos(-Math.PI / 2 + (Math.PI * i) / 5), (i % 2 ? 0.42 : 1) * Math.sin(-Math.PI / 2 + (Math.PI * i) / 5)] as const,
        ),
      ];
    case 'ring':
      return [polygon(48, 1), polygon(48, 0.55).reverse()];
    case 'cross':
      return [
        [
          [-0.3, -1],
          [0.3, -1],
          [0.3, -0.3],
          [1, -0.3],
          [1, 0.3],
          [0.3, 0.3],
          [0.3, 1],
          [-0.3, 1],
          [-0.3, 0.3],
          [-1, 0.3],
          [-1, -0.3],
          [-0.3, -0.3],
        ],
      ];
    case 'ellipse':
      return [polygon(48, 1).map(([x, y]) => [x, 0.45 * y] as const)];
    case 'hexagon':
      return [polygon(6, 1)];
    case 'l-shape':
      return [
        [
          [-0.8, -1],
          [-0.2, -1],
          [-0.2, 0.4],
          [0.8, 0.4],
          [0.8, 1],
          [-0.8, 1],
        ],
      ];
    case 'arrow':
      return [
        [
          [-1, -0.25],
          [0.2, -0.25],
          [0.2, -0.65],
          [1, 0],
          [0.2, 0.65],
          [0.2, 0.25],
          [-1, 0.25],
        ],
      ];
  }
}

function shape(c: number, rng: Rng): Uint8Array {
  const [bgA, fg] = colourPair(rng);
  const bgB = hsv(rng.uniformIn(0, 360), rng.uniformIn(0, 0.4), luma(bgA) / 255);
  const r = rng.uniformIn(7, 12);
  const rot = rng.uniformIn(0, 2 * Math.PI);
  const cx = rng.uniformIn(r, S - r);
  const cy = rng.uniformIn(r, S - r);
  const placed = shapeOutline(SHAPE_CLASSES[c]!).map((ct) =>
    ct.map(([x, y]) => [cx + r * (Math.cos(rot) * x - Math.sin(rot) * y), cy + r * (Math.sin(rot) * x + Math.cos(rot) * y)] as const),
  );
  const cover = fillContours(placed, S, S, 4);
  const gAng = rng.uniformIn(0, 2 * Math.PI);
  const out = new Uint8Array(S * S * 3);
  const noise = rng.uniformIn(0, 8);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const p = y * S + x;
      const g = 0.5 + ((x - S / 2) * Math.cos(gAng) + (y - S / 2) * Math.sin(gAng)) / S;
      const w = Math.min(1, cover[p]!);
      for (let ch = 0; ch < 3; ch++) out[3 * p + ch] = clip255((bgA[ch]! * (1 - g) + bgB[ch]! * g) * (1 - w) + fg[ch]! * w + noise * rng.normal());
    }
  }
  return out;
}

const GENERATORS = {
  textures: { classes: TEXTURE_CLASSES, draw: texture },
  'colour-blobs': { classes: COLOUR_BLOB_CLASSES, draw: colourBlobs },
  shapes: { classes: SHAPE_CLASSES, draw: shape },
} as const;
export type ProceduralKind = keyof typeof GENERATORS;

export function proceduralDataset(name: string, version: string, kind: ProceduralKind, perClass: number): ImageDataset {
  const gen = GENERATORS[kind];
  const _k = gen.classes.length;
  return generatedDataset(name, version, [...gen.classes], perClass, 'imagenet', (c, rng) => ({ width: S, height: S, channels: 3, data: gen.draw(c, rng) }));
}
