/**
 * An architecture prior from scratch to file (the CLI's `prior`, the default model's build): the
 * samples of the chosen sources (of one space), a held-out share of cells, a fresh predictor of
 * that space pre-trained on the rest, saved for `meta-train --prior` (or loaded into a model, as
 * the MBv3 default model's build does).
 */
import { Rng, searchSpaces } from '@metad2a/core';
import { PredictorModel } from '@metad2a/perf-predictor';
import '@metad2a/search-spaces';
import {
  architecturePriorSamples,
  priorSpace,
  pretrainArchitecturePrior,
  saveArchitecturePrior,
  splitPriorSamples,
  PRIOR_SOURCES,
  type ArchitecturePrior,
  type PriorEpoch,
  type PriorSource,
} from './architecture-prior';

export interface ArchitecturePriorFileOptions {
  /** Predictor hidden size (must equal meta-training's; default the official setting's). */
  readonly predictorHs?: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Share of the cells' isomorphism classes kept out of training to measure held-out Spearman (0: none). */
  readonly heldOutFraction: number;
  /** Sources of one space; default NB201's (`PRIOR_SOURCES`). */
  readonly sources?: readonly PriorSource[];
  /** `ofa:imagenet-oracle`: subnets drawn and scored (default `DEFAULT_ORACLE_SAMPLES`), with `seed`. */
  readonly oracleSamples?: number;
  readonly seed: number;
  readonly onEpoch?: (e: PriorEpoch) => void;
}

/** Pre-train an architecture prior and write it to `out`; returns it with the number of held-out samples. */
export async function trainArchitecturePriorFile(out: string, o: ArchitecturePriorFileOptions): Promise<{ readonly prior: ArchitecturePrior; readonly heldOutSamples: number }> {
  const sources = o.sources ?? PRIOR_SOURCES;
  const all = architecturePriorSamples({ sources, seed: o.seed, ...(o.oracleSamples !== undefined ? { oracleSamples: o.oracleSamples } : {}) });
  const { train, heldOut } = splitPriorSamples(all, { heldOutFraction: o.heldOutFraction, seed: o.seed });
  // the model's own normalisation is unused: the prior normalises each source's accuracies itself
  const predictor = new PredictorModel({
    graphConfig: searchSpaces.get(priorSpace(sources)).graphConfig,
    hs: o.predictorHs,
    rng: new Rng(o.seed),
    normalisation: { mean: 0, std: 1 },
  });
  try {
    const prior = await pretrainArchitecturePrior(predictor, train, { epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, seed: o.seed, heldOut, onEpoch: o.onEpoch });
    saveArchitecturePrior(out, predictor, prior, { heldOutFraction: o.heldOutFraction, seed: o.seed });
    return { prior, heldOutSamples: heldOut.length };
  } finally {
    predictor.dispose();
  }
}
