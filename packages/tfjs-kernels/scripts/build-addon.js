#!/usr/bin/env node
// Builds a machine-tuned addon (build/Release/metad2a_kernels.node) with the system C++
// compiler, -O3 -march=native: for the machine that builds it only (never shipped; the npm
// package carries the portable prebuilds of scripts/prebuild.js). When present it is loaded
// before the prebuilds. When OpenBLAS's headers and library are present (Debian:
// libopenblas-dev) an OpenBLAS variant is built too (see below).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { pkgDir, sources: sourceFiles, cxx, baseFlags, compileSync: compiles } = require('./compile.js');

const outDir = path.join(pkgDir, 'build', 'Release');
const outFile = path.join(outDir, 'metad2a_kernels.node');
const sources = sourceFiles();
const quiet = process.argv.includes('--quiet');
const log = (msg) => {
  if (!quiet) console.log(`[@metad2a/tfjs-kernels] ${msg}`);
};

function detectOpenBlas(tmp) {
  if ((process.env.METAD2A_BLAS || '').toLowerCase() === 'off') return null;
  const src = path.join(tmp, 'blas_probe.cc');
  fs.writeFileSync(
    src,
    '#include <cblas.h>\nextern "C" void openblas_set_num_threads(int);\n' +
      'int main(){float a=1,b=2,c=0;openblas_set_num_threads(1);' +
      'cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1.f,&a,1,&b,1,0.f,&c,1);return c==2.f?0:1;}\n',
  );
  for (const inc of [[], ['-I/usr/include/openblas'], ['-I/usr/include/x86_64-linux-gnu/openblas-pthread']]) {
    const exe = path.join(tmp, 'blas_probe');
    if (compiles([src, ...inc, '-o', exe, '-lopenblas']).ok && spawnSync(exe).status === 0) return { cflags: inc, libs: ['-lopenblas'] };
  }
  return null;
}

function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metad2a-kernels-'));
  try {
    // METAD2A_BLAS: auto (default: built-in GEMM as the addon, OpenBLAS variant beside it when
    // present), openblas (OpenBLAS as the addon when present), off (no OpenBLAS at all).
    // The built-in GEMM is the default because it measured faster than Debian's OpenBLAS here.
    const mode = (process.env.METAD2A_BLAS || 'auto').toLowerCase();
    const blas = mode === 'off' ? null : detectOpenBlas(tmp);
    const base = baseFlags();
    const withBlas = blas ? ['-DMK_USE_OPENBLAS', ...blas.cflags] : [];
    const mainUsesBlas = Boolean(blas) && mode === 'openblas';
    let arch = ['-march=native'];
    const build = (flags, libs, out) => compiles([...base, ...flags, ...arch, ...sources, '-o', out, ...libs]);
    const tmpOut = path.join(tmp, 'metad2a_kernels.node');
    let r = build(mainUsesBlas ? withBlas : [], mainUsesBlas ? blas.libs : [], tmpOut);
    if (!r.ok) {
      log(`build with -march=native failed, retrying portable: ${r.stderr.split('\n')[0]}`);
      arch = [];
      r = build(mainUsesBlas ? withBlas : [], mainUsesBlas ? blas.libs : [], tmpOut);
    }
    if (!r.ok) throw new Error(`${cxx} failed:\n${r.stderr.slice(0, 4000)}`);
    fs.mkdirSync(outDir, { recursive: true });
    fs.copyFileSync(tmpOut, `${outFile}.tmp`);
    fs.renameSync(`${outFile}.tmp`, outFile);
    // the other GEMM variant, built beside the addon so the tests check both paths
    const variants = [mainUsesBlas ? 'openblas' : 'builtin'];
    for (const v of ['builtin', 'openblas']) fs.rmSync(path.join(outDir, `metad2a_kernels_${v}.node`), { force: true });
    if (blas) {
      const other = mainUsesBlas ? 'builtin' : 'openblas';
      const otherOut = path.join(tmp, `${other}.node`);
      const rb = other === 'openblas' ? build(withBlas, blas.libs, otherOut) : build([], [], otherOut);
      if (rb.ok) {
        fs.copyFileSync(otherOut, path.join(outDir, `metad2a_kernels_${other}.node`));
        variants.push(other);
      } else {
        log(`${other} variant not built: ${rb.stderr.split('\n')[0]}`);
      }
    }
    fs.writeFileSync(
      path.join(outDir, 'build-info.json'),
      JSON.stringify({ blas: mainUsesBlas ? 'openblas' : 'builtin', variants, flags: [...arch], compiler: cxx, node: process.version }, null, 2) + '\n',
    );
    log(`built ${path.relative(pkgDir, outFile)} (${mainUsesBlas ? 'OpenBLAS' : 'built-in GEMM'}${arch.length ? ', -march=native' : ''}; variants: ${variants.join(', ')})`);
    return 0;
  } catch (err) {
    console.warn(`[@metad2a/tfjs-kernels] native addon NOT built: ${err.message}`);
    console.warn('[@metad2a/tfjs-kernels] everything still works on the wasm/cpu backends; run `npm run build:addon -w @metad2a/tfjs-kernels` to retry.');
    return 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

process.exit(main());
