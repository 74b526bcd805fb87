/**
 * withLeanSavedTensors (what ParameterStore.valueAndGrads runs its tape under): the same gradients
 * to the bit as tfjs's own saved-tensor clones, no `Identity` kernel per saved tensor, no leaked
 * tensors, tfjs's clone restored afterwards, and higher-order gradients (which differentiate
 * through saved tensors) unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng, initBackend } from '@metad2a/core';
import { ParameterStore, batchNormTrain, reluConvBnTrain, withLeanSavedTensors } from '../src';

/** A small conv → BN → dense loss over the store's parameters (ops that save inputs and outputs). */
function lossOf(store: ParameterStore, x: tf.Tensor4D): tf.Scalar {
  const r = reluConvBnTrain(x, store.get('conv') as tf.Tensor4D, store.get('g1') as tf.Tensor1D, store.get('b1') as tf.Tensor1D, { stride: 1, pad: 1, relu: true, epsilon: 1e-5 });
  const bn = batchNormTrain(tf.avgPool(r.y, 3, 1, 'same'), store.get('g2') as tf.Tensor1D, store.get('b2') as tf.Tensor1D, 1e-5);
  const pooled = tf.mean(tf.relu(tf.add(bn.y, r.y)), [1, 2]) as tf.Tensor2D;
  return tf.sum(tf.square(tf.matMul(pooled, store.get('fc') as tf.Tensor2D))) as tf.Scalar;
}

function makeStore(seed: number): { store: ParameterStore; x: tf.Tensor4D } {
  const rng = new Rng(seed);
  const randn = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => s * rng.normal());
  const store = new ParameterStore();
  store.add('conv', [8, 8, 3, 3], randn(576, 0.3));
  store.add(
    'g1',
    [8],
    randn(8, 0.1).map((v) => v + 1),
  );
  store.add('b1', [8], randn(8, 0.1));
  store.add(
    'g2',
    [8],
    randn(8, 0.1).map((v) => v + 1),
  );
  store.add('b2', [8], randn(8, 0.1));
  store.add('fc', [8, 5], randn(40, 0.3));
  return { store, x: tf.tensor4d(randn(3 * 6 * 6 * 8), [3, 6, 6, 8]) };
}

/** Loss and gradients as bytes, the kernel names run, and the tensors left behind. */
async function run(lean: boolean): Promise<{ bytes: Buffer[]; kernels: string[]; leaked: number }> {
  const { store, x } = makeStore(5);
  const before = tf.memory().numTensors;
  let bytes: Buffer[] = [];
  const profile = await tf.profile(() => {
    const list = store.names().map((n) => store.get(n));
    const { value, grads } = lean ? store.valueAndGrads(() => lossOf(store, x)) : { value: undefined, grads: undefined };
    const plain = lean ? undefined : tf.variableGrads(() => lossOf(store, x), list);
    const v = value ?? plain!.value;
    const gs = grads ? store.names().map((n) => grads.get(n)!) : list.map((p) => plain!.grads[p.name]!);
    bytes = [v, ...gs].map((t) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0)));
    tf.dispose([v, ...gs]);
  });
  const leaked = tf.memory().numTensors - before;
  tf.dispose(x);
  store.dispose();
  return { bytes, kernels: profile.kernels.map((k) => k.name), leaked };
}

describe('withLeanSavedTensors', () => {
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  for (const backend of ['cpu', 'native'] as const) {
    it(`gives tfjs's gradients to the bit without an Identity kernel per saved tensor (${backend})`, async () => {
      await initBackend({ prefer: backend });
      const plain = await run(false);
      const lean = await run(true);
      expect(lean.bytes.length).toBe(7);
      lean.bytes.forEach((b, i) => expect(b.equals(plain.bytes[i]!)).toBe(true));
      // the same kernels in the same order, less one Identity per saved tensor (the ops' own Identities stay)
      const identities = (ks: string[]): number => ks.filter((k) => k === 'Identity').length;
      expect(identities(plain.kernels) - identities(lean.kernels)).toBeGreaterThan(15);
      expect(lean.kernels.filter((k) => k !== 'Identity')).toEqual(plain.kernels.filter((k) => k !== 'Identity'));
      expect(plain.leaked).toBe(0);
      expect(lean.leaked).toBe(0);
      // tfjs's own clone is back (an instance property would shadow the prototype's)
      expect(Object.hasOwn(tf.engine(), 'clone')).toBe(false);
    });
  }

  it('leaves higher-order gradients (through saved tensors) and thrown errors as tfjs has them', async () => {
    await initBackend({ prefer: 'cpu' });
    const x = tf.scalar(2);
    // d²/dx² x³ = 6x: the inner gradient reads tensors its ops saved, the outer one differentiates through them
    const second = withLeanSavedTensors(() => tf.grad(tf.grad((a: tf.Tensor) => tf.mul(tf.square(a), a)))(x));
    expect(second.dataSync()[0]).toBe(12);
    expect(() =>
      withLeanSavedTensors(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(Object.hasOwn(tf.engine(), 'clone')).toBe(false);
    tf.dispose([x, second]);
  });
});
