/**
 * A search space and a set encoder added from outside the packages, by registration only: import
 * this module (`metad2a --register examples/registration/toy-chain.ts search --space toy-chain ...`)
 * and both are available by name to the CLI, the model directory format and the search stages.
 *
 * `toy-chain`: architectures are 3 operations from {a, b, c} in a chain (27 of them), graphs
 * START → op → op → op → END (nvt 5, maxN 5), string form `a-b-c`. It has a cost model (so
 * `--flops-max` works on it) and no benchmark facts.
 * `toy-mean`: a set encoder that averages every row of the dataset and applies one tanh layer; it
 * has no row-projection capability, so the search takes its plain path and says so.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import {
  graphConfig,
  parseError,
  searchSpaces,
  setEncoders,
  validationError,
  type ArchGraph,
  type NamedArrays,
  type SearchSpace,
  type SetEncoder,
  type SetEncoderOptions,
  type SetLayout,
} from '@metad2a/core';

const OPS = ['a', 'b', 'c'] as const;
type ToyChain = readonly [number, number, number];
const CHAIN_EDGES: [number, number][] = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 4],
];

export const toyChain: SearchSpace<ToyChain> = {
  name: 'toy-chain',
  graphConfig: graphConfig(5, 5),
  encode: (ops) => ({ types: [0, ...ops.map((o) => o + 2), 1], edges: CHAIN_EDGES }),
  decode: (g: ArchGraph) => {
    const mid = g.types.slice(1, -1);
    if (g.types.length !== 5 || g.types[0] !== 0 || g.types[4] !== 1 || mid.some((t) => t < 2 || t > 4)) {
      return E.left(validationError({ source: 'toy-chain', field: 'types', expected: 'START, three ops (types 2–4), END', got: JSON.stringify(g.types) }));
    }
    return E.right([mid[0]! - 2, mid[1]! - 2, mid[2]! - 2] as const);
  },
  isValid: (g) => g.types.length === 5 && g.types[0] === 0 && g.types[4] === 1 && g.types.slice(1, -1).every((t) => t >= 2 && t <= 4),
  format: (ops) => ops.map((o) => OPS[o]).join('-'),
  parse: (text) => {
    const parts = text.split('-');
    const ids = parts.map((p) => OPS.indexOf(p as (typeof OPS)[number]));
    if (parts.length !== 3 || ids.some((i) => i < 0))
      return E.left(parseError({ source: 'toy-chain', field: 'architecture', expected: "three of a, b, c joined by '-'", got: JSON.stringify(text) }));
    return E.right([ids[0]!, ids[1]!, ids[2]!] as const);
  },
  sample: (rng) => [rng.int(3), rng.int(3), rng.int(3)] as const,
  size: 27,
  *enumerate() {
    for (let i = 0; i < 27; i++) yield [Math.floor(i / 9), Math.floor(i / 3) % 3, i % 3] as const;
  },
  // op a costs 1 MFLOP, b 2, c 3; 0.01 M parameters each
  cost: (ops) => ({ mflops: ops.reduce((s, o) => s + o + 1, 0), mparams: 0.03 }),
};

/** Mean of all rows → tanh(W · mean + b): `[B, C·n, d]` → `[B, outputDim]`. */
class ToyMeanEncoder implements SetEncoder {
  readonly kind = 'toy-mean';
  readonly inputDim: number;
  readonly outputDim: number;
  private readonly weight: tf.Variable;
  private readonly bias: tf.Variable;
  private readonly owned: boolean;

  constructor(opts: SetEncoderOptions) {
    this.inputDim = opts.inputDim;
    this.outputDim = opts.outputDim;
    const prefix = opts.prefix ? `${opts.prefix}.` : '';
    const w = opts.rng.uniformArray(opts.outputDim * opts.inputDim, -0.05, 0.05);
    const b = new Float32Array(opts.outputDim);
    this.owned = !opts.store;
    this.weight = opts.store ? opts.store.add(`${prefix}toy_mean.weight`, [opts.outputDim, opts.inputDim], w) : tf.variable(tf.tensor2d(w, [opts.outputDim, opts.inputDim]));
    this.bias = opts.store ? opts.store.add(`${prefix}toy_mean.bias`, [opts.outputDim], b) : tf.variable(tf.tensor1d(b));
  }

  encode(x: tf.Tensor3D, _layout: SetLayout): tf.Tensor2D {
    return tf.tidy(() => tf.tanh(tf.add(tf.matMul(tf.mean(x, 1) as tf.Tensor2D, this.weight as tf.Tensor2D, false, true), this.bias)) as tf.Tensor2D);
  }

  parameters(): ReadonlyMap<string, tf.Variable> {
    return new Map([
      ['toy_mean.weight', this.weight],
      ['toy_mean.bias', this.bias],
    ]);
  }

  loadParameters(values: NamedArrays): void {
    for (const [name, v] of this.parameters()) {
      const a = values[name];
      if (!a) throw new Error(`toy-mean: missing parameter ${name}`);
      const t = tf.tensor(a.data, [...a.shape]);
      v.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    if (this.owned) tf.dispose([this.weight, this.bias]);
  }
}

searchSpaces.register('toy-chain', toyChain, { description: 'a toy chain of three ops (examples/registration)' });
setEncoders.register('toy-mean', (o) => new ToyMeanEncoder(o), { description: 'mean of all rows, one tanh layer (examples/registration)' });
