import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE_KERNEL, SGD_UPDATE_IN_PLACE_KERNEL, SGD_UPDATE_KERNEL, type NamedArray } from '@metad2a/core';

/** Optimizer state as plain values, for checkpoints (`tensors` keys are `<slot>/<param name>`). */
export interface OptimizerState {
  readonly kind: 'adam' | 'sgd';
  readonly step: number;
  readonly lr: number;
  readonly tensors: Record<string, NamedArray>;
}

function readSlots(slots: Map<string, tf.Variable>, prefix: string, out: Record<string, NamedArray>): void {
  for (const [k, v] of slots) out[`${prefix}/${k}`] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
}

function writeSlots(slots: Map<string, tf.Variable>, prefix: string, tensors: Record<string, NamedArray>, params: ReadonlyMap<string, tf.Variable>): void {
  for (const v of slots.values()) v.dispose();
  slots.clear();
  for (const [key, a] of Object.entries(tensors)) {
    if (!key.startsWith(`${prefix}/`)) continue;
    const name = key.slice(prefix.length + 1);
    const p = params.get(name);
    if (!p) throw new Error(`optimizer state: slot '${key}' names no parameter`);
    if (p.shape.join(',') !== a.shape.join(',')) throw new Error(`optimizer state: slot '${key}' has shape [${a.shape}], parameter has [${p.shape}]`);
    const t = tf.tensor(a.data, [...a.shape]);
    slots.set(name, tf.variable(t, false));
    t.dispose();
  }
}

/**
 * `torch.optim.Adam` (no weight decay, no amsgrad): m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
 * p ← p − lr · (m / (1−β1ᵗ)) / (√v / √(1−β2ᵗ) + ε). Slots are created lazily per parameter.
 */
