import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unwrap } from '@metad2a/core';
import { fixturesRoot } from '@metad2a/fixtures';
import { mbv3, mbv3AccuracyOracle, mbv3ActiveKey, mbv3Cost, nb201, nb201Table, parseNb201 } from '@metad2a/search-spaces';
import { MetaDatabase } from '@metad2a/meta-trainer';
import { runCli } from '../src';
import { capture } from './capture';

const fx = (...p: string[]): string => path.join(fixturesRoot(), ...p);

describe('metad2a CLI', () => {
  it('--help lists the commands and exits 0', async () => {
    const c = capture();
    expect(await runCli(['--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/search \[options\]/);
    expect(c.out()).toMatch(/convert-official \[options\]/);
    for (const cmd of ['meta-train', 'db', 'train-arch', 'bench', 'rank', 'devices']) expect(c.out()).toContain(cmd);
  });

  it('db import-official, stats and export work on the shipped official database', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-db-'));
    const file = path.join(dir, 'meta.sqlite');
    const a = capture();
    expect(await runCli(['db', 'import-official', '--db', file], a.io)).toBe(0);
    expect(a.out()).toMatch(/4630|4,630/);
    expect(a.out()).toMatch(/no image features/);
    const b = capture();
    expect(await runCli(['db', 'stats', '--db', file], b.io)).toBe(0);
    const stats = JSON.parse(b.out());
    expect(stats.counts.records).toBe(4630);
    expect(stats.counts.tasks).toBe(3031);
    const c = capture();
    expect(await runCli(['db', 'export', '--db', file, '--format', 'csv', '--out', path.join(dir, 'r.csv')], c.io)).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'r.csv'), 'utf8').trim().split('\n')).toHaveLength(4631);
  });

  it('db stats of a database with further trainings: each pair counted once (its mean), and the seed noise the replicates measure', async () => {
    const env = { METAD2A_CACHE_DIR: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-replicated-')), 'cache') };
    const stat = async (ref: string) => {
      const c = capture(undefined, env);
      expect(await runCli(['db', 'stats', '--db', ref, '--json'], c.io)).toBe(0);
      return JSON.parse(c.out());
    };
    const [plan, replicated] = [await stat('builtin:nb201'), await stat('builtin:nb201-replicated')];
    const further = replicated.records - plan.records;
    expect(further).toBeGreaterThan(0);
    expect(replicated.trainedStats.records).toBe(plan.records);
    expect(plan).not.toHaveProperty('replicateNoise');
    const n = replicated.replicateNoise;
    // every further training belongs to a pair trained again: its record and its further trainings
    expect(n.trainings).toBe(n.pairs + further);
    expect(n.pairs).toBeGreaterThan(0);
    expect(n.pairs).toBeLessThanOrEqual(Math.min(further, plan.records));
    expect(n.sd).toBeGreaterThan(0);
    expect(n.seedSpearman).toBeGreaterThan(0);
    expect(n.seedSpearman).toBeLessThan(1);
    const perSource = Object.values(replicated.perSource) as { replicateNoise?: { pairs: number } }[];
    expect(perSource.reduce((a, s) => a + (s.replicateNoise?.pairs ?? 0), 0)).toBe(n.pairs);
  });

  it('db stats --db builtin:nb201 --json describes the shipped measured database; export --format dir / import round-trip it exactly', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-builtin-'));
    const env = { METAD2A_CACHE_DIR: path.join(dir, 'cache') };
    const a = capture(undefined, env);
    expect(await runCli(['db', 'stats', '--db', 'builtin:nb201', '--json'], a.io)).toBe(0);
    const stats = JSON.parse(a.out());
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../../meta-trainer/data/nb201-measured/manifest.json'), 'utf8'));
    expect(stats.records).toBe(manifest.counts.records);
    expect(stats.recipe.name).toBe('nb201-db');
    expect(stats.sources).toBeGreaterThanOrEqual(1);
    expect(stats.tasks).toBeLessThanOrEqual(manifest.counts.tasks);
    expect(stats).toHaveProperty('seedNoise');
    // issue #17's scale: ≥ 3,000 records over ≥ 600 tasks from ≥ 8 sources, none of them held out (Latin letters, digits, MNIST, shapes)
    expect(stats.records).toBeGreaterThanOrEqual(3000);
    expect(stats.tasks).toBeGreaterThanOrEqual(600);
    expect(stats.sources).toBeGreaterThanOrEqual(8);
    expect(Object.keys(stats.perSource).filter((s) => /latin|digits|mnist|shapes/.test(s) && s !== 'builtin:fashion-mnist')).toEqual([]);
    // the tasks order their cells much like NB201's table does (0.70 over 309 tasks at 1,744 records), in every source
    const agreement = stats.priorAgreement['nb201:test-200ep-mean-z'];
    expect(agreement.tasks).toBeGreaterThan(0.95 * stats.tasks);
    expect(agreement.meanSpearman).toBeGreaterThan(0.5);
    for (const source of Object.values(stats.perSource) as { priorAgreement: Record<string, { meanSpearman: number }> }[])
      expect(source.priorAgreement['nb201:test-200ep-mean-z']!.meanSpearman).toBeGreaterThan(0.3);
    const b = capture(undefined, env);
    expect(
      await runCli(
        [
          'db',
          'export',
          '--db',
          'builtin:nb201',
          '--format',
          'dir',
          '--out',
          path.join(dir, 'out'),
          '--about',
          path.join(__dirname, '../../../tools/meta-database/nb201-about.json'),
        ],
        b.io,
      ),
    ).toBe(0);
    for (const f of ['manifest.json', 'datasets.jsonl.gz', 'tasks.jsonl.gz', 'records.jsonl.gz']) {
      expect(fs.readFileSync(path.join(dir, 'out', f)).equals(fs.readFileSync(path.join(__dirname, '../../meta-trainer/data/nb201-measured', f)))).toBe(true);
    }
    // the database with further trainings, exported without them, is builtin:nb201 byte for byte (what export.sh nb201-v1 writes)
    const about = path.join(__dirname, '../../../tools/meta-database/nb201-about.json');
    const firsts = path.join(dir, 'firsts');
    expect(
      await runCli(['db', 'export', '--db', 'builtin:nb201-replicated', '--format', 'dir', '--out', firsts, '--about', about, '--without-replicates'], capture(undefined, env).io),
    ).toBe(0);
    for (const f of ['manifest.json', 'datasets.jsonl.gz', 'tasks.jsonl.gz', 'records.jsonl.gz'])
      expect(fs.readFileSync(path.join(firsts, f)).equals(fs.readFileSync(path.join(dir, 'out', f)))).toBe(true);
    const c = capture(undefined, env);
    expect(await runCli(['db', 'import', '--db', path.join(dir, 'copy.sqlite'), '--from', path.join(dir, 'out')], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toEqual({ datasets: manifest.counts.datasets, tasks: manifest.counts.tasks, records: manifest.counts.records, skipped: 0 });
  });

  it('db build --space mbv3 trains OFA-MBv3 subnets with an MBv3 recipe (issue #23), and names the recipe a space lacks', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mbv3-build-')), 'm.sqlite');
    const wrong = capture();
    expect(await runCli(['db', 'build', '--db', file, '--space', 'mbv3', '--recipe', 'nb201-db'], wrong.io)).toBe(1);
    expect(wrong.err()).toMatch(/MBv3 recipe: expected one of mbv3-reduced, mbv3-db, got "nb201-db"/);
    const c = capture();
    const argv = ['db', 'build', '--db', file, '--space', 'mbv3', '--datasets', 'builtin:digits', '--tasks', '1', '--classes', '3', '--cells-per-task', '1'];
    expect(await runCli([...argv, '--epochs', '1', '--train-per-class', '6', '--test-per-class', '3'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^trained 1 pairs, skipped 0 already recorded/);
    const db = MetaDatabase.open(file, { readonly: true });
    const [r] = db.records();
    db.close();
    expect(r).toMatchObject({ space: 'mbv3', metric: 'top1-test@mbv3-reduced+epochs=1', recipe: { widthMult: 0.25, epochs: 1, inputSize: 32 } });
    expect(unwrap(mbv3.parse(r!.arch))).toBeDefined();
  }, 60_000);

  it.each([
    [['db', 'stats', '--db', '/nonexistent.sqlite'], /--db \/nonexistent\.sqlite: no such file/],
    [['db', 'build', '--db', 'x.sqlite', '--classes', 'four'], /--classes must be N or MIN-MAX/],
    [['db', 'build', '--db', 'x.sqlite', '--space', 'darts'], /--space must be one of nb201, mbv3, got 'darts'/],
    [['db', 'build', '--db', 'x.sqlite', '--replicates', '0'], /--replicates must be between 1 and 20, got 0/],
    [['meta-train', '--db', 'package.json', '--split', 'x', '--out', 'y', '--replicates', 'both'], /--replicates must be one of each, mean, got 'both'/],
    [['meta-train', '--db', '/nonexistent.sqlite', '--split', 'x', '--out', 'y'], /--db \/nonexistent\.sqlite: no such file/],
    [['meta-train', '--db', 'package.json', '--split', 'x', '--out', 'y', '--generator-init', '/gone/last.ckpt'], /--generator-init \/gone\/last\.ckpt: no such file/],
    [['meta-train', '--db', 'package.json', '--split', 'x', '--out', 'y', '--generator-lr', '0'], /--generator-lr must be a positive number, got '0'/],
    [['meta-train', '--db', 'package.json', '--split', 'x', '--out', 'y', '--target-scale', '0'], /--target-scale must be a positive number, got '0'/],
    [['meta-train', '--db', 'package.json', '--split', 'x', '--out', 'y', '--predictor-lr', 'fast'], /--predictor-lr must be a positive number, got 'fast'/],
    [
      ['meta-train', '--db', 'package.json', '--split', 'x', '--out', 'y', '--generator-epochs', '0'],
      /--generator-epochs 0 keeps a generator: give it with --generator-init <file>/,
    ],
    [['train-arch', '--dataset', 'builtin:digits'], /required option '--arch <cell>'/],
    [['bench', 'cifar', '--dataset', 'builtin:digits'], /<name> must be one of nb201, nb201-baselines, mbv3/],
    [['bench', 'nb201', '--dataset', 'builtin:digits'], /give --model <dir>, or --generator <ckpt\.pt> and --predictor <ckpt\.pt>/],
    [['bench', 'nb201'], /bench nb201: give --dataset <ref>/],
    [['bench', 'transfer'], /bench transfer: give --db <file>/],
    [['bench', 'transfer', '--db', '/nonexistent.sqlite'], /--db \/nonexistent\.sqlite: no such file/],
    [['bench', 'transfer', '--db', 'x.sqlite', '--seeds', '0,0'], /--seeds 0,0: expected distinct non-negative integers/],
    [
      ['bench', 'transfer', '--db', 'x.sqlite', '--plan', 'nb201-v9'],
      /--plan must be one of nb201-v1, nb201-dense-v1, nb201-heldout-v1, nb201-heldout-dev-v1, nb201-heldout-dev-v2, mbv3-v1, mbv3-heldout-v1, got 'nb201-v9'/,
    ],
  ])('bad usage %j of the other commands exits 2', async (argv, msg) => {
    const c = capture();
    expect(await runCli(argv, c.io)).toBe(2);
    expect(c.err()).toMatch(msg);
  });

  it.each([
    [['search'], /required option '--dataset <ref>' not specified/],
    [['search', '--dataset', 'builtin:digits', '--candidates', '0'], /--candidates must be between 1 and 100000, got 0/],
    [['search', '--dataset', 'builtin:digits', '--top', 'five'], /--top must be an integer, got 'five'/],
    [['search', '--dataset', 'builtin:digits', '--space', 'darts'], /--space must be one of mbv3, nb201, got 'darts'/],
    [['search', '--dataset', 'builtin:digits', '--flops-max', '-1'], /--flops-max must be a positive number/],
    [['search', '--dataset', 'builtin:digits', '--backend', 'gpu'], /--backend must be one of tensorflow, native, wasm, cpu/],
    [['search', '--dataset', 'builtin:digits'], /no model given: pass --model <dir>/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('bad usage %j exits 2 with a clear message', async (argv, msg) => {
    const c = capture();
    expect(await runCli(argv, c.io)).toBe(2);
    expect(c.err()).toMatch(msg);
  });

  it('search --space mbv3 with the embedded MBv3 model: 5 distinct valid subnets with MFLOPs, parameters and oracle top-1 (issue #23)', async () => {
    const env = { METAD2A_DEFAULT_MODEL: undefined, METAD2A_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-mbv3-')) };
    const c = capture(undefined, env);
    expect(await runCli(['search', '--space', 'mbv3', '--dataset', 'builtin:fashion-mnist', '--top', '5', '--json', '--backend', 'wasm'], c.io)).toBe(0);
    const doc = JSON.parse(c.out());
    expect(doc.model).toMatch(/default-model[\\/]models[\\/]mbv3$/);
    expect(doc.space).toBe('mbv3');
    expect(doc.top).toHaveLength(5);
    const configs = doc.top.map((x: { arch: string }) => unwrap(mbv3.parse(x.arch)));
    expect(new Set(configs.map(mbv3ActiveKey)).size).toBe(5);
    doc.top.forEach((x: { cost: { mflops: number; mparams: number }; facts: { kind: string; oracleTop1: number }; predictedAccuracy: number }, i: number) => {
      const cost = mbv3Cost(configs[i]);
      expect(mbv3.isValid(mbv3.encode(configs[i]))).toBe(true);
      expect(x.cost.mflops).toBeCloseTo(cost.mflops, 6);
      expect(x.cost.mparams).toBeCloseTo(cost.params / 1e6, 9);
      expect(x.facts.kind).toBe('mbv3');
      expect(x.facts.oracleTop1).toBeCloseTo(100 * mbv3AccuracyOracle().predict(configs[i]), 9);
      expect(Number.isFinite(x.predictedAccuracy)).toBe(true);
    });
  });

  it('a missing model directory or dataset fails with exit 1 and names it', async () => {
    const c = capture();
    expect(await runCli(['search', '--dataset', 'builtin:digits', '--model', '/nonexistent/model', '--backend', 'cpu'], c.io)).toBe(1);
    expect(c.err()).toMatch(/\/nonexistent\/model: model\.json: expected a model directory/);
  });

  it('convert-official, then search with --json: a deterministic, complete report', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-'));
    const conv = capture();
    // the hs-64 predictor fixture stands in for an official hs-512 checkpoint
    expect(
      await runCli(
        ['convert-official', '--generator', fx('gen-nb201', 'state_dict.pt'), '--predictor', fx('pred-nb201', 'state_dict.pt'), '--predictor-hs', '64', '--out', dir],
        conv.io,
      ),
    ).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['generator.safetensors', 'model.json', 'predictor.safetensors']);
    const bad = capture();
    expect(await runCli(['search', '--dataset', 'builtin:digits', '--model', dir, '--space', 'mbv3', '--backend', 'wasm'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/--space mbv3 does not match the model/);
    const args = ['search', '--dataset', 'builtin:digits', '--model', dir, '--candidates', '20', '--resamples', '3', '--top', '3', '--seed', '5', '--backend', 'wasm', '--json'];
    const a = capture();
    expect(await runCli(args, a.io)).toBe(0);
    // stdout is exactly one JSON document: nothing before or after it
    const doc = JSON.parse(a.out());
    expect(doc.schemaVersion).toBe(1);
    expect(doc.backend).toBe('wasm');
    expect(doc.seed).toBe(5);
    expect(doc.top).toHaveLength(3);
    expect(doc.ranking).toBeUndefined(); // --top 3 prints 3 candidates, not all 20
    expect(doc.dataset).toEqual({ name: 'builtin:digits', classes: 10, dim: 512 });
    expect(Object.keys(doc.timings).sort()).toEqual([
      'featuresSeconds',
      'generationSeconds',
      'graphEncodingSeconds',
      'rankingSeconds',
      'referenceSeconds',
      'scoringSeconds',
      'searchSeconds',
      'setEncodingSeconds',
    ]);
    for (const v of Object.values(doc.timings)) expect(typeof v).toBe('number');
    const b = capture();
    expect(await runCli([...args, '--all'], b.io)).toBe(0);
    const all = JSON.parse(b.out());
    expect(all.ranking).toHaveLength(20);
    expect(all.ranking.slice(0, 3).map((x: { arch: string }) => x.arch)).toEqual(doc.top.map((x: { arch: string }) => x.arch));
    // --top-distance 3: the best cells 3 edges apart, each with its place in the unchanged ranking
    const spread = capture();
    expect(await runCli([...args, '--all', '--top-distance', '3'], spread.io)).toBe(0);
    const sp = JSON.parse(spread.out());
    expect(sp.ranking.map((x: { arch: string }) => x.arch)).toEqual(all.ranking.map((x: { arch: string }) => x.arch));
    expect(sp.settings.topDistance).toBe(3);
    expect(sp.top[0].arch).toBe(all.ranking[0].arch);
    const cells = sp.top.map((x: { arch: string }) => unwrap(parseNb201(x.arch)));
    for (const [i, a] of cells.entries()) for (const b of cells.slice(i + 1)) expect(nb201.distance!(a, b)).toBeGreaterThanOrEqual(3);
    for (const x of sp.top) expect(all.ranking[x.rank - 1].arch).toBe(x.arch);
    // --device alone adds the measured latency; --latency-max keeps only cells within it
    const withDevice = JSON.parse(
      await (async () => {
        const c = capture();
        expect(await runCli([...args, '--all', '--device', 'pixel3'], c.io)).toBe(0);
        return c.out();
      })(),
    );
    const lat = withDevice.ranking.map((x: { latencyMs: number }) => x.latencyMs).sort((x: number, y: number) => x - y);
    const budget = lat[10];
    expect(lat[19]).toBeGreaterThan(budget);
    const l = capture();
    expect(await runCli([...args, '--all', '--device', 'pixel3', '--latency-max', String(budget)], l.io)).toBe(0);
    const limited = JSON.parse(l.out());
    expect(limited.ranking).toHaveLength(20);
    expect(limited.settings.constraints).toEqual({ latencyMaxMs: budget, device: 'pixel3' });
    for (const x of limited.ranking) {
      expect(x.latencyMs).toBe(nb201Table().latency(unwrap(parseNb201(x.arch)), 'pixel3'));
      expect(x.latencyMs).toBeLessThanOrEqual(budget);
    }
  });

  it.each([
    [
      ['--latency-max', '2', '--device', 'titan_rtx_1'],
      'error: search space nb201: latency budget (--latency-max): expected at least 2.48562 ms, the lowest latency any nb201 architecture reaches on titan_rtx_1 (measured), got 2 ms',
    ],
    [['--space', 'mbv3', '--latency-max', '3', '--device', 'v100_1'], 'the lowest latency any mbv3 architecture reaches on v100_1 (latency model), got 3 ms'],
    [['--latency-max', '5', '--device', 'v100_1'], 'error: search space nb201: device (--device): expected one of 1080ti_1,'],
    [['--latency-max', '5'], 'error: search constraints: device (--device): expected a device setting for --latency-max (metad2a devices lists them), got none'],
  ])('search %j fails at once (exit 1, before the model or the dataset) naming the flag', async (flags, msg) => {
    const c = capture();
    expect(await runCli(['search', '--dataset', '/nonexistent/data', ...flags], c.io)).toBe(1);
    expect(c.err()).toContain(msg);
  });

  it('devices lists every device setting of each space with its fastest/slowest latency and source', async () => {
    const c = capture();
    expect(await runCli(['devices'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^mbv3 \(12 device settings/m);
    expect(c.out()).toMatch(/^nb201 \(27 device settings/m);
    expect(c.out()).toMatch(/^titan_rtx_1\s+1\s+measured\s+2\.486\s+12\.18$/m);
    expect(c.out()).toMatch(/^v100_64: ridge model fitted to 4000 HELP measurements; held-out 1000: MAE 0\.35 ms, 1\.9 % mean relative error, Spearman 0\.997$/m);
    const j = capture();
    expect(await runCli(['devices', '--space', 'nb201', '--json'], j.io)).toBe(0);
    const doc = JSON.parse(j.out());
    expect(doc.spaces.map((s: { space: string }) => s.space)).toEqual(['nb201']);
    expect(doc.spaces[0].devices).toHaveLength(27);
    expect(doc.spaces[0].devices.find((d: { name: string }) => d.name === 'fpga')).toMatchObject({ kind: 'measured', minMs: 1.13296 });
  });

  it('rank scores a given shortlist exactly as the search scored those cells; says what pred.acc is; --rerank', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-rank-'));
    expect(
      await runCli(
        ['convert-official', '--generator', fx('gen-nb201', 'state_dict.pt'), '--predictor', fx('pred-nb201', 'state_dict.pt'), '--predictor-hs', '64', '--out', dir],
        capture().io,
      ),
    ).toBe(0);
    const s = capture();
    expect(
      await runCli(
        ['search', '--dataset', 'builtin:digits', '--model', dir, '--candidates', '12', '--resamples', '3', '--seed', '7', '--backend', 'wasm', '--json', '--all'],
        s.io,
      ),
    ).toBe(0);
    const searched: { arch: string; score: number }[] = JSON.parse(s.out().trim().split('\n').pop()!).ranking;
    // five of the searched cells, in another order, with comments and blank lines
    const pick = [searched[9]!, searched[2]!, searched[11]!, searched[0]!, searched[5]!];
    const file = path.join(dir, 'archs.txt');
    fs.writeFileSync(file, `# my shortlist\n${pick.map((c) => c.arch).join('\n\n')}\n`);
    const r = capture();
    expect(await runCli(['rank', '--dataset', 'builtin:digits', '--archs', file, '--model', dir, '--resamples', '3', '--seed', '7', '--backend', 'wasm', '--json'], r.io)).toBe(0);
    const doc = JSON.parse(r.out().trim().split('\n').pop()!);
    expect(doc.predicts).toMatch(/unknown scale/);
    const want = [...pick].sort((a, b) => b.score - a.score);
    expect(doc.ranking.map((c: { arch: string }) => c.arch)).toEqual(want.map((c) => c.arch));
    doc.ranking.forEach((c: { score: number; rank: number }, i: number) => {
      expect(c.rank).toBe(i + 1);
      expect(c.score).toBeCloseTo(want[i]!.score, 6);
    });
    const t = capture();
    expect(
      await runCli(
        [
          'rank',
          '--dataset',
          'builtin:digits',
          '--archs',
          file,
          '--model',
          dir,
          '--resamples',
          '3',
          '--seed',
          '7',
          '--backend',
          'wasm',
          '--rerank',
          'synflow',
          '--rerank-top',
          '2',
          '--proxy-batch',
          '2',
        ],
        t.io,
      ),
    ).toBe(0);
    expect(t.out()).toMatch(/pred\.acc = predicted an accuracy on an unknown scale/);
    expect(t.out()).toMatch(/re-ranked: the first 2 by \(1 − 0\.5\)·predictor rank \+ 0\.5·synflow rank/);
    fs.writeFileSync(file, `${pick[0]!.arch}\n|nor_conv_3x3~0|+|oops~0|\n`);
    const bad = capture();
    expect(await runCli(['rank', '--dataset', 'builtin:digits', '--archs', file, '--model', dir, '--backend', 'wasm'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/archs\.txt line 2: not a nb201 architecture/);
    const w = capture();
    expect(await runCli(['rank', '--dataset', 'builtin:digits', '--archs', file, '--model', dir, '--rerank', 'naswot', '--rerank-weight', '2'], w.io)).toBe(2);
    expect(w.err()).toMatch(/--rerank-weight 2: expected a number in \[0, 1\]/);
  });

  it('prior writes a prior checkpoint that names its sources; bad sources are usage errors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-prior-'));
    const out = path.join(dir, 'prior.ckpt');
    const c = capture();
    expect(
      await runCli(
        ['prior', '--out', out, '--predictor-hs', '8', '--epochs', '1', '--batch-size', '512', '--sources', 'nb201:cifar10', '--held-out', '0.9', '--backend', 'wasm'],
        c.io,
      ),
    ).toBe(0);
    const doc = JSON.parse(c.out().trim().split('\n').pop()!);
    expect(doc.sources).toEqual(['nb201:cifar10']);
    expect(doc.trainSamples + doc.heldOutSamples).toBe(15625);
    expect(doc.last.heldOutSpearman['nb201:cifar10']).toEqual(expect.any(Number));
    expect(fs.existsSync(out)).toBe(true);
    const bad = capture();
    expect(await runCli(['prior', '--out', out, '--sources', 'nb201:svhn'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/--sources: 'nb201:svhn' is not one of nb201:cifar10/);
  });
});
