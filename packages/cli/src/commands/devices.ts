import type { Command } from 'commander';
import { searchSpaces, type LatencyDevice } from '@metad2a/core';
import type { CliIo } from '../io';
import { oneOf } from '../options';

interface DevicesFlags {
  space?: string;
  json?: boolean;
}

function deviceTable(devices: readonly LatencyDevice[]): string {
  const rows = devices.map((d) => [d.name, d.batch === undefined ? '-' : String(d.batch), d.kind, d.minMs.toPrecision(4), d.maxMs.toPrecision(4)]);
  const header = ['device', 'batch', 'latency', 'fastest ms', 'slowest ms'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((x, c) => x.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `metad2a devices`: the device settings each registered space knows latencies for (what `search --device` accepts). */
export function registerDevices(program: Command, io: CliIo): void {
  program
    .command('devices')
    .description('list the device settings with latencies (measured or modelled) that search --latency-max/--device accept, per search space')
    .option('--space <name>', `only this search space: ${searchSpaces.names().join(', ')}`, oneOf('--space', searchSpaces.names()))
    .option('--json', 'print one JSON document on stdout: {spaces: [{space, devices: [...]}]}')
    .action((flags: DevicesFlags) => {
      const names = flags.space !== undefined ? [flags.space] : searchSpaces.names();
      const spaces = names.map((name) => ({ space: name, devices: searchSpaces.get(name).latency?.devices() ?? [] }));
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ spaces })}\n`);
        return;
      }
      const blocks = spaces.map(({ space, devices }) => {
        if (devices.length === 0) return `${space}: no latency data`;
        const notes = [...new Set(devices.map((d) => d.note))];
        // one note per device where they differ (a fitted model's held-out error), else once
        const noteLines = notes.length === 1 ? [`source: ${notes[0]}`] : devices.map((d) => `${d.name}: ${d.note}`);
        return [`${space} (${devices.length} device settings, fastest/slowest over the whole space; ms)`, deviceTable(devices), ...noteLines].join('\n');
      });
      io.stdout.write(`${blocks.join('\n\n')}\n`);
    });
}
