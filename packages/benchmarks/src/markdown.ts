/**
 * Markdown and JSON renderings of the benchmark results, and the writer that puts a report's
 * files (`<name>.md`, `<name>.json`, `<name>.svg`) side by side, atomically.
 */
import * as path from 'node:path';
import { writeFileAtomicSync } from '@metad2a/core';
import { describeMachine } from './environment';
import type { Mbv3BenchmarkResult } from './mbv3-benchmark';
import type { Nb201BaselineResult } from './nb201-baselines';
import type { Nb201ProtocolResult } from './nb201-protocol';
import { PAPER_NB201, isPaperNb201Dataset } from './paper';
import type { SpeedReport } from './speed-report';
import { formatMeanCI, type MeanCI } from './stats';
import { renderLinePlot } from './svg-plot';

const ci = (c: MeanCI | null, digits = 2): string => (c ? (c.n === 1 ? `${c.mean.toFixed(digits)} (n = 1, no CI)` : formatMeanCI(c, digits)) : 'not measured');
const num = (v: number, digits = 2): string => v.toFixed(digits);

/**
 * Table 1 rows: ours beside the paper's, one row per result. Accuracy cells without an NB201
 * lookup say why (the paper trains the top-1 from scratch there).
 */
export function nb201ProtocolMarkdown(results: readonly Nb201ProtocolResult[]): string {
  const lines: string[] = [];
  lines.push('| Dataset | Accuracy (%), ours | Accuracy (%), paper | Search time (s), ours: gen + rank | Search time, paper (GPU-s) | Candidates / top-N / runs | Weights |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const p = r.paper;
    const acc = r.summary.accuracy
      ? `${ci(r.summary.accuracy)} (NB201 ${r.settings.lookup} test; optimum ${num(r.summary.optimum!)})`
      : 'not measured (the paper trains the top-1 from scratch, §3.7)';
    const time = `${ci(r.summary.searchS, 1)} (${num(r.summary.generationS.mean, 1)} + ${num(r.summary.rankingS.mean, 1)})`;
    lines.push(
      `| ${r.dataset.name} (${r.dataset.classes} classes) | ${acc} | ${p ? `${num(p.accuracy.mean)}±${num(p.accuracy.halfWidth)}` : '—'} | ${time} | ${p ? p.searchGpuSeconds : '—'} | ${r.settings.candidates} / ${r.settings.topN} / ${r.settings.runs} (${Math.round(r.runs.reduce((a, x) => a + x.attempts, 0) / r.runs.length)} graphs decoded per run) | ${r.weights} |`,
    );
  }
  const machines = [...new Set(results.map((r) => describeMachine(r.machine)))];
  lines.push('');
  lines.push(
    `Measured on: ${machines.join('; ')}. Predictor hs ${[...new Set(results.map((r) => r.settings.predictorHs))].join('/')}, ${results[0]?.settings.resamples ?? 10} resamples. ± is the 95% Student-t half-width over runs. Paper: RTX 2080 Ti GPU; CIFAR accuracy = best NB201 test accuracy among the top 30 predicted, 10 runs.`,
  );
  return lines.join('\n') + '\n';
}

/** The paper's whole Table 1 (MetaD2A and PC-DARTS rows) for reference. */
export function paperNb201Markdown(): string {
  const ds = Object.keys(PAPER_NB201).filter(isPaperNb201Dataset);
  const lines = [`| | ${ds.join(' | ')} |`, `|---|${ds.map(() => '---').join('|')}|`];
  lines.push(`| MetaD2A accuracy (%) | ${ds.map((d) => `${num(PAPER_NB201[d].accuracy.mean)}±${num(PAPER_NB201[d].accuracy.halfWidth)}`).join(' | ')} |`);
  lines.push(`| MetaD2A search time (GPU-s) | ${ds.map((d) => PAPER_NB201[d].searchGpuSeconds).join(' | ')} |`);
  return lines.join('\n') + '\n';
}

const METHOD_LABEL: Record<string, string> = {
  random: 'random search',
  rea: 'regularised evolution (REA)',
  'predictor-exhaustive': 'predictor, exhaustive ranking',
  metad2a: 'MetaD2A (generate + rank)',
};

/** Accuracy at selected evaluation counts, per method. */
export function nb201BaselinesMarkdown(r: Nb201BaselineResult, checkpoints?: readonly number[]): string {
  const ks = (checkpoints ?? [1, 5, 10, 20, 30, 50, 100, 200, 500, 1000]).filter((k) => k <= r.budget);
  if (!ks.includes(r.budget)) ks.push(r.budget);
  const lines: string[] = [];
  lines.push(
    `NB201 ${r.lookup}: test accuracy (%) of the best evaluated cell by ${r.select} accuracy, after k evaluations; mean ± 95% CI over ${r.runsPerMethod} runs (optimum ${num(r.optimum)}).`,
  );
  lines.push('');
  lines.push(`| Method | ${ks.map((k) => `k = ${k}`).join(' | ')} | Overhead per run (s) |`);
  lines.push(`|---|${ks.map(() => '---').join('|')}|---|`);
  for (const m of r.methods) {
    const label = METHOD_LABEL[m.method] ?? m.method;
    const pool = m.method === 'metad2a' ? ` (${m.pool} candidates)` : m.method === 'predictor-exhaustive' ? ` (${m.pool} cells)` : '';
    lines.push(`| ${label}${pool} | ${ks.map((k) => ci(m.curve[k - 1]!)).join(' | ')} | ${ci(m.overheadS, 2)} |`);
  }
  lines.push('');
  lines.push(
    `REA: population ${r.rea.population}, tournament sample ${r.rea.sampleSize}, one-edge mutation. Random search: distinct uniformly random cells.${r.weights ? ` Predictor/generator weights: ${r.weights}; dataset ${r.dataset}.` : ''} Measured on: ${describeMachine(r.machine)}.`,
  );
  return lines.join('\n') + '\n';
}

