import * as tf from '@tensorflow/tfjs-core';
import { checkNamedShapes, MetaD2AException, type ExpectOptions, type NamedArray, type NamedArrays } from '@metad2a/core';
import { withLeanSavedTensors } from './saved-tensors';

let storeCounter = 0;

/** `prefix.leaf`, or `leaf` alone when the prefix is empty (a bare module, as in a one-module state_dict). */
export function joinName(prefix: string, leaf: string): string {
  return prefix === '' ? leaf : `${prefix}.${leaf}`;
}

/**
 * The trainable parameters of a model under their official (PyTorch state_dict) names and
 * shapes. Values are tf.Variables; their tfjs names are made unique per store, so two models
 * with the same parameter names can live side by side.
 */
export class ParameterStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly byTfName = new Map<string, string>();
  private readonly uid = `ps${++storeCounter}`;

  /** Create a parameter from its initial values (PyTorch layout). */
  add(name: string, shape: readonly number[], init: Float32Array): tf.Variable {
    if (this.vars.has(name)) throw new Error(`ParameterStore: parameter '${name}' defined twice`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (init.length !== n) throw new Error(`ParameterStore: '${name}' expects ${n} initial values for [${shape.join(', ')}], got ${init.length}`);
    const tfName = `${this.uid}/${name}`;
    const initial = tf.tensor(init, [...shape], 'float32');
    const v = tf.variable(initial, true, tfName);
    initial.dispose(); // the variable holds its own copy
    this.vars.set(name, v);
    this.byTfName.set(tfName, name);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`ParameterStore: no parameter '${name}'`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** All parameters by official name, in creation order. */
  entries(): ReadonlyMap<string, tf.Variable> {
    return this.vars;
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Names and shapes, as checkpoints and loaders expect them. */
  shapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, v] of this.vars) out[k] = [...v.shape];
    return out;
  }

  /**
   * Copy values in by name. Every parameter must be present with its exact shape; names in
   * `values` that the store does not have are an error unless allowed (`allowExtra`). All
   * problems are reported at once, by name, in one CheckpointMismatch error; nothing is
   * assigned unless everything matches.
   */
  load(values: NamedArrays, opts: ExpectOptions & { source?: string } = {}): void {
    const mismatch = checkNamedShapes(values, this.shapes(), opts.source ?? 'parameters', opts);
    if (mismatch) throw new MetaD2AException(mismatch);
    for (const [k, v] of this.vars) {
      const a = values[k]!;
      const t = tf.tensor(a.data, [...a.shape], 'float32');
      v.assign(t);
      t.dispose();
    }
  }

  /** Snapshot of every value as plain arrays (PyTorch layout). */
  toNamedArrays(): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    for (const [k, v] of this.vars) out[k] = { shape: [...v.shape], data: v.dataSync() as Float32Array };
    return out;
  }

  /**
   * Value and gradient of a scalar loss with respect to the given parameters (default: all).
   * Gradients are keyed by official name; parameters the loss does not reach get no entry.
   * The caller owns (and must dispose) the returned tensors. Tensors saved for the gradient are
   * aliased without tfjs's per-copy bookkeeping ({@link withLeanSavedTensors}; same values).
   */
  valueAndGrads(loss: () => tf.Scalar, names?: readonly string[]): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const list = (names ?? this.names()).map((n) => this.get(n));
    const { value, grads } = withLeanSavedTensors(() => tf.variableGrads(loss, list));
    const out = new Map<string, tf.Tensor>();
    for (const [tfName, g] of Object.entries(grads)) {
      const name = this.byTfName.get(tfName);
      if (name === undefined) g.dispose();
      else out.set(name, g);
    }
    return { value, grads: out };
  }

  /**
   * {@link valueAndGrads} of `Σ terms[i]()` with one tape per term, the gradients added term by
   * term: the same numbers up to float32 rounding, while only one term's activations are alive
   * at a time (the terms of an MBv3 meta-training batch: one episode group of up to 990 classes
   * each). The terms are evaluated in order.
   */
  valueAndGradsOfSum(terms: readonly (() => tf.Scalar)[], names?: readonly string[]): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    if (terms.length === 0) throw new RangeError('ParameterStore.valueAndGradsOfSum: no terms');
    let value: tf.Scalar | undefined;
    const grads = new Map<string, tf.Tensor>();
    for (const term of terms) {
      const r = this.valueAndGrads(term, names);
      const prevValue = value;
      value = prevValue ? (tf.add(prevValue, r.value) as tf.Scalar) : r.value;
      if (prevValue) tf.dispose([prevValue, r.value]);
      for (const [name, g] of r.grads) {
        const prev = grads.get(name);
        grads.set(name, prev ? tf.add(prev, g) : g);
        if (prev) tf.dispose([prev, g]);
      }
    }
    return { value: value!, grads };
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.byTfName.clear();
  }
}
