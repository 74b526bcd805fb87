/**
 * One speed report from the repository's speed benchmarks (`tools/bench/search.ts`, `train.ts`,
 * `meta-train.ts`, `kernels.ts`, …: each prints one JSON object as its last line with `--json`)
 * beside the official PyTorch CPU figures measured on the same kind of 2-core machine
 * (`docs/official-cpu-anchors.md`, copied into {@link OFFICIAL_CPU_ANCHORS}).
 *
 * How a benchmark's JSON is matched to an anchor: an `anchors` object at its top level,
 * `{ "<anchor id>": value }` in the anchor's unit, is used first; otherwise the anchor's known
 * JSON paths (dot-separated) are tried. Every other numeric field is listed as is.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '@metad2a/core';
import { machineInfo, type MachineInfo } from './environment';

export interface SpeedAnchor {
  readonly id: string;
  readonly workload: string;
  /** The official PyTorch figure on the 2-core CPU (anchors.md). */
  readonly official: number;
  /** As printed in anchors.md (ranges, medians). */
  readonly officialText: string;
  readonly unit: 's' | 'img/s' | 'GFLOP/s';
  /** img/s and GFLOP/s: higher is better; seconds: lower is better. */
  readonly higherIsBetter: boolean;
  /** The benchmark expected to measure it. */
  readonly bench: string;
  /** JSON paths in that benchmark's output tried when it has no `anchors` entry. */
  readonly paths?: readonly string[];
}

const a = (id: string, bench: string, workload: string, official: number, officialText: string, unit: SpeedAnchor['unit'], paths?: string[]): SpeedAnchor => ({
  id,
  bench,
  workload,
  official,
  officialText,
  unit,
  higherIsBetter: unit !== 's',
  paths,
});

/** Official MetaD2A (PyTorch 1.13 CPU, 2 threads, OMP_WAIT_POLICY=PASSIVE) on the 2-core machine; ±30% (anchors.md). */
export const OFFICIAL_CPU_ANCHORS: readonly SpeedAnchor[] = [
  a('nb201.search.cifar10.generate', 'search', 'NB201: generate 500 unique valid cells, CIFAR-10 shape (10 classes)', 3.4, '3.4 s (median of 5)', 's', [
    'cifar10_last_timings.generation',
  ]),
  a('nb201.search.cifar10.rank', 'search', 'NB201: rank 500 candidates × 10 resampled datasets, CIFAR-10 shape', 31, '31 s (median of 3)', 's', ['cifar10_last_timings.ranking']),
  a('nb201.search.cifar10.total', 'search', 'NB201: whole search, CIFAR-10 shape', 35, '~35 s', 's', ['cifar10_s']),
  a('nb201.search.cifar100.generate', 'search', 'NB201: generate 500, CIFAR-100 shape (100 classes)', 12.4, '12.4 s', 's', ['cifar100_last_timings.generation']),
  a('nb201.search.cifar100.rank', 'search', 'NB201: rank 500 × 10, CIFAR-100 shape', 119, '119 s', 's', ['cifar100_last_timings.ranking']),
  a('nb201.search.cifar100.total', 'search', 'NB201: whole search, CIFAR-100 shape', 131, '~131 s', 's', ['cifar100_s']),
  a('meta-train.nb201.generator.step', 'meta-train', 'Meta-training: NB201 generator (hs 56), one Adam step, batch 32', 0.63, '0.63 s', 's', ['generator.medianStepS']),
  a('meta-train.nb201.predictor.step', 'meta-train', 'Meta-training: NB201 predictor (hs 512), one Adam step, batch 32', 0.63, '0.63 s', 's', ['predictor.medianStepS']),
  a('meta-train.mbv3.generator.step', 'meta-train', 'Meta-training: MBv3 generator, one step per task (official loop)', 0.33, '0.33 s', 's', ['mbv3.generator.medianStepS']),
  a('meta-train.mbv3.predictor.step', 'meta-train', 'Meta-training: MBv3 predictor (hs 512), one step of 32', 15.7, '15.7 s', 's', ['mbv3.predictor.medianStepS']),
  a('train.tinynet.c16n5.32px.b256.allconv3', 'train', 'TinyNetwork C=16 N=5, 32×32, batch 256, all-conv3×3, training', 88, '~88 img/s (82–95)', 'img/s', ['full_img_s']),
  a('train.tinynet.c16n5.32px.b256.optimum', 'train', 'TinyNetwork C=16 N=5, 32×32, batch 256, CIFAR-optimum cell, training', 108, '~108 img/s', 'img/s'),
  a('train.tinynet.c8n1.16px.b64.allconv3', 'train', 'TinyNetwork C=8 N=1, 16×16, batch 64, all-conv3×3, training', 1660, '~1,660 img/s (default policy; 915 PASSIVE)', 'img/s', [
    'reduced_img_s',
  ]),
  a('train.tinynet.c8n1.28px.b64.mixed', 'train', 'TinyNetwork C=8 N=1, 28×28, batch 64, mixed cell, training', 835, '~835 img/s', 'img/s'),
  a('infer.tinynet.c16n5.32px.b256.allconv3', 'train', 'TinyNetwork C=16 N=5, 32×32, batch 256, all-conv3×3, inference', 245, '~245 img/s', 'img/s'),
  a('infer.tinynet.c8n1.16px.b64.allconv3', 'train', 'TinyNetwork C=8 N=1, 16×16, batch 64, all-conv3×3, inference', 6070, '~6,070 img/s (default policy; 2,860 PASSIVE)', 'img/s'),
  a('kernels.matmul512', 'kernels', 'float32 matmul 512×512 (PyTorch/numpy, 2 threads)', 230, '~200–260 GFLOP/s', 'GFLOP/s', ['gemm512_gflops.native', 'gemm512_gflops.wasm']),
];

