/**
 * `torch.optim.lr_scheduler.ReduceLROnPlateau` with torch's semantics (mode, relative/absolute
 * threshold, patience, cooldown, min_lr, eps), as a small state machine over one learning rate.
 *
 * torch: a value is an improvement when `a < best·(1 − threshold)` (min, rel), `a < best − threshold`
 * (min, abs), `a > best·(1 + threshold)` (max, rel) or `a > best + threshold` (max, abs). After
 * more than `patience` epochs without improvement the rate becomes max(lr·factor, minLr), unless
 * that changes it by no more than `eps`; then `cooldown` epochs are not counted.
 */
export interface PlateauOptions {
  readonly mode?: 'min' | 'max';
  readonly factor?: number;
  readonly patience?: number;
  readonly threshold?: number;
  readonly thresholdMode?: 'rel' | 'abs';
  readonly cooldown?: number;
  readonly minLr?: number;
  readonly eps?: number;
}

export interface PlateauState {
  readonly best: number | null; // null = ±infinity (JSON has no Infinity)
  readonly numBadEpochs: number;
  readonly cooldownCounter: number;
  readonly lastEpoch: number;
}

export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  private best: number;
  private numBadEpochs = 0;
  private cooldownCounter = 0;
  private lastEpoch = 0;

  /** Defaults are torch's (mode min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0, min_lr 0, eps 1e-8). */
  constructor(opts: PlateauOptions = {}) {
    this.mode = opts.mode ?? 'min';
    this.factor = opts.factor ?? 0.1;
    if (!(this.factor < 1)) throw new RangeError(`ReduceLROnPlateau: factor should be < 1.0, got ${this.factor}`);
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    this.cooldown = opts.cooldown ?? 0;
    this.minLr = opts.minLr ?? 0;
    this.eps = opts.eps ?? 1e-8;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < this.best * (1 - this.threshold) : a < this.best - this.threshold;
    return this.thresholdMode === 'rel' ? a > this.best * (1 + this.threshold) : a > this.best + this.threshold;
  }

  /** Feed one epoch's metric; returns the (possibly reduced) learning rate. */
  step(metric: number, lr: number): number {
    this.lastEpoch += 1;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      const newLr = Math.max(lr * this.factor, this.minLr);
      if (lr - newLr > this.eps) lr = newLr;
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    return lr;
  }

  get bestMetric(): number {
    return this.best;
  }

  state(): PlateauState {
    return { best: Number.isFinite(this.best) ? this.best : null, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch };
  }

  loadState(s: PlateauState): void {
    this.best = s.best === null ? (this.mode === 'min' ? Infinity : -Infinity) : s.best;
    this.numBadEpochs = s.numBadEpochs;
    this.cooldownCounter = s.cooldownCounter;
    this.lastEpoch = s.lastEpoch;
  }
}
