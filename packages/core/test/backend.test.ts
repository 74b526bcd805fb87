import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { describeBackend, importBackendPackage, initBackend, isMetaD2AException, registerBackendSetup, reportBackendUnavailable } from '../src';

const realImport = (m: string): Promise<unknown> => import(m);
const notFound = (m: string): Promise<unknown> => Promise.reject(Object.assign(new Error(`Cannot find module '${m}'`), { code: 'MODULE_NOT_FOUND' }));

// No package registers a native backend in core's tests (jest.config.js): these tests play that package.
describe('initBackend', () => {
  it('without a registered native backend: falls back past tensorflow and native to wasm, and reports why', async () => {
    const choice = await initBackend({ env: {} });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.chosenBy).toBe('auto');
    expect(choice.skipped.map((s) => s.name)).toEqual(['tensorflow', 'native']);
    expect(choice.skipped[0]!.reason).toMatch(/@tensorflow\/tfjs-node-gpu: not installed/);
    expect(choice.skipped[1]!.reason).toBe('not registered (no imported package registers a native backend)');
    expect(describeBackend(choice)).toMatch(/^backend: wasm \(auto; skipped tensorflow/);
  });

  it('an optional package that is not installed: importBackendPackage says so, and a forced native backend is a clear error naming it', async () => {
    expect(await importBackendPackage('@example/native-kernels', 'native', notFound)).toBe(false);
    const err = await initBackend({ prefer: 'native', env: {} }).catch((e: unknown) => e);
    expect(isMetaD2AException(err, 'BackendError')).toBe(true);
    expect((err as Error).message).toBe("initBackend option prefer: expected backend 'native' to be usable, got @example/native-kernels: not installed");
    reportBackendUnavailable('native', 'addon: wrong CPU');
    expect((await initBackend({ env: {} })).skipped[1]).toEqual({ name: 'native', reason: 'addon: wrong CPU' });
  });

  it('picks a native backend a package registered on import, and runs the setups packages registered for a backend', async () => {
    const setups: string[] = [];
    registerBackendSetup('native', () => setups.push('native'));
    registerBackendSetup('cpu', () => setups.push('cpu'));
    tf.registerBackend('native', () => new MathBackendCPU(), 0); // what a kernels package does when imported
    try {
      const choice = await initBackend({ env: {} });
      expect(choice.name).toBe('native');
      expect(tf.getBackend()).toBe('native');
      expect(describeBackend(choice)).toMatch(/^backend: native \(auto; skipped tensorflow/);
      await initBackend({ prefer: 'cpu' });
      expect(setups).toEqual(['native', 'cpu']);
    } finally {
      await initBackend({ prefer: 'cpu' });
      tf.removeBackend('native');
    }
  });

  it('falls back to cpu when wasm cannot load', async () => {
    const load = (m: string): Promise<unknown> => (m.includes('wasm') ? notFound(m) : realImport(m));
    const choice = await initBackend({ env: {}, load });
    expect(choice.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(choice.skipped.find((s) => s.name === 'wasm')!.reason).toMatch(/not installed/);
  });

  it('honours METAD2A_BACKEND', async () => {
    const choice = await initBackend({ env: { METAD2A_BACKEND: 'cpu' } });
    expect(choice).toMatchObject({ name: 'cpu', chosenBy: 'env' });
    expect(tf.getBackend()).toBe('cpu');
    const back = await initBackend({ env: { METAD2A_BACKEND: 'WASM' } });
    expect(back.name).toBe('wasm');
  });

  it('the prefer option beats the environment', async () => {
    const choice = await initBackend({ prefer: 'cpu', env: { METAD2A_BACKEND: 'wasm' } });
    expect(choice).toMatchObject({ name: 'cpu', chosenBy: 'option' });
  });

  it('rejects a bad value with a clear error', async () => {
    await expect(initBackend({ env: { METAD2A_BACKEND: 'gpu' } })).rejects.toThrow(
      /environment variable METAD2A_BACKEND: expected one of auto, tensorflow, native, wasm, cpu, got "gpu"/,
    );
  });

  it('a forced backend that is not available is an error, not a silent fallback', async () => {
    const err = await initBackend({ env: { METAD2A_BACKEND: 'tensorflow' } }).catch((e) => e);
    expect(isMetaD2AException(err, 'BackendError')).toBe(true);
    expect(String(err.message)).toMatch(/backend 'tensorflow' to be usable, got .*not installed/);
  });
});
