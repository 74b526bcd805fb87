/**
 * Reuse of the float32 output buffers of the native kernels. Every tfjs kernel output is a new
 * typed array; V8 counts their bytes as external memory and runs a garbage collection for about
 * every 64 MB allocated, which measured ~45 collections (≈0.35 s) per meta-training step of the
 * predictor. Buffers that the native kernels allocated go back to a pool (by exact length) when
 * tfjs disposes their last tensor, and the next kernel output of that length reuses one.
 *
 * Safety: a buffer is recycled only if (1) this pool allocated it, (2) no tensor data still
 * refers to it (counted per `write`, so two data ids sharing one array are covered), and (3) it
 * never escaped to user code through `readSync`/`read` (`dataSync()`, `data()`, `array()` hand
 * out the backend's own array). Small buffers (< 4096 floats) are left to V8.
 * `METAD2A_BUFFER_POOL_MB` caps the bytes kept (default 512; 0 disables pooling).
 */
const MIN_LENGTH = 4096;

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly escaped = new WeakSet<Float32Array>();
  private readonly live = new Map<Float32Array, number>();
  private pooledBytes = 0;
  /** Buffers handed out from the pool / newly allocated (for tests and benchmarks). */
  reused = 0;
  allocated = 0;

  constructor(readonly maxBytes: number) {}

  /** A Float32Array of length n; zero-filled unless `zero` is false (the caller overwrites every element). */
  take(n: number, zero = true): Float32Array {
    if (n >= MIN_LENGTH && this.maxBytes > 0) {
      const a = this.free.get(n)?.pop();
      if (a) {
        this.pooledBytes -= a.byteLength;
        this.reused++;
        if (zero) a.fill(0);
        return a;
      }
      const b = new Float32Array(n);
      this.owned.add(b);
      this.allocated++;
      return b;
    }
    return new Float32Array(n);
  }

  /** A tensor data id now holds `values`. */
  written(values: unknown): void {
    if (values instanceof Float32Array && this.owned.has(values)) this.live.set(values, (this.live.get(values) ?? 0) + 1);
  }

  /** `values` was handed to code outside the kernels: never reuse it. */
  escape(values: unknown): void {
    if (values instanceof Float32Array && this.owned.has(values)) this.escaped.add(values);
  }

  /** A tensor data id holding `values` was deleted; recycle the buffer when nothing else holds it. */
  released(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.owned.has(values)) return;
    const n = (this.live.get(values) ?? 1) - 1;
    if (n > 0) {
      this.live.set(values, n);
      return;
    }
    this.live.delete(values);
    if (this.escaped.has(values) || this.pooledBytes + values.byteLength > this.maxBytes) return;
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.pooledBytes += values.byteLength;
  }

  /** Drop every pooled buffer (V8 frees them at its next collection). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  get bytes(): number {
    return this.pooledBytes;
  }
}

function defaultMaxBytes(): number {
  const env = process.env.METAD2A_BUFFER_POOL_MB;
  const mb = env !== undefined && env !== '' && Number.isFinite(Number(env)) ? Math.max(0, Number(env)) : 512;
  return mb * 1024 * 1024;
}

/** The pool of the native backend's kernel outputs. */
export const outputBuffers = new BufferPool(defaultMaxBytes());
