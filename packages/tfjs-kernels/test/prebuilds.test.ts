/**
 * The binaries that ship in the npm package (scripts/prebuild.js): one per instruction-set level,
 * chosen from the CPU's flags; the baseline uses no instruction beyond x86-64 (SSE2), so it runs
 * on any x86-64 CPU. beforeAll brings them up to date (a no-op unless native/ changed).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PREBUILD_LEVELS, loadAddonFile, prebuiltCandidates } from '../src/addon';

const pkgDir = path.resolve(__dirname, '..');
const platformDir = path.join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`);
const isX64Linux = process.platform === 'linux' && process.arch === 'x64';

/** Vector instructions in a binary: VEX/EVEX-only registers (ymm, zmm, opmask k1–k7). */
function vectorRegisters(file: string): { ymm: number; zmm: number; vex: number } {
  const r = spawnSync('objdump', ['-d', '--no-show-raw-insn', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`objdump failed on ${file}: ${r.stderr || r.error}`);
  const lines = r.stdout.split('\n').filter((l) => /^\s+[0-9a-f]+:\t/.test(l));
  return {
    ymm: lines.filter((l) => /%ymm\d/.test(l)).length,
    zmm: lines.filter((l) => /%zmm\d|%k[1-7]\b/.test(l)).length,
    // VEX-encoded SSE/AVX forms all start with v (vmovups, vaddps, vfmadd…) and use %xmm/%ymm/%zmm
    vex: lines.filter((l) => /\tv[a-z0-9]+\s.*%[xyz]mm\d/.test(l)).length,
  };
}

(isX64Linux ? describe : describe.skip)('prebuilt binaries (linux-x64)', () => {
  beforeAll(() => {
    const r = spawnSync(process.execPath, [path.join(pkgDir, 'scripts', 'prebuild.js'), '--quiet'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`prebuild failed: ${r.stderr}`);
  }, 600_000);

  it('exist for every level and are up to date with native/', () => {
    const info = JSON.parse(fs.readFileSync(path.join(platformDir, 'build-info.json'), 'utf8'));
    expect(Object.keys(info.levels).sort()).toEqual(['x86-64', 'x86-64-v3', 'x86-64-v4']);
    expect(info.sources).toEqual(
      fs
        .readdirSync(path.join(pkgDir, 'native'))
        .filter((f) => f.endsWith('.cc'))
        .sort(),
    );
    for (const flags of Object.values(info.levels) as string[][]) expect(flags).not.toContain('-march=native');
  });

  it('the baseline has no AVX/AVX2/AVX-512 instruction; v3 uses AVX2 but no AVX-512; v4 uses AVX-512', () => {
    const base = vectorRegisters(path.join(platformDir, 'metad2a_kernels.x86-64.node'));
    expect(base).toEqual({ ymm: 0, zmm: 0, vex: 0 });
    const v3 = vectorRegisters(path.join(platformDir, 'metad2a_kernels.x86-64-v3.node'));
    expect(v3.ymm).toBeGreaterThan(1000);
    expect(v3.zmm).toBe(0);
    const v4 = vectorRegisters(path.join(platformDir, 'metad2a_kernels.x86-64-v4.node'));
    expect(v4.zmm).toBeGreaterThan(1000);
  });

  it('dispatch picks the best level the CPU flags allow', () => {
    const levels = (flags: string[]) => prebuiltCandidates(new Set(flags), 'linux', 'x64').map((c) => c.level);
    const v3 = PREBUILD_LEVELS.x64!.find((l) => l.level === 'x86-64-v3')!.cpuFlags;
    const v4 = PREBUILD_LEVELS.x64!.find((l) => l.level === 'x86-64-v4')!.cpuFlags;
    expect(levels(['sse2'])).toEqual(['x86-64']);
    expect(levels([...v3])).toEqual(['x86-64-v3', 'x86-64']);
    expect(levels([...v3, ...v4])).toEqual(['x86-64-v4', 'x86-64-v3', 'x86-64']);
    expect(levels(['avx512f', 'avx2'])).toEqual(['x86-64']); // incomplete sets fall to the baseline
    expect(prebuiltCandidates(new Set(), 'linux', 'arm64')).toEqual([]); // no arm64 binary shipped
  });

  it('every level this CPU can run loads and reports its GEMM', () => {
    const runnable = prebuiltCandidates();
    expect(runnable.map((c) => c.level)).toContain('x86-64');
    for (const c of runnable) {
      const r = loadAddonFile(c.file);
      if (!r.ok) throw new Error(r.reason);
      expect(r.addon.info().gemm).toMatch(c.level === 'x86-64-v4' ? /avx512/ : c.level === 'x86-64-v3' ? /avx2/ : /generic/);
    }
  });
});
