import { MetaD2AException, makeError } from './errors';

/**
 * A long computation written once as a `Generator` that yields a progress value between steps
 * (batches, stages) and returns its result; {@link driveSteps} runs it without blocking the event
 * loop for longer than one step. Tensors a generator holds across a `yield` are released in its
 * `finally` blocks, which run when the driver stops it early (abort, or the consumer's error).
 */
export type Steps<P, R> = Generator<P, R, undefined>;

/** What the caller of a stepwise computation controls: progress reports and cancellation. */
export interface StepControl<P> {
  /** Called after each step with its progress. */
  readonly onProgress?: (progress: P) => void;
  /** Aborting it stops the computation at the next step: the promise rejects with an `Aborted` MetaD2AException. */
  readonly signal?: AbortSignal;
}

/** Where a computation was stopped by its AbortSignal (tag `Aborted`), with the signal's reason. */
export function abortedException(source: string, signal: AbortSignal): MetaD2AException {
  const reason = signal.reason instanceof Error ? signal.reason.message : signal.reason !== undefined ? String(signal.reason) : undefined;
  return new MetaD2AException(makeError('Aborted', { source, got: `aborted by the caller's AbortSignal${reason ? ` (${reason})` : ''}`, cause: signal.reason }));
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Run `steps` to its result, handing the event loop back after every step (so timers, I/O and
 * an abort can run) and reporting each step's progress. A signal aborted before or between steps
 * rejects with {@link abortedException} after the generator's `finally` blocks ran.
 */
export async function driveSteps<P, R>(steps: Steps<P, R>, source: string, control: StepControl<P> = {}): Promise<R> {
  const { signal, onProgress } = control;
  try {
    for (;;) {
      if (signal?.aborted) throw abortedException(source, signal);
      const step = steps.next();
      if (step.done) return step.value;
      onProgress?.(step.value);
      await nextTurn();
    }
  } finally {
    steps.return(undefined as R); // no-op when finished; otherwise runs the generator's finally blocks
  }
}
