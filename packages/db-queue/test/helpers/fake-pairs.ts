/**
 * Pair jobs for the queue mechanics tests: the "training" is a fixed function of the key (so a
 * record's accuracy says which pair made it), the data source a name with a version.
 */
import type { PairJobData, TrainedPair } from '../../src';

export function pairJobs(tasks: number, archs: number, sourceVersion = 'v1'): PairJobData[] {
  const out: PairJobData[] = [];
  for (let t = 0; t < tasks; t++) {
    for (let a = 0; a < archs; a++) {
      out.push({
        format: 'metad2a-pair-job/1',
        key: { task: `toy/t${t}`, space: 'nb201', arch: `arch-${a}`, metric: 'top1-test@fake' },
        pair: { t, a },
        dataset: 'toy',
        sourceVersion,
      });
    }
  }
  return out;
}

/** accuracy = 10·t + a + 0.5 */
export function trainedPairOf(job: PairJobData): TrainedPair {
  const { t, a } = job.pair as { t: number; a: number };
  return {
    dataset: { name: 'toy', source: 'queue test', numClasses: 10 },
    task: { name: job.key.task, dataset: 'toy', classIds: [t % 10, (t + 1) % 10] },
    record: { task: job.key.task, space: job.key.space, arch: job.key.arch, accuracy: 10 * t + a + 0.5, metric: job.key.metric, how: 'test:fake-pairs' },
  };
}
