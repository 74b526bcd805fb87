/**
 * `npm run bench -- <name> [args...]` (or `npm run bench:<name> -- [args...]`): runs the
 * benchmark in `tools/bench/<name>.ts`. Benchmarks measure speed and memory; they are never
 * part of `npm test`. Each benchmark file exports `run(args: string[]): Promise<void>`;
 * with `--json` its last output line is one JSON object.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const available = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  if (!name || name === '--help' || !available.includes(name)) {
    console.error(`usage: npm run bench -- <${available.join('|') || 'no benchmarks yet'}> [--json] [...]`);
    process.exit(name && name !== '--help' ? 2 : 0);
  }
  const mod = (await import(path.join(__dirname, `${name}.ts`))) as { run?: (args: string[]) => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`tools/bench/${name}.ts does not export run(args)`);
  await mod.run(args);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
