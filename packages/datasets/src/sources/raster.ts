/**
 * A small, exact scan-converter for the rendered task sources: closed polygons → per-pixel
 * coverage by the non-zero winding rule, sampled on an ss×ss grid inside each pixel. Written in
 * plain TypeScript (no native canvas) so a source renders the same bytes on every platform.
 */

export type Point = readonly [number, number];
/** A closed contour (the last point connects back to the first). */
export type Contour = Point[];

/** Path commands as opentype.js gives them (y down). */
export type PathCommand =
  | { readonly type: 'M' | 'L'; readonly x: number; readonly y: number }
  | { readonly type: 'Q'; readonly x1: number; readonly y1: number; readonly x: number; readonly y: number }
  | { readonly type: 'C'; readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number; readonly x: number; readonly y: number }
  | { readonly type: 'Z' };

/** Flatten path commands into closed contours; curves become `curveSteps` straight segments. */
export function flattenPath(commands: readonly PathCommand[], curveSteps = 8): Contour[] {
  const out: Contour[] = [];
  let cur: Point[] = [];
  let px = 0;
  let py = 0;
  const close = () => {
    if (cur.length >= 3) out.push(cur);
    cur = [];
  };
  for (const c of commands) {
    switch (c.type) {
      case 'M':
        close();
        cur.push([c.x, c.y]);
        px = c.x;
        py = c.y;
        break;
      case 'L':
        cur.push([c.x, c.y]);
        px = c.x;
        py = c.y;
        break;
      case 'Q':
        for (let s = 1; s <= curveSteps; s++) {
          const t = s / curveSteps;
          const u = 1 - t;
          cur.push([u * u * px + 2 * u * t * c.x1 + t * t * c.x, u * u * py + 2 * u * t * c.y1 + t * t * c.y]);
        }
        px = c.x;
        py = c.y;
        break;
      case 'C':
        for (let s = 1; s <= curveSteps; s++) {
          const t = s / curveSteps;
          const u = 1 - t;
          const a = u * u * u;
          const b = 3 * u * u * t;
          const d = 3 * u * t * t;
          const e = t * t * t;
          cur.push([a * px + b * c.x1 + d * c.x2 + e * c.x, a * py + b * c.y1 + d * c.y2 + e * c.y]);
        }
        px = c.x;
        py = c.y;
        break;
      case 'Z':
        close();
        break;
    }
  }
  close();
  return out;
}

/** Split every edge into pieces no longer than `maxLen`, so a later non-linear warp bends straight strokes too. */
export function subdivide(contours: readonly Contour[], maxLen: number): Contour[] {
  return contours.map((c) => {
    const out: Point[] = [];
    for (let i = 0; i < c.length; i++) {
      const [x0, y0] = c[i]!;
      const [x1, y1] = c[(i + 1) % c.length]!;
      const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / maxLen));
      for (let s = 0; s < n; s++) out.push([x0 + ((x1 - x0) * s) / n, y0 + ((y1 - y0) * s) / n]);
    }
    return out;
  });
}

export function boundingBox(contours: readonly Contour[]): { minX: number; minY: number; maxX: number; maxY: number } {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const c of contours) {
    for (const [x, y] of c) {
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  return { minX, minY, maxX, maxY };
}

/**
 * Coverage in [0, 1] of each pixel of a `width × height` raster (row-major) by the contours,
 * non-zero winding rule, sampled at ss×ss points per pixel (pixel (c, r) spans [c, c+1)×[r, r+1)).
 */
export function fillContours(contours: readonly Contour[], width: number, height: number, ss = 4): Float32Array {
  const cover = new Float32Array(width * height);
  const edges: Array<{ x0: number; y0: number; x1: number; y1: number; dir: number }> = [];
  for (const c of contours) {
    for (let i = 0; i < c.length; i++) {
      const [ax, ay] = c[i]!;
      const [bx, by] = c[(i + 1) % c.length]!;
      if (ay === by) continue;
      edges.push(ay < by ? { x0: ax, y0: ay, x1: bx, y1: by, dir: 1 } : { x0: bx, y0: by, x1: ax, y1: ay, dir: -1 });
    }
  }
  const w = 1 / (ss * ss);
  const xs: Array<{ x: number; dir: number }> = [];
  const sw = width * ss;
  for (let sy = 0; sy < height * ss; sy++) {
    const y = (sy + 0.5) / ss;
    xs.length = 0;
    for (const e of edges) {
      if (y < e.y0 || y >= e.y1) continue;
      xs.push({ x: e.x0 + ((y - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0), dir: e.dir });
    }
    if (xs.length < 2) continue;
    xs.sort((a, b) => a.x - b.x);
    const row = Math.floor(sy / ss) * width;
    let wind = 0;
    for (let k = 0; k < xs.length - 1; k++) {
      wind += xs[k]!.dir;
      if (wind === 0) continue;
      // Sample columns whose centres (i + 0.5) / ss lie in [xa, xb).
      const from = Math.max(0, Math.ceil(xs[k]!.x * ss - 0.5));
      const to = Math.min(sw, Math.ceil(xs[k + 1]!.x * ss - 0.5));
      for (let i = from; i < to; i++) cover[row + Math.floor(i / ss)]! += w;
    }
  }
  return cover;
}
