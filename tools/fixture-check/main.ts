/**
 * `npm run fixture-check -- [--suite | --all | <fixture folder or graphs-*.json>...] [--weights-from-pt] [--backend B]`
 *
 * Runs golden fixtures of the official implementation through our packages and prints one line
 * per checked tensor or graph, then `N passed, M failed`; exits 1 on any failure. A fixture that
 * no package checks yet is reported as not implemented and counts as failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeBackend, initBackend, type BackendName } from '@metad2a/core';
import { GoldenFixture, fixturesRoot } from '@metad2a/fixtures';
import type { FixtureHandler, FixtureTarget } from './handler';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

interface Args {
  targets: string[];
  weightsFromPt: boolean;
  backend?: BackendName;
  verbose: boolean;
}

function usage(msg?: string): never {
  if (msg) console.error(`fixture-check: ${msg}`);
  console.error('usage: npm run fixture-check -- [--suite | --all | <fixture folder | graphs-*.json>...] [--weights-from-pt] [--backend tensorflow|native|wasm|cpu] [--quiet]');
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { targets: [], weightsFromPt: false, verbose: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--weights-from-pt') a.weightsFromPt = true;
    else if (x === '--quiet') a.verbose = false;
    else if (x === '--backend') {
      const b = argv[++i];
      if (!b) usage('--backend needs a value');
      a.backend = b as BackendName;
    } else if (x === '--all') {
      for (const e of fs.readdirSync(fixturesRoot()).sort()) {
        const p = path.join(fixturesRoot(), e);
        if (fs.existsSync(path.join(p, 'manifest.json')) || /^graphs-.*\.json$/.test(e)) a.targets.push(p);
      }
    } else if (x === '--suite') {
      const suite = JSON.parse(fs.readFileSync(path.join(__dirname, 'suite.json'), 'utf8')) as { fixtures: string[] };
      for (const f of suite.fixtures) a.targets.push(path.join(fixturesRoot(), f));
    } else if (x === '--help' || x === '-h') usage();
    else if (x.startsWith('--')) usage(`unknown option ${x}`);
    else a.targets.push(x);
  }
  if (a.targets.length === 0) usage('no fixture given');
  return a;
}

async function loadHandlers(): Promise<FixtureHandler[]> {
  const dir = path.join(__dirname, 'handlers');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const out: FixtureHandler[] = [];
  for (const f of files) {
    const mod = (await import(path.join(dir, f))) as { handler?: FixtureHandler };
    if (!mod.handler) throw new Error(`tools/fixture-check/handlers/${f} does not export 'handler'`);
    out.push(mod.handler);
  }
  return out;
}

function toTarget(p: string): FixtureTarget {
  if (!fs.existsSync(p)) throw new Error(`${p}: no such fixture folder or file`);
  if (fs.statSync(p).isDirectory()) {
    const fixture = GoldenFixture.load(p);
    return { kind: 'folder', name: fixture.name, path: p, fixture };
  }
  const base = path.basename(p).replace(/\.json$/, '');
  if (!/^graphs-/.test(base)) throw new Error(`${p}: expected a fixture folder or a graphs-*.json file`);
  return { kind: 'graphs', name: base, path: p };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const choice = await initBackend({ prefer: args.backend });
  console.log(describeBackend(choice));
  const handlers = await loadHandlers();
  let passed = 0;
  let failed = 0;
  for (const p of args.targets) {
    let target: FixtureTarget;
    try {
      target = toTarget(p);
    } catch (err) {
      console.log(`FAIL ${p}: ${(err as Error).message}`);
      failed++;
      continue;
    }
    const hs = handlers.filter((h) => h.fixtures.includes(target.name));
    if (hs.length === 0) {
      console.log(`FAIL ${target.name}: not implemented (no package checks this fixture yet)`);
      failed++;
      continue;
    }
    for (const h of hs) {
      try {
        const checks = await h.run(target, { weightsFromPt: args.weightsFromPt });
        if (checks.length === 0) throw new Error('the handler checked nothing');
        for (const c of checks) {
          if (c.ok) passed++;
          else failed++;
          if (args.verbose || !c.ok) console.log(`${c.ok ? 'PASS' : 'FAIL'} ${target.name} (${h.packageName}) ${c.message}`);
        }
      } catch (err) {
        failed++;
        console.log(`FAIL ${target.name} (${h.packageName}): ${(err as Error).stack ?? err}`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