export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    opts: { lr?: number; betas?: [number, number]; eps?: number } = {},
  ) {
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
  }

  get step(): number {
    return this.t;
  }

  /** One update from gradients keyed by parameter name (parameters without a gradient are skipped). */
  apply(grads: ReadonlyMap<string, tf.Tensor>): void {
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const stepSize = this.lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    // a backend with the fused kernel (native) updates each parameter in one pass
    const fused = tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) !== undefined;
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (!p) throw new Error(`Adam: gradient for unknown parameter '${name}'`);
      if (!this.m.has(name)) {
        const z = tf.zerosLike(p);
        this.m.set(name, tf.variable(z, false));
        this.v.set(name, tf.variable(z, false));
        z.dispose();
      }
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      if (fused && g.dtype === 'float32') {
        const attrs = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, stepSize, sqrtBc2 };
        const [p1, m1, v1] = tf.engine().runKernel(ADAM_UPDATE_KERNEL, { param: p, m, v, grad: g }, attrs) as tf.Tensor[];
        m.assign(m1!);
        v.assign(v1!);
        p.assign(p1!);
        tf.dispose([p1!, m1!, v1!]);
        continue;
      }
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(m1);
        v.assign(v1);
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m1, denom), stepSize)));
      });
    }
  }

  state(): OptimizerState {
    const tensors: Record<string, NamedArray> = {};
    readSlots(this.m, 'adam.m', tensors);
    readSlots(this.v, 'adam.v', tensors);
    return { kind: 'adam', step: this.t, lr: this.lr, tensors };
  }

  loadState(s: OptimizerState): void {
    if (s.kind !== 'adam') throw new Error(`Adam.loadState: expected adam state, got ${s.kind}`);
    this.t = s.step;
    this.lr = s.lr;
    writeSlots(this.m, 'adam.m', s.tensors, this.params);
    writeSlots(this.v, 'adam.v', s.tensors, this.params);
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * `torch.optim.SGD` with momentum, dampening 0, optional Nesterov and L2 weight decay:
 * g ← g + wd·p; b ← μ b + g (b = g at the first step); g ← g + μ b (Nesterov) or b; p ← p − lr·g.
 */
export class SGD {
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private t = 0;
  private readonly buf = new Map<string, tf.Variable>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    opts: { lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number },
  ) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new Error('SGD: Nesterov momentum requires momentum > 0');
  }

  get step(): number {
    return this.t;
  }

  apply(grads: ReadonlyMap<string, tf.Tensor>, opts: { noDecay?: ReadonlySet<string> } = {}): void {
    this.t += 1;
    if (this.applyInPlace(grads, opts)) return;
    // a backend with the fused kernel (native) updates each parameter in one pass once its buffer exists
    const fused = this.momentum !== 0 && tf.getKernel(SGD_UPDATE_KERNEL, tf.getBackend()) !== undefined;
    for (const [name, g0] of grads) {
      const p = this.params.get(name);
      if (!p) throw new Error(`SGD: gradient for unknown parameter '${name}'`);
      const buf = this.buf.get(name);
      if (fused && buf && g0.dtype === 'float32') {
        const weightDecay = opts.noDecay?.has(name) ? 0 : this.weightDecay;
        const attrs = { lr: this.lr, momentum: this.momentum, weightDecay, nesterov: this.nesterov };
        const [p1, b1] = tf.engine().runKernel(SGD_UPDATE_KERNEL, { param: p, buf, grad: g0 }, attrs) as tf.Tensor[];
        buf.assign(b1!);
        p.assign(p1!);
        tf.dispose([p1!, b1!]);
        continue;
      }
      tf.tidy(() => {
        let g: tf.Tensor = g0;
        if (this.weightDecay !== 0 && !opts.noDecay?.has(name)) g = tf.add(g, tf.mul(p, this.weightDecay));
        if (this.momentum !== 0) {
          let b = this.buf.get(name);
          if (!b) {
            b = tf.variable(g, false); // copies g (tidy disposes nothing the variable keeps)
            this.buf.set(name, b);
          } else {
            b.assign(tf.add(tf.mul(b, this.momentum), g));
          }
          g = this.nesterov ? tf.add(g, tf.mul(b, this.momentum)) : b;
        }
        p.assign(tf.sub(p, tf.mul(g, this.lr)));
      });
    }
  }

  /**
   * Every parameter in one `SGD_UPDATE_IN_PLACE_KERNEL` call (same arithmetic, over the storage of
   * the parameters and momentum buffers) when the backend has it, every parameter has its buffer
   * and the backend can prove the storage is theirs alone; false when the step is still to be done.
   */
  private applyInPlace(grads: ReadonlyMap<string, tf.Tensor>, opts: { noDecay?: ReadonlySet<string> }): boolean {
    if (this.momentum === 0 || grads.size === 0 || tf.getKernel(SGD_UPDATE_IN_PLACE_KERNEL, tf.getBackend()) === undefined) return false;
    const inputs: Record<string, tf.Tensor> = {};
    const weightDecay: number[] = [];
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      const buf = this.buf.get(name);
      if (!p || !buf || g.dtype !== 'float32') return false; // unknown names fail in the per-parameter loop
      const i = weightDecay.length;
      inputs[`param${i}`] = p;
      inputs[`buf${i}`] = buf;
      inputs[`grad${i}`] = g;
      weightDecay.push(opts.noDecay?.has(name) ? 0 : this.weightDecay);
    }
    const attrs = { lr: this.lr, momentum: this.momentum, nesterov: this.nesterov, weightDecay } as unknown as tf.NamedAttrMap;
    const out = tf.engine().runKernel(SGD_UPDATE_IN_PLACE_KERNEL, inputs, attrs) as tf.Tensor | tf.Tensor[];
    if (Array.isArray(out) && out.length === 0) return true;
    tf.dispose(out); // storage others may see: the per-parameter update
    return false;
  }

  /**
   * One step of a kernel that ends with this optimiser's update in place (`TRAIN_STEP_KERNEL` of
   * `@metad2a/core`): runs `kernelName` with `inputs` plus `param<i>` / `buf<i>` of `names` (a
   * buffer only where it exists) and the attrs `params`, `lr`, `momentum`, `nesterov` and
   * `weightDecay` (one per name). Returns the kernel's outputs and counts the step, or null when
   * the kernel declined (it returned no outputs and changed nothing), this SGD has no momentum or
   * no buffers yet (before its first step), or the backend has no such kernel: then the caller
   * runs the step itself.
   */
  fusedStep(
    kernelName: string,
    inputs: Record<string, tf.Tensor>,
    attrs: Record<string, unknown>,
    names: readonly string[],
    opts: { noDecay?: ReadonlySet<string> } = {},
  ): tf.Tensor[] | null {
    if (this.momentum === 0 || this.buf.size === 0 || tf.getKernel(kernelName, tf.getBackend()) === undefined) return null;
    const all: Record<string, tf.Tensor> = { ...inputs };
    const weightDecay = names.map((name, i) => {
      const p = this.params.get(name);
      if (!p) throw new Error(`SGD: fused step over unknown parameter '${name}'`);
      all[`param${i}`] = p;
      const buf = this.buf.get(name);
      if (buf) all[`buf${i}`] = buf;
      return opts.noDecay?.has(name) ? 0 : this.weightDecay;
    });
    const stepAttrs = { ...attrs, params: names, lr: this.lr, momentum: this.momentum, nesterov: this.nesterov, weightDecay } as unknown as tf.NamedAttrMap;
    const out = tf.engine().runKernel(kernelName, all, stepAttrs) as tf.Tensor | tf.Tensor[];
    const outputs = Array.isArray(out) ? out : [out];
    if (outputs.length === 0) return null;
    this.t += 1;
    return outputs;
  }

  state(): OptimizerState {
    const tensors: Record<string, NamedArray> = {};
    readSlots(this.buf, 'sgd.momentum', tensors);
    return { kind: 'sgd', step: this.t, lr: this.lr, tensors };
  }

  loadState(s: OptimizerState): void {
    if (s.kind !== 'sgd') throw new Error(`SGD.loadState: expected sgd state, got ${s.kind}`);
    this.t = s.step;
    this.lr = s.lr;
    writeSlots(this.buf, 'sgd.momentum', s.tensors, this.params);
  }

  dispose(): void {
    for (const x of this.buf.values()) x.dispose();
    this.buf.clear();
  }
}
