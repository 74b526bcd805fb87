import type { ArchitecturePriorScore } from '@metad2a/core';
import type { Nb201Cell } from './cell';
import { NB201_DATASETS, nb201Table } from './table';

let scores: Float64Array | undefined;

/** Per table index: the mean over CIFAR-10, CIFAR-100 and ImageNet16-120 of the 200-epoch test accuracy's z-score over all 15,625 cells. */
function tableScores(): Float64Array {
  if (scores) return scores;
  const table = nb201Table();
  const out = new Float64Array(table.size);
  for (const d of NB201_DATASETS) {
    const acc = table.column(d, 'testAccuracy');
    let mean = 0;
    for (const a of acc) mean += a;
    mean /= acc.length;
    let v = 0;
    for (const a of acc) v += (a - mean) ** 2;
    const sd = Math.sqrt(v / acc.length);
    for (let i = 0; i < acc.length; i++) out[i]! += (acc[i]! - mean) / sd / NB201_DATASETS.length;
  }
  // standardise the mean of the three z-scores too (mean 0, sd 1 over the space)
  let m = 0;
  for (const x of out) m += x;
  m /= out.length;
  let v = 0;
  for (const x of out) v += (x - m) ** 2;
  const sd = Math.sqrt(v / out.length);
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - m) / sd;
  scores = out;
  return out;
}

/**
 * NB201's prior score of a cell: how good its benchmark table says it is on the three data sets
 * (200-epoch test accuracies, each z-scored over the space, averaged, standardised again). Cells
 * computing the same function have near-equal table accuracies, so isomorphic cells score alike.
 */
export const nb201Prior: ArchitecturePriorScore<Nb201Cell> = Object.freeze({
  id: 'nb201:test-200ep-mean-z',
  note: "mean over CIFAR-10, CIFAR-100 and ImageNet16-120 of the NB201 table's 200-epoch test-accuracy z-score, standardised over the 15,625 cells",
  score: (cell: Nb201Cell) => tableScores()[nb201Table().indexOf(cell)]!,
});
