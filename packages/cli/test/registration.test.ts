/**
 * A search space and a set encoder from outside the packages (examples/registration/toy-chain.ts,
 * registration only) run through the real `metad2a search` in a fresh process: --register makes
 * them known to the CLI, the model directory and the search stages.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { Rng, initBackend, type FeatureSet } from '@metad2a/core';
import { writeFeatureFile } from '@metad2a/datasets';
import { GeneratorModel } from '@metad2a/graph-generator';
import { PredictorModel } from '@metad2a/perf-predictor';
import { loadSearchModel, runSearch, saveSearchModel } from '@metad2a/search';

const REPO = path.resolve(__dirname, '..', '..', '..');
const PLUGIN = 'examples/registration/toy-chain.ts';
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const BIN = path.join(REPO, 'packages', 'cli', 'src', 'bin.ts');

function metad2a(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(TSX, [BIN, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, METAD2A_BACKEND: 'cpu' }, timeout: 240_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('a search space and a set encoder registered from outside the packages', () => {
  let dir: string;
  let features: string;
  let dataset: FeatureSet;
  let toy: typeof import('../../../examples/registration/toy-chain');

  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
    toy = await import('../../../examples/registration/toy-chain'); // registers toy-chain and toy-mean here
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-toy-'));
    const rng = new Rng(4);
    dataset = { name: 'toy-features', dim: 16, classes: [0, 1, 2].map((c) => ({ label: `c${c}`, count: 30, data: rng.uniformArray(30 * 16, -1 + 0.3 * c, 1) })) };
    features = writeFeatureFile(path.join(dir, 'toy'), dataset);
    const cfg = toy.toyChain.graphConfig;
    const generatorConfig = { hs: 8, nz: 8, inputDim: 16, heads: 1, setEncoder: 'toy-mean' };
    const predictorConfig = { hs: 16, nz: 8, inputDim: 16, heads: 1, setEncoder: 'toy-mean' };
    const generator = new GeneratorModel({ graphConfig: cfg, ...generatorConfig, seed: 3 });
    const predictor = new PredictorModel({ graphConfig: cfg, ...predictorConfig, rng: new Rng(5), normalisation: { mean: 60, std: 4 } });
    saveSearchModel(path.join(dir, 'model'), { space: 'toy-chain', generator, generatorConfig, predictor, predictorConfig, provenance: { test: 'registration' } });
    generator.dispose();
    predictor.dispose();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('metad2a --register … search --space toy-chain: the toy models search as in-process, constraints use the space’s cost model, and both reports say why the fast path is off', async () => {
    const search = (...flags: string[]) =>
      metad2a(['--register', PLUGIN, 'search', '--space', 'toy-chain', '--model', path.join(dir, 'model'), '--dataset', features, '--resamples', '2', ...flags]);
    const why = "set encoder 'toy-mean' does not implement the row-projection capability (rowProjections, encodeProjected)";
    // JSON: every candidate a toy-chain member with its cost, no benchmark facts
    const r = search('--candidates', '6', '--seed', '7', '--json', '--all');
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.space).toBe('toy-chain');
    expect(res.backend).toBe('cpu');
    expect(res.ranking).toHaveLength(6);
    expect(new Set(res.ranking.map((c: { arch: string }) => c.arch)).size).toBe(6);
    for (const c of res.ranking) {
      const ops = toy.toyChain.parse(c.arch);
      expect(E.isRight(ops)).toBe(true);
      expect(c.facts).toEqual({ kind: 'none' });
      expect(c.cost.mflops).toBe(E.isRight(ops) ? ops.right.reduce((s, o) => s + o + 1, 0) : Number.NaN);
      expect(c.predictedAccuracy).toBeCloseTo(60 + 100 * 4 * c.score, 6);
    }
    expect(res.fastPath).toEqual({ generation: why, ranking: why });
    // the same search in this process (same backend, seed and files) gives the same ranking
    const model = await loadSearchModel(path.join(dir, 'model'));
    const here = await runSearch(model, dataset, { candidates: 6, resamples: 2, seed: 7 });
    model.dispose();
    expect(res.ranking.map((c: { arch: string; score: number }) => [c.arch, c.score])).toEqual(here.ranking.map((c) => [c.arch, c.score]));
    expect(res.generation).toEqual(here.generation);
    // the table report under a FLOPs bound: no fact columns, every row within the bound
    const t = search('--candidates', '3', '--flops-max', '4', '--top', '3');
    expect(t.code).toBe(0);
    expect(t.out).toContain('space: toy-chain');
    expect(t.out).toContain('constraints: ≤ 4 MFLOPs');
    expect(t.out).toMatch(/^#\s+pred\.acc\s+pred\.pct\s+MFLOPs\s+Mparams\s+architecture$/m);
    expect(t.out).toContain(`slower path: generation: ${why}`);
    const rows = t.out.split('\n').filter((l) => /^[123] /.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(Number(row.trim().split(/\s+/)[3])).toBeLessThanOrEqual(4);
  });

  it('without the registration the space is not a choice; a missing registration module is a clear error', () => {
    const a = metad2a(['search', '--space', 'toy-chain', '--model', path.join(dir, 'model'), '--dataset', features]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("--space must be one of mbv3, nb201, got 'toy-chain'");
    const b = metad2a(['--register', './no-such-registration.ts', 'search', '--dataset', features]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/^error: --register: \.\/no-such-registration\.ts: expected a module that can be imported/);
    expect(execFileSync(TSX, [BIN, '--register', PLUGIN, 'search', '--help'], { cwd: REPO, encoding: 'utf8' })).toContain('mbv3, nb201, toy-chain');
  });
});
