import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { registerBackendTraits, registerGraphDecodeKernel, type GraphDecodeRequest, type GraphDecodeResult } from '@metad2a/core';
import { loadAddon, type NativeAddon } from '../addon';
import { outputBuffers } from './buffer-pool';
import { nativeKernelConfigs } from './kernels';

/** The name the native backend is registered under in tfjs. */
export const NATIVE_BACKEND_NAME = 'native';

export type NativeRegistration = { ok: true; tfName: string } | { ok: false; reason: string };

type DataId = Parameters<MathBackendCPU['readSync']>[0];

/**
 * The cpu backend's storage with the kernel output buffers recycled through `outputBuffers`
 * (see buffer-pool.ts): every data write, read-out and release is reported to the pool.
 */
class NativeBackend extends MathBackendCPU {
  override write(values: Parameters<MathBackendCPU['write']>[0], shape: number[], dtype: tf.DataType): DataId {
    const id = super.write(values, shape, dtype);
    outputBuffers.written(values);
    return id;
  }

  override readSync(dataId: DataId): ReturnType<MathBackendCPU['readSync']> {
    const v = super.readSync(dataId);
    outputBuffers.escape(this.data.get(dataId)?.values);
    return v;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId)!.values : undefined;
    const r = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) outputBuffers.released(values);
    return r;
  }
}

let registered: NativeRegistration | undefined;
let warned = false;

/**
 * Register the `native` tfjs backend: a `MathBackendCPU` (same typed-array storage) with every
 * cpu kernel, and the GEMM / convolution / pooling kernels replaced by the compiled addon.
 * Idempotent; importing the package calls it. When the addon is missing or fails to load it
 * returns `{ ok: false, reason }` and prints one warning (not with `quiet`: the import reports the
 * reason to core's `initBackend` instead); nothing is registered and the other backends keep working.
 */
export function registerNativeBackend(opts: { readonly quiet?: boolean } = {}): NativeRegistration {
  if (registered?.ok && tf.findBackendFactory(NATIVE_BACKEND_NAME)) return registered;
  const loaded = loadAddon();
  if (!loaded.ok) {
    if (!opts.quiet && !warned && !process.env.METAD2A_QUIET_NATIVE) {
      warned = true;
      console.warn(`[@metad2a/tfjs-kernels] native backend unavailable: ${loaded.reason}; using wasm/cpu instead.`);
    }
    registered = { ok: false, reason: loaded.reason };
    return registered;
  }
  const addon = loaded.addon;
  const cpuKernels = tf.getKernelsForBackend('cpu');
  const byName = new Map(cpuKernels.map((k) => [k.kernelName, k] as const));
  const replaced = nativeKernelConfigs(addon, NATIVE_BACKEND_NAME, (name) => byName.get(name));
  const replacedNames = new Set(replaced.map((k) => k.kernelName));
  // values in JS memory (a CPU backend), native softmax and GEMM, tfjs-cpu's slow generic gather
  registerBackendTraits(NATIVE_BACKEND_NAME, { jsMemory: true, fastSoftmax: true, gatherByMatMul: true });
  if (!tf.findBackendFactory(NATIVE_BACKEND_NAME)) {
    tf.registerBackend(
      NATIVE_BACKEND_NAME,
      () => {
        const b = new NativeBackend();
        // MathBackendCPU prints an "install tfjs-node" hint on first use; this backend is the answer to it
        (b as unknown as { firstUse: boolean }).firstUse = false;
        return b;
      },
      0,
    );
  }
  for (const k of cpuKernels) {
    if (!replacedNames.has(k.kernelName) && !tf.getKernel(k.kernelName, NATIVE_BACKEND_NAME)) {
      tf.registerKernel({ ...k, backendName: NATIVE_BACKEND_NAME });
    }
  }
  for (const k of replaced) {
    if (tf.getKernel(k.kernelName, NATIVE_BACKEND_NAME)) tf.unregisterKernel(k.kernelName, NATIVE_BACKEND_NAME);
    tf.registerKernel(k);
  }
  registerGraphDecodeKernel(NATIVE_BACKEND_NAME, (req) => nativeGraphDecode(addon, req));
  registered = { ok: true, tfName: NATIVE_BACKEND_NAME };
  return registered;
}

/** The graph decoding kernel (core's `GraphDecodeKernel` contract) on the addon. */
function nativeGraphDecode(addon: NativeAddon, req: GraphDecodeRequest): GraphDecodeResult {
  const { batch: B, maxN, nvt } = req;
  const out: GraphDecodeResult = {
    types: new Int32Array(B * maxN),
    edges: new Int32Array(B * ((maxN * (maxN - 1)) / 2) * 2),
    edgeCounts: new Int32Array(B),
    typeLogits: new Float32Array(B * Math.max(0, maxN - 2) * nvt),
    edgeProbs: new Float32Array(B * maxN * maxN),
  };
  const rng = req.rngState ?? new Uint32Array(4);
  addon.decodeGraphs(
    req.weights,
    [nvt, maxN, req.startType, req.endType, B, req.rngState ? 1 : 0],
    req.z,
    rng,
    out.types,
    out.edges,
    out.edgeCounts,
    out.typeLogits,
    out.edgeProbs,
  );
  return out;
}

/**
 * What the loaded addon is built with (`gemm`: `openblas` or `builtin-<isa>`, `threads`,
 * `spinMicroseconds`: how long idle kernel threads poll before sleeping, env METAD2A_SPIN_US,
 * `mallocTuned`: glibc keeps big buffers in the heap, see METAD2A_MALLOC_TUNE), or null.
 */
export function nativeInfo(): { gemm: string; threads: number; spinMicroseconds: number; conv8x8: boolean; mallocTuned: boolean; path: string } | null {
  const loaded = loadAddon();
  return loaded.ok ? { ...loaded.addon.info(), path: loaded.path } : null;
}

/** Threads the native kernels use (default: all cores, or env `METAD2A_THREADS`). */
export function setNativeThreads(n: number): number | null {
  const loaded = loadAddon();
  return loaded.ok ? loaded.addon.setThreads(n) : null;
}
