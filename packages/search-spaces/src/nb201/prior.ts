import type { ArchitectureChoices, ArchitecturePriorScore } from '@metad2a/core';
import { NB201_OPS, type Nb201Cell } from './cell';
import { NB201_DATASETS, nb201Table } from './table';

let scores: Float64Array | undefined;

/** `values` as z-scores over themselves (population standard deviation). */
function standardised(values: ArrayLike<number>): Float64Array {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i]!;
  mean /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i]! - mean) ** 2;
  const sd = Math.sqrt(v / values.length);
  return Float64Array.from(values, (x) => (x - mean) / sd);
}

/** Per table index: the mean over CIFAR-10, CIFAR-100 and ImageNet16-120 of the 200-epoch test accuracy's z-score over all 15,625 cells, standardised again (mean 0, sd 1 over the space). */
function tableScores(): Float64Array {
  if (scores) return scores;
  const table = nb201Table();
  const sum = new Float64Array(table.size);
  for (const d of NB201_DATASETS) {
    const z = standardised(table.column(d, 'testAccuracy'));
    for (let i = 0; i < z.length; i++) sum[i]! += z[i]!;
  }
  scores = standardised(sum);
  return scores;
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

/**
 * A cell's choices as 30 indicators, edge-major (`e1=none`, `e1=skip_connect`, …, `e6=avg_pool_3x3`):
 * what an anchor learns each edge's operation is worth on the records' recipe.
 */
export const nb201Choices: ArchitectureChoices<Nb201Cell> = Object.freeze({
  id: 'nb201:edge-op/1',
  names: Object.freeze(Array.from({ length: 6 * NB201_OPS.length }, (_, j) => `e${Math.floor(j / NB201_OPS.length) + 1}=${NB201_OPS[j % NB201_OPS.length]}`)),
  indicators: (cell: Nb201Cell) => {
    const x = new Float64Array(6 * NB201_OPS.length);
    cell.forEach((op, e) => (x[e * NB201_OPS.length + op] = 1));
    return x;
  },
});
