/**
 * MobileNetV3 (OFA) benchmark (spec §4.6–4.7): search with a given MBv3 generator and predictor,
 * select the best-predicted subnet (under a FLOPs bound if one is given, as `--bound` in the
 * official evaluation), and compare OFA's accuracy oracle on it with random subnets at the same
 * FLOPs budget. The oracle is OFA's pretrained ImageNet accuracy predictor (a model estimate,
 * not a measured accuracy).
 *
 * Deviation (documented): the official MBv3 meta-test pools 100 resamples into one set and scores
 * each decoded graph once on that pooled input (spec §4.6, §8 item 16); here candidates come from
 * the search's batched `generateCandidates` and are ranked by its `rankCandidates` averaged over
 * `resamples` resampled datasets, the NB201 way, which is far cheaper on a CPU.
 */
import { Rng, fail, type FeatureSet, type GraphGenerator, type PerfPredictor } from '@metad2a/core';
import { candidatePool, generateCandidates, rankCandidates, type CandidatePool } from '@metad2a/search';
import { formatMbv3, mbv3, mbv3AccuracyOracle, mbv3Cost, type Mbv3AccuracyOracle, type Mbv3Config } from '@metad2a/search-spaces';
import { machineInfo, type MachineInfo } from './environment';
import { meanCI, type MeanCI } from './stats';

export interface Mbv3BenchmarkOptions {
  readonly predictor: PerfPredictor;
  readonly dataset: FeatureSet;
  readonly datasetName: string;
  /** What the weights are; printed with the result. */
  readonly weights: string;
  /** Candidates come from this generator … */
  readonly generator?: GraphGenerator;
  /** … or are given (e.g. to exercise the ranking and evaluation with a generator that cannot yet produce valid subnets). */
  readonly candidateConfigs?: readonly Mbv3Config[];
  /** Unique valid candidates per run (official: 200). */
  readonly candidates?: number;
  readonly runs?: number;
  readonly resamples?: number;
  /** Select the best-predicted candidate with at most this many MFLOPs (official example: 300). */
  readonly flopsBound?: number;
  /** Random subnets drawn per run at the FLOPs budget (default 100). */
  readonly randomSubnets?: number;
  readonly resolution?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  readonly maxAttempts?: number;
  readonly oracle?: Mbv3AccuracyOracle;
}

export interface Mbv3Subnet {
  readonly arch: string;
  readonly mflops: number;
  readonly params: number;
  /** OFA oracle's ImageNet top-1 estimate (%). */
  readonly oracleAccuracy: number;
}

export interface Mbv3RunRecord {
  readonly run: number;
  readonly generationS: number;
  readonly rankingS: number;
  readonly searchS: number;
  readonly pool: number;
  readonly selected: Mbv3Subnet & { readonly rank: number; readonly predictedAccuracy: number };
  readonly random: {
    /** FLOPs budget the random subnets satisfy (the bound, or the selected subnet's FLOPs). */
    readonly budgetMflops: number;
    readonly accuracy: MeanCI;
    readonly mflops: MeanCI;
    /** Fraction of the random subnets the selected one beats on the oracle. */
    readonly beatenFraction: number;
    /** Subnets drawn to get the accepted ones (rejection sampling). */
    readonly drawn: number;
  };
}

export interface Mbv3BenchmarkResult {
  readonly benchmark: 'mbv3';
  readonly dataset: { readonly name: string; readonly classes: number };
  readonly weights: string;
  readonly candidateSource: 'generator' | 'given';
  readonly settings: {
    readonly candidates: number;
    readonly runs: number;
    readonly resamples: number;
    readonly flopsBound: number | null;
    readonly randomSubnets: number;
    readonly resolution: number;
    readonly seed: number;
  };
  readonly runs: readonly Mbv3RunRecord[];
  readonly summary: {
    /** Over runs. */
    readonly selectedAccuracy: MeanCI;
    readonly selectedMflops: MeanCI;
    /** Over all random subnets of all runs (pooled). */
    readonly randomAccuracy: MeanCI;
    readonly searchS: MeanCI;
  };
  readonly machine: MachineInfo;
}

const posInt = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) fail('ValidationError', { source: 'mbv3 benchmark options', field, expected: 'a positive integer', got: String(v) });
  return v;
};

