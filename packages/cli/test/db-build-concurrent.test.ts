import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDatabase } from '@metad2a/meta-trainer';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'packages/cli/src/bin.ts');

/** `metad2a <argv>` in its own process (the real entry point, through tsx). */
function metad2a(argv: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', bin, ...argv], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, METAD2A_BACKEND: process.env.METAD2A_BACKEND ?? 'native' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('two `metad2a db build` processes on one file', () => {
  it('both finish without an error and every (task, architecture) pair is recorded exactly once', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-cli-2w-')), 'meta.sqlite');
    const argv = [
      'db',
      'build',
      '--db',
      file,
      '--datasets',
      'builtin:digits',
      '--tasks',
      '2',
      '--classes',
      '3',
      '--archs',
      '3',
      '--epochs',
      '1',
      '--train-per-class',
      '12',
      '--test-per-class',
      '6',
      '--seed',
      '11',
    ];
    const [a, b] = await Promise.all([metad2a(argv), metad2a(argv)]);
    for (const r of [a, b]) {
      expect(r.stderr).not.toMatch(/SqliteError|database is locked|\n\s+at /);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/trained \d+ pairs, skipped \d+ already recorded/);
    }
    const db = MetaDatabase.open(file, { readonly: true });
    const recs = db.records();
    expect(recs).toHaveLength(6);
    expect(new Set(recs.map((r) => `${r.task}|${r.arch}|${r.metric}`)).size).toBe(6);
    expect(db.integrityProblems()).toEqual([]);
    db.close();
  }, 180_000);
});
