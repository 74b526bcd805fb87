import { spearman } from '@metad2a/core';

/** A record as the statistics need it (a `MetaRecord` of `@metad2a/meta-trainer` fits). */
export interface AccuracyRecord {
  readonly task: string;
  readonly arch: string;
  /** Percent. */
  readonly accuracy: number;
}

export interface DatabaseStats {
  readonly tasks: number;
  readonly archs: number;
  readonly records: number;
  /** Mean over tasks of the accuracy range (max − min over architectures), percent points. */
  readonly meanRange: number;
  /** Mean over tasks of the standard deviation over architectures (population), percent points. */
  readonly meanStd: number;
  /** Range (max − min) of the architectures' mean accuracies over tasks, percent points. */
  readonly archMeanRange: number;
  /** Mean Spearman ρ between the accuracies of the same architectures on two tasks, over task pairs in the same group (e.g. the same dataset); NaN pairs are left out. */
  readonly rankAgreementWithinGroup: number;
  readonly pairsWithinGroup: number;
  /** The same over task pairs from different groups. */
  readonly rankAgreementAcrossGroups: number;
  readonly pairsAcrossGroups: number;
}

/**
 * Spread and cross-task rank agreement of a database: how much accuracies differ between
 * architectures on a task, and whether two tasks order the same architectures alike. `group`
 * names a task's family (default: the part of its name before the last '/', the dataset for
 * tasks made by the database builder). One record per (task, architecture): a pair trained several
 * times is given as one (e.g. its mean, `meanOfReplicates` of `@metad2a/meta-trainer`); of two
 * records of a pair the later one counts.
 */
export function databaseStats(records: readonly AccuracyRecord[], group: (task: string) => string = (t) => t.slice(0, Math.max(0, t.lastIndexOf('/')))): DatabaseStats {
  const byTask = new Map<string, Map<string, number>>();
  const archs = new Set<string>();
  for (const r of records) {
    let m = byTask.get(r.task);
    if (!m) byTask.set(r.task, (m = new Map()));
    m.set(r.arch, r.accuracy);
    archs.add(r.arch);
  }
  let rangeSum = 0;
  let stdSum = 0;
  for (const m of byTask.values()) {
    const v = [...m.values()];
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    rangeSum += Math.max(...v) - Math.min(...v);
    stdSum += Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  }
  const perArch = new Map<string, number[]>();
  for (const m of byTask.values()) for (const [a, v] of m) (perArch.get(a) ?? perArch.set(a, []).get(a)!).push(v);
  const archMeans = [...perArch.values()].map((v) => v.reduce((p, q) => p + q, 0) / v.length);
  const names = [...byTask.keys()];
  const within: number[] = [];
  const across: number[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = byTask.get(names[i]!)!;
      const b = byTask.get(names[j]!)!;
      const common = [...a.keys()].filter((k) => b.has(k));
      const rho = spearman(
        common.map((k) => a.get(k)!),
        common.map((k) => b.get(k)!),
      );
      if (Number.isNaN(rho)) continue;
      (group(names[i]!) === group(names[j]!) ? within : across).push(rho);
    }
  }
  const avg = (x: number[]) => (x.length ? x.reduce((s, v) => s + v, 0) / x.length : NaN);
  return {
    tasks: byTask.size,
    archs: archs.size,
    records: records.length,
    meanRange: byTask.size ? rangeSum / byTask.size : NaN,
    meanStd: byTask.size ? stdSum / byTask.size : NaN,
    archMeanRange: archMeans.length ? Math.max(...archMeans) - Math.min(...archMeans) : NaN,
    rankAgreementWithinGroup: avg(within),
    pairsWithinGroup: within.length,
    rankAgreementAcrossGroups: avg(across),
    pairsAcrossGroups: across.length,
  };
}

/** A record with the training it is (`replicate`, 0: the pair's record), as {@link replicateNoise} needs it. */
export interface ReplicatedRecord extends AccuracyRecord {
  readonly replicate: number;
}

