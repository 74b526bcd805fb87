/**
 * @metad2a/cli — the `metad2a` command. Thin: every sub-command parses and validates its
 * arguments, calls a package API, and prints. `runCli(argv, io)` runs it in-process (tests).
 */
export { buildProgram, installFatalHandlers, reportError, runCli } from './program';
export { CliUsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, processIo, type CliIo } from './io';
