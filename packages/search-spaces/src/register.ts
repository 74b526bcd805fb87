import { searchSpaces } from '@metad2a/core';
import { mbv3 } from './mbv3/space';
import { nb201 } from './nb201/space';

/**
 * Register `nb201` and `mbv3` in core's `searchSpaces` registry. Idempotent: a name already
 * bound to this package's space is left alone; a name bound to something else is not replaced
 * (the user's own registration wins).
 */
export function registerSearchSpaces(): void {
  searchSpaces.registerDefault('nb201', nb201, { description: 'NAS-Bench-201 cells (15,625; 8-vertex graphs, nvt 7)' });
  searchSpaces.registerDefault('mbv3', mbv3, { description: 'OFA MobileNetV3 subnets {ks[20], e[20], d[5]} (22-vertex chains, nvt 29)' });
}
