import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  OFFICIAL_CPU_ANCHORS,
  buildSpeedReport,
  resultJson,
  niceTicks,
  numericLeaves,
  parseBenchOutput,
  readBenchOutput,
  renderLinePlot,
  speedMarkdown,
  writeReport,
  legendRows,
  textWidth,
} from '../src';

describe('SVG line plot', () => {
  it('draws one polyline per series with the right number of points, a band, escaped labels', () => {
    const svg = renderLinePlot(
      [
        {
          label: 'a <b>',
          x: [1, 2, 3],
          y: [1, 2, 4],
          band: [
            [0, 2],
            [1, 3],
            [3, 5],
          ],
        },
        { label: 'c', x: [1, 2, 3], y: [2, NaN, 3] },
      ],
      { title: 'T & t', xLabel: 'x', yLabel: 'y', reference: { y: 5, label: 'max' } },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const lines = [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(lines).toEqual([3, 2]); // NaN point dropped
    expect(svg.match(/<polygon /g)).toHaveLength(1);
    expect(svg).toContain('a &lt;b&gt;');
    expect(svg).toContain('T &amp; t');
    expect(svg).not.toContain('NaN');
    expect(() => renderLinePlot([{ label: 'bad', x: [1, 2], y: [1] }])).toThrow(/equal length/);
  });
  it('layout: every legend label inside the canvas, legend rows below the plot, the reference label not over the legend', () => {
    const labels = ['random search', 'REA (regularized evolution)', 'predictor, exhaustive ranking of every cell of the space', 'MetaD2A (generate + rank)'];
    const svg = renderLinePlot(
      labels.map((label, i) => ({ label, x: [1, 10, 100], y: [90 + i, 92 + i / 2, 94] })),
      { title: 't', xLabel: 'evaluations', yLabel: 'acc', reference: { y: 94.37, label: 'optimum 94.37' }, xLog: true },
    );
    const W = Number(/width="(\d+)"/.exec(svg)![1]);
    const H = Number(/height="(\d+)"/.exec(svg)![1]);
    const plotBottom = Number(
      /<clipPath id="plot-area"><rect x="\d+" y="(\d+)" width="\d+" height="(\d+)"/
        .exec(svg)!
        .slice(1, 3)
        .reduce((a, b) => String(Number(a) + Number(b))),
    );
    for (const label of labels) {
      const m = new RegExp(`<text x="([\\d.]+)" y="([\\d.]+)" dominant-baseline="middle">${label.replace(/[()+]/g, '\\$&')}</text>`).exec(svg);
      expect(m).not.toBeNull();
      const [x, y] = [Number(m![1]), Number(m![2])];
      expect(x + textWidth(label)).toBeLessThanOrEqual(W); // not clipped on the right
      expect(y).toBeGreaterThan(plotBottom + 30); // below the plot and its axis label
      expect(y).toBeLessThan(H);
    }
    // the reference label: right-aligned inside the plot area, just above its line
    const ref = /<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="[\d.]+" stroke="#555"/.exec(svg)!;
    const refText = /<text x="([\d.]+)" y="([\d.]+)" text-anchor="end"[^>]*>optimum 94.37<\/text>/.exec(svg)!;
    expect(Number(refText[1])).toBeLessThanOrEqual(W - 24);
    expect(Number(refText[2])).toBeLessThan(Number(ref[1]));
    expect(Number(refText[2])).toBeLessThan(plotBottom);
    expect(legendRows(labels, 632).map((row) => row.map((e) => e.index))).toEqual([[0, 1], [2], [3]]); // rows wrap where a label would not fit
  });
  it('nice ticks', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(93.1, 94.4, 6)).toEqual([93.5, 94]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(70.05, 73.6, 8)).toEqual([70.5, 71, 71.5, 72, 72.5, 73, 73.5]);
  });
});

describe('speed report', () => {
  it('matches explicit anchors and known paths, computes speed-ups, lists the rest', () => {
    const search = parseBenchOutput(
      'search',
      'progress…\n{"benchmark":"search","anchors":{"nb201.search.cifar10.total":7,"nb201.search.cifar10.generate":1.7},"candidates":500}\n',
      'test',
    );
    const kernels = parseBenchOutput('kernels', JSON.stringify({ gemm512_gflops: { native: 115, wasm: 25 }, rows: [{ ms: 2 }] }), 'test');
    const r = buildSpeedReport([search, kernels]);
    const row = (id: string) => r.rows.find((x) => x.anchor.id === id)!;
    expect(row('nb201.search.cifar10.total')).toMatchObject({ ours: 7, speedup: 5, foundAt: 'search: anchors.nb201.search.cifar10.total' });
    expect(row('nb201.search.cifar10.generate').speedup).toBeCloseTo(2, 12);
    expect(row('kernels.matmul512')).toMatchObject({ ours: 115, foundAt: 'kernels: gemm512_gflops.native' });
    expect(row('kernels.matmul512').speedup).toBeCloseTo(0.5, 12);
    expect(row('train.tinynet.c16n5.32px.b256.allconv3').ours).toBeNull();
    expect(r.rows).toHaveLength(OFFICIAL_CPU_ANCHORS.length);
    expect(r.other.find((o) => o.bench === 'kernels')!.values).toEqual([
      ['gemm512_gflops.wasm', 25],
      ['rows.0.ms', 2],
    ]);
    const md = speedMarkdown(r);
    expect(md).toContain('| NB201: whole search, CIFAR-10 shape | ~35 s | 7.000 s | 5.00× |');
    expect(md).toContain('not measured');
  });
  it('reads saved outputs and reports bad ones clearly', () => {
    expect(numericLeaves({ a: 1, b: [2, { c: 3 }], d: 'x', e: null })).toEqual([
      ['a', 1],
      ['b.0', 2],
      ['b.1.c', 3],
    ]);
    expect(() => parseBenchOutput('train', 'no json here', 'out.txt')).toThrow(/JSON object on its last line/);
    expect(() => readBenchOutput('train', '/nonexistent/train.json')).toThrow(/nonexistent/);
  });
});

describe('writeReport', () => {
  it('writes .md, .json and .svg side by side', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
    const files = writeReport(dir, 'nb201', { markdown: '# x\n', json: { a: 1 }, svg: '<svg/>' });
    expect(files.map((f) => path.basename(f))).toEqual(['nb201.md', 'nb201.json', 'nb201.svg']);
    expect(JSON.parse(fs.readFileSync(files[1]!, 'utf8'))).toEqual({ a: 1 });
    expect(fs.readdirSync(dir).sort()).toEqual(['nb201.json', 'nb201.md', 'nb201.svg']);
    fs.rmSync(dir, { recursive: true });
  });
  it('rounds non-integers to 7 significant digits in the JSON, keeps integers and strings', () => {
    expect(JSON.parse(resultJson({ a: 93.123456789, b: 15625, c: 'x', d: [1e-12 / 3], e: null }))).toEqual({ a: 93.12346, b: 15625, c: 'x', d: [3.333333e-13], e: null });
  });
});
