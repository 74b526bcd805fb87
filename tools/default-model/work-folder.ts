/**
 * What the default models' builds (`build.ts` for NB201, `build-mbv3.ts` for MBv3) share: a work
 * folder whose `build.json` keeps the settings of its first run (a later run with other settings is
 * refused, naming what differs), meta-databases opened for one call, and a `main` that stops
 * cleanly on the first Ctrl-C / SIGTERM (a rerun resumes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaD2AException, describeBackend, fail, initBackend, validationError, writeFileAtomicSync } from '@metad2a/core';
import { MetaDatabase } from '@metad2a/meta-trainer';

/**
 * The state in `file`: a new one holding `settings` (written at once), or the stored one when its
 * settings equal `settings`; a ValidationError names every setting that differs.
 */
export function openBuildState<S, T extends { readonly settings: S }>(file: string, settings: S, work: string): T {
  if (!fs.existsSync(file)) {
    const state = { settings } as T;
    fs.mkdirSync(work, { recursive: true });
    writeFileAtomicSync(file, `${JSON.stringify(state, null, 2)}\n`);
    return state;
  }
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  const was = JSON.parse(JSON.stringify(state.settings)) as Record<string, unknown>;
  const now = JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;
  const differ = [...new Set([...Object.keys(was), ...Object.keys(now)])].filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
  if (differ.length > 0)
    fail('ValidationError', {
      source: file,
      field: 'settings',
      expected: `the settings of this work folder's first run (${differ.map((k) => `${k} ${JSON.stringify(was[k])}`).join(', ')}); pass them again, or use another --work`,
      got: differ.map((k) => `${k} ${JSON.stringify(now[k])}`).join(', '),
    });
  return state;
}

export function withDb<T>(file: string, f: (db: MetaDatabase) => T): T {
  const db = MetaDatabase.open(file);
  try {
    return f(db);
  } finally {
    db.close();
  }
}

export async function withDbAsync<T>(file: string, f: (db: MetaDatabase) => Promise<T>): Promise<T> {
  const db = MetaDatabase.open(file);
  try {
    return await f(db);
  } finally {
    db.close();
  }
}

/**
 * A build's command line: print the backend, run `build` with a signal that the first Ctrl-C /
 * SIGTERM aborts (the phase stops after its current step; a rerun resumes), exit 1 with a one-line
 * error on a MetaD2AException.
 */
export function runBuildMain(build: (signal: AbortSignal) => Promise<void>): void {
  const run = async (): Promise<void> => {
    console.log(describeBackend(await initBackend()));
    const stop = new AbortController();
    const onSignal = (): void => {
      stop.abort('interrupted: run the same command again to resume');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await build(stop.signal);
  };
  run().catch((err) => {
    console.error(err instanceof MetaD2AException ? `error: ${err.message}` : err);
    process.exit(1);
  });
}

/**
 * A build's argv: `--flag value` pairs and phase names (of `phases`); a usage error names the
 * flag or the phase. `take(flag)` reads a flag once (and removes it from `flags`: what is left at the end is unknown).
 */
export function readBuildArgs<P extends string>(
  argv: readonly string[],
  phases: readonly P[],
  source: string,
): { readonly phases: P[]; readonly flags: Map<string, string>; take(flag: string): string | undefined } {
  const flags = new Map<string, string>();
  const chosen: P[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new MetaD2AException(validationError({ source, field: a, expected: 'a value', got: 'none' }));
      flags.set(a, v);
      i++;
    } else if ((phases as readonly string[]).includes(a)) chosen.push(a as P);
    else throw new MetaD2AException(validationError({ source, field: 'phase', expected: `one of ${phases.join(', ')}`, got: JSON.stringify(a) }));
  }
  return {
    phases: chosen,
    flags,
    take: (f: string) => {
      const v = flags.get(f);
      flags.delete(f);
      return v;
    },
  };
}

/**
 * Replace directory `to` by a new one holding `files` (name → source file or text): written into a
 * sibling folder first, then swapped in with renames, so `to` is never half written.
 */
export function replaceDirectory(to: string, files: Readonly<Record<string, { readonly copy: string } | { readonly text: string }>>): string[] {
  const tmp = `${to}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const [name, f] of Object.entries(files)) {
    if ('copy' in f) fs.copyFileSync(f.copy, path.join(tmp, name));
    else writeFileAtomicSync(path.join(tmp, name), f.text);
  }
  const old = `${to}.old-${process.pid}`;
  if (fs.existsSync(to)) fs.renameSync(to, old);
  fs.renameSync(tmp, to);
  fs.rmSync(old, { recursive: true, force: true });
  return fs.readdirSync(to).sort();
}
