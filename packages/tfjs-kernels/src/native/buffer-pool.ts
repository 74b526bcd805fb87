/**
 * Reuse of the float32 output buffers of the native kernels. Every tfjs kernel output is a new
 * typed array; V8 counts their bytes as external memory and runs a garbage collection for about
 * every 64 MB allocated, which measured ~45 collections (≈0.35 s) per meta-training step of the
 * predictor. Buffers that the native kernels allocated go back to a pool when tfjs disposes their
 * last tensor, and a later kernel output reuses the smallest free buffer that holds it and is at
 * most twice its size, as a view of exactly its length; new buffers are the length rounded up to
 * an eighth of its power of two. (Pooling by exact length reused nothing when the shapes vary from
 * step to step — MBv3 episodes of 10…990 classes — and the pool then filled up with lengths that
 * never came back: the set-encoder steps of 8 episodes of ways 300…700 cost 3.4 CPU-s against
 * 1.7 for 8 of way 500, and 3.6 with no pool at all.) When the pool is full, the buffers of the
 * sizes released longest ago make room.
 *
 * Safety: a buffer is recycled only if (1) this pool allocated it, (2) no tensor data still
 * refers to it (counted per `write`, so two data ids sharing one array are covered), and (3) it
 * never escaped to user code through `readSync`/`read` (`dataSync()`, `data()`, `array()` hand
 * out the backend's own array). Small buffers (< 4096 floats) are left to V8.
 * `METAD2A_BUFFER_POOL_MB` caps the bytes kept (default 512; 0 disables pooling).
 *
 * The pool also knows which arrays (of any size) the kernels made and whether such an array is
 * held by exactly one tensor data id and never escaped: {@link BufferPool.exclusive}, what an
 * in-place update (`SGD_UPDATE_IN_PLACE_KERNEL`) must prove before writing over a tensor's storage.
 */
const MIN_LENGTH = 4096;

/** Floats in the buffer that serves a request of n: n rounded up to 1/8 of its power of two. */
export function poolCapacity(n: number): number {
  const step = 2 ** Math.max(0, Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  /** Free buffers by capacity (floats); Map iteration order = the order capacities were first freed. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** The capacities of {@link free}, ascending. */
  private readonly caps: number[] = [];
  private readonly owned = new WeakSet<Float32Array>();
  /** Every array {@link take} handed out (pooled or not): storage only kernels and tfjs hold. */
  private readonly made = new WeakSet<Float32Array>();
  private readonly escaped = new WeakSet<Float32Array>();
  /** Data ids holding each made array. */
  private readonly live = new Map<Float32Array, number>();
  private pooledBytes = 0;
  /** Buffers handed out from the pool / newly allocated (for tests and benchmarks). */
  reused = 0;
  allocated = 0;

  constructor(readonly maxBytes: number) {}

  /** A Float32Array of length n; zero-filled unless `zero` is false (the caller overwrites every element). */
  take(n: number, zero = true): Float32Array {
    if (n >= MIN_LENGTH && this.maxBytes > 0) {
      const buf = this.bestFit(n);
      const a = new Float32Array(buf ?? new ArrayBuffer(poolCapacity(n) * 4), 0, n);
      this.owned.add(a);
      this.made.add(a);
      if (buf) {
        this.pooledBytes -= buf.byteLength;
        this.reused++;
        if (zero) a.fill(0);
      } else this.allocated++;
      return a;
    }
    const a = new Float32Array(n);
    this.made.add(a);
    return a;
  }

  /** A tensor data id now holds `values`. */
  written(values: unknown): void {
    if (values instanceof Float32Array && this.made.has(values)) this.live.set(values, (this.live.get(values) ?? 0) + 1);
  }

  /** `values` was handed to code outside the kernels: never reuse it, never write over it. */
  escape(values: unknown): void {
    if (values instanceof Float32Array && this.made.has(values)) this.escaped.add(values);
  }

  /** True when a kernel made `values`, exactly one tensor data id holds it, and it never escaped. */
  exclusive(values: Float32Array): boolean {
    return this.made.has(values) && !this.escaped.has(values) && this.live.get(values) === 1;
  }

  /** A tensor data id holding `values` was deleted; recycle the buffer when nothing else holds it. */
  released(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.made.has(values)) return;
    const n = (this.live.get(values) ?? 1) - 1;
    if (n > 0) {
      this.live.set(values, n);
      return;
    }
    this.live.delete(values);
    this.made.delete(values);
    if (!this.owned.has(values)) return; // a small array: V8 frees it
    this.owned.delete(values); // this view is done; the buffer gets a new view when reused
    const buf = values.buffer as ArrayBuffer;
    if (this.escaped.has(values) || buf.byteLength > this.maxBytes) return;
    this.makeRoom(buf.byteLength);
    const cap = buf.byteLength / 4;
    let list = this.free.get(cap);
    if (!list) {
      this.free.set(cap, (list = []));
      this.caps.splice(this.lowerBound(cap), 0, cap);
    }
    list.push(buf);
    this.pooledBytes += buf.byteLength;
  }

  /** Drop pooled buffers, oldest capacities first, until `bytes` more fit under the cap. */
  private makeRoom(bytes: number): void {
    for (const [cap, list] of this.free) {
      if (this.pooledBytes + bytes <= this.maxBytes) return;
      while (list.length > 0 && this.pooledBytes + bytes > this.maxBytes) this.pooledBytes -= list.shift()!.byteLength;
      if (list.length === 0) this.dropCapacity(cap);
    }
  }

  /** The smallest free buffer of n to 2n floats, taken out of the pool, or undefined. */
  private bestFit(n: number): ArrayBuffer | undefined {
    const i = this.lowerBound(n);
    const cap = this.caps[i];
    if (cap === undefined || cap > 2 * n) return undefined;
    const list = this.free.get(cap)!;
    const buf = list.pop()!;
    if (list.length === 0) this.dropCapacity(cap);
    return buf;
  }

  /** Index of the first capacity ≥ n in {@link caps}. */
  private lowerBound(n: number): number {
    let lo = 0;
    let hi = this.caps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.caps[mid]! < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropCapacity(cap: number): void {
    this.free.delete(cap);
    this.caps.splice(this.lowerBound(cap), 1);
  }

  /** Drop every pooled buffer (V8 frees them at its next collection). */
  clear(): void {
    this.free.clear();
    this.caps.length = 0;
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
