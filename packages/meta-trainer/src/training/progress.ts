import * as fs from 'node:fs';
import * as path from 'node:path';

/** One line of the JSON-lines training log. */
export interface TrainingEvent {
  readonly event: 'start' | 'resume' | 'step' | 'epoch' | 'checkpoint' | 'end';
  readonly time: string;
  readonly [key: string]: unknown;
}

/** Appends events to `<file>` as JSON lines (always), and forwards them to a callback. */
export class JsonLinesLog {
  constructor(
    readonly file: string | undefined,
    private readonly onEvent?: (e: TrainingEvent) => void,
  ) {
    if (file) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  }

  write(event: TrainingEvent['event'], fields: Record<string, unknown>): void {
    const e: TrainingEvent = { event, time: new Date().toISOString(), ...fields };
    if (this.file) fs.appendFileSync(this.file, `${JSON.stringify(e)}\n`);
    this.onEvent?.(e);
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** A one-line progress bar (loss, learning rate, ETA) redrawn on a TTY; silent elsewhere. */
export class ProgressBar {
  private readonly started = Date.now();
  private stepsAtStart: number | undefined;
  private last = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream | undefined,
    private readonly totalSteps: number,
  ) {}

  static forMode(mode: 'auto' | 'always' | 'never', totalSteps: number): ProgressBar {
    const tty = process.stderr.isTTY === true;
    return new ProgressBar(mode === 'always' || (mode === 'auto' && tty) ? process.stderr : undefined, totalSteps);
  }

  update(f: { step: number; epoch: number; epochs: number; batch: number; batches: number; loss: number; lr: number }): void {
    if (!this.stream) return;
    this.stepsAtStart ??= f.step - 1;
    const now = Date.now();
    if (now - this.last < 100 && f.batch !== f.batches) return;
    this.last = now;
    const done = f.step - this.stepsAtStart;
    const rate = done / ((now - this.started) / 1000);
    const eta = (this.totalSteps - f.step) / rate;
    const width = 20;
    const filled = Math.round((width * f.batch) / f.batches);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    this.stream.write(
      `\repoch ${f.epoch}/${f.epochs} [${bar}] ${f.batch}/${f.batches}  loss ${f.loss.toPrecision(5)}  lr ${f.lr.toExponential(1)}  ${rate.toFixed(2)} step/s  ETA ${formatSeconds(eta)}   `,
    );
  }

  line(text: string): void {
    if (this.stream) this.stream.write(`\r${text}\n`);
  }
}
