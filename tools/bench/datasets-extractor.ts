/**
 * `npm run bench -- datasets-extractor [--dataset fashion-mnist|mnist|digits] [--n 2000] [--seed 0] [--json]`:
 * how well the built-in `random-conv` extractor separates classes, against raw pixels.
 *
 * Data: a shipped data set (default the Fashion-MNIST test split, 10,000 images). The first half of
 * each class gives the class centroids, the second half is classified by its nearest centroid
 * (Euclidean). `--n` limits the images used per half (default 5,000 + 5,000). Also reports
 * extraction speed (wall clock and process CPU time).
 */
import * as os from 'node:os';
import { builtinImages, createExtractor, preprocessInto, preprocessingFor, indicesByClass } from '@metad2a/datasets';

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
}

/** Nearest-centroid accuracy: centroids from `train` rows, accuracy on `test` rows. */
export function nearestCentroidAccuracy(x: Float32Array, dim: number, labels: Int32Array, train: number[], test: number[], classes: number): number {
  const cent = new Float64Array(classes * dim);
  const cnt = new Float64Array(classes);
  for (const i of train) {
    const c = labels[i]!;
    cnt[c]!++;
    for (let j = 0; j < dim; j++) cent[c * dim + j]! += x[i * dim + j]!;
  }
  for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) cent[c * dim + j]! /= cnt[c]! || 1;
  let ok = 0;
  for (const i of test) {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < classes; c++) {
      let d = 0;
      for (let j = 0; j < dim; j++) {
        const t = x[i * dim + j]! - cent[c * dim + j]!;
        d += t * t;
      }
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    if (best === labels[i]) ok++;
  }
  return ok / test.length;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const n = Number(arg(args, 'n', '5000'));
  const seed = Number(arg(args, 'seed', '0'));
  const name = arg(args, 'dataset', 'fashion-mnist');
  const ds = builtinImages(name);
  const byClass = indicesByClass(ds);
  const train: number[] = [];
  const test: number[] = [];
  const perClass = Math.floor(n / ds.classNames.length);
  for (const idx of byClass) {
    const half = Math.floor(idx.length / 2);
    train.push(...idx.slice(0, Math.min(half, perClass)));
    test.push(...idx.slice(half, half + Math.min(idx.length - half, perClass)));
  }
  const use = [...train, ...test];
  const prep = preprocessingFor(name as 'mnist');
  const px = 32 * 32 * 3;
  const pixels = new Float32Array(ds.size * px);
  for (const i of use) preprocessInto(ds.image(i), prep, pixels, i * px);
  const ext = await createExtractor('random-conv', { seed });
  const feats = new Float32Array(ds.size * ext.dim);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const B = 100;
  for (let s = 0; s < use.length; s += B) {
    const ids = use.slice(s, s + B);
    const batch = new Float32Array(ids.length * px);
    ids.forEach((i, k) => batch.set(pixels.subarray(i * px, (i + 1) * px), k * px));
    const f = await ext.extract(batch, ids.length);
    ids.forEach((i, k) => feats.set(f.subarray(k * ext.dim, (k + 1) * ext.dim), i * ext.dim));
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  ext.dispose();
  const accFeat = nearestCentroidAccuracy(feats, ext.dim, ds.labels, train, test, 10);
  const rawDim = ds.image(0).data.length;
  const raw = new Float32Array(ds.size * rawDim);
  for (const i of use) {
    const im = ds.image(i).data;
    for (let j = 0; j < rawDim; j++) raw[i * rawDim + j] = im[j]! / 255;
  }
  const accRaw = nearestCentroidAccuracy(raw, rawDim, ds.labels, train, test, 10);
  const accPix = nearestCentroidAccuracy(pixels, px, ds.labels, train, test, 10);
  const result = {
    data: `builtin:${name}`,
    centroidImages: train.length,
    testImages: test.length,
    nearestCentroid: { randomConv512: accFeat, rawPixels: accRaw, rawPixelDim: rawDim, preprocessedPixels3072: accPix },
    extractImagesPerSecondWall: use.length / secs,
    extractImagesPerCpuSecond: use.length / cpuSecs,
    loadAverage: os.loadavg()[0],
  };
  if (json) console.log(JSON.stringify(result));
  else console.log(result);
}