/** A benchmark's parsed JSON output. */
export interface BenchOutput {
  readonly name: string;
  readonly json: Record<string, unknown>;
  /** Where it came from (a file, or the command that produced it). */
  readonly source: string;
}

export interface SpeedRow {
  readonly anchor: SpeedAnchor;
  /** Our figure, null when no given benchmark measured it. */
  readonly ours: number | null;
  /** Where our figure was found (`<bench>: <path>`). */
  readonly foundAt: string | null;
  /** How many times faster we are (> 1: faster); null without our figure. */
  readonly speedup: number | null;
}

export interface SpeedReport {
  readonly benchmark: 'speed';
  readonly rows: readonly SpeedRow[];
  /** Every other numeric field, per benchmark: `[path, value]`. */
  readonly other: readonly { readonly bench: string; readonly source: string; readonly values: readonly (readonly [string, number])[] }[];
  /** The machine when the report was built (the benchmarks ran just before, on the same one unless read from files). */
  readonly machine: MachineInfo;
}

/** Numeric leaves of a JSON value as `[dot.path, value]` (arrays by index). */
export function numericLeaves(value: unknown, prefix = '', out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number' && Number.isFinite(value)) out.push([prefix, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => numericLeaves(v, prefix ? `${prefix}.${i}` : String(i), out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) numericLeaves(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

function lookupPath(json: unknown, p: string): number | undefined {
  let cur: unknown = json;
  for (const part of p.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : undefined;
}

/** Parse a benchmark's output: the last line that is a JSON object. */
export function parseBenchOutput(name: string, text: string, source: string): BenchOutput {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const json = JSON.parse(t) as unknown;
      if (json !== null && typeof json === 'object' && !Array.isArray(json)) return { name, json: json as Record<string, unknown>, source };
    } catch {
      // not this line
    }
  }
  return fail('ParseError', {
    source,
    field: `${name} output`,
    expected: 'a JSON object on its last line (run the benchmark with --json)',
    got: lines[0]?.slice(0, 80) ?? 'nothing',
  });
}

/** Read a saved `--json` output (or a file holding just the JSON object). */
export function readBenchOutput(name: string, file: string): BenchOutput {
  if (!fs.existsSync(file)) fail('IoError', { source: file, field: `${name} benchmark output`, expected: 'a file', got: 'none' });
  return parseBenchOutput(name, fs.readFileSync(file, 'utf8'), file);
}

/** Run `tools/bench/<name>.ts --json` (with extra args) from the repository root and parse its output. */
export function runBenchScript(repoRoot: string, name: string, args: readonly string[] = [], timeoutMs = 30 * 60_000): BenchOutput {
  const script = path.join(repoRoot, 'tools', 'bench', `${name}.ts`);
  if (!fs.existsSync(script)) fail('NotFound', { source: script, field: 'benchmark', expected: `tools/bench/${name}.ts`, got: 'no such file' });
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
  const res = spawnSync(tsx, [path.join(repoRoot, 'tools', 'bench', 'main.ts'), name, '--json', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 2 ** 20,
  });
  const command = `tsx tools/bench/main.ts ${name} --json ${args.join(' ')}`.trim();
  if (res.status !== 0) fail('IoError', { source: command, expected: 'exit status 0', got: `${res.status ?? res.signal}: ${(res.stderr || '').slice(-400)}` });
  return parseBenchOutput(name, res.stdout, command);
}

/** Match the outputs against the anchors (see the module comment). */
export function buildSpeedReport(outputs: readonly BenchOutput[], anchors: readonly SpeedAnchor[] = OFFICIAL_CPU_ANCHORS): SpeedReport {
  const used = new Map<string, Set<string>>();
  const rows = anchors.map((anchor): SpeedRow => {
    for (const o of outputs) {
      const explicit = (o.json.anchors ?? {}) as Record<string, unknown>;
      const candidates = [`anchors.${anchor.id}`, ...(o.name === anchor.bench ? (anchor.paths ?? []) : [])];
      for (const p of candidates) {
        const v = p.startsWith('anchors.') ? (typeof explicit[anchor.id] === 'number' ? (explicit[anchor.id] as number) : undefined) : lookupPath(o.json, p);
        if (v === undefined) continue;
        if (!used.has(o.name)) used.set(o.name, new Set());
        used.get(o.name)!.add(p);
        const speedup = anchor.higherIsBetter ? v / anchor.official : anchor.official / v;
        return { anchor, ours: v, foundAt: `${o.name}: ${p}`, speedup };
      }
    }
    return { anchor, ours: null, foundAt: null, speedup: null };
  });
  const other = outputs.map((o) => ({ bench: o.name, source: o.source, values: numericLeaves(o.json).filter(([p]) => !used.get(o.name)?.has(p)) }));
  return { benchmark: 'speed', rows, other, machine: machineInfo() };
}
