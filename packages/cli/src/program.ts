import { Command, CommanderError } from 'commander';
import { MetaD2AException } from '@metad2a/core';
import { registerBench } from './commands/bench';
import { registerConvertOfficial } from './commands/convert-official';
import { registerDb } from './commands/db';
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
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerSearch(program, io);
  registerRank(program, io);
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
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit with code 0; usage errors were already printed by commander
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof CliUsageError) {
      io.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof MetaD2AException) {
      io.stderr.write(`error: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
}
