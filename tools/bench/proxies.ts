/**
 * `npm run bench -- proxies [--dataset builtin:digits] [--cells 5] [--batch 64] [--C 16] [--N 5] [--input-size 32] [--json]`:
 * cost per cell of the zero-cost proxies of `@metad2a/proxies` (NASWOT on a minibatch of the data
 * set, synflow on one all-ones image), on the NB201 TinyNetwork at 32×32 (`--input-size`), for seeded random cells.
 */
import { Rng, describeBackend, initBackend } from '@metad2a/core';
import { proxyBatch, scoreWithProxy } from '@metad2a/proxies';
import { nb201 } from '@metad2a/search-spaces';
import * as os from 'node:os';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
}

export async function run(args: string[]): Promise<void> {
  const backend = describeBackend(await initBackend());
  const dataset = arg(args, 'dataset', 'builtin:digits');
  const cells = Number(arg(args, 'cells', '5'));
  const size = Number(arg(args, 'batch', '64'));
  const C = Number(arg(args, 'C', '16'));
  const N = Number(arg(args, 'N', '5'));
  const inputSize = Number(arg(args, 'input-size', '32'));
  const rng = new Rng(0);
  const archs = Array.from({ length: cells }, () => nb201.format(nb201.sample(rng)));
  const batch = proxyBatch(dataset, { size, inputSize, seed: 0 });
  const out: Record<string, unknown> = { backend, dataset, cells, batch: size, C, N, load: os.loadavg()[0] };
  for (const proxy of ['naswot', 'synflow']) {
    scoreWithProxy(proxy, archs.slice(0, 1), batch, { numClasses: batch.numClasses, seed: 0, C, N }); // warm-up
    const r = scoreWithProxy(proxy, archs, batch, { numClasses: batch.numClasses, seed: 0, C, N });
    out[proxy] = { msPerCell: r.msPerCell, scores: Array.from(r.scores) };
    if (!args.includes('--json'))
      console.log(
        `${proxy}: ${(r.msPerCell / 1000).toFixed(2)} s per cell (${cells} cells, ${size} images, C ${C}, N ${N}, ${inputSize}×${inputSize}; ${backend}; 1-min load ${os.loadavg()[0]!.toFixed(1)})`,
      );
  }
  out.loadAfter = os.loadavg()[0];
  if (args.includes('--json')) console.log(JSON.stringify(out));
}
