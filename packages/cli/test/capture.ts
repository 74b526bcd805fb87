import { PassThrough } from 'node:stream';
import type { CliIo } from '../src';

/** An in-process CLI io whose stdout / stderr are collected (the default model off, as on a fresh machine without it). */
export function capture(stdout?: NodeJS.WritableStream, env: Record<string, string | undefined> = {}): { io: CliIo; out: () => string; err: () => string } {
  const o = new PassThrough();
  const e = new PassThrough();
  let so = '';
  let se = '';
  o.on('data', (d) => (so += d));
  e.on('data', (d) => (se += d));
  return { io: { stdout: stdout ?? o, stderr: e, env: { METAD2A_DEFAULT_MODEL: 'none', ...env }, cwd: process.cwd() }, out: () => so, err: () => se };
}
