/**
 * Meta-learning tasks: seeded class subsets of one or more feature sets (as MetaD2A's
 * meta-training tasks are 20-class subsets of ImageNet32, spec §3.4).
 */
import { MetaD2AException, Rng, validationError, type ClassFeatures, type FeatureSet } from '@metad2a/core';

export interface TaskOptions {
  /** Number of tasks. */
  readonly numTasks: number;
  /** Classes per task (MetaD2A: 20). */
  readonly classesPerTask: number;
  /** Every class must have at least this many rows (spec §1.2: 20). */
  readonly minPerClass?: number;
  /** Leave out classes with fewer than `minPerClass` rows instead of failing. */
  readonly dropSmallClasses?: boolean;
  readonly seed?: number;
}

/** A task: a feature set of `classesPerTask` classes, and where each class came from. */
export interface Task extends FeatureSet {
  readonly sources: readonly { readonly set: number; readonly classIndex: number }[];
}

/**
 * `numTasks` tasks, each `classesPerTask` distinct classes drawn uniformly without replacement
 * (a seeded permutation of the pooled classes, then its first `classesPerTask`), in drawn order.
 * Class labels are `<set name>/<label>` when several sets are pooled.
 */
export function makeTasks(sets: readonly FeatureSet[], opts: TaskOptions): Task[] {
  const minPerClass = opts.minPerClass ?? 20;
  if (sets.length === 0) throw new MetaD2AException(validationError({ source: 'makeTasks', field: 'sets', expected: 'at least one feature set', got: '0' }));
  const dim = sets[0]!.dim;
  const pool: { set: number; classIndex: number; c: ClassFeatures }[] = [];
  const small: string[] = [];
  sets.forEach((s, si) => {
    if (s.dim !== dim) throw new MetaD2AException(validationError({ source: 'makeTasks', field: `sets[${si}] (${s.name}).dim`, expected: String(dim), got: String(s.dim) }));
    s.classes.forEach((c, ci) => {
      if (c.count < minPerClass) small.push(`${s.name}: class ${ci} (${c.label}) has ${c.count}`);
      else pool.push({ set: si, classIndex: ci, c });
    });
  });
  if (small.length > 0 && !opts.dropSmallClasses) {
    throw new MetaD2AException(
      validationError({
        source: 'makeTasks',
        field: 'classes',
        expected: `at least ${minPerClass} samples in every class (or dropSmallClasses: true)`,
        got: `${small.length} smaller class(es)`,
        details: small,
      }),
    );
  }
  if (!Number.isInteger(opts.classesPerTask) || opts.classesPerTask < 1 || opts.classesPerTask > pool.length) {
    throw new MetaD2AException(
      validationError({
        source: 'makeTasks',
        field: 'classesPerTask',
        expected: `an integer in 1..${pool.length} (classes with ≥ ${minPerClass} samples)`,
        got: String(opts.classesPerTask),
      }),
    );
  }
  const rng = new Rng(opts.seed ?? 0);
  const prefix = sets.length > 1;
  return Array.from({ length: opts.numTasks }, (_, t) => {
    const chosen = rng
      .permutation(pool.length)
      .slice(0, opts.classesPerTask)
      .map((i) => pool[i]!);
    return {
      name: `task-${t}`,
      dim,
      classes: chosen.map((p) => ({ ...p.c, label: prefix ? `${sets[p.set]!.name}/${p.c.label}` : p.c.label })),
      sources: chosen.map((p) => ({ set: p.set, classIndex: p.classIndex })),
    };
  });
}
