import * as tf from '@tensorflow/tfjs-core';
import { match } from 'ts-pattern';
import { MetaD2AException, makeError } from './errors';
import { processWide } from './process-wide';

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

const defaultLoad = (m: string): Promise<unknown> => import(m);

function describeLoadError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  return String(e?.message ?? err).split('\n')[0]!;
}

/**
 * What packages that register backends or kernels on import (the tfjs way) tell `initBackend`,
 * process-wide (see {@link processWide}): why a backend is not registered, and the setup a backend
 * needs once its module is loaded (e.g. gradient kernels that wrap its own kernels).
 */
const registrations = processWide('backend-registrations', () => ({
  unavailable: new Map<string, string>(),
  setups: new Map<string, (() => void)[]>(),
}));

/** Record why `backend` is not registered; `initBackend` gives it when it skips or refuses that backend. */
export function reportBackendUnavailable(backend: BackendName, reason: string): void {
  registrations.unavailable.set(backend, reason);
}

/**
 * Run `setup` whenever `initBackend` initialises `backend`, after the backend's module is loaded
 * and before it becomes current (a kernels package adds the gradient kernels wasm lacks this way).
 * A setup that throws makes that backend unusable, with its message as the reason.
 */
export function registerBackendSetup(backend: BackendName, setup: () => void): void {
  const list = registrations.setups.get(backend) ?? [];
  list.push(setup);
  registrations.setups.set(backend, list);
}

/**
 * Import a package that registers a backend or kernels on import, for an application that lists
 * it as optional: true when it loaded; otherwise `initBackend` says why for `backend`.
 */
export async function importBackendPackage(moduleName: string, backend: BackendName, load: (m: string) => Promise<unknown> = defaultLoad): Promise<boolean> {
  try {
    await load(moduleName);
    return true;
  } catch (err) {
    reportBackendUnavailable(backend, `${moduleName}: ${describeLoadError(err)}`);
    return false;
  }
}

function parseBackendName(value: string, source: string): BackendName | 'auto' {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || (BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName | 'auto';
  throw new MetaD2AException(makeError('BackendError', { source, expected: `one of auto, ${BACKEND_NAMES.join(', ')}`, got: JSON.stringify(value) }));
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
    for (const setup of registrations.setups.get(name) ?? []) setup();
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
      // registered by a package on import (the application imports it); core names none
      if (!tf.findBackendFactory('native')) throw new Error(registrations.unavailable.get('native') ?? 'not registered (no imported package registers a native backend)');
      return setOrThrow('native');
    })
    .with('wasm', async () => {
      await tryModules(['@tensorflow/tfjs-backend-wasm']);
      return setOrThrow('wasm');
    })
    .with('cpu', async () => {
      await tryModules(['@tensorflow/tfjs-backend-cpu']);
      return setOrThrow('cpu');
    })
    .exhaustive();
}

let current: BackendChoice | undefined;

/**
 * Pick and initialise the tensor backend: the option `prefer` if given, else the environment
 * variable `METAD2A_BACKEND`, else the first that works of tensorflow > native > wasm > cpu.
 * A forced backend that cannot be used is an error (never a silent fallback). `tensorflow`, `wasm`
 * and `cpu` are tfjs's own packages, imported here when installed; `native` must have been
 * registered by an imported package (see {@link importBackendPackage}).
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
