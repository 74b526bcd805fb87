import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from '@metad2a/core';

/**
 * Non-trainable state under official names (BatchNorm `running_mean` / `running_var`): like a
 * ParameterStore, but its variables are not trainable and never receive gradients.
 *
 * Training updates the running statistics after every step on the host ({@link setPending}):
 * the new values wait here and reach the variables at the next read ({@link get},
 * {@link entries}, {@link toNamedArrays}, {@link flush}), so a step costs no tensor per
 * statistic (two tensors, an assign and a dispose per BatchNorm layer and step were ~3 % of a
 * small network's step).
 */
export class BufferStore {
  private readonly vars = new Map<string, tf.Variable>();
  /** Values newer than their variable's (set by training, written by {@link flush}). */
  private readonly pending = new Map<string, Float32Array>();

  add(name: string, shape: readonly number[], init: Float32Array): tf.Variable {
    if (this.vars.has(name)) throw new Error(`BufferStore: buffer '${name}' defined twice`);
    const v = tf.tidy(() => tf.variable(tf.tensor(init, [...shape], 'float32'), false));
    this.vars.set(name, v);
    return v;
  }

  /** The variable, holding its current value. */
  get(name: string): tf.Variable {
    const v = this.variable(name);
    this.flush();
    return v;
  }

  /** The current value (pending or the variable's), not to be modified. */
  value(name: string): Float32Array {
    return this.pending.get(name) ?? (this.variable(name).dataSync() as Float32Array);
  }

  /** Replace a buffer's value; the variable gets it at the next read. */
  setPending(name: string, data: Float32Array): void {
    const v = this.variable(name);
    if (data.length !== v.size) throw new Error(`BufferStore: '${name}' holds ${v.size} values, got ${data.length}`);
    this.pending.set(name, data);
  }

  /** Write every pending value into its variable. */
  flush(): void {
    if (this.pending.size === 0) return;
    for (const [name, data] of this.pending) {
      const v = this.vars.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
    }
    this.pending.clear();
  }

  entries(): ReadonlyMap<string, tf.Variable> {
    this.flush();
    return this.vars;
  }

  shapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, v] of this.vars) out[k] = [...v.shape];
    return out;
  }

  toNamedArrays(): Record<string, NamedArray> {
    this.flush();
    const out: Record<string, NamedArray> = {};
    for (const [k, v] of this.vars) out[k] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.pending.clear();
  }

  private variable(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`BufferStore: no buffer '${name}'`);
    return v;
  }
}