/** Accuracy-vs-evaluations plot of the baselines (mean line, 95% CI band). */
export function nb201BaselinesSvg(r: Nb201BaselineResult): string {
  const x = Array.from({ length: r.budget }, (_, k) => k + 1);
  return renderLinePlot(
    r.methods.map((m) => ({
      label: METHOD_LABEL[m.method] ?? m.method,
      x,
      y: m.curve.map((c) => c.mean),
      band: m.curve.map((c) => [c.mean - c.halfWidth, c.mean + c.halfWidth] as const),
    })),
    {
      // start the y axis near the methods' means after a few evaluations: the k = 1 spread would flatten everything else
      yMin: Math.floor(Math.min(...r.methods.map((m) => m.curve[Math.min(4, r.budget - 1)]!.mean)) - 1),
      yMax: Math.ceil(r.optimum + 0.5),
      title: `NB201 ${r.lookup}: best test accuracy vs evaluations (${r.runsPerMethod} runs, 95% CI)`,
      xLabel: 'evaluations (NB201 queries)',
      yLabel: 'test accuracy (%)',
      reference: { y: r.optimum, label: `optimum ${num(r.optimum)}` },
      xLog: r.budget >= 50,
    },
  );
}

export function mbv3Markdown(r: Mbv3BenchmarkResult): string {
  const lines: string[] = [];
  lines.push(
    `| Dataset | Candidates | FLOPs bound | Selected: MFLOPs | Selected: OFA-oracle acc. (%) | Random at same budget: oracle acc. (%) | Selected beats | Search time (s) | Weights |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const beaten = r.runs.reduce((a, x) => a + x.random.beatenFraction, 0) / r.runs.length;
  lines.push(
    `| ${r.dataset.name} (${r.dataset.classes} classes) | ${r.settings.candidates} (${r.candidateSource}) | ${r.settings.flopsBound ?? 'none (selected FLOPs)'} | ${ci(r.summary.selectedMflops, 1)} | ${ci(r.summary.selectedAccuracy)} | ${ci(r.summary.randomAccuracy)} (${r.settings.randomSubnets} subnets/run, pooled; mean MFLOPs ${num(r.runs.reduce((a, x) => a + x.random.mflops.mean, 0) / r.runs.length, 1)}) | ${(100 * beaten).toFixed(0)}% of random | ${ci(r.summary.searchS, 1)} | ${r.weights} |`,
  );
  lines.push('');
  lines.push(
    `± over runs for the selected subnet, over the random subnets for random. The oracle is OFA's pretrained ImageNet accuracy predictor at ${r.settings.resolution}px (an estimate, not a trained-and-measured accuracy). ${r.settings.runs} run(s), ${r.settings.resamples} resamples. Measured on: ${describeMachine(r.machine)}.`,
  );
  return lines.join('\n') + '\n';
}

export function speedMarkdown(r: SpeedReport): string {
  const lines: string[] = [];
  lines.push('| Workload | Official PyTorch, 2-core CPU | Ours | Speed-up | Measured by |');
  lines.push('|---|---|---|---|---|');
  for (const row of r.rows) {
    const ours = row.ours === null ? 'not measured' : `${row.ours.toPrecision(4)} ${row.anchor.unit}`;
    const sp = row.speedup === null ? '—' : `${row.speedup.toFixed(2)}×`;
    lines.push(`| ${row.anchor.workload} | ${row.anchor.officialText} | ${ours} | ${sp} | ${row.foundAt ?? `tools/bench/${row.anchor.bench}.ts`} |`);
  }
  lines.push('');
  lines.push(
    `Official figures: docs/official-cpu-anchors.md (PyTorch 1.13 CPU, 2 threads; ±30%, shared machine). Speed-up > 1 means ours is faster. Report built on: ${describeMachine(r.machine)}.`,
  );
  for (const o of r.other) {
    if (o.values.length === 0) continue;
    lines.push('');
    lines.push(`<details><summary>${o.bench}: other figures (${o.source})</summary>`);
    lines.push('');
    for (const [p, v] of o.values.slice(0, 60)) lines.push(`- ${p}: ${v}`);
    if (o.values.length > 60) lines.push(`- … ${o.values.length - 60} more in the JSON`);
    lines.push('');
    lines.push('</details>');
  }
  return lines.join('\n') + '\n';
}

/** JSON text with every non-integer number rounded to `digits` significant digits (smaller files, same information). */
export function resultJson(value: unknown, digits = 7): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(digits)) : v), 1) + '\n';
}

/** Write `<dir>/<name>.md`, `.json` (see {@link resultJson}) and (if given) `.svg` atomically; returns the paths written. */
export function writeReport(dir: string, name: string, parts: { markdown: string; json: unknown; svg?: string }): string[] {
  const out = [path.join(dir, `${name}.md`), path.join(dir, `${name}.json`)];
  writeFileAtomicSync(out[0]!, parts.markdown);
  writeFileAtomicSync(out[1]!, resultJson(parts.json));
  if (parts.svg !== undefined) {
    const svg = path.join(dir, `${name}.svg`);
    writeFileAtomicSync(svg, parts.svg);
    out.push(svg);
  }
  return out;
}
