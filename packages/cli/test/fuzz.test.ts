/**
 * The fast seeded fuzz suite of issue #19: 280 mutated inputs over every format a user hands the
 * CLI (.pt, IDX, CSV, JSON, .npy, checkpoint, model directory; tools/fuzz/targets.ts), each read
 * the way the product reads it. Every outcome must be a value or a named error, in well under
 * 5 s. `npm run fuzz` runs the long version (2,100 cases, in workers that stop hangs and cap memory).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '@metad2a/core';
import { OUTCOMES, caseSpec, fuzzTargets, runCase, type Outcome } from '../../../tools/fuzz/targets';

test('280 seeded fuzz cases: only values and named errors, none slower than 5 s', async () => {
  await initBackend({ prefer: 'cpu' }); // model directories build faster on cpu than wasm (no weight upload)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'md2a-fuzz-suite-'));
  const targets = fuzzTargets(root);
  const seeds = new Map(targets.map((t) => [t.format, t.seeds()]));
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const unnamed: string[] = [];
  let slowest = 0;
  for (let i = 0; i < 280; i++) {
    const spec = caseSpec(targets, (t) => seeds.get(t.format)!, 2026, i);
    const t = targets.find((x) => x.format === spec.format)!;
    const r = await runCase(t, seeds.get(t.format)![spec.seedIndex]!, spec.caseSeed, path.join(root, 'case'));
    counts[r.outcome]++;
    slowest = Math.max(slowest, r.ms);
    if (r.outcome === 'unnamed exception') unnamed.push(`case ${i} (${spec.format}): ${r.detail}`);
  }
  if (process.env.FUZZ_VERBOSE) console.log(counts, slowest);
  expect(unnamed).toEqual([]);
  expect(counts.ok + counts['named error']).toBe(280);
  // the mutations really break things, and some survive
  expect(counts['named error']).toBeGreaterThan(100);
  expect(counts.ok).toBeGreaterThan(20);
  expect(slowest).toBeLessThan(5000);
  fs.rmSync(root, { recursive: true, force: true });
}, 300_000);
