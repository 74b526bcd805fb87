/** `--name value` flags and the entry point of the research tools beside the default-model build. */
import { MetaD2AException, fail } from '@metad2a/core';

/** The command-line flags of one tool; errors name the tool and the flag. */
export function toolFlags(tool: string, argv: readonly string[] = process.argv) {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const required = (name: string): string => {
    const v = arg(name);
    if (v === undefined) fail('ValidationError', { source: tool, field: `--${name}`, expected: 'a value', got: 'nothing' });
    return v;
  };
  const integer = (name: string, dflt: number): number => {
    const v = Number(arg(name) ?? dflt);
    if (!Number.isSafeInteger(v) || v < 0) fail('ValidationError', { source: tool, field: `--${name}`, expected: 'an integer ≥ 0', got: String(arg(name)) });
    return v;
  };
  return { arg, required, integer };
}

/**
 * Runs `main` when `mod` is the file node was started with (not when a test imports it); a user
 * error (`MetaD2AException`) prints its message and exits with 2, anything else is thrown.
 */
export function runTool(mod: NodeModule, main: () => void): void {
  if (require.main !== mod) return;
  try {
    main();
  } catch (e) {
    if (!(e instanceof MetaD2AException)) throw e;
    console.error(`error: ${e.message}`);
    process.exitCode = 2;
  }
}
