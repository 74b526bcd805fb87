import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@metad2a/core';
import { BufferStore } from '../src/buffers';
import { TinyNetwork, type StatUpdate } from '../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('BufferStore: values set by training reach the variables at the next read', () => {
  it('holds a pending value until get / entries / toNamedArrays / flush, then writes it once', () => {
    const store = new BufferStore();
    const v = store.add('bn.running_mean', [3], Float32Array.from([1, 2, 3]));
    store.setPending('bn.running_mean', Float32Array.from([4, 5, 6]));
    expect(Array.from(store.value('bn.running_mean'))).toEqual([4, 5, 6]);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]); // not yet written
    expect(Array.from(store.get('bn.running_mean').dataSync())).toEqual([4, 5, 6]);
    store.setPending('bn.running_mean', Float32Array.from([7, 8, 9]));
    expect(Array.from(store.toNamedArrays()['bn.running_mean']!.data)).toEqual([7, 8, 9]);
    store.setPending('bn.running_mean', Float32Array.from([0, 0, 1]));
    expect(Array.from(store.entries().get('bn.running_mean')!.dataSync())).toEqual([0, 0, 1]);
    const before = tf.memory().numTensors;
    store.flush(); // nothing pending: no tensor made
    expect(tf.memory().numTensors).toBe(before);
    expect(() => store.setPending('bn.running_mean', new Float32Array(2))).toThrow("'bn.running_mean' holds 3 values, got 2");
    expect(() => store.setPending('nope', new Float32Array(3))).toThrow("no buffer 'nope'");
    store.dispose();
  });

  it('a training step updates the running statistics that inference and the state dict see', () => {
    const net = new TinyNetwork({ arch: '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|', C: 4, N: 1, numClasses: 3 }, new Rng(5));
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const updates: StatUpdate[] = [];
    tf.tidy(() => {
      net.forward(x, { training: true, statUpdates: updates });
    });
    const batchMean = Array.from(updates.find((u) => u.prefix === 'stem.1')!.mean.dataSync());
    net.applyStatUpdates(updates);
    const expected = batchMean.map((m) => Math.fround(Math.fround(0 * Math.fround(0.9)) + Math.fround(m * Math.fround(0.1))));
    expect(Array.from(net.stateDict()['stem.1.running_mean']!.data)).toEqual(expected);
    // inference reads the updated statistics: the same logits as a network loaded with this state
    const copy = new TinyNetwork({ ...net.config }, new Rng(6));
    copy.loadStateDict(net.stateDict());
    const [a, b] = [net, copy].map((n) => tf.tidy(() => n.forward(x).logits.dataSync()));
    expect(Array.from(a!)).toEqual(Array.from(b!));
    x.dispose();
    net.dispose();
    copy.dispose();
  });
});
