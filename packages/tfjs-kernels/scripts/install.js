#!/usr/bin/env node
// The package's `install` script. The npm package carries prebuilt binaries for linux-x64
// (prebuilds/): then nothing is compiled. Elsewhere (a clone, another platform) the portable
// binaries are built from native/ with the system C++ compiler. A failure never fails the
// install: the package then falls back to wasm/cpu with one warning at runtime.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const r = spawnSync(process.execPath, [path.join(__dirname, 'prebuild.js'), '--if-missing'], { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('[@metad2a/tfjs-kernels] native addon NOT built; everything still works on the wasm/cpu backends.');
  console.warn('[@metad2a/tfjs-kernels] retry with `npm run prebuild -w @metad2a/tfjs-kernels` (needs g++ >= 11).');
}
process.exit(0);
