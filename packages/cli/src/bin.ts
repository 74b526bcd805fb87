#!/usr/bin/env node
import { installFatalHandlers, reportError, runCli } from './program';

const argv = process.argv.slice(2);
const debug = argv.includes('--debug') || process.env.METAD2A_DEBUG === '1';
installFatalHandlers(process.stderr, debug);
runCli(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    reportError(process.stderr, err, debug);
    process.exitCode = 1;
  },
);