/** Seed noise measured from pairs trained more than once (`db build --replicates`). */
export interface ReplicateNoise {
  /** (task, architecture) pairs with at least two trainings, and their trainings. */
  readonly pairs: number;
  readonly trainings: number;
  /** Standard deviation of one training around its pair's mean, pooled over those pairs (sample variance each), percent points. */
  readonly sd: number;
  /** Mean over tasks of Spearman ρ between the first and the second training of the task's pairs (tasks with ≥ 3 such pairs whose ρ is defined), and how many tasks. */
  readonly seedSpearman: number;
  readonly tasks: number;
}

/**
 * How much one training of a pair says about the pair: the pooled seed noise of pairs trained
 * more than once, and how alike two trainings order a task's cells (the reliability a
 * predictor's within-task targets have; their mean of k trainings has k·ρ/(1 + (k−1)·ρ)).
 */
export function replicateNoise(records: readonly ReplicatedRecord[]): ReplicateNoise {
  const byPair = new Map<string, { task: string; acc: Map<number, number> }>();
  for (const r of records) {
    const k = `${r.task}\u0000${r.arch}`;
    let p = byPair.get(k);
    if (!p) byPair.set(k, (p = { task: r.task, acc: new Map() }));
    p.acc.set(r.replicate, r.accuracy);
  }
  let pairs = 0;
  let trainings = 0;
  let varSum = 0;
  const byTask = new Map<string, { first: number[]; second: number[] }>();
  for (const p of byPair.values()) {
    const v = [...p.acc.values()];
    if (v.length < 2) continue;
    pairs++;
    trainings += v.length;
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    varSum += v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1);
    if (p.acc.has(0) && p.acc.has(1)) {
      let t = byTask.get(p.task);
      if (!t) byTask.set(p.task, (t = { first: [], second: [] }));
      t.first.push(p.acc.get(0)!);
      t.second.push(p.acc.get(1)!);
    }
  }
  const rhos = [...byTask.values()]
    .filter((t) => t.first.length >= 3)
    .map((t) => spearman(t.first, t.second))
    .filter((x) => !Number.isNaN(x));
  return {
    pairs,
    trainings,
    sd: pairs > 0 ? Math.sqrt(varSum / pairs) : NaN,
    seedSpearman: rhos.length ? rhos.reduce((s, x) => s + x, 0) / rhos.length : NaN,
    tasks: rhos.length,
  };
}

/** How well one prior score of architectures (e.g. a benchmark table's) orders each task's records. */
export interface PriorAgreement {
  /** Tasks with at least `minArchs` scored architectures whose ρ is defined. */
  readonly tasks: number;
  /** Mean over those tasks of Spearman ρ between accuracy and prior score. */
  readonly meanSpearman: number;
  /** Share of those tasks with ρ > 0. */
  readonly positiveShare: number;
}

/**
 * Within-task rank agreement of the records with a prior score: unlike the pairwise agreement of
 * {@link databaseStats}, it needs no architecture shared between tasks, so it is defined for a
 * database whose tasks each draw their own cells. `score` returns undefined for an architecture it
 * cannot score (left out).
 */
export function priorAgreement(records: readonly AccuracyRecord[], score: (arch: string) => number | undefined, minArchs = 3): PriorAgreement {
  const byTask = new Map<string, { acc: number[]; prior: number[] }>();
  for (const r of records) {
    const p = score(r.arch);
    if (p === undefined) continue;
    let t = byTask.get(r.task);
    if (!t) byTask.set(r.task, (t = { acc: [], prior: [] }));
    t.acc.push(r.accuracy);
    t.prior.push(p);
  }
  const rhos: number[] = [];
  for (const t of byTask.values()) {
    if (t.acc.length < minArchs) continue;
    const rho = spearman(t.acc, t.prior);
    if (!Number.isNaN(rho)) rhos.push(rho);
  }
  return {
    tasks: rhos.length,
    meanSpearman: rhos.length ? rhos.reduce((s, v) => s + v, 0) / rhos.length : NaN,
    positiveShare: rhos.length ? rhos.filter((v) => v > 0).length / rhos.length : NaN,
  };
}
