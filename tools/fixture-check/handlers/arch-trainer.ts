import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@metad2a/core';
import { checkTensor } from '@metad2a/fixtures';
import { TinyNetwork } from '@metad2a/arch-trainer';
import type { FixtureHandler } from '../handler';
import { paramsFor } from '../weights';

/** tinynet-nb201: the NB201 TinyNetwork (spec §3.7) in eval mode, two cells, logits and pooled features. */
export const handler: FixtureHandler = {
  fixtures: ['tinynet-nb201'],
  packageName: '@metad2a/arch-trainer',
  async run(target, opts) {
    if (target.kind !== 'folder') throw new Error('tinynet-nb201 is a fixture folder');
    const fx = target.fixture;
    const cfg = fx.manifest.config as { C: number; N: number; num_classes: number };
    const models = (fx.manifest as unknown as { models: Array<{ prefix: string; arch_str: string }> }).models;
    const x = fx.tensor('input.x');
    const checks = [];
    for (const m of models) {
      const net = new TinyNetwork({ arch: m.arch_str, C: cfg.C, N: cfg.N, numClasses: cfg.num_classes }, new Rng(0));
      net.loadStateDict(await paramsFor(target, m.prefix, opts), `${fx.name} ${m.prefix}*`);
      // the fixture input is NCHW (PyTorch); the network takes NHWC
      const input = tf.tidy(() => tf.transpose(tf.tensor4d(x.data, x.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
      const { features, logits } = net.forward(input);
      checks.push(checkTensor(fx, `expected.${m.prefix}logits`, logits.dataSync()));
      checks.push(checkTensor(fx, `expected.${m.prefix}features`, features.dataSync()));
      tf.dispose([input, features, logits]);
      net.dispose();
    }
    return checks;
  },
};
