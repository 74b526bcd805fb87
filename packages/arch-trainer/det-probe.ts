import { initBackend } from '@metad2a/core';
import { resolveDataset, type ImageDataset as RawImages } from '@metad2a/datasets';
import { getRecipe, taskData, trainArchitecture } from './src/index';
(async () => {
  await initBackend();
  const recipe = getRecipe('nb201-db');
  const images = resolveDataset('source:glyphs-greek') as RawImages;
  const task = { name: 'g/0-9', dataset: 'source:glyphs-greek', classIds: [0,1,2,3,4,5,6,7,8,9] };
  const { train, test } = taskData(images, task, { trainPerClass: 50, testPerClass: 50, inputSize: 16, seed: 5 });
  const arch = '|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|avg_pool_3x3~1|avg_pool_3x3~2|';
  const archs = [arch, '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|'];
  for (const lr of (process.env.LRS ?? '0.1,0.03').split(',').map(Number)) for (const a of archs) {
    const accs: string[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const r = await trainArchitecture({ arch: a, train, test, recipe: { ...recipe, lr, epochs: Number(process.env.EPOCHS ?? recipe.epochs) }, seed });
      accs.push((100 * r.accuracy).toFixed(1));
      r.network.dispose();
    }
    console.log('lr', lr, a.slice(0, 30), accs.join(' '));
  }
})();
