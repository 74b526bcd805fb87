/**
 * Careless and hostile input at the command line (issue #19): every failure is one named line,
 * never a raw stack trace (`--debug` shows it), and impossible requests fail at once.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Rng } from '@metad2a/core';
import { writeFeatureFile } from '@metad2a/datasets';
import { fixturesRoot } from '@metad2a/fixtures';
import { runCli } from '../src';
import { capture } from './capture';

const fx = (...p: string[]): string => path.join(fixturesRoot(), ...p);
const STACK_LINE = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-hostile-'));
const model = path.join(dir, 'model');
function features(name: string, classes: number, edit?: (data: Float32Array[]) => void): string {
  const rng = new Rng(3);
  const data = Array.from({ length: classes }, () => rng.normalArray(30 * 512));
  edit?.(data);
  return writeFeatureFile(path.join(dir, name), { name, dim: 512, classes: data.map((d, i) => ({ label: `c${i}`, count: 30, data: d })) });
}

beforeAll(async () => {
  const c = capture();
  expect(
    await runCli(
      ['convert-official', '--generator', fx('gen-nb201', 'state_dict.pt'), '--predictor', fx('pred-nb201', 'state_dict.pt'), '--predictor-hs', '64', '--out', model],
      c.io,
    ),
  ).toBe(0);
}, 120_000);

describe('no raw stack traces', () => {
  const throwingStdout = (): Writable =>
    new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('write EPIPE'));
      },
    });

  test('an unexpected error prints one line and a hint; --debug prints the stack', async () => {
    const a = capture(throwingStdout());
    const out = path.join(dir, 'm2');
    const argv = ['convert-official', '--generator', fx('gen-nb201', 'state_dict.pt'), '--predictor', fx('pred-nb201', 'state_dict.pt'), '--predictor-hs', '64', '--out', out];
    // a stream that fails on write: node reports it asynchronously, so make write() throw synchronously too
    const s = a.io.stdout as Writable;
    s.write = () => {
      throw new Error('write EPIPE');
    };
    expect(await runCli(argv, a.io)).toBe(1);
    expect(a.err()).toMatch(/^error: write EPIPE \(an unexpected error; run with --debug for the stack trace\)\n$/);
    expect(a.err()).not.toMatch(STACK_LINE);
    const b = capture();
    (b.io.stdout as Writable).write = () => {
      throw new Error('write EPIPE');
    };
    expect(await runCli([...argv, '--debug'], b.io)).toBe(1);
    expect(b.err()).toMatch(/error: write EPIPE/);
    expect(b.err()).toMatch(STACK_LINE);
  }, 120_000);

  test('--debug also shows the stack of a named error; without it, one line', async () => {
    const a = capture();
    expect(await runCli(['search', '--dataset', '/nonexistent.features.json', '--model', model, '--backend', 'cpu'], a.io)).toBe(1);
    expect(a.err()).not.toMatch(STACK_LINE);
    const b = capture();
    expect(await runCli(['--debug', 'search', '--dataset', '/nonexistent.features.json', '--model', model, '--backend', 'cpu'], b.io)).toBe(1);
    expect(b.err()).toMatch(STACK_LINE);
  }, 120_000);

  test('a fatal error outside the command (after the wasm backend registered its handlers) is one line, not minified source', () => {
    const script = path.join(dir, 'fatal.ts');
    fs.writeFileSync(
      script,
      `import { installFatalHandlers } from ${JSON.stringify(path.resolve(__dirname, '../src/program'))};
       import { initBackend } from '@metad2a/core';
       installFatalHandlers(process.stderr, false);
       initBackend({ prefer: 'wasm' }).then(() => { setTimeout(() => { throw new RangeError('boom from a callback'); }, 1); });`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8', env: { ...process.env, METAD2A_BACKEND: 'wasm' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: boom from a callback \(an unexpected error; run with --debug for the stack trace\)$/m);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stderr).not.toMatch(/tfjs-backend-wasm|\^\n/);
    const rejected = path.join(dir, 'rejected.ts');
    fs.writeFileSync(
      rejected,
      fs.readFileSync(script, 'utf8').replace("setTimeout(() => { throw new RangeError('boom from a callback'); }, 1);", "void Promise.reject(new Error('unhandled boom'));"),
    );
    const q = spawnSync(process.execPath, ['--import', 'tsx', rejected], {
      cwd: path.resolve(__dirname, '..'),
      encoding: 'utf8',
      env: { ...process.env, METAD2A_BACKEND: 'wasm' },
    });
    expect(q.status).toBe(1);
    expect(q.stderr).toMatch(/^error: unhandled boom \(an unexpected error; run with --debug for the stack trace\)$/m);
    expect(q.stderr).not.toMatch(/tfjs-backend-wasm/);
  }, 120_000);
});

describe('careless input at the command line: exit 1, one named line', () => {
  test.each([
    [
      '--candidates 20000 on NB201',
      () => ['--dataset', features('ok', 3), '--candidates', '20000'],
      /search: candidates: expected at most 15625 \(exactly 15625 distinct nb201 architectures exist\), got 20000/,
    ],
    [
      '--flops-max 0.5',
      () => ['--dataset', features('ok', 3), '--flops-max', '0.5'],
      /expected at most 0 \(exactly 0 distinct nb201 architectures satisfy ≤ 0\.5 MFLOPs; the cheapest has 7\.78 MFLOPs/,
    ],
    ['a 1-class data set', () => ['--dataset', features('one', 1)], /one: classes: expected at least 2 classes, got 1/],
    [
      'NaN in a feature file',
      () => ['--dataset', features('nan', 3, (d) => (d[2]![512 * 4 + 9] = NaN))],
      /nan\.features\.npy: class 2 \(c2\) row 4: expected finite feature values, got NaN/,
    ],
  ])(
    '%s',
    async (_name, args, message) => {
      const c = capture();
      const t0 = performance.now();
      expect(await runCli(['search', '--model', model, '--backend', 'wasm', ...args()], c.io)).toBe(1);
      expect(performance.now() - t0).toBeLessThan(60_000);
      expect(c.err()).toMatch(message);
      expect(c.err()).not.toMatch(STACK_LINE);
    },
    120_000,
  );

  test('a checkpoint whose data bytes are overwritten with NaN: exit 1 with a named error, not null scores', async () => {
    const bad = path.join(dir, 'nan-model');
    fs.cpSync(model, bad, { recursive: true });
    const ckpt = path.join(bad, JSON.parse(fs.readFileSync(path.join(bad, 'model.json'), 'utf8')).predictor.checkpoint);
    const b = fs.readFileSync(ckpt);
    // safetensors layout: uint64 header length N, N bytes of JSON, then the float32 data
    const dataStart = 8 + Number(b.readBigUInt64LE(0));
    b.fill(0xff, dataStart); // 0xffffffff is a NaN at any alignment
    fs.writeFileSync(ckpt, b);
    const c = capture();
    expect(await runCli(['search', '--model', bad, '--backend', 'wasm', '--dataset', features('ok', 3), '--candidates', '5', '--resamples', '1'], c.io)).toBe(1);
    expect(c.err()).toMatch(/predictor\.safetensors: .*(sha256|NaN|finite)/); // the checkpoint loader (issue #21) verifies its SHA-256
    expect(c.err()).not.toMatch(STACK_LINE);
  }, 120_000);

  test('hs: 2e9 in model.json is a named error with the bound', async () => {
    const bad = path.join(dir, 'bad-model');
    fs.cpSync(model, bad, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(bad, 'model.json'), 'utf8'));
    m.generator.config.hs = 2e9;
    fs.writeFileSync(path.join(bad, 'model.json'), JSON.stringify(m));
    const c = capture();
    expect(await runCli(['search', '--model', bad, '--backend', 'wasm', '--dataset', features('ok', 3)], c.io)).toBe(1);
    expect(c.err()).toMatch(/bad-model\/model\.json: generator\.config\.hs: expected an integer in \[1, 65536\], got 2000000000/);
    expect(c.err()).not.toMatch(STACK_LINE);
  }, 120_000);
});
