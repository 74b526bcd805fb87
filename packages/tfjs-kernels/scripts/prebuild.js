#!/usr/bin/env node
// Builds the binaries that ship inside the npm package (run at `prepack`, and at install when
// the package has none for this platform): one Node-API addon per instruction-set level in
// prebuilds/<platform>-<arch>/metad2a_kernels.<level>.node, chosen at load time from the CPU's
// features (src/addon.ts). x64: the baseline x86-64 (SSE2 only: runs on every x86-64 CPU),
// x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512); arm64: armv8-a. Never -march=native: these
// binaries run on other machines. Up to date (same sources, flags, compiler): does nothing.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pkgDir, sources, cxx, baseFlags, compileAsync, sourceHash } = require('./compile.js');

const LEVELS = {
  x64: { 'x86-64': ['-march=x86-64', '-mtune=generic'], 'x86-64-v3': ['-march=x86-64-v3', '-mtune=generic'], 'x86-64-v4': ['-march=x86-64-v4', '-mtune=generic'] },
  arm64: { 'armv8-a': ['-march=armv8-a'] },
};
const quiet = process.argv.includes('--quiet');
const ifMissing = process.argv.includes('--if-missing');
const log = (msg) => quiet || console.log(`[@metad2a/tfjs-kernels] ${msg}`);

async function main() {
  const levels = LEVELS[process.arch];
  const platformDir = path.join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`);
  const infoFile = path.join(platformDir, 'build-info.json');
  const old = fs.existsSync(infoFile) ? JSON.parse(fs.readFileSync(infoFile, 'utf8')) : undefined;
  if (ifMissing && old) {
    log(`prebuilt binaries present (${Object.keys(old.levels).join(', ')}): nothing to compile`);
    return 0;
  }
  if (!levels) throw new Error(`no prebuild levels for ${process.arch}`);
  const v = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
  const compilerVersion = v.status === 0 ? v.stdout.split('\n')[0] : cxx;
  const hash = sourceHash({ levels, base: baseFlags().filter((f) => !f.startsWith('-I')), compilerVersion });
  if (old && old.sourceHash === hash && Object.keys(levels).every((l) => fs.existsSync(path.join(platformDir, `metad2a_kernels.${l}.node`)))) {
    log('prebuilt binaries up to date');
    return 0;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metad2a-prebuild-'));
  try {
    const base = baseFlags();
    const src = sources();
    const jobs = Object.entries(levels).map(([level, flags]) => ({ level, flags, out: path.join(tmp, `metad2a_kernels.${level}.node`) }));
    const parallel = Math.max(1, Math.min(jobs.length, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
    const results = [];
    for (let i = 0; i < jobs.length; i += parallel) {
      const batch = jobs.slice(i, i + parallel);
      results.push(...(await Promise.all(batch.map(async (j) => ({ ...j, r: await compileAsync([...base, ...j.flags, ...src, '-o', j.out]) })))));
    }
    const failed = results.filter((j) => !j.r.ok);
    if (failed.length) throw new Error(`${cxx} failed for ${failed.map((j) => j.level).join(', ')}:\n${failed[0].r.stderr.slice(0, 4000)}`);
    fs.rmSync(platformDir, { recursive: true, force: true });
    fs.mkdirSync(platformDir, { recursive: true });
    for (const j of results) fs.copyFileSync(j.out, path.join(platformDir, path.basename(j.out)));
    fs.writeFileSync(infoFile, JSON.stringify({ sourceHash: hash, compiler: compilerVersion, levels, sources: src.map((f) => path.basename(f)) }, null, 2) + '\n');
    log(`built ${Object.keys(levels).map((l) => `prebuilds/${process.platform}-${process.arch}/metad2a_kernels.${l}.node`).join(', ')}`);
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[@metad2a/tfjs-kernels] prebuild failed: ${err.message}`);
      process.exit(1);
    },
  );
}
module.exports = { LEVELS };
