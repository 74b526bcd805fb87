import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_PLANS, buildDatabase, getRecipe, type NamedBuildPlan } from '@metad2a/arch-trainer';
import { initBackend } from '@metad2a/core';
import { runCli } from '../src';
import { capture } from './capture';

// a tiny held-out plan beside the named ones (the command takes plans by name)
const options = () => ({
  datasets: ['builtin:digits', 'source:shapes'],
  numTasks: 2,
  classesPerTask: 3,
  cellsPerTask: 6,
  goodCellShare: 0,
  recipe: getRecipe('tiny', { epochs: 8 }),
  trainPerClass: 24,
  testPerClass: 12,
  seed: 7,
});
(BUILD_PLANS as Record<string, NamedBuildPlan>)['cli-test-tiny'] = { description: 'CLI test: 2 tasks × 6 cells, tiny recipe', options };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-transfer-'));
const db = path.join(dir, 'heldout.sqlite');

beforeAll(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
  await buildDatabase({ ...options(), db });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('metad2a bench transfer (embedded default model, tiny plan)', () => {
  const argv = (out: string) =>
    ['bench', 'transfer', '--db', db, '--plan', 'cli-test-tiny', '--model', 'builtin:default', '--min-random', '6'].concat([
      '--candidates',
      '8',
      '--top',
      '2',
      '--seeds',
      '0,1',
      '--resamples',
      '2',
      '--proxy-batch',
      '8',
      '--bootstrap',
      '100',
      '--out',
      out,
    ]);

  it('trains the picks with a progress line each, writes the markdown, JSON and SVG report; a rerun trains nothing and draws the same plot', async () => {
    const a = capture(undefined, { METAD2A_DEFAULT_MODEL: undefined });
    expect(await runCli([...argv(path.join(dir, 'a')), '--json'], a.io)).toBe(0);
    const r = JSON.parse(a.out());
    const lines = a.err().split('\n');
    expect(lines.filter((l) => / searched \d\/2 /.test(l))).toHaveLength(2);
    const trained = lines.filter((l) => / trained pick \d+\/\d+ .* eta /.test(l));
    expect(trained).toHaveLength(r.trainings.trained);
    expect(r.trainings.trained).toBeGreaterThan(0);
    expect(r.model.name).toBe('builtin:default');
    expect(r.plan).toMatchObject({ name: 'cli-test-tiny', metric: 'top1-test@tiny+epochs=8', tasks: 2 });
    expect(r.tasks.map((t: { source: string }) => t.source)).toEqual(['builtin:digits', 'source:shapes']);
    for (const f of ['transfer-cli-test-tiny.md', 'transfer-cli-test-tiny.json', 'transfer-cli-test-tiny.svg']) expect(fs.existsSync(path.join(dir, 'a', f))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'a', 'transfer-cli-test-tiny.md'), 'utf8')).toContain('| **all** | 2 |');
    expect(fs.readFileSync(path.join(dir, 'a', 'transfer-cli-test-tiny.svg'), 'utf8')).toMatch(/^<svg /);

    const b = capture(undefined, { METAD2A_DEFAULT_MODEL: undefined });
    expect(await runCli(argv(path.join(dir, 'b')), b.io)).toBe(0);
    // the re-ranking stage of the search as a method: its top-1 is one more pick (trained now, or found)
    const c = capture(undefined, { METAD2A_DEFAULT_MODEL: undefined });
    expect(await runCli([...argv(path.join(dir, 'c')), '--rerank', 'synflow', '--rerank-top', '2', '--json'], c.io)).toBe(0);
    const rr = JSON.parse(c.out());
    expect(rr.settings.rerank).toEqual({ proxy: 'synflow', top: 2, weight: 0.5 });
    expect(rr.methods).toContain('rerank:synflow');
    expect(b.err()).not.toMatch(/trained pick/);
    expect(b.out()).toContain(`Trainings: 0 picks trained by this run`);
    expect(fs.readFileSync(path.join(dir, 'b', 'transfer-cli-test-tiny.svg'), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'a', 'transfer-cli-test-tiny.svg'), 'utf8'));
  });

  it('--replicates 2: every cell trained twice (a progress line per replicate), its accuracy the mean; --replicates 0 is refused', async () => {
    const bad = capture(undefined, { METAD2A_DEFAULT_MODEL: undefined });
    expect(await runCli([...argv(path.join(dir, 'r0')), '--replicates', '0'], bad.io)).not.toBe(0);
    expect(bad.err()).toContain('--replicates');
    const r2 = capture(undefined, { METAD2A_DEFAULT_MODEL: undefined });
    expect(await runCli([...argv(path.join(dir, 'r2')), '--replicates', '2', '--proxies', 'none', '--json'], r2.io)).toBe(0);
    const r = JSON.parse(r2.out());
    expect(r.settings.replicates).toBe(2);
    // the 12 random cells' second trainings come first
    const lines = r2
      .err()
      .split('\n')
      .filter((l) => / trained (pick|replicate \d) \d+\/\d+ /.test(l));
    expect(lines.slice(0, 12).every((l) => / trained replicate 1 \d+\/12 /.test(l))).toBe(true);
    expect(lines).toHaveLength(r.trainings.trained);
    expect(fs.readFileSync(path.join(dir, 'r2', 'transfer-cli-test-tiny.md'), 'utf8')).toContain('is the mean of 2 trainings with different seeds');
  });
});
