/**
 * `npm run packed-examples -- [--only a,b] [--keep] [--no-build]`
 *
 * What a new user gets from npm: builds every package (Nx, cached), packs every public package
 * (`npm pack`), then for each one installs ONLY its tarball into an empty temporary folder (its
 * `@metad2a` dependencies resolve to the other tarballs through `overrides`, everything else from
 * the npm cache or registry), type-checks its README's example against the installed `.d.ts`
 * files and runs it verbatim. The example is the README's first ```ts block (first ```sh block
 * for a package whose README has no ts block, run by bash with the package's bins on PATH).
 * Exits 1 when any install, type check or example fails.
 *
 * Installs run with `--ignore-scripts`; the install scripts that matter then run explicitly:
 * `@metad2a/tfjs-kernels` (must find its prebuilt binary and compile nothing: checked) and
 * better-sqlite3, whose binary is copied from the repository's own install (same version, same
 * Node) instead of recompiling SQLite for every package.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

interface Args {
  only?: string[];
  keep: boolean;
  build: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { keep: false, build: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--keep') a.keep = true;
    else if (x === '--no-build') a.build = false;
    else if (x === '--only') a.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else {
      console.error(`packed-examples: unknown argument ${x}\nusage: npm run packed-examples -- [--only core,search] [--keep] [--no-build]`);
      process.exit(2);
    }
  }
  return a;
}

interface Pkg {
  name: string;
  dir: string;
  json: {
    name: string;
    private?: boolean;
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
}

function workspacePackages(): Pkg[] {
  const dir = path.join(root, 'packages');
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'package.json')))
    .map((d) => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, d, 'package.json'), 'utf8')) as Pkg['json'];
      return { name: json.name, dir: path.join(dir, d), json };
    })
    .filter((p) => !p.json.private)
    .sort((a, b) => a.name.localeCompare(b.name));
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs, maxBuffer: 64 << 20 });
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) {
    throw new Error(`${what} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${(r.stdout ?? '').slice(-4000)}\n${(r.stderr ?? '').slice(-4000)}`);
  }
  return r.stdout;
}

/** The README's example: its first ```ts block, else its first ```sh block. */
export function readmeExample(readme: string): { lang: 'ts' | 'sh'; code: string } | undefined {
  const blocks = [...readme.matchAll(/^```(\w+)[^\n]*\n([\s\S]*?)^```\s*$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
  const ts = blocks.find((b) => b.lang === 'ts' || b.lang === 'typescript');
  if (ts) return { lang: 'ts', code: ts.code };
  const sh = blocks.find((b) => b.lang === 'sh' || b.lang === 'bash');
  return sh ? { lang: 'sh', code: sh.code } : undefined;
}

/**
 * What the README tells a user to install: the packages of its first `npm install ...` line in
 * a sh block (workspace packages as their tarballs, anything else as `name@version` from npm),
 * or the package alone when there is no such line. It must include the package itself.
 */
export function readmeInstall(readme: string, self: string): string[] {
  const shBlocks = [...readme.matchAll(/^```(?:sh|bash)[^\n]*\n([\s\S]*?)^```\s*$/gm)].map((m) => m[1]!);
  const line = shBlocks
    .flatMap((b) => b.split('\n'))
    .map((l) => /^\s*npm (?:install|i) ([^#]+)/.exec(l))
    .find(Boolean);
  const names = line
    ? line[1]!
        .trim()
        .split(/\s+/)
        .filter((x) => !x.startsWith('-'))
    : [self];
  return names.includes(self) ? names : [self, ...names];
}

/** Every @metad2a package reachable from `name` through dependencies and optionalDependencies. */
function closure(name: string, byName: Map<string, Pkg>): string[] {
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const p = byName.get(n);
    if (!p) return;
    for (const d of Object.keys({ ...p.json.dependencies, ...p.json.optionalDependencies })) if (byName.has(d)) visit(d);
  };
  visit(name);
  return [...seen];
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
  const pkgs = workspacePackages();
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const missingPrepack = pkgs.filter((p) => !p.json.scripts?.prepack).map((p) => p.name);
  if (missingPrepack.length) {
    console.error(`packed-examples: no "prepack" script (packing an unbuilt checkout would ship no dist/): ${missingPrepack.join(', ')}`);
    return 1;
  }
  const selected = args.only ? pkgs.filter((p) => args.only!.some((o) => p.name === o || p.name === `@metad2a/${o}`)) : pkgs;
  if (args.only && selected.length !== args.only.length) {
    console.error(`packed-examples: unknown package in --only ${args.only.join(',')}`);
    return 2;
  }

  if (args.build) {
    const r = run('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: root, env });
    must(r, 'npm run build');
    // the binaries that ship inside @metad2a/tfjs-kernels (a no-op when they are up to date)
    must(run('node', ['packages/tfjs-kernels/scripts/prebuild.js', '--quiet'], { cwd: root, env }), 'tfjs-kernels prebuild');
  }
  const tBuilt = Date.now();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'metad2a-packed-'));
  const tarDir = path.join(work, 'tarballs');
  fs.mkdirSync(tarDir);
  // the packages the selected READMEs install, and everything they depend on
  const needed = new Set(
    selected.flatMap((p) =>
      (fs.existsSync(path.join(p.dir, 'README.md')) ? readmeInstall(fs.readFileSync(path.join(p.dir, 'README.md'), 'utf8'), p.name) : [p.name])
        .filter((n) => byName.has(n))
        .flatMap((n) => closure(n, byName)),
    ),
  );
  const packed = JSON.parse(
    must(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarDir, ...[...needed].flatMap((n) => ['-w', n])], { cwd: root, env }), 'npm pack'),
  ) as { name: string; filename: string; files: { path: string }[] }[];
  const tarball = new Map(packed.map((p) => [p.name, path.join(tarDir, p.filename.replace(/^@/, '').replace(/\//, '-'))]));
  const problems: string[] = [];
  for (const p of packed) {
    const maps = p.files.filter((f) => f.path.endsWith('.map')).map((f) => f.path);
    if (maps.length) problems.push(`${p.name}: ships source maps (${maps.slice(0, 3).join(', ')}${maps.length > 3 ? ', …' : ''})`);
    if (!p.files.some((f) => f.path.startsWith('dist/'))) problems.push(`${p.name}: tarball has no dist/`);
  }
  const tPacked = Date.now();

  const overrides = Object.fromEntries([...tarball].map(([n, f]) => [n, `file:${f}`]));
  const sqliteBuild = path.join(root, 'node_modules', 'better-sqlite3', 'build');
  const examples: { pkg: Pkg; dir: string; file: string; lang: 'ts' | 'sh' }[] = [];
  for (const pkg of selected) {
    if (!fs.existsSync(path.join(pkg.dir, 'README.md'))) {
      // a package still being written: reported, not failed, until it has a README
      console.log(`skip ${pkg.name}: no README.md yet (nothing to run)`);
      continue;
    }
    const example = readmeExample(fs.readFileSync(path.join(pkg.dir, 'README.md'), 'utf8'));
    if (!example) {
      problems.push(`${pkg.name}: README has no example (no ts or sh code block)`);
      continue;
    }
    const dir = path.join(work, pkg.name.replace(/^@metad2a\//, ''));
    fs.mkdirSync(dir);
    const dependencies: Record<string, string> = {};
    for (const spec of readmeInstall(fs.readFileSync(path.join(pkg.dir, 'README.md'), 'utf8'), pkg.name)) {
      const at = spec.lastIndexOf('@');
      const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
      if (tarball.has(name)) dependencies[name] = `file:${tarball.get(name)}`;
      else if (byName.has(name)) problems.push(`${pkg.name}: README installs ${name}, which is not packed`);
      else if (!version) problems.push(`${pkg.name}: README installs ${name} without a version (tfjs must match the 4.22.0 the packages use)`);
      else dependencies[name] = version;
    }
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `example-${path.basename(dir)}`, private: true, type: 'module', dependencies, overrides }, null, 2));
    const inst = run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env, timeoutMs: 300_000 });
    if (inst.status !== 0) {
      problems.push(`${pkg.name}: npm install failed:\n${inst.stderr.slice(-3000)}`);
      continue;
    }
    const kernels = path.join(dir, 'node_modules', '@metad2a', 'tfjs-kernels');
    if (fs.existsSync(kernels)) {
      // the package's own install script, as npm would run it: it must compile nothing
      // (no compiler reachable, and the package's files must be unchanged afterwards)
      const listing = (): string => (fs.readdirSync(kernels, { recursive: true }) as string[]).sort().join('\n');
      const before = listing();
      const r = run('npm', ['rebuild', '@metad2a/tfjs-kernels', '--foreground-scripts'], { cwd: dir, env: { ...env, CXX: '/nonexistent-compiler' } });
      if (r.status !== 0 || !/prebuilt binaries present .*nothing to compile/.test(r.stdout + r.stderr) || listing() !== before) {
        problems.push(`${pkg.name}: installing @metad2a/tfjs-kernels from its tarball did not find its prebuilt binaries:\n${r.stdout}${r.stderr}`);
      }
    }
    const sqlite = path.join(dir, 'node_modules', 'better-sqlite3');
    if (fs.existsSync(sqlite)) fs.cpSync(sqliteBuild, path.join(sqlite, 'build'), { recursive: true });
    const file = path.join(dir, example.lang === 'ts' ? 'example.mts' : 'example.sh');
    fs.writeFileSync(
      file,
      example.lang === 'sh'
        ? example.code
            .split('\n')
            .filter((l) => !/^\s*npm (install|i) /.test(l))
            .join('\n')
        : example.code,
    );
    examples.push({ pkg, dir, file, lang: example.lang });
  }
  const tInstalled = Date.now();

  // One tsc program over every ts example: each resolves its imports from its own folder.
  const tsExamples = examples.filter((e) => e.lang === 'ts');
  if (tsExamples.length) {
    fs.writeFileSync(
      path.join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(root, 'node_modules', '@types')],
        },
        files: tsExamples.map((e) => e.file),
      }),
    );
    const tsc = run(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(work, 'tsconfig.json')], { cwd: work, env });
    if (tsc.status !== 0) problems.push(`type errors in README examples:\n${tsc.stdout.split(work + path.sep).join('')}`);
  }
  const tTyped = Date.now();

  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  for (const e of examples) {
    const t = Date.now();
    const r =
      e.lang === 'ts'
        ? run(tsx, [e.file], { cwd: e.dir, env, timeoutMs: 300_000 })
        : run('bash', ['-euo', 'pipefail', e.file], {
            cwd: e.dir,
            env: { ...env, PATH: `${path.join(e.dir, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}` },
            timeoutMs: 300_000,
          });
    const secs = ((Date.now() - t) / 1000).toFixed(1);
    if (r.status === 0) console.log(`ok   ${e.pkg.name} (${secs} s)`);
    else {
      console.log(`FAIL ${e.pkg.name} (${secs} s)`);
      problems.push(`${e.pkg.name}: README example exited ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
    }
  }
  const tRan = Date.now();
  const s = (a: number, b: number): string => `${((b - a) / 1000).toFixed(0)} s`;
  console.log(
    `packed-examples: ${examples.length} examples of ${selected.length} packages; build ${s(t0, tBuilt)}, pack ${s(tBuilt, tPacked)}, install ${s(tPacked, tInstalled)}, typecheck ${s(tInstalled, tTyped)}, run ${s(tTyped, tRan)}`,
  );
  if (args.keep) console.log(`kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  for (const p of problems) console.error(`\n✗ ${p}`);
  if (problems.length) console.error(`\npacked-examples: ${problems.length} problem(s)`);
  return problems.length ? 1 : 0;
}

process.exitCode = main();
