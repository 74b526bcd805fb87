/**
 * From a folder of images to a searchable dataset (run: `npx tsx packages/datasets/examples/folder-to-dataset.ts`).
 *
 * To be self-contained it first writes a small folder of PNGs (3 Fashion-MNIST classes, 30
 * images each) into a temporary directory; point `root` at your own `photos/<class>/*.jpg`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { builtinImages, indicesByClass, loadFeatureSet, resolveDataset, sampleDataset, writeFeatureFile } from '@metad2a/datasets';

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'metad2a-example-'));
  const root = path.join(work, 'photos');
  const fashion = builtinImages('fashion-mnist');
  for (const k of [0, 1, 7]) {
    const cls = fashion.classNames[k]!.replace('/', '-');
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (const i of indicesByClass(fashion)[k]!.slice(0, 30)) {
      const img = fashion.image(i);
      const png = new PNG({ width: img.width, height: img.height });
      img.data.forEach((v, p) => png.data.set([v, v, v, 255], 4 * p));
      fs.writeFileSync(path.join(root, cls, `${i}.png`), PNG.sync.write(png));
    }
  }

  // 1. What is in the folder?
  const src = resolveDataset(root);
  if (src.kind === 'images') console.log(`${src.size} images, classes: ${src.classNames.join(', ')}`);

  // 2. Features (built-in random-conv extractor, 512-d), cached on disk: the second call is instant.
  const cacheDir = path.join(work, 'cache');
  let t = Date.now();
  const features = await loadFeatureSet(root, { extractor: 'random-conv', normalisation: 'fashion-mnist', cacheDir });
  console.log(`extracted ${features.classes.map((c) => c.count).join('+')} × ${features.dim} in ${Date.now() - t} ms`);
  t = Date.now();
  await loadFeatureSet(root, { extractor: 'random-conv', normalisation: 'fashion-mnist', cacheDir });
  console.log(`second run (cache) ${Date.now() - t} ms`);

  // 3. A portable feature file that any tool of this project reads back (`--dataset photos.features.json`).
  const manifest = writeFeatureFile(path.join(work, 'photos'), features);
  console.log(`wrote ${manifest}`);

  // 4. The set encoder's input: 20 rows per class, class-contiguous.
  const sample = await sampleDataset(manifest, { perClass: 20, seed: 0 });
  console.log(`set-encoder input: [${sample.shape.join(', ')}], layout ${JSON.stringify(sample.layout)}`);
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
