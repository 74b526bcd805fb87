/** A one-line progress bar on a TTY stream; silent elsewhere (logs, CI, pipes). */
export type ProgressCallback = (done: number, total: number, info?: string) => void;

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

/**
 * A progress callback that redraws `label [#####-----] done/total pct elapsed eta` at most every
 * 100 ms, and ends the line when `done === total`. Returns undefined when `stream` is not a TTY.
 */
export function ttyProgressBar(label: string, stream: ProgressStream = process.stderr, width = 30): ProgressCallback | undefined {
  if (!stream.isTTY) return undefined;
  const t0 = Date.now();
  let last = 0;
  return (done, total, info) => {
    const now = Date.now();
    if (done < total && now - last < 100) return;
    last = now;
    const frac = total > 0 ? done / total : 1;
    const filled = Math.round(frac * width);
    const secs = (now - t0) / 1000;
    const eta = done > 0 ? (secs * (total - done)) / done : 0;
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${(frac * 100).toFixed(1)}% ${secs.toFixed(1)}s eta ${eta.toFixed(1)}s${info ? ` ${info}` : ''}${done >= total ? '\n' : ''}`,
    );
  };
}
