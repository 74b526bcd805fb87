/**
 * `npm run bench -- tables <nb201|baselines|mbv3|speed> [options]`: the paper's tables with
 * `@metad2a/benchmarks`, written as `<out>/<name>.md|.json|.svg` (default out: bench-results/).
 * Until `metad2a bench <name>` is wired, this is the runnable entry point.
 *
 * Models: official artifacts with `--generator ckpt_400.pt --predictor ckpt_max_corr.pt
 * --features cifar10bylabel.pt`; without them, the repository's fixture weights (official sizes,
 * UNTRAINED: generator gen-nb201, predictor pred-nb201-full hs 512) on seeded synthetic features of
 * the dataset's shape — good for timing and for exercising the code path, not a reproduction.
 *
 *   nb201     --dataset cifar10 [--classes 10] [--candidates 500] [--runs 10] [--resamples 10] [--top 30]
 *   baselines --lookup cifar10 [--budget 200] [--runs 20] [--select valid|test] [--methods random,rea,predictor-exhaustive,metad2a] [--cells N]
 *   mbv3      [--dataset cifar10] [--classes 10] [--candidates 50] [--bound 300] [--random 100]   (candidates: random subnets unless --generator)
 *   speed     [--from a.json,b.json] [--run "kernels:--quick,search:--runs 1,train,meta-train"] [--args="--common args"]
 * Common: --seed N, --out DIR, --backend native|wasm|cpu, --name NAME (output basename).
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Rng, describeBackend, initBackend, modelSpecs, type BackendName, type FeatureSet, type GraphGenerator, type PerfPredictor } from '@metad2a/core';
import { GoldenFixture } from '@metad2a/fixtures';
import { PredictorModel } from '@metad2a/perf-predictor';
import { MBV3_GRAPH_CONFIG, mbv3, type Nb201Dataset } from '@metad2a/search-spaces';
import {
  buildSpeedReport,
  loadByLabelFeatures,
  loadOfficialModels,
  mbv3Markdown,
  nb201BaselinesMarkdown,
  nb201BaselinesSvg,
  nb201ProtocolMarkdown,
  readBenchOutput,
  runBenchScript,
  runMbv3Benchmark,
  runNb201Baselines,
  runNb201Protocol,
  speedMarkdown,
  writeReport,
  type BenchOutput,
} from '@metad2a/benchmarks';
import '@metad2a/tfjs-kernels'; // registers the native backend and the wasm/cpu training kernels (the tfjs way)

const REPO = path.resolve(__dirname, '..', '..');

function flags(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      m.set(a.slice(2, eq), a.slice(eq + 1)); // --args=--quick (a value that itself starts with --)
      continue;
    }
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) m.set(a.slice(2), 'true');
    else {
      m.set(a.slice(2), next);
      i++;
    }
  }
  return m;
}

const DATASET_CLASSES: Record<string, number> = { cifar10: 10, cifar100: 100, mnist: 10, svhn: 10, aircraft: 30, aircraft100: 100, pets: 37 };

/** Seeded synthetic features with the dataset's class count (40 rows per class of the official models' width, 512; a class-specific mean). */
function syntheticFeatures(name: string, classes: number, seed: number): FeatureSet {
  const rng = new Rng(`synthetic/${name}/${seed}`);
  const dim = modelSpecs.get('nb201-official').generator.inputDim;
  return {
    name: `synthetic ${name}-shape`,
    dim,
    classes: Array.from({ length: classes }, (_, c) => {
      const mean = rng.normalArray(dim, 0, 1);
      const data = new Float32Array(40 * dim);
      for (let i = 0; i < data.length; i++) data[i] = mean[i % dim]! + rng.normal();
      return { label: `c${c}`, count: 40, data };
    }),
  };
}

/** The untrained fixture predictors' normalisation: the NB201 setting's (as before the spec registry). */
const FIXTURE_NORMALISATION = () => modelSpecs.get('nb201-official').normalisation!;

