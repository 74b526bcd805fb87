import * as tf from '@tensorflow/tfjs-core';
import { Rng, TRAIN_STEP_KERNEL, initBackend } from '@metad2a/core';
import { SGD } from '@metad2a/layers';
import { TinyNetwork, fusedTrainStep, tapeTrainStep } from '../src';

// The native backend runs a TinyNetwork's whole training step as one TRAIN_STEP_KERNEL call; the
// tape step (forward under tf.variableGrads, SGD, running statistics) is its reference.

const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const MIXED = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|';
/** Nodes 1 and 2 receive no edge (zeros); only node 2's conv leads to the output. */
const ZERO_NODES = '|none~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|';
/** Node 2 adds node 0 to itself (node 1 is node 0 through a skip): one slot on both sides of an add. */
const SELF_ADD = '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|';
/** Node 1's conv feeds nothing: its parameters get no gradient and are not updated by either path. */
const DEAD_EDGE = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|';
const ALL_NONE = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';

const CLASSES = 5;

beforeAll(async () => {
  await initBackend({ prefer: 'native' });
});
afterAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

function batch(rng: Rng, n: number): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  return {
    x: tf.tensor4d(rng.uniformArray(n * 8 * 8 * 3, -1, 1), [n, 8, 8, 3]),
    labels: tf.tensor1d(
      Int32Array.from({ length: n }, (_, i) => (i * 3 + rng.int(2)) % CLASSES),
      'int32',
    ),
  };
}

/** Largest |a − e| over every entry of two named sets of arrays, relative to the largest |e| of each (at least 1e-3). */
function worstRelative(actual: Record<string, ArrayLike<number>>, expected: Record<string, ArrayLike<number>>): { name: string; error: number } {
  let worst = { name: '', error: 0 };
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [k, e] of Object.entries(expected)) {
    const a = actual[k]!;
    let scale = 1e-3;
    for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]!));
    for (let i = 0; i < e.length; i++) {
      const err = Math.abs(a[i]! - e[i]!) / scale;
      if (!(err <= worst.error)) worst = { name: k, error: err };
    }
  }
  return worst;
}

