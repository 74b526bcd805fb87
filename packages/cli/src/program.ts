import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { MetaD2AException, fail, importBackendPackage } from '@metad2a/core';
import { registerBench } from './commands/bench';
import { registerConvertOfficial } from './commands/convert-official';
import { registerDb } from './commands/db';
import { registerDevices } from './commands/devices';
import { registerMetaTrain } from './commands/meta-train';
import { registerPrior } from './commands/prior';
import { registerRank } from './commands/rank';
import { registerSearch } from './commands/search';
import { registerTrainArch } from './commands/train-arch';
import { CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo, type CliIo } from './io';

/** The `metad2a` command with every sub-command registered (nothing runs until `parseAsync`). */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command('metad2a')
    .description('MetaD2A in TypeScript: rapid neural architecture search by generating graphs from datasets')
    .version('0.1.0')
    .option('--debug', 'print the stack trace of an error (also METAD2A_DEBUG=1); accepted anywhere on the command line')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .option(
      '--register <module>',
      "import a module first that registers search spaces, set encoders, model settings or backends in @metad2a/core's registries (repeatable; before the command)",
    );
  registerSearch(program, io);
  registerRank(program, io);
  registerDevices(program, io);
  registerConvertOfficial(program, io);
  registerMetaTrain(program, io);
  registerPrior(program, io);
  registerDb(program, io);
  registerTrainArch(program, io);
  registerBench(program, io);
  const configure = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/**
 * Run the CLI on `argv` (without the node and script entries) and return the exit code:
 * 0 success, 1 the work failed (bad file, impossible request), 2 bad usage. Never calls process.exit.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  // --debug may follow a sub-command too; commander only knows it before one
  const debug = argv.includes('--debug') || io.env.METAD2A_DEBUG === '1';
  try {
    // the kernels package registers the native backend and the wasm/cpu training kernels on import
    // (optional: without it initBackend says why native is skipped or refused)
    await importBackendPackage('@metad2a/tfjs-kernels', 'native');
    // registrations first: the commands' choices (e.g. --space) come from the registries
    const { modules, rest } = splitRegistrations(argv.filter((a) => a !== '--debug'));
    for (const m of modules) await importRegistration(m, io.cwd);
    const program = buildProgram(io);
    await program.parseAsync(rest, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit with code 0; usage errors were already printed by commander
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    reportError(io.stderr, err, debug);
    return err instanceof CliUsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** `--register <module>` pairs (anywhere before `--`) and the remaining arguments. */
function splitRegistrations(argv: readonly string[]): { modules: string[]; rest: string[] } {
  const modules: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--register') {
      const m = argv[++i];
      if (m === undefined || m.startsWith('-')) throw new CliUsageError('--register needs a module (a file path or a package name)');
      modules.push(m);
    } else if (a.startsWith('--register=')) modules.push(a.slice('--register='.length));
    else rest.push(a);
  }
  return { modules, rest };
}

/** Import a registration module: a path (relative to the working directory) or a package name. */
async function importRegistration(spec: string, cwd: string): Promise<void> {
  const isPath = spec.startsWith('.') || path.isAbsolute(spec);
  const target = isPath ? path.resolve(cwd, spec) : spec;
  try {
    // a plain absolute path imports in ESM and CommonJS builds alike (file URLs only where paths are not URLs)
    await import(isPath && process.platform === 'win32' ? pathToFileURL(target).href : target);
  } catch (err) {
    if (err instanceof MetaD2AException) throw err;
    fail('NotFound', {
      source: '--register',
      field: spec,
      expected: 'a module that can be imported (a .js/.ts file or an installed package)',
      got: String((err as Error)?.message ?? err).split('\n')[0],
    });
  }
}

/**
 * One line per error: the message of a usage or named error, or of an unexpected one with a hint;
 * with `debug`, the stack trace follows.
 */
export function reportError(stderr: NodeJS.WritableStream, err: unknown, debug: boolean): void {
  const known = err instanceof CliUsageError || err instanceof MetaD2AException;
  const message = err instanceof Error ? err.message : String(err);
  const line = known ? `error: ${message}` : `error: ${message} (an unexpected error; run with --debug for the stack trace)`;
  const stack = debug && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  try {
    stderr.write(`${line}${stack}\n`);
  } catch {
    // stderr itself is gone: nothing left to tell
  }
}

/**
 * Process-wide handlers for errors outside a command's promise (a callback, an unhandled
 * rejection): one line, exit code 1. Installed before any backend loads, they run before the
 * handlers tfjs-backend-wasm's Emscripten module adds (which rethrow, so Node would print a line
 * of minified source before the message).
 */
export function installFatalHandlers(stderr: NodeJS.WritableStream, debug: boolean): void {
  const fatal = (err: unknown): void => {
    reportError(stderr, err, debug);
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}
