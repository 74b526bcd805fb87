/**
 * The official PyTorch TinyNetwork (`pytorch-tinynet.py` beside this file) as the reference that
 * `bench:train` and `bench:records` run in the same process tree, back to back with our code.
 * PyTorch is optional (Debian: `apt-get install python3-torch`); without it the benchmarks read
 * the figure of `docs/official-cpu-anchors.md` and say so.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, 'pytorch-tinynet.py');

let python: string | null | undefined;

/** A python interpreter that imports torch (`$METAD2A_TORCH_PYTHON`, `python3`, `/usr/bin/python3`), or null. */
export function torchPython(): string | null {
  if (python !== undefined) return python;
  const candidates = [process.env.METAD2A_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  python = candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
  return python;
}

export interface TorchImgsJob {
  readonly mode: 'imgs';
  readonly C: number;
  readonly N: number;
  readonly hw: number;
  readonly batch: number;
  readonly steps: number;
  readonly arch: string;
  readonly classes: number;
  readonly repeats: number;
  readonly inChannels?: number;
  /** torch.set_num_threads; undefined keeps PyTorch's default. */
  readonly threads?: number;
}

export interface TorchRecordsJob {
  readonly mode: 'records';
  readonly C: number;
  readonly N: number;
  readonly hw: number;
  readonly batch: number;
  readonly epochs: number;
  readonly evalBatch: number;
  readonly classes: number;
  readonly train: number;
  readonly test: number;
  readonly archs: readonly string[];
  readonly inChannels?: number;
  readonly threads?: number;
}

export interface TorchResult {
  readonly img_s?: number[];
  readonly img_per_cpu_s?: number[];
  readonly record_s?: number[];
  readonly threads: number;
  readonly torch: string;
}

/** Run one job of the PyTorch script; throws with its stderr when it fails. */
export function runTorch(job: TorchImgsJob | TorchRecordsJob): TorchResult {
  const py = torchPython();
  if (!py) throw new Error('PyTorch is not installed (no python3 imports torch)');
  const r = spawnSync(py, [SCRIPT, JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`pytorch-tinynet.py failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

/** Run several jobs of the PyTorch script at once, one process each (e.g. one per core); throws when any fails. */
export async function runTorchParallel(jobs: readonly (TorchImgsJob | TorchRecordsJob)[]): Promise<TorchResult[]> {
  const py = torchPython();
  if (!py) throw new Error('PyTorch is not installed (no python3 imports torch)');
  return Promise.all(
    jobs.map(
      (job) =>
        new Promise<TorchResult>((resolve, reject) => {
          const child = spawn(py, [SCRIPT, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => {
            if (code !== 0) reject(new Error(`pytorch-tinynet.py failed: ${err.trim().split('\n').slice(-3).join(' | ')}`));
            else resolve(JSON.parse(out.trim().split('\n').pop()!) as TorchResult);
          });
        }),
    ),
  );
}

/**
 * The official CPU figure (img/s) of the training row of `docs/official-cpu-anchors.md` whose
 * config cell starts with `config` (the best figure the row gives: its bar), or null.
 */
export function anchorImgPerSec(config: string): { imgS: number; text: string } | null {
  const file = path.join(__dirname, '..', '..', '..', 'docs', 'official-cpu-anchors.md');
  if (!fs.existsSync(file)) return null;
  const row = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`| ${config}`));
  if (!row) return null;
  const text = row.split('|')[2]!.trim();
  const figures = [...text.matchAll(/~?([\d,]+(?:\.\d+)?)\s*(?:img\/s|with)/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
  return figures.length ? { imgS: Math.max(...figures), text } : null;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Load average and CPU count, for the report (the machine may be shared). */
export function machineLoad(): { loadavg: number[]; cpus: number } {
  return { loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100), cpus: os.cpus().length };
}
