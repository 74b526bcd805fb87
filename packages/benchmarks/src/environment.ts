import * as os from 'node:os';
import { currentBackend } from '@metad2a/core';

/** Where a benchmark ran: recorded in every result so that numbers are never read without it. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  /** The tensor backend in use (`initBackend`), or `none` if none was initialised. */
  readonly backend: string;
  /** ISO time of the measurement. */
  readonly date: string;
  /** Load average when the benchmark finished (1 minute): a shared machine shows up here. */
  readonly loadAverage1m: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    backend: currentBackend()?.name ?? 'none',
    date: new Date().toISOString(),
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, backend \`${m.backend}\`, load ${m.loadAverage1m} (1 min), ${m.date}`;
}
