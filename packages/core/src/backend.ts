import * as tf from '@tensorflow/tfjs-core';
import { match } from 'ts-pattern';
import { MetaD2AException, makeError } from './errors';

/** Backends in order of preference: libtensorflow, our native kernels, WebAssembly, plain JS. */
export const BACKEND_NAMES = ['tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendAttempt {
  readonly name: BackendName;
  /** Why it was not chosen (not installed, failed to initialise, ...). */
  readonly reason: string;
}

export interface BackendChoice {
  /** The backend in use. */
  readonly name: BackendName;
  /** The name tfjs knows it by (`tf.getBackend()`). */
  readonly tfName: string;
  /** How it was chosen: `auto`, `option` or `env METAD2A_BACKEND`. */
  readonly chosenBy: 'auto' | 'option' | 'env';
  /** Backends tried before it, with the reason each was skipped. */
  readonly skipped: readonly BackendAttempt[];
}

export interface InitBackendOptions {
  /** Force one backend (beats the environment), or `auto` for the preference order. */
  readonly prefer?: BackendName | 'auto';
  /** Environment to read `METAD2A_BACKEND` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Module loader (tests inject one); default: dynamic `import`. */
  readonly load?: (moduleName: string) => Promise<unknown>;
}

/** The module a native-kernels package must export for the `native` backend (see `@metad2a/tfjs-kernels`). */
export interface NativeBackendModule {
  /** Registers the backend under `tfName` with tfjs; returns false (with a reason) if its addon cannot load. */
  registerNativeBackend(): { ok: true; tfName: string } | { ok: false; reason: string };
  /** Optional: registers the training kernels a backend lacks (wasm: conv / depthwise gradients; exact AvgPoolGrad). */
  registerTrainingKernels?(backend: 'wasm' | 'cpu'): unknown;
}

const NATIVE_MODULE = '@metad2a/tfjs-kernels';

function parseBackendName(value: string, source: string): BackendName | 'auto' {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || (BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName | 'auto';
  throw new MetaD2AException(makeError('BackendError', { source, expected: `one of auto, ${BACKEND_NAMES.join(', ')}`, got: JSON.stringify(value) }));
}

const defaultLoad = (m: string): Promise<unknown> => import(m);

function describeLoadError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return String(e?.message ?? err).split('\n')[0]!;
}

/** Try to make one backend current; returns the tfjs name, or throws with a one-line reason. */
async function activate(name: BackendName, load: (m: string) => Promise<unknown>): Promise<string> {
  const tryModules = async (mods: readonly string[]): Promise<void> => {
    const reasons: string[] = [];
    for (const m of mods) {
      try {
        await load(m);
        return;
      } catch (err) {
        reasons.push(`${m}: ${describeLoadError(err)}`);
      }
    }
    throw new Error(reasons.join('; '));
  };
  const setOrThrow = async (tfName: string): Promise<string> => {
    const ok = await tf.setBackend(tfName);
    if (!ok || tf.getBackend() !== tfName) throw new Error(`tfjs could not initialise backend '${tfName}'`);
    return tfName;
  };
  return match(name)
    .with('tensorflow', async () => {
      await tryModules(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
      return setOrThrow('tensorflow');
    })
    .with('native', async () => {
      let mod: Partial<NativeBackendModule>;
      try {
        mod = (await load(NATIVE_MODULE)) as Partial<NativeBackendModule>;
      } catch (err) {
        throw new Error(`${NATIVE_MODULE}: ${describeLoadError(err)}`);
      }
      if (typeof mod.registerNativeBackend !== 'function') throw new Error(`${NATIVE_MODULE} does not provide a native backend yet`);
      const r = mod.registerNativeBackend();
      if (!r.ok) throw new Error(r.reason);
      return setOrThrow(r.tfName);
    })
    .with('wasm', async () => {
      await tryModules(['@tensorflow/tfjs-backend-wasm']);
      await addTrainingKernels('wasm', load);
      return setOrThrow('wasm');
    })
    .with('cpu', async () => {
      await tryModules(['@tensorflow/tfjs-backend-cpu']);
      await addTrainingKernels('cpu', load);
      return setOrThrow('cpu');
    })
    .exhaustive();
}

/** When `@metad2a/tfjs-kernels` is installed, let it add the gradient kernels `backend` lacks (optional; never fails). */
async function addTrainingKernels(backend: 'wasm' | 'cpu', load: (m: string) => Promise<unknown>): Promise<void> {
  try {
    const mod = (await load(NATIVE_MODULE)) as Partial<NativeBackendModule>;
    mod.registerTrainingKernels?.(backend);
  } catch {
    // the kernels package is optional: without it wasm runs inference, cpu trains with tfjs's kernels
  }
}

let current: BackendChoice | undefined;

/**
 * Pick and initialise the tensor backend: the option `prefer` if given, else the environment
 * variable `METAD2A_BACKEND`, else the first that works of tensorflow > native > wasm > cpu.
 * A forced backend that cannot be used is an error (never a silent fallback).
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendChoice> {
  const env = opts.env ?? process.env;
  const load = opts.load ?? defaultLoad;
  let requested: BackendName | 'auto' = 'auto';
  let chosenBy: BackendChoice['chosenBy'] = 'auto';
  if (opts.prefer !== undefined && opts.prefer !== 'auto') {
    requested = parseBackendName(opts.prefer, 'initBackend option prefer');
    chosenBy = 'option';
  } else if (env.METAD2A_BACKEND !== undefined && env.METAD2A_BACKEND !== '') {
    requested = parseBackendName(env.METAD2A_BACKEND, 'environment variable METAD2A_BACKEND');
    chosenBy = requested === 'auto' ? 'auto' : 'env';
  }
  if (requested !== 'auto') {
    try {
      const tfName = await activate(requested, load);
      current = { name: requested, tfName, chosenBy, skipped: [] };
      return current;
    } catch (err) {
      throw new MetaD2AException(
        makeError('BackendError', {
          source: chosenBy === 'env' ? 'environment variable METAD2A_BACKEND' : 'initBackend option prefer',
          expected: `backend '${requested}' to be usable`,
          got: (err as Error).message,
          cause: err,
        }),
      );
    }
  }
  const skipped: BackendAttempt[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const tfName = await activate(name, load);
      current = { name, tfName, chosenBy: 'auto', skipped };
      return current;
    } catch (err) {
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  throw new MetaD2AException(makeError('BackendError', { source: 'initBackend', expected: 'at least one usable backend', details: skipped.map((s) => `${s.name}: ${s.reason}`) }));
}

/** The last choice made by {@link initBackend}, if any. */
export function currentBackend(): BackendChoice | undefined {
  return current;
}

/** One line for logs and the CLI: `backend: wasm (auto; skipped tensorflow: not installed, ...)`. */
export function describeBackend(choice: BackendChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  const how = choice.chosenBy === 'env' ? 'from METAD2A_BACKEND' : choice.chosenBy === 'option' ? 'requested' : 'auto';
  return `backend: ${choice.name} (${how}${skipped ? `; skipped ${skipped}` : ''})`;
}