/** Run the MBv3 benchmark (see the module comment); the search's stages hand the event loop back between batches. */
export async function runMbv3Benchmark(opts: Mbv3BenchmarkOptions): Promise<Mbv3BenchmarkResult> {
  if (!opts.generator === !opts.candidateConfigs)
    fail('ValidationError', { source: 'mbv3 benchmark options', field: 'generator/candidateConfigs', expected: 'exactly one of them', got: opts.generator ? 'both' : 'neither' });
  const runs = posInt('runs', opts.runs ?? 1);
  const resamples = posInt('resamples', opts.resamples ?? 10);
  const randomSubnets = posInt('randomSubnets', opts.randomSubnets ?? 100);
  const candidates = opts.candidateConfigs ? opts.candidateConfigs.length : posInt('candidates', opts.candidates ?? 200);
  if (candidates < 1) fail('ValidationError', { source: 'mbv3 benchmark options', field: 'candidateConfigs', expected: 'at least one subnet', got: 'none' });
  const resolution = opts.resolution ?? 224;
  const seed = opts.seed ?? 0;
  const oracle = opts.oracle ?? mbv3AccuracyOracle();
  const describe = (c: Mbv3Config): Mbv3Subnet => {
    const cost = mbv3Cost(c, { resolution });
    return { arch: formatMbv3(c), mflops: cost.mflops, params: cost.params, oracleAccuracy: 100 * oracle.predict(c, resolution) };
  };
  const records: Mbv3RunRecord[] = [];
  const pooled: number[] = [];
  for (let r = 0; r < runs; r++) {
    let pool: CandidatePool<Mbv3Config>;
    let generationS = 0;
    if (opts.generator) {
      const gen = await generateCandidates(opts.generator, opts.dataset, candidates, {
        space: mbv3,
        seed: `${seed}/run${r}/generate`,
        batchSize: opts.batchSize,
        maxAttempts: opts.maxAttempts,
      });
      pool = gen; // MBv3 ranks the decoded graph itself (spec §8 item 17): the space's choice
      generationS = gen.elapsedMs / 1000;
    } else {
      pool = candidatePool(mbv3, opts.candidateConfigs!);
    }
    const configs = pool.architectures;
    const rankResult = await rankCandidates(opts.predictor, opts.dataset, pool, { resamples, seed: `${seed}/run${r}/rank` });
    const ranked = rankResult.ranking;
    const rankingS = rankResult.timings.setEncoding + rankResult.timings.graphEncoding + rankResult.timings.scoring;
    let rank = 0;
    let pick: (typeof ranked)[number] | undefined;
    for (const c of ranked) {
      rank++;
      if (opts.flopsBound === undefined || mbv3Cost(configs[c.index]!, { resolution }).mflops <= opts.flopsBound) {
        pick = c;
        break;
      }
    }
    if (!pick) {
      const least = Math.min(...configs.map((c) => mbv3Cost(c, { resolution }).mflops));
      fail('ValidationError', {
        source: 'mbv3 benchmark',
        field: 'flopsBound',
        expected: `a bound some candidate meets (the smallest has ${least.toFixed(1)} MFLOPs)`,
        got: String(opts.flopsBound),
      });
    }
    const selected = { ...describe(configs[pick.index]!), rank, predictedAccuracy: pick.predictedAccuracy };
    const budget = opts.flopsBound ?? selected.mflops;
    const rng = new Rng(`${seed}/run${r}/random`);
    const accepted: Mbv3Subnet[] = [];
    let drawn = 0;
    const maxDraws = 1000 * randomSubnets;
    while (accepted.length < randomSubnets) {
      if (drawn >= maxDraws)
        fail('ValidationError', {
          source: 'mbv3 benchmark',
          field: 'random subnets',
          expected: `${randomSubnets} random subnets with ≤ ${budget.toFixed(1)} MFLOPs within ${maxDraws} draws`,
          got: String(accepted.length),
        });
      drawn++;
      const c = mbv3.sample(rng);
      if (mbv3Cost(c, { resolution }).mflops <= budget) accepted.push(describe(c));
    }
    pooled.push(...accepted.map((s) => s.oracleAccuracy));
    records.push({
      run: r,
      generationS,
      rankingS,
      searchS: generationS + rankingS,
      pool: configs.length,
      selected,
      random: {
        budgetMflops: budget,
        accuracy: meanCI(accepted.map((s) => s.oracleAccuracy)),
        mflops: meanCI(accepted.map((s) => s.mflops)),
        beatenFraction: accepted.filter((s) => s.oracleAccuracy < selected.oracleAccuracy).length / accepted.length,
        drawn,
      },
    });
  }
  return {
    benchmark: 'mbv3',
    dataset: { name: opts.datasetName, classes: opts.dataset.classes.length },
    weights: opts.weights,
    candidateSource: opts.generator ? 'generator' : 'given',
    settings: { candidates, runs, resamples, flopsBound: opts.flopsBound ?? null, randomSubnets, resolution, seed },
    runs: records,
    summary: {
      selectedAccuracy: meanCI(records.map((r) => r.selected.oracleAccuracy)),
      selectedMflops: meanCI(records.map((r) => r.selected.mflops)),
      randomAccuracy: meanCI(pooled),
      searchS: meanCI(records.map((r) => r.searchS)),
    },
    machine: machineInfo(),
  };
}
