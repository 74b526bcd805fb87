/**
 * The addon's GEMM against a float64 JS reference, for every GEMM variant that was built: the
 * loaded addon, every prebuilt binary this CPU can run (the shipped baseline / AVX2 / AVX-512
 * levels), and for a local machine-tuned build (`npm run build:addon`) the other GEMM variant
 * built next to it when the build machine has OpenBLAS (libopenblas-dev).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Rng } from '@metad2a/core';
import { loadAddon, loadAddonFile, localAddonPath, prebuiltCandidates, type NativeAddon } from '../src/addon';

const rng = new Rng(7);
function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function variants(): [string, NativeAddon][] {
  const main = loadAddon();
  if (!main.ok) throw new Error(`native addon did not build or load — ${main.reason}`);
  const out: [string, NativeAddon][] = [[main.addon.info().gemm, main.addon]];
  for (const v of ['builtin', 'openblas']) {
    const file = path.join(path.dirname(localAddonPath()), `metad2a_kernels_${v}.node`);
    if (fs.existsSync(file)) {
      const addon = createRequire(__filename)(file) as NativeAddon;
      out.push([addon.info().gemm, addon]);
    }
  }
  for (const c of prebuiltCandidates()) {
    const r = loadAddonFile(c.file);
    if (!r.ok) throw new Error(r.reason);
    out.push([`prebuilt ${c.level}: ${r.addon.info().gemm}`, r.addon]);
  }
  return out;
}

describe('GEMM variants', () => {
  const all = variants();

  (fs.existsSync(localAddonPath()) ? it : it.skip)('local build: variants as its build report says', () => {
    const infoFile = path.join(path.dirname(localAddonPath()), 'build-info.json');
    const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { blas: string; variants: string[] };
    expect(info.variants[0]).toBe(info.blas);
    const local = all.filter((v) => !v[0].startsWith('prebuilt'));
    expect(local.map((v) => v[0].replace(/^builtin-.*/, 'builtin'))).toEqual(info.variants);
  });

  it('match a float64 reference on odd sizes, transposes, batches and stride-0 broadcast', () => {
    const cases: [number, number, number, number, boolean, boolean, boolean][] = [
      // batch, m, n, k, transA, transB, broadcast b
      [1, 1, 1, 1, false, false, false],
      [1, 13, 17, 300, false, false, false],
      [1, 33, 7, 5, true, false, false],
      [1, 29, 47, 31, false, true, false],
      [1, 70, 65, 259, true, true, false],
      [3, 12, 40, 9, false, false, true],
      [2, 257, 33, 130, false, true, false],
    ];
    for (const [name, addon] of all) {
      for (const [batch, m, n, k, ta, tb, bcast] of cases) {
        const a = randn(batch * m * k);
        const b = randn((bcast ? 1 : batch) * k * n);
        const out = new Float32Array(batch * m * n);
        addon.matmul(a, b, out, batch, m * k, bcast ? 0 : k * n, m, n, k, ta, tb);
        let worst = 0;
        for (let p = 0; p < batch; p++) {
          const ao = p * m * k;
          const bo = bcast ? 0 : p * k * n;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let t = 0; t < k; t++) s += a[ao + (ta ? t * m + i : i * k + t)]! * b[bo + (tb ? j * k + t : t * n + j)]!;
              worst = Math.max(worst, Math.abs(s - out[p * m * n + i * n + j]!) / Math.sqrt(k));
            }
          }
        }
        if (worst > 2e-5) throw new Error(`${name} GEMM ${batch}x${m}x${n}x${k} tA=${ta} tB=${tb}: error ${worst}`);
      }
    }
  });
});
