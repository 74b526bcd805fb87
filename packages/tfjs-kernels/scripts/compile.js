// What every build of the addon shares: the sources (every native/*.cc, so adding a kernel file
// needs no list edit), the Node-API and node-addon-api headers, the compiler and its flags.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const nativeDir = path.join(pkgDir, 'native');
const sources = () =>
  fs.readdirSync(nativeDir).filter((f) => f.endsWith('.cc')).sort().map((f) => path.join(nativeDir, f));
const cxx = process.env.CXX || 'g++';

function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
  if (!found) throw new Error(`Node-API headers (node_api.h) not found in ${candidates.join(', ')}`);
  return found;
}

function addonApiHeaders() {
  try {
    return path.dirname(require.resolve('node-addon-api/napi.h', { paths: [pkgDir] }));
  } catch {
    return require('node-addon-api').include_dir.replace(/"/g, '');
  }
}

/** Flags of every build; Node-API 8 keeps one binary valid for every Node >= 20. */
function baseFlags() {
  return ['-O3', '-std=c++17', '-fPIC', '-shared', '-pthread', '-fexceptions', '-DNAPI_CPP_EXCEPTIONS', '-DNAPI_VERSION=8',
    `-I${nodeHeaders()}`, `-I${addonApiHeaders()}`];
}

function compileSync(args) {
  const r = spawnSync(cxx, args, { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: (r.stderr || '') + (r.error ? String(r.error) : '') };
}

function compileAsync(args) {
  return new Promise((resolve) => {
    let stderr = '';
    const p = spawn(cxx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e) => resolve({ ok: false, stderr: stderr + String(e) }));
    p.on('close', (code) => resolve({ ok: code === 0, stderr }));
  });
}

/** SHA-256 over the sources and headers, so a stale binary is noticed. */
function sourceHash(extra) {
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(nativeDir).sort()) {
    h.update(f);
    h.update(fs.readFileSync(path.join(nativeDir, f)));
  }
  h.update(JSON.stringify(extra));
  return h.digest('hex');
}

module.exports = { pkgDir, sources, cxx, baseFlags, compileSync, compileAsync, sourceHash };
