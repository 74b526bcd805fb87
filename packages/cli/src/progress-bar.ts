/**
 * A one-line progress bar with ETA, drawn only on a TTY (nothing is written otherwise, so logs
 * and pipes stay clean).
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private active = false;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, info = ''): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 80 && done < this.total) return;
    this.lastDraw = now;
    this.active = true;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.started) / 1000;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : NaN;
    const etaText = Number.isFinite(eta) ? `ETA ${formatSeconds(eta)}` : '';
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${etaText} ${info}`;
    const cols = this.stream.columns ?? 100;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}`);
  }

  done(): void {
    if (this.active && this.stream.isTTY) this.stream.write('\n');
    this.active = false;
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - 60 * m)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}
