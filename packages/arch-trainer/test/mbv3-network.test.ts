import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend, unwrap } from '@metad2a/core';
import { mbv3, mbv3ConfigFrom, mbv3Cost, type Mbv3Config } from '@metad2a/search-spaces';
import { Mbv3Network } from '../src';

beforeAll(async () => {
  await initBackend({ prefer: 'native' });
});

const config = (ks: number[], e: number[], d: number[]): Mbv3Config => unwrap(mbv3ConfigFrom({ ks, e, d }));
const smallest = config(Array(20).fill(3), Array(20).fill(3), [2, 2, 2, 2, 2]);
const largest = config(Array(20).fill(7), Array(20).fill(6), [4, 4, 4, 4, 4]);

describe('Mbv3Network (OFA MobileNetV3 subnets in tfjs)', () => {
  it('at width 1, 1,000 classes and 224 px has exactly the parameters and FLOPs of mbv3Cost (smallest, largest, 2 random subnets)', () => {
    const rng = new Rng(23);
    const subnets = [smallest, largest, ...Array.from({ length: 2 }, () => mbv3.sample(rng))];
    const seen: [number, number][] = [];
    for (const c of subnets) {
      const net = new Mbv3Network({ config: c, numClasses: 1000 });
      const cost = mbv3Cost(c);
      expect(net.parameterCount()).toBe(cost.params);
      expect(net.macs(224)).toBe(cost.flops);
      expect(net.blockCount).toBe(1 + c.d.reduce((a, b) => a + b, 0));
      seen.push([cost.params, cost.flops]);
      net.dispose();
    }
    // the ends of the space at 224 px: 121.28 and 566.17 MFLOPs
    expect(seen[0]![1]).toBe(121278672);
    expect(seen[1]![1]).toBe(566170656);
  });

  it('other resolutions and class counts: FLOPs still equal mbv3Cost (sizes from the real tensors)', () => {
    const c = mbv3.sample(new Rng(4));
    const net = new Mbv3Network({ config: c, numClasses: 10 });
    for (const r of [160, 192, 32]) expect(net.macs(r)).toBe(mbv3Cost(c, { resolution: r, classes: 10 }).flops);
    expect(net.parameterCount()).toBe(mbv3Cost(c, { classes: 10 }).params);
    net.dispose();
  });

  it('reduced width: every layer narrower, OFA names, forward and training-mode backward without leaks', () => {
    const c = mbv3.sample(new Rng(7));
    const net = new Mbv3Network({ config: c, numClasses: 5, widthMult: 0.25, inChannels: 1 }, new Rng(1));
    const full = new Mbv3Network({ config: c, numClasses: 5, inChannels: 1 }, new Rng(1));
    expect(net.parameterCount()).toBeLessThan(full.parameterCount() / 5);
    full.dispose();
    const names = Object.keys(net.stateDict());
    expect(names).toContain('first_conv.conv.weight');
    expect(names).toContain('blocks.0.conv.depth_conv.conv.weight');
    expect(names).toContain('blocks.1.conv.inverted_bottleneck.bn.running_var');
    expect(names).toContain('final_expand_layer.bn.weight');
    expect(names).toContain('feature_mix_layer.conv.weight');
    expect(names).toContain('classifier.linear.bias');
    // stage 2 has SE
    expect(names.filter((n) => n.includes('.se.fc.reduce.weight')).length).toBe(c.d[1]! + c.d[3]! + c.d[4]!);
    const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const n0 = tf.memory().numTensors;
    const { logits, features } = net.forward(x);
    expect(logits.shape).toEqual([4, 5]);
    expect(features.shape[0]).toBe(4);
    tf.dispose([logits, features]);
    const updates: Parameters<Mbv3Network['applyStatUpdates']>[0] = [];
    const { value, grads } = net.store.valueAndGrads(() => tf.mean(tf.square(net.forward(x, { training: true, statUpdates: updates }).logits)) as tf.Scalar);
    expect(grads.size).toBe(net.store.entries().size);
    for (const g of grads.values()) expect((g.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
    net.applyStatUpdates(updates);
    tf.dispose([value, ...grads.values()]);
    expect(tf.memory().numTensors).toBe(n0);
    x.dispose();
    net.dispose();
  });

  it('native forward and gradients equal the cpu backend’s (depthwise 3/5/7, strides, SE, h-swish)', async () => {
    const c = config([3, 5, 7, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 5, 3, 7], [3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4], [2, 3, 4, 2, 3]);
    const run = (): { logits: Float32Array; grads: Map<string, Float32Array> } => {
      const net = new Mbv3Network({ config: c, numClasses: 3, widthMult: 0.25 }, new Rng(5));
      // 48 px, 4 images: the last stage's train-mode BN sees 4·2·2 values per channel (at 1×1 and 2 images it is ill-conditioned)
      const x = tf.randomNormal([4, 48, 48, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const { value, grads } = net.store.valueAndGrads(() => tf.sum(net.forward(x, { training: true, statUpdates: [] }).logits) as tf.Scalar);
      const logits = tf.tidy(() => net.forward(x).logits.dataSync() as Float32Array);
      const g = new Map([...grads].map(([k, v]) => [k, v.dataSync() as Float32Array]));
      tf.dispose([x, value, ...grads.values()]);
      net.dispose();
      return { logits, grads: g };
    };
    const native = run();
    await initBackend({ prefer: 'cpu' });
    const cpu = run();
    await initBackend({ prefer: 'native' });
    const close = (a: Float32Array, b: Float32Array): number => {
      let m = 0;
      let s = 0;
      for (let i = 0; i < a.length; i++) {
        m = Math.max(m, Math.abs(a[i]! - b[i]!));
        s = Math.max(s, Math.abs(b[i]!));
      }
      // gradients that are 0 analytically (a BN bias feeding a train-mode BN) are float noise on both backends
      return m / Math.max(s, 1e-3);
    };
    expect(close(native.logits, cpu.logits)).toBeLessThan(1e-4);
    const worst = [...cpu.grads].map(([k, g]) => [k, close(native.grads.get(k)!, g)] as const).sort((a, b) => b[1] - a[1]);
    expect(worst[0]![1]).toBeLessThan(1e-3);
  });

  it('refuses invalid subnets and settings with named errors', () => {
    expect(() => new Mbv3Network({ config: { ...smallest, d: [1, 2, 2, 2, 2] } as unknown as Mbv3Config, numClasses: 10 })).toThrow(
      /Mbv3Network config: config: expected a valid OFA-MBv3 subnet/,
    );
    expect(() => new Mbv3Network({ config: smallest, numClasses: 10, widthMult: 2 })).toThrow(/widthMult: expected a number in \(0, 1\], got 2/);
    expect(() => new Mbv3Network({ config: smallest, numClasses: 0 })).toThrow(/numClasses: expected a positive integer, got 0/);
  });
});
