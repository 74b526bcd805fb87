/**
 * A small dependency-free SVG line plot: one line per series, an optional shaded band (e.g. a
 * confidence interval), axes with ticks, a legend. Used for accuracy-vs-evaluations plots.
 * Layout: the legend sits below the plot in rows sized from its labels (never clipped by the
 * canvas, whatever the label length); the reference label sits inside the plot, right-aligned
 * above its line with a white halo (never under the legend or a margin).
 */
import { fail } from '@metad2a/core';

export interface PlotSeries {
  readonly label: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** Optional band: [lower, upper] per point. */
  readonly band?: readonly (readonly [number, number])[];
  /** CSS colour; default from a fixed palette. */
  readonly color?: string;
}

export interface LinePlotOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
  /** Horizontal reference line (e.g. the benchmark optimum) with its label. */
  readonly reference?: { readonly y: number; readonly label: string };
  readonly xLog?: boolean;
  /** Fixed y range (values outside are clipped to the plot area). */
  readonly yMin?: number;
  readonly yMax?: number;
}

/** The plots' series colours, in order. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** Text escaped for SVG/XML content and attributes. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A coordinate with at most 2 decimals (deterministic bytes). */
export const fmt = (v: number): string => (Math.round(v * 100) / 100).toString();
/** Width of a label at font-size 12 sans-serif: 0.62 em per character bounds Helvetica/DejaVu digits and letters. */
export const textWidth = (s: string, fontSize = 12): number => Math.ceil(s.length * fontSize * 0.62);

/** Legend entries in rows that fit `width`: [row][entry] with each entry's x offset. */
export function legendRows(labels: readonly string[], width: number): { index: number; x: number }[][] {
  const rows: { index: number; x: number }[][] = [[]];
  let x = 0;
  labels.forEach((label, index) => {
    const w = 34 + textWidth(label) + 18; // swatch, gap, text, spacing
    if (x > 0 && x + w > width) {
      rows.push([]);
      x = 0;
    }
    rows[rows.length - 1]!.push({ index, x });
    x += w;
  });
  return rows;
}

/** "Nice" tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toFixed(decimals)));
  return out;
}

/** Render the series as an SVG document (a string). */
export function renderLinePlot(series: readonly PlotSeries[], opts: LinePlotOptions = {}): string {
  if (series.length === 0) fail('ValidationError', { source: 'renderLinePlot', field: 'series', expected: 'at least one series', got: 'none' });
  for (const s of series) {
    if (s.x.length !== s.y.length || (s.band && s.band.length !== s.x.length)) {
      fail('ValidationError', {
        source: 'renderLinePlot',
        field: `series ${s.label}`,
        expected: 'x, y (and band) of equal length',
        got: `${s.x.length}, ${s.y.length}${s.band ? `, ${s.band.length}` : ''}`,
      });
    }
  }
  const W = opts.width ?? 720;
  const m0 = { left: 64, right: 24 };
  const legend = legendRows(
    series.map((s) => s.label),
    W - m0.left - m0.right,
  );
  const H = (opts.height ?? 440) + legend.length * 20;
  const m = { ...m0, top: opts.title ? 36 : 16, bottom: 56 + legend.length * 20 };
  const finite = (v: number): boolean => Number.isFinite(v);
  const xs = series.flatMap((s) => s.x).filter(finite);
  const ys = series.flatMap((s) => [...s.y, ...(s.band ?? []).flat()]).filter(finite);
  if (opts.reference) ys.push(opts.reference.y);
  if (xs.length === 0 || ys.length === 0) fail('ValidationError', { source: 'renderLinePlot', field: 'series', expected: 'finite values', got: 'none' });
  const xLog = opts.xLog === true && xs.every((v) => v > 0);
  const tx = (v: number): number => (xLog ? Math.log10(v) : v);
  const x0 = Math.min(...xs.map(tx));
  let x1 = Math.max(...xs.map(tx));
  if (x1 === x0) x1 = x0 + 1;
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  const pad = (y1 - y0) * 0.05 || 0.5;
  y0 = opts.yMin ?? y0 - pad;
  y1 = opts.yMax ?? y1 + pad;
  if (!(y1 > y0)) fail('ValidationError', { source: 'renderLinePlot', field: 'yMin/yMax', expected: 'yMin < yMax', got: `${y0}, ${y1}` });
  const px = (v: number): number => m.left + ((tx(v) - x0) / (x1 - x0)) * (W - m.left - m.right);
  const py = (v: number): number => H - m.bottom - ((v - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<defs><clipPath id="plot-area"><rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}"/></clipPath></defs>`);
  if (opts.title) parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  // axes and ticks
  const xTicks = xLog
    ? niceTicks(x0, x1, 5)
        .filter((t) => Number.isInteger(t))
        .map((t) => 10 ** t)
    : niceTicks(x0, x1);
  for (const t of xTicks) {
    const X = fmt(px(t));
    parts.push(`<line x1="${X}" y1="${m.top}" x2="${X}" y2="${H - m.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${X}" y="${H - m.bottom + 16}" text-anchor="middle">${esc(fmt(t))}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const Y = fmt(py(t));
    parts.push(`<line x1="${m.left}" y1="${Y}" x2="${W - m.right}" y2="${Y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle">${esc(fmt(t))}</text>`);
  }
  parts.push(`<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" stroke="black"/>`);
  parts.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" stroke="black"/>`);
  if (opts.xLabel) parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - m.bottom + 36}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel)
    parts.push(`<text x="16" y="${(m.top + H - m.bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.top + H - m.bottom) / 2})">${esc(opts.yLabel)}</text>`);
  if (opts.reference) {
    const Y = fmt(py(opts.reference.y));
    parts.push(`<line x1="${m.left}" y1="${Y}" x2="${W - m.right}" y2="${Y}" stroke="#555" stroke-dasharray="6 4"/>`);
    parts.push(
      `<text x="${W - m.right - 4}" y="${fmt(py(opts.reference.y) - 5)}" text-anchor="end" fill="#555" stroke="white" stroke-width="3" paint-order="stroke">${esc(opts.reference.label)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.x.map((x, j) => [x, s.y[j]!] as const).filter(([x, y]) => finite(x) && finite(y));
    if (s.band) {
      const b = s.x.map((x, j) => [x, s.band![j]![0], s.band![j]![1]] as const).filter(([x, lo, hi]) => finite(x) && finite(lo) && finite(hi));
      if (b.length > 1) {
        const upper = b.map(([x, , hi]) => `${fmt(px(x))},${fmt(py(hi))}`);
        const lower = b.map(([x, lo]) => `${fmt(px(x))},${fmt(py(lo))}`).reverse();
        parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.15" stroke="none" clip-path="url(#plot-area)"/>`);
      }
    }
    if (pts.length > 0)
      parts.push(`<polyline points="${pts.map(([x, y]) => `${fmt(px(x))},${fmt(py(y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2" clip-path="url(#plot-area)"/>`);
    const r = legend.findIndex((row) => row.some((e) => e.index === i));
    const lx = m.left + legend[r]!.find((e) => e.index === i)!.x;
    const ly = H - m.bottom + 56 + r * 20;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