describe('TinyNetwork training program', () => {
  it('lists the ops of the training forward pass: 23 fused ReLU-conv-BN, 11 adds, 2 pools, 2 shortcut convs for the all-conv cell', () => {
    const net = new TinyNetwork({ arch: ALL_CONV, C: 4, N: 1, numClasses: CLASSES }, new Rng(1));
    const { program, params, batchNorms } = net.trainProgram();
    const count = (op: string): number => program.ops.filter((o) => o.op === op).length;
    expect([count('reluConvBn'), count('add'), count('avgPool'), count('conv'), count('batchNorm'), count('relu'), count('spatialMean'), count('linear'), count('zeros')]).toEqual([
      23, 11, 2, 2, 1, 1, 1, 1, 0,
    ]);
    expect(program.slots).toBe(program.ops.length + 1);
    expect(program.logits).toBe(program.slots - 1);
    expect(params).toEqual(net.store.names());
    expect(batchNorms.map((b) => b.prefix)).toEqual([...net.buffers.entries()].map(([k]) => k.replace(/\.running_(mean|var)$/, '')).filter((k, i, a) => a.indexOf(k) === i));
    expect(batchNorms.reduce((s, b) => s + b.channels, 0)).toBe(4 + 6 * 4 + 2 * 8 + 6 * 8 + 2 * 16 + 6 * 16 + 16);
    expect(program.ops[0]).toMatchObject({ op: 'reluConvBn', x: 0, relu: false, inputGradient: false, filter: 'stem.0.weight' });
    expect(net.trainProgram()).toBe(net.trainProgram()); // built once
    // a cell without edges into a node writes zeros there
    const none = new TinyNetwork({ arch: ALL_NONE, C: 4, N: 1, numClasses: CLASSES }, new Rng(1));
    expect(none.trainProgram().program.ops.filter((o) => o.op === 'zeros').length).toBe(9);
    net.dispose();
    none.dispose();
  });

  it('has the native kernel that runs it', () => {
    expect(tf.getBackend()).toBe('native');
    expect(tf.getKernel(TRAIN_STEP_KERNEL, 'native')).toBeDefined();
  });

  it.each([
    ['all conv', ALL_CONV],
    ['pool, 1×1, skip, none', MIXED],
    ['nodes no edge reaches', ZERO_NODES],
    ['an edge that feeds nothing', DEAD_EDGE],
    ['a node added to itself', SELF_ADD],
    ['every edge none', ALL_NONE],
  ])('one kernel call per step gives the tape step: loss, parameters, momentum, running statistics (%s)', (_, arch) => {
    const make = (): { net: TinyNetwork; sgd: SGD } => {
      const net = new TinyNetwork({ arch, C: 4, N: 1, numClasses: CLASSES }, new Rng(7));
      return { net, sgd: new SGD(net.store.entries(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }) };
    };
    const fused = make();
    const tape = make();
    const rng = new Rng(3);
    // batch sizes 6, 6, 4: the first step creates SGD's buffers (tape), the last batch of an epoch is smaller (a second plan)
    for (const [i, n] of [6, 6, 4].entries()) {
      const { x, labels } = batch(rng, n);
      const before = tf.memory().numTensors;
      const fusedLoss = fusedTrainStep(fused.net, fused.sgd, x, labels);
      if (i === 0) {
        expect(fusedLoss).toBeNull(); // no momentum buffers before the first step
        tapeTrainStep(fused.net, fused.sgd, x, labels);
      } else {
        expect(fusedLoss).not.toBeNull();
        expect(tf.memory().numTensors).toBe(before);
      }
      const tapeLoss = tapeTrainStep(tape.net, tape.sgd, x, labels);
      if (fusedLoss !== null) expect(Math.abs(fusedLoss - tapeLoss)).toBeLessThan(1e-5);
      tf.dispose([x, labels]);
    }
    expect(fused.sgd.step).toBe(3);
    expect(tape.sgd.step).toBe(3);
    const state = (n: TinyNetwork): Record<string, Float32Array> => Object.fromEntries(Object.entries(n.stateDict()).map(([k, v]) => [k, v.data as Float32Array]));
    const stateError = worstRelative(state(fused.net), state(tape.net));
    if (!(stateError.error <= 1e-4)) throw new Error(`${stateError.name}: fused and tape differ by ${stateError.error} of its scale`);
    const momentum = (s: SGD): Record<string, Float32Array> => Object.fromEntries(Object.entries(s.state().tensors).map(([k, v]) => [k, v.data as Float32Array]));
    const momentumError = worstRelative(momentum(fused.sgd), momentum(tape.sgd));
    if (!(momentumError.error <= 1e-4)) throw new Error(`momentum ${momentumError.name}: fused and tape differ by ${momentumError.error} of its scale`);
    for (const r of [fused, tape]) {
      r.sgd.dispose();
      r.net.dispose();
    }
  });

  it('leaves every parameter as it is and hands the step back when a parameter array was handed out', () => {
    const net = new TinyNetwork({ arch: MIXED, C: 4, N: 1, numClasses: CLASSES }, new Rng(2));
    const sgd = new SGD(net.store.entries(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    const rng = new Rng(4);
    const first = batch(rng, 6);
    tapeTrainStep(net, sgd, first.x, first.labels);
    const { x, labels } = batch(rng, 6);
    const handedOut = net.store.get('classifier.weight').dataSync(); // user code now holds this storage
    const before = Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, Float32Array.from(v.data)]));
    expect(fusedTrainStep(net, sgd, x, labels)).toBeNull();
    expect(sgd.step).toBe(1);
    expect(worstRelative(Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, v.data])), before).error).toBe(0);
    expect(handedOut).toEqual(before['classifier.weight']);
    // the tape step writes new storage; the step after it runs fused again
    tapeTrainStep(net, sgd, x, labels);
    expect(fusedTrainStep(net, sgd, x, labels)).not.toBeNull();
    expect(sgd.step).toBe(3);
    tf.dispose([first.x, first.labels, x, labels]);
    sgd.dispose();
    net.dispose();
  });
});
