import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from '@metad2a/core';

/**
 * Non-trainable state under official names (BatchNorm `running_mean` / `running_var`): like a
 * ParameterStore, but its variables are not trainable and never receive gradients.
 */
export class BufferStore {
  private readonly vars = new Map<string, tf.Variable>();

  add(name: string, shape: readonly number[], init: Float32Array): tf.Variable {
    if (this.vars.has(name)) throw new Error(`BufferStore: buffer '${name}' defined twice`);
    const v = tf.tidy(() => tf.variable(tf.tensor(init, [...shape], 'float32'), false));
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`BufferStore: no buffer '${name}'`);
    return v;
  }

  entries(): ReadonlyMap<string, tf.Variable> {
    return this.vars;
  }

  shapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, v] of this.vars) out[k] = [...v.shape];
    return out;
  }

  toNamedArrays(): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    for (const [k, v] of this.vars) out[k] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