function nb201Models(f: Map<string, string>): { generator: GraphGenerator; predictor: PerfPredictor; weights: string } {
  if (f.has('generator') && f.has('predictor')) {
    const m = loadOfficialModels({
      generator: f.get('generator')!,
      predictor: f.get('predictor')!,
      predictorHs: f.has('predictor-hs') ? Number(f.get('predictor-hs')) : undefined,
    });
    return { ...m, weights: `${path.basename(f.get('generator')!)} + ${path.basename(f.get('predictor')!)}` };
  }
  // The fixtures' state_dict.pt files, read like official checkpoints (official sizes, random init).
  const m = loadOfficialModels({
    generator: path.join(REPO, 'fixtures/gen-nb201/state_dict.pt'),
    predictor: path.join(REPO, 'fixtures/pred-nb201-full/state_dict.pt'),
  });
  return { ...m, weights: 'fixture, UNTRAINED (gen-nb201 hs 56 + pred-nb201-full hs 512 state_dict.pt)' };
}

function features(f: Map<string, string>, name: string, seed: number): FeatureSet {
  if (f.has('features')) return loadByLabelFeatures(f.get('features')!, name);
  return syntheticFeatures(name, Number(f.get('classes') ?? DATASET_CLASSES[name] ?? 10), seed);
}

