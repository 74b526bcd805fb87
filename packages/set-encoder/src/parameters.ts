import type * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, checkNamedShapes, type NamedArrays, type ParameterSink } from '@metad2a/core';
import { ParameterStore } from '@metad2a/layers';
import * as tfc from '@tensorflow/tfjs-core';

/**
 * The parameters one encoder owns, wherever they are stored. With a containing model's store
 * (`ParameterSink`), the encoder registers its parameters there and only remembers which are
 * its own; without one it keeps a private {@link ParameterStore} and owns the tensors.
 */
export class OwnedParameters {
  private readonly own = new Map<string, tf.Variable>();
  private readonly privateStore?: ParameterStore;
  /** What the layers register into (records every name that passes through). */
  readonly sink: ParameterStore;

  constructor(store?: ParameterSink) {
    if (!store) this.privateStore = new ParameterStore();
    const target: ParameterSink = store ?? this.privateStore!;
    const own = this.own;
    const recording: ParameterSink = {
      add(name, shape, init) {
        const v = target.add(name, shape, init);
        own.set(name, v);
        return v;
      },
    };
    // The layers of @metad2a/layers only ever call `add` on the store they are given.
    this.sink = recording as unknown as ParameterStore;
  }

  entries(): ReadonlyMap<string, tf.Variable> {
    return this.own;
  }

  shapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, v] of this.own) out[k] = [...v.shape];
    return out;
  }

  /** Copy values in by (full, prefixed) name; one CheckpointMismatch error lists every problem. */
  load(values: NamedArrays, opts: { allowExtra?: boolean | readonly string[]; source?: string } = {}): void {
    const mismatch = checkNamedShapes(values, this.shapes(), opts.source ?? 'set encoder parameters', { allowExtra: opts.allowExtra });
    if (mismatch) throw new MetaD2AException(mismatch);
    for (const [k, v] of this.own) {
      const a = values[k]!;
      v.assign(tfc.tensor(a.data, [...a.shape], 'float32'));
    }
  }

  /** Disposes the tensors when they live in the private store (a containing model disposes its own store). */
  dispose(): void {
    this.privateStore?.dispose();
    this.own.clear();
  }
}
