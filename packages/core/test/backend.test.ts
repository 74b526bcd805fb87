import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, isMetaD2AException } from '../src';

const realImport = (m: string): Promise<unknown> => import(m);
const notFound = (m: string): Promise<unknown> => Promise.reject(Object.assign(new Error(`Cannot find module '${m}'`), { code: 'MODULE_NOT_FOUND' }));
/** The loader of an install without @metad2a/tfjs-kernels. */
const withoutKernels = (m: string): Promise<unknown> => (m === '@metad2a/tfjs-kernels' ? notFound(m) : realImport(m));

describe('initBackend', () => {
  it('picks the native backend when @metad2a/tfjs-kernels and its addon are there', async () => {
    const choice = await initBackend({ env: {} });
    expect(choice.name).toBe('native');
    expect(tf.getBackend()).toBe('native');
    expect(describeBackend(choice)).toMatch(/^backend: native \(auto; skipped tensorflow/);
  });

  it('falls back past tensorflow and native to wasm without them, and reports why', async () => {
    const choice = await initBackend({ env: {}, load: withoutKernels });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.chosenBy).toBe('auto');
    expect(choice.skipped.map((s) => s.name)).toEqual(['tensorflow', 'native']);
    expect(choice.skipped[0]!.reason).toMatch(/@tensorflow\/tfjs-node-gpu: not installed/);
    expect(describeBackend(choice)).toMatch(/^backend: wasm \(auto; skipped tensorflow/);
  });

  it('falls back to cpu when wasm cannot load', async () => {
    const load = (m: string): Promise<unknown> => (m.includes('wasm') ? notFound(m) : withoutKernels(m));
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
