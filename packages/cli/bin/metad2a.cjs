#!/usr/bin/env node
// The `metad2a` command. A committed file, so that `npm ci` links it into node_modules/.bin even
// in a fresh clone, where dist/ is built only afterwards (by the root `prepare` step): npm skips
// bin links whose target does not exist yet.
const path = require('node:path');
const fs = require('node:fs');
const built = path.join(__dirname, '..', 'dist', 'bin.js');
if (!fs.existsSync(built)) {
  process.stderr.write(`error: metad2a: the CLI is not built (${built} is missing): run \`npm run build\` in the repository\n`);
  process.exit(1);
}
require(built);
