/** Runs fuzz cases for tools/fuzz/main.ts in a worker (so a hang can be stopped and the heap capped). */
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '@metad2a/core';
import { fuzzTargets, runCase } from './targets';

const { scratchRoot } = workerData as { scratchRoot: string };
const targets = fuzzTargets(scratchRoot);
const seeds = new Map(targets.map((t) => [t.format, t.seeds()]));
const port = parentPort!;

initBackend({ prefer: 'cpu' }).then(() => {
  port.on('message', async (m: { i: number; format: string; seedIndex: number; caseSeed: number }) => {
    const t = targets.find((x) => x.format === m.format)!;
    const before = process.memoryUsage();
    const r = await runCase(t, seeds.get(t.format)![m.seedIndex]!, m.caseSeed, path.join(scratchRoot, `case-${process.pid}`));
    const after = process.memoryUsage();
    // growth of the heap and of typed-array memory over the case (what the decoded values still hold)
    const grown = Math.max(0, after.heapUsed - before.heapUsed) + Math.max(0, after.arrayBuffers - before.arrayBuffers);
    port.postMessage({ i: m.i, ...r, grown });
  });
  port.postMessage({ ready: true });
});