export async function run(args: string[]): Promise<void> {
  const [what = '', ...rest] = args;
  const f = flags(rest);
  const out = path.resolve(f.get('out') ?? path.join(REPO, 'bench-results'));
  const seed = Number(f.get('seed') ?? 0);
  const backend = await initBackend(f.has('backend') ? { prefer: f.get('backend') as BackendName } : {});
  console.error(describeBackend(backend));
  const log = (s: string): void => console.error(s);
  if (what === 'nb201') {
    const dataset = f.get('dataset') ?? 'cifar10';
    const m = nb201Models(f);
    const feats = features(f, dataset, seed);
    const r = await runNb201Protocol({
      generator: m.generator,
      predictor: m.predictor,
      dataset: feats,
      datasetName: dataset,
      weights: `${m.weights}; features: ${feats.name}`,
      candidates: f.has('candidates') ? Number(f.get('candidates')) : undefined,
      runs: f.has('runs') ? Number(f.get('runs')) : undefined,
      resamples: f.has('resamples') ? Number(f.get('resamples')) : undefined,
      topN: f.has('top') ? Number(f.get('top')) : undefined,
      seed,
      onRun: (x) => log(`run ${x.run}: ${x.generationS.toFixed(2)} s + ${x.rankingS.toFixed(2)} s, selected ${x.selected.arch} ${x.selected.accuracy ?? ''}`),
    });
    const files = writeReport(out, f.get('name') ?? `nb201-${dataset}`, { markdown: nb201ProtocolMarkdown([r]), json: r });
    console.log(files.join('\n'));
  } else if (what === 'baselines') {
    const lookup = (f.get('lookup') ?? 'cifar10') as Nb201Dataset;
    const methods = (f.get('methods') ?? 'random,rea').split(',') as ('random' | 'rea' | 'predictor-exhaustive' | 'metad2a')[];
    const needsModels = methods.some((x) => x === 'predictor-exhaustive' || x === 'metad2a');
    const m = needsModels ? nb201Models(f) : undefined;
    const r = await runNb201Baselines({
      lookup,
      methods,
      budget: Number(f.get('budget') ?? 200),
      runs: Number(f.get('runs') ?? 20),
      seed,
      select: (f.get('select') ?? 'valid') as 'valid' | 'test',
      predictor: m?.predictor,
      generator: m?.generator,
      dataset: needsModels ? features(f, lookup === 'imagenet16-120' ? 'imagenet16-120' : lookup, seed) : undefined,
      cells: f.has('cells') ? Array.from({ length: Number(f.get('cells')) }, (_, i) => i) : undefined,
      candidates: f.has('candidates') ? Number(f.get('candidates')) : undefined,
      weights: m?.weights,
      onRun: (method, i) => log(`${method} run ${i} done`),
    });
    const files = writeReport(out, f.get('name') ?? `baselines-${lookup}`, { markdown: nb201BaselinesMarkdown(r), json: r, svg: nb201BaselinesSvg(r) });
    console.log(files.join('\n'));
  } else if (what === 'mbv3') {
    const dataset = f.get('dataset') ?? 'cifar10';
    const feats = features(f, dataset, seed);
    let generator: GraphGenerator | undefined;
    let predictor: PerfPredictor;
    let weights: string;
    if (f.has('generator') && f.has('predictor')) {
      const normalisation = f.has('mean') && f.has('std') ? { mean: Number(f.get('mean')), std: Number(f.get('std')) } : undefined;
      const m = loadOfficialModels({ generator: f.get('generator')!, predictor: f.get('predictor')!, space: 'mbv3', normalisation });
      ({ generator, predictor } = m);
      weights = `${path.basename(f.get('generator')!)} + ${path.basename(f.get('predictor')!)}`;
    } else {
      predictor = new PredictorModel({ graphConfig: MBV3_GRAPH_CONFIG, hs: 64, rng: new Rng(0), normalisation: FIXTURE_NORMALISATION() });
      predictor.loadParameters(GoldenFixture.load('pred-mbv3').params());
      weights = 'fixture predictor pred-mbv3 (hs 64, untrained); candidates: random subnets (the untrained generator yields no valid subnet)';
    }
    const n = Number(f.get('candidates') ?? (generator ? 200 : 50));
    const rng = new Rng(`${seed}/mbv3-candidates`);
    const r = await runMbv3Benchmark({
      predictor,
      generator,
      candidateConfigs: generator ? undefined : Array.from({ length: n }, () => mbv3.sample(rng)),
      candidates: generator ? n : undefined,
      dataset: feats,
      datasetName: dataset,
      weights: `${weights}; features: ${feats.name}`,
      flopsBound: f.has('bound') ? Number(f.get('bound')) : undefined,
      randomSubnets: Number(f.get('random') ?? 100),
      runs: Number(f.get('runs') ?? 1),
      resamples: Number(f.get('resamples') ?? 10),
      seed,
    });
    const files = writeReport(out, f.get('name') ?? `mbv3-${dataset}`, { markdown: mbv3Markdown(r), json: r });
    console.log(files.join('\n'));
  } else if (what === 'speed') {
    const outputs: BenchOutput[] = [];
    for (const file of (f.get('from') ?? '').split(',').filter(Boolean)) outputs.push(readBenchOutput(path.basename(file).replace(/\.json$/, ''), file));
    const extra = (f.get('args') ?? '').split(' ').filter(Boolean);
    for (const item of (f.get('run') ?? '').split(',').filter(Boolean)) {
      // name or name:args (e.g. "search:--runs 1 --only cifar10")
      const [name = '', own = ''] = item.split(':');
      const args = [...extra, ...own.split(' ').filter(Boolean)];
      if (!fs.existsSync(path.join(REPO, 'tools', 'bench', `${name}.ts`))) {
        log(`tools/bench/${name}.ts does not exist (yet): skipped`);
        continue;
      }
      log(`running ${name} …`);
      outputs.push(runBenchScript(REPO, name, args));
    }
    const r = buildSpeedReport(outputs);
    const files = writeReport(out, f.get('name') ?? 'speed', { markdown: speedMarkdown(r), json: { ...r, inputs: outputs } });
    console.log(files.join('\n'));
  } else {
    console.error('usage: npm run bench -- tables <nb201|baselines|mbv3|speed> [options]  (see tools/bench/tables.ts)');
    process.exitCode = 2;
  }
}
