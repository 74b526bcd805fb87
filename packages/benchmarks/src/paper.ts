/**
 * The numbers the MetaD2A paper / official README report (spec §6), for the "paper" columns of
 * the tables. Nothing here is measured by this package.
 */

/** Target datasets of the NB201 table (spec §1.2, §6). */
export type PaperNb201Dataset = 'cifar10' | 'cifar100' | 'mnist' | 'svhn' | 'aircraft' | 'pets';

export interface PaperNb201Row {
  readonly dataset: PaperNb201Dataset;
  /** Accuracy (%) of the searched architecture, mean ± 95% CI as printed. */
  readonly accuracy: { readonly mean: number; readonly halfWidth: number };
  /** Search time in GPU seconds (RTX 2080 Ti): generation + ranking. */
  readonly searchGpuSeconds: number;
  /** Unique valid candidates generated (spec §3.6: 500 for CIFAR, 50 otherwise). */
  readonly candidates: number;
  /** Selection: CIFAR = oracle among the top 30 (best NB201 test accuracy); others = top-1 trained from scratch, 3 seeds. */
  readonly topN: number;
  /** Independent search runs (CIFAR: 10; others: 1, with 3 training seeds). */
  readonly runs: number;
  /** How the accuracy was obtained. */
  readonly evaluation: 'nb201-lookup' | 'trained-from-scratch';
}

export const PAPER_NB201: Readonly<Record<PaperNb201Dataset, PaperNb201Row>> = {
  cifar10: { dataset: 'cifar10', accuracy: { mean: 94.37, halfWidth: 0.03 }, searchGpuSeconds: 69, candidates: 500, topN: 30, runs: 10, evaluation: 'nb201-lookup' },
  cifar100: { dataset: 'cifar100', accuracy: { mean: 73.51, halfWidth: 0.0 }, searchGpuSeconds: 96, candidates: 500, topN: 30, runs: 10, evaluation: 'nb201-lookup' },
  mnist: { dataset: 'mnist', accuracy: { mean: 99.71, halfWidth: 0.08 }, searchGpuSeconds: 7, candidates: 50, topN: 1, runs: 1, evaluation: 'trained-from-scratch' },
  svhn: { dataset: 'svhn', accuracy: { mean: 96.34, halfWidth: 0.37 }, searchGpuSeconds: 7, candidates: 50, topN: 1, runs: 1, evaluation: 'trained-from-scratch' },
  aircraft: { dataset: 'aircraft', accuracy: { mean: 58.43, halfWidth: 1.18 }, searchGpuSeconds: 10, candidates: 50, topN: 1, runs: 1, evaluation: 'trained-from-scratch' },
  pets: { dataset: 'pets', accuracy: { mean: 41.5, halfWidth: 4.39 }, searchGpuSeconds: 8, candidates: 50, topN: 1, runs: 1, evaluation: 'trained-from-scratch' },
};

/** PC-DARTS, the paper's comparison row (spec §6). */
export const PAPER_PC_DARTS: Readonly<Record<PaperNb201Dataset, { accuracy: { mean: number; halfWidth: number }; searchGpuSeconds: number }>> = {
  cifar10: { accuracy: { mean: 93.66, halfWidth: 0.17 }, searchGpuSeconds: 10395 },
  cifar100: { accuracy: { mean: 66.64, halfWidth: 0.04 }, searchGpuSeconds: 19951 },
  mnist: { accuracy: { mean: 99.66, halfWidth: 0.04 }, searchGpuSeconds: 24857 },
  svhn: { accuracy: { mean: 95.4, halfWidth: 0.67 }, searchGpuSeconds: 31124 },
  aircraft: { accuracy: { mean: 46.08, halfWidth: 7.0 }, searchGpuSeconds: 3524 },
  pets: { accuracy: { mean: 25.31, halfWidth: 1.38 }, searchGpuSeconds: 2844 },
};

export function isPaperNb201Dataset(name: string): name is PaperNb201Dataset {
  return Object.hasOwn(PAPER_NB201, name);
}
