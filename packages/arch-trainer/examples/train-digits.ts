// Train one NB201 cell on a 4-class task of the built-in sklearn digits, save it, load it back.
// Run from the repository root: npx tsx packages/arch-trainer/examples/train-digits.ts
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@metad2a/core';
import { resolveDataset, type ImageDataset as RawImages } from '@metad2a/datasets';
import { evaluate, getRecipe, loadNetwork, saveNetwork, taskData, trainArchitecture } from '@metad2a/arch-trainer';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

(async () => {
  const backend = await initBackend(); // native (tfjs-kernels) when built; do not use wasm for training (no conv gradients)
  const digits = resolveDataset('builtin:digits') as RawImages;
  const task = { name: 'digits/0-1-2-3', dataset: 'builtin:digits', classIds: [0, 1, 2, 3] };
  const recipe = getRecipe('tiny', { epochs: 5, batchSize: 32 }); // C 4, N 1, 8×8 inputs
  const { train, test } = taskData(digits, task, { trainPerClass: 60, testPerClass: 40, inputSize: recipe.inputSize!, seed: 1 });

  const arch = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const result = await trainArchitecture({
    arch,
    train,
    test,
    recipe,
    seed: 777,
    onProgress: (p) => {
      if (p.phase === 'train' && p.step % 8 === 0)
        console.log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} lr ${p.lr.toFixed(4)} eta ${(p.etaMs / 1000).toFixed(1)}s`);
    },
  });
  console.log(`backend ${backend.name}: test accuracy ${(100 * result.accuracy).toFixed(1)}% after ${result.steps} steps, ${result.network.parameterCount()} parameters`);

  saveNetwork('/tmp/digits-net.ckpt', result.network, { recipe, info: { accuracy: result.accuracy, task: task.name } });
  const { network, meta } = loadNetwork('/tmp/digits-net.ckpt');
  console.log(`reloaded ${meta.config.arch}: accuracy ${(100 * evaluate(network, test, recipe).accuracy).toFixed(1)}%`);

  // predict the first 5 test images (NHWC float32, preprocessed like the training data)
  const x = tf.tensor4d(test.images.subarray(0, 5 * 8 * 8 * 3), [5, 8, 8, 3]);
  const { logits } = network.forward(x);
  console.log('predicted', Array.from(tf.argMax(logits, 1).dataSync()), 'true', Array.from(test.labels.slice(0, 5)));
  tf.dispose([x, logits]);
  network.dispose();
  result.network.dispose();
})();
