import { fail, type LatencyDevice, type SpaceLatency } from '@metad2a/core';
import type { Nb201Cell } from './cell';
import { nb201Table } from './table';

const NOTE = 'HELP measurement (HayeonLee/HELP data/nasbench201/latency), looked up per cell';

let devices: readonly LatencyDevice[] | undefined;

/** Batch size from HELP's name suffix (`_1`, `_32`, `_256`); the HW-NAS-Bench devices carry none. */
function batchOf(name: string): number | undefined {
  const m = /_(1|32|256)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * NB201's latency knowledge: HELP's measured latency of every one of the 15,625 cells on 27
 * device settings, looked up directly (no model). Every cell has a measurement on every device
 * (checked by the tests); a missing one (NaN) would be a NotFound error naming the cell and the
 * device, never a silently dropped or admitted candidate.
 */
export const nb201Latency: SpaceLatency<Nb201Cell> = Object.freeze({
  devices(): readonly LatencyDevice[] {
    if (devices === undefined) {
      const t = nb201Table();
      devices = Object.freeze(
        t.latencyDevices().map((name) => {
          let minMs = Infinity;
          let maxMs = -Infinity;
          for (let i = 0; i < t.size; i++) {
            const v = t.latency(i, name);
            if (v < minMs) minMs = v;
            if (v > maxMs) maxMs = v;
          }
          const batch = batchOf(name);
          return Object.freeze({ name, ...(batch !== undefined ? { batch } : {}), kind: 'measured' as const, note: NOTE, minMs, maxMs });
        }),
      );
    }
    return devices;
  },
  latencyMs(cell: Nb201Cell, device: string): number {
    const t = nb201Table();
    const v = t.latency(cell, device);
    if (!Number.isFinite(v)) {
      fail('NotFound', {
        source: 'NB201 latency table',
        field: `cell ${t.indexOf(cell)} on ${device}`,
        expected: 'a measured latency',
        got: 'none (HELP has no measurement for this cell)',
      });
    }
    return v;
  },
});
