/**
 * `TRAIN_STEP_KERNEL` of `@metad2a/core` on the native backend: a {@link TrainProgram}'s forward
 * pass, mean softmax cross-entropy, backward pass and in-place SGD as addon calls over arrays that
 * a plan keeps from step to step (one per program and input shape), with no tfjs tensor, tape or
 * engine call per layer. The layer kernels are the ones the tape path runs (fused ReLU-conv-BN,
 * BatchNorm, convolution, pooling, matmul, SGD), so the two agree to float rounding; the gradients
 * of a slot read by several ops are summed in reverse op order.
 */
import { TRAIN_STEP_KERNEL, type TrainProgram, type TrainProgramOp, type TrainStepAttrs } from '@metad2a/core';
import { Add, Relu, backend_util, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { P, match } from 'ts-pattern';
import type { NativeAddon } from '../addon';
import { convGeometry, symmetricConvGeometry } from './conv-geometry';
import { binaryOpCode, f32, unaryOpCode } from './elementwise';
import { exclusiveStorage } from './sgd-kernel';

const ADD = binaryOpCode(Add);
const RELU = unaryOpCode(Relu);

interface Slot {
  readonly shape: number[];
  /** Its activation; slot 0's is the step's input batch, set at the start of each step. */
  value: Float32Array;
  /** Its gradient, or null when no gradient reaches it (the input batch, what feeds nothing). */
  readonly grad: Float32Array | null;
  /** Whether grad holds this step's gradient yet (the first writer overwrites, later ones add). */
  written: boolean;
}

/** What a step needs from the caller: the parameter storages in the order of `params`. */
interface StepArrays {
  readonly params: Float32Array[];
  readonly labels: Int32Array;
}

interface Plan {
  readonly slots: Slot[];
  readonly forward: ((s: StepArrays) => void)[];
  /** In reverse op order. */
  readonly backward: ((s: StepArrays) => void)[];
  /** Each parameter's gradient, and whether the program's backward pass reaches it (static). */
  readonly grads: Float32Array[];
  readonly reached: boolean[];
  /** Batch statistics of every BatchNorm in op order (mean, variance), and the values per channel of each. */
  readonly stats: Float32Array[];
  readonly counts: Int32Array;
  readonly statsSize: number;
}

/** The error of a program op that cannot run, naming the op and field. */
function programError(i: number, field: string, what: string): Error {
  return new Error(`${TRAIN_STEP_KERNEL}: program op ${i} ${field}: ${what}`);
}

/** The slots an op reads. */
function opInputs(o: TrainProgramOp): number[] {
  return match(o)
    .with({ op: 'add' }, (a) => [a.a, a.b])
    .with({ op: 'zeros' }, (z) => [z.like])
    .with({ op: P.union('reluConvBn', 'conv', 'avgPool', 'batchNorm', 'relu', 'spatialMean', 'linear') }, (r) => [r.x])
    .exhaustive();
}

/** Which slots a gradient reaches: those the logits depend on through ops that pass a gradient back (walked back from the logits). */
function gradientSlots(program: TrainProgram): boolean[] {
  const needs = new Array<boolean>(program.slots).fill(false);
  needs[program.logits] = true;
  for (let i = program.ops.length - 1; i >= 0; i--) {
    const o = program.ops[i]!;
    // the stem's input is data; a zeros op passes a zero gradient on, as the tape's zerosLike does
    if (needs[o.y] && !(o.op === 'reluConvBn' && !o.inputGradient)) for (const r of opInputs(o)) needs[r] = true;
  }
  needs[0] = false; // the input batch is data
  return needs;
}

/**
 * A gradient array for each slot a gradient reaches, shared between slots whose gradients are
 * never alive at once (same length): a slot's gradient is first written by the backward step of
 * the last op that reads it and last read by the backward step of the op that wrote the slot, so
 * arrays are handed out in backward order and come back after their last read (never to an op that
 * reads one slot's gradient while it writes another's). A full NB201 network keeps a handful per
 * size instead of one per slot.
 */
export function shareGradientBuffers(program: TrainProgram, needs: readonly boolean[], sizes: readonly number[]): (Float32Array | null)[] {
  const n = program.ops.length;
  const producer = new Array<number>(program.slots).fill(-1);
  const lastReader = new Array<number>(program.slots).fill(-1);
  program.ops.forEach((o, i) => {
    producer[o.y] = i;
    for (const r of opInputs(o)) lastReader[r] = Math.max(lastReader[r]!, i);
  });
  // live in backward steps (step t runs op n − 1 − t): from the first write to the last read
  const live = needs.flatMap((need, slot) => {
    if (!need || producer[slot]! < 0) return [];
    const start = slot === program.logits || lastReader[slot]! < 0 ? -1 : n - 1 - lastReader[slot]!;
    return [{ slot, start, end: n - 1 - producer[slot]! }];
  });
  live.sort((a, b) => a.start - b.start || a.slot - b.slot);
  const out: (Float32Array | null)[] = new Array(program.slots).fill(null);
  const free = new Map<number, Float32Array[]>();
  const active: { end: number; size: number; buf: Float32Array }[] = [];
  for (const { slot, start, end } of live) {
    // arrays whose last read came strictly before this slot's first write are free again
    for (let k = active.length - 1; k >= 0; k--) {
      const a = active[k]!;
      if (a.end < start) {
        const same = free.get(a.size);
        if (same) same.push(a.buf);
        else free.set(a.size, [a.buf]);
        active.splice(k, 1);
      }
    }
    const size = sizes[slot]!;
    const buf = free.get(size)?.pop() ?? new Float32Array(size);
    active.push({ end, size, buf });
    out[slot] = buf;
  }
  return out;
}

function compile(addon: NativeAddon, program: TrainProgram, params: readonly string[], paramShapes: number[][], xShape: number[]): Plan {
  const index = new Map(params.map((n, i) => [n, i]));
  if (index.size !== params.length) throw new TypeError(`${TRAIN_STEP_KERNEL}: attr params names '${params.find((n, i) => params.indexOf(n) !== i)}' twice`);
  const needs = gradientSlots(program);
  const shapes: (number[] | undefined)[] = new Array(program.slots);
  shapes[0] = xShape;
  const eps = program.epsilon;
  // each parameter belongs to one op (its gradient is that op's, written once per step)
  const owner = new Map<number, number>();
  const param = (i: number, name: string | undefined, field: string, shape?: number[]): number => {
    const k = name === undefined ? undefined : index.get(name);
    if (k === undefined) throw programError(i, field, `parameter '${name}' is not among the step's params`);
    if (shape && !util.arraysEqual(paramShapes[k]!, shape)) throw programError(i, field, `'${name}' has shape [${paramShapes[k]}], expected [${shape}]`);
    const other = owner.get(k);
    if (other !== undefined && other !== i) throw programError(i, field, `parameter '${name}' is op ${other}'s too (one op per parameter)`);
    owner.set(k, i);
    return k;
  };
  const input = (i: number, slot: number, field: string): number[] => {
    const s = Number.isInteger(slot) && slot >= 0 && slot < program.slots ? shapes[slot] : undefined;
    if (!s) throw programError(i, field, `slot ${slot} is not written before it`);
    return s;
  };
  const nhwc = (i: number, s: number[], field: string): [number, number, number, number] => {
    if (s.length !== 4) throw programError(i, field, `expected an NHWC slot, got shape [${s}]`);
    return s as [number, number, number, number];
  };
  const positive = (i: number, field: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw programError(i, field, `expected an integer ≥ ${min}, got ${v}`);
  };
  // first pass: every op's output shape (so arrays can be made), geometry and parameter indices, checked
  const checked = program.ops.map((o, i): { y: number[]; geom: Int32Array | null; p: number[] } => {
    const r = match(o)
      .with({ op: P.union('reluConvBn', 'conv') }, (c) => {
        positive(i, 'stride', c.stride, 1);
        positive(i, 'pad', c.pad, 0);
        const x = nhwc(i, input(i, c.x, 'x'), 'x');
        const f = param(i, c.filter, 'filter');
        const conv = symmetricConvGeometry(x, paramShapes[f]!, c.stride, c.pad);
        if (!conv) throw programError(i, 'filter', `[${paramShapes[f]}] (stride ${c.stride}, pad ${c.pad}) does not fit an input of [${x}]`);
        const co = conv.outShape[3]!;
        const p = c.op === 'reluConvBn' ? [f, param(i, c.gamma, 'gamma', [co]), param(i, c.beta, 'beta', [co])] : [f];
        return { y: conv.outShape, geom: conv.geometry, p };
      })
      .with({ op: 'avgPool' }, (a) => {
        positive(i, 'size', a.size, 1);
        positive(i, 'stride', a.stride, 1);
        const info = backend_util.computePool2DInfo(nhwc(i, input(i, a.x, 'x'), 'x'), [a.size, a.size], [a.stride, a.stride], 1, a.padding);
        return { y: info.outShape, geom: convGeometry(info), p: [] };
      })
      .with({ op: 'add' }, (a) => {
        const sa = input(i, a.a, 'a');
        const sb = input(i, a.b, 'b');
        if (!util.arraysEqual(sa, sb)) throw programError(i, 'b', `slot ${a.b} [${sb}] differs in shape from slot ${a.a} [${sa}]`);
        return { y: sa, geom: null, p: [] };
      })
      .with({ op: 'zeros' }, (z) => ({ y: input(i, z.like, 'like'), geom: null, p: [] }))
      .with({ op: 'batchNorm' }, (b) => {
        const x = input(i, b.x, 'x');
        const c = x[x.length - 1]!;
        return { y: x, geom: null, p: [param(i, b.gamma, 'gamma', [c]), param(i, b.beta, 'beta', [c])] };
      })
      .with({ op: 'relu' }, (r) => ({ y: input(i, r.x, 'x'), geom: null, p: [] }))
      .with({ op: 'spatialMean' }, (m) => {
        const [n, , , c] = nhwc(i, input(i, m.x, 'x'), 'x');
        return { y: [n, c], geom: null, p: [] };
      })
      .with({ op: 'linear' }, (l) => {
        const x = input(i, l.x, 'x');
        if (x.length !== 2) throw programError(i, 'x', `expected [B, features], got [${x}]`);
        const w = param(i, l.weight, 'weight');
        const [out, features] = paramShapes[w]!;
        if (paramShapes[w]!.length !== 2 || features !== x[1]) throw programError(i, 'weight', `[${paramShapes[w]}] does not fit ${x[1]} features`);
        return { y: [x[0]!, out!], geom: null, p: l.bias === undefined ? [w] : [w, param(i, l.bias, 'bias', [out!])] };
      })
      .exhaustive();
    const yi = o.y;
    if (!Number.isInteger(yi) || yi <= 0 || yi >= program.slots || shapes[yi]) throw programError(i, 'y', `slot ${yi} is not a new slot in 1 … ${program.slots - 1}`);
    shapes[yi] = r.y;
    return r;
  });
  const logitsShape = shapes[program.logits];
  if (!logitsShape || logitsShape.length !== 2 || logitsShape[0] !== xShape[0])
    throw new Error(`${TRAIN_STEP_KERNEL}: program logits slot ${program.logits} is not a [B, classes] slot`);

  // slot 0 holds the caller's batch during a step; slots no op writes stay empty
  const sizes = shapes.map((s, i) => (i === 0 || !s ? 0 : util.sizeFromShape(s)));
  const gradBuffers = shareGradientBuffers(program, needs, sizes);
  const slots: Slot[] = shapes.map((s, i) => ({ shape: s ?? [0], value: new Float32Array(sizes[i]!), grad: gradBuffers[i]!, written: false }));
  const grads = paramShapes.map((s) => new Float32Array(util.sizeFromShape(s)));
  const reached = params.map(() => false);
  const stats: Float32Array[] = [];
  const counts: number[] = [];
  const forward: ((s: StepArrays) => void)[] = [];
  const backward: ((s: StepArrays) => void)[] = [];
  const scratch = new Float32Array(Math.max(...slots.map((s) => s.value.length)));

  /** Where an op writes slot i's gradient: the gradient itself when it is the first writer, else scratch to be added. */
  const target = (i: number): Float32Array => {
    const s = slots[i]!;
    return s.written ? scratch.subarray(0, s.value.length) : s.grad!;
  };
  const flat = (n: number): Int32Array => Int32Array.from([1, n, 1, 1]); // an element-wise binary op's geometry
  const flatGeometry = slots.map((s) => flat(s.value.length));
  const commit = (i: number): void => {
    const s = slots[i]!;
    if (s.written) addon.binary(ADD, s.grad!, scratch, s.grad!, flatGeometry[i]!);
    s.written = true;
  };
  const addGrad = (i: number, dy: Float32Array): void => {
    const s = slots[i]!;
    if (!s.grad) return;
    if (s.written) addon.binary(ADD, s.grad, dy, s.grad, flatGeometry[i]!);
    else s.grad.set(dy);
    s.written = true;
  };

  program.ops.forEach((o, i) => {
    const Y = slots[o.y]!;
    const { geom: maybeGeom, p: ps } = checked[i]!;
    const geom = maybeGeom!;
    match(o)
      .with({ op: 'reluConvBn' }, (c) => {
        const X = slots[c.x]!;
        const [f, g, b] = ps as [number, number, number];
        const co = Y.shape[3]!;
        const mean = new Float32Array(co);
        const variance = new Float32Array(co);
        const activated = new Float32Array(util.sizeFromShape(X.shape));
        const conv = new Float32Array(Y.value.length);
        stats.push(mean, variance);
        counts.push(Y.value.length / co);
        forward.push((s) => addon.reluConvBnTrain(X.value, s.params[f]!, s.params[g]!, s.params[b]!, Y.value, mean, variance, activated, conv, geom, c.relu, eps));
        if (!Y.grad) return;
        reached[f] = reached[g] = reached[b] = true;
        const withDx = c.inputGradient && X.grad !== null;
        backward.push((s) => {
          addon.reluConvBnTrainGrad(
            Y.grad!,
            null,
            null,
            activated,
            conv,
            s.params[f]!,
            s.params[g]!,
            mean,
            variance,
            withDx ? target(c.x) : null,
            grads[f]!,
            grads[g]!,
            grads[b]!,
            geom,
            c.relu,
            eps,
          );
          if (withDx) commit(c.x);
        });
      })
      .with({ op: 'conv' }, (c) => {
        const X = slots[c.x]!;
        const f = ps[0]!;
        const oihw = Int32Array.from(paramShapes[f]!);
        const hwioShape = Int32Array.from([oihw[2]!, oihw[3]!, oihw[1]!, oihw[0]!]);
        const toHwio = Int32Array.from([2, 3, 1, 0]); // [out, in, kh, kw] → [kh, kw, in, out], as the tape's transposes
        const toOihw = Int32Array.from([3, 2, 0, 1]);
        const hwio = new Float32Array(grads[f]!.length);
        const dHwio = new Float32Array(grads[f]!.length);
        forward.push((s) => {
          addon.transpose(s.params[f]!, hwio, oihw, toHwio);
          addon.conv2d(X.value, hwio, Y.value, geom);
        });
        if (!Y.grad) return;
        reached[f] = true;
        backward.push(() => {
          if (X.grad) {
            addon.conv2dBackpropInput(Y.grad!, hwio, target(c.x), geom);
            commit(c.x);
          }
          addon.conv2dBackpropFilter(X.value, Y.grad!, dHwio, geom);
          addon.transpose(dHwio, grads[f]!, hwioShape, toOihw);
        });
      })
      .with({ op: 'avgPool' }, (p) => {
        const X = slots[p.x]!;
        forward.push(() => addon.avgPool(X.value, Y.value, geom));
        if (!Y.grad || !X.grad) return;
        backward.push(() => {
          addon.avgPoolGrad(Y.grad!, target(p.x), geom);
          commit(p.x);
        });
      })
      .with({ op: 'add' }, (a) => {
        const A = slots[a.a]!;
        const B = slots[a.b]!;
        const geometry = flat(Y.value.length);
        forward.push(() => addon.binary(ADD, A.value, B.value, Y.value, geometry));
        if (!Y.grad) return;
        backward.push(() => {
          addGrad(a.a, Y.grad!);
          addGrad(a.b, Y.grad!);
        });
      })
      .with({ op: 'zeros' }, (z) => {
        // Y.value is a fresh zero array that nothing else writes: no forward work
        const L = slots[z.like]!;
        if (!Y.grad || !L.grad) return;
        backward.push(() => {
          if (L.written) return; // adding zeros changes nothing
          L.grad!.fill(0);
          L.written = true;
        });
      })
      .with({ op: 'batchNorm' }, (bn) => {
        const X = slots[bn.x]!;
        const [g, b] = ps as [number, number];
        const c = Y.shape[Y.shape.length - 1]!;
        const m = Y.value.length / c;
        const mean = new Float32Array(c);
        const variance = new Float32Array(c);
        stats.push(mean, variance);
        counts.push(m);
        forward.push((s) => addon.batchNormTrain(X.value, s.params[g]!, s.params[b]!, Y.value, mean, variance, m, c, eps));
        if (!Y.grad) return;
        reached[g] = reached[b] = true;
        const dx = X.grad ? X.grad : new Float32Array(util.sizeFromShape(X.shape)); // dγ, dβ still need the kernel
        backward.push((s) => {
          addon.batchNormTrainGrad(Y.grad!, X.value, s.params[g]!, mean, variance, null, null, X.grad ? target(bn.x) : dx, grads[g]!, grads[b]!, m, c, eps);
          if (X.grad) commit(bn.x);
        });
      })
      .with({ op: 'relu' }, (r) => {
        const X = slots[r.x]!;
        forward.push(() => addon.unary(RELU, X.value, Y.value, 0));
        if (!Y.grad || !X.grad) return;
        backward.push(() => {
          // tfjs' ReLU gradient dy · step(x); y > 0 exactly when x > 0
          const dx = target(r.x);
          const dy = Y.grad!;
          const y = Y.value;
          for (let k = 0; k < dx.length; k++) dx[k] = y[k]! > 0 ? dy[k]! : 0;
          commit(r.x);
        });
      })
      .with({ op: 'spatialMean' }, (m) => {
        const X = slots[m.x]!;
        const [n, h, w, c] = X.shape as [number, number, number, number];
        const hw = h * w;
        forward.push(() => {
          const x = X.value;
          const y = Y.value;
          for (let b = 0; b < n; b++)
            for (let ch = 0; ch < c; ch++) {
              let sum = 0;
              for (let p = 0; p < hw; p++) sum = Math.fround(sum + x[(b * hw + p) * c + ch]!);
              y[b * c + ch] = Math.fround(sum / hw);
            }
        });
        if (!Y.grad || !X.grad) return;
        backward.push(() => {
          const dx = target(m.x);
          const dy = Y.grad!;
          for (let b = 0; b < n; b++) for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) dx[(b * hw + p) * c + ch] = Math.fround(dy[b * c + ch]! / hw);
          commit(m.x);
        });
      })
      .with({ op: 'linear' }, (l) => {
        const X = slots[l.x]!;
        const w = ps[0]!;
        const bi = ps[1] ?? -1;
        const [n, inF] = X.shape as [number, number];
        const out = Y.shape[1]!;
        forward.push((s) => {
          addon.matmul(X.value, s.params[w]!, Y.value, 1, 0, 0, n, out, inF, false, true);
          if (bi < 0) return;
          const bias = s.params[bi]!;
          for (let r = 0; r < n; r++) for (let o2 = 0; o2 < out; o2++) Y.value[r * out + o2] = Math.fround(Y.value[r * out + o2]! + bias[o2]!);
        });
        if (!Y.grad) return;
        reached[w] = true;
        if (bi >= 0) reached[bi] = true;
        backward.push((s) => {
          const dy = Y.grad!;
          addon.matmul(dy, X.value, grads[w]!, 1, 0, 0, out, inF, n, true, false);
          if (bi >= 0) {
            const db = grads[bi]!;
            db.fill(0);
            for (let r = 0; r < n; r++) for (let o2 = 0; o2 < out; o2++) db[o2] = Math.fround(db[o2]! + dy[r * out + o2]!);
          }
          if (X.grad) {
            addon.matmul(dy, s.params[w]!, target(l.x), 1, 0, 0, n, inF, out, false, false);
            commit(l.x);
          }
        });
      })
      .exhaustive();
  });
  backward.reverse();
  return { slots, forward, backward, grads, reached, stats, counts: Int32Array.from(counts), statsSize: stats.reduce((a, s) => a + s.length, 0) };
}

/** Mean softmax cross-entropy of logits [B, K] against labels; writes its gradient ((softmax − onehot) / B) into dlogits. */
function crossEntropyAndGradient(logits: Float32Array, labels: Int32Array, k: number, dlogits: Float32Array): number {
  const n = labels.length;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const label = labels[r]!;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[r * k + j]! - max);
    const logSum = Math.log(sum) + max;
    loss -= logits[r * k + label]! - logSum;
    for (let j = 0; j < k; j++) dlogits[r * k + j] = Math.fround((Math.exp(logits[r * k + j]! - logSum) - (j === label ? 1 : 0)) / n);
  }
  return loss / n;
}

/** Plans by program object, then input and parameter shapes (the last batch of an epoch is smaller). */
const plans = new WeakMap<TrainProgram, Map<string, Plan>>();

export function trainStepKernelConfig(addon: NativeAddon, backendName: string): KernelConfig {
  return {
    kernelName: TRAIN_STEP_KERNEL,
    backendName,
    kernelFunc: ({ inputs, attrs: maybeAttrs, backend }) => {
      const b = backend as MathBackendCPU;
      const ins = inputs as Record<string, TensorInfo | undefined>;
      const attrs = maybeAttrs as unknown as TrainStepAttrs;
      const { program, params } = attrs;
      if (!program || !Array.isArray(program.ops) || !Array.isArray(params) || !Array.isArray(attrs.weightDecay) || attrs.weightDecay.length !== params.length)
        throw new TypeError(`${TRAIN_STEP_KERNEL}: attrs program, params and weightDecay (one per parameter) expected`);
      const x = ins.x;
      const labels = ins.labels;
      const xv = f32(b, x);
      if (!x || !xv || x.shape.length !== 4) throw new TypeError(`${TRAIN_STEP_KERNEL}: input x must be a float32 NHWC tensor`);
      if (!labels || labels.dtype !== 'int32' || labels.shape.length !== 1 || labels.shape[0] !== x.shape[0])
        throw new TypeError(`${TRAIN_STEP_KERNEL}: input labels must be int32 [${x.shape[0]}]`);
      const paramInfos = params.map((name, i) => {
        const p = ins[`param${i}`];
        if (!p || !f32(b, p)) throw new TypeError(`${TRAIN_STEP_KERNEL}: input param${i} ('${name}') must be a float32 tensor`);
        return p;
      });
      const key = `${x.shape.join(',')};${params.map((name, i) => `${name}:${paramInfos[i]!.shape.join(',')}`).join(';')}`;
      let byShape = plans.get(program);
      if (!byShape) plans.set(program, (byShape = new Map()));
      let plan = byShape.get(key);
      if (!plan) {
        plan = compile(
          addon,
          program,
          params,
          paramInfos.map((p) => p.shape),
          x.shape,
        );
        byShape.set(key, plan);
      }
      // all or nothing: every updated parameter and its buffer must be storage no one else sees
      const arrays: Float32Array[] = [];
      const buffers: (Float32Array | null)[] = [];
      for (let i = 0; i < params.length; i++) {
        if (!plan.reached[i]) {
          arrays.push(f32(b, paramInfos[i])!);
          buffers.push(null);
          continue;
        }
        const buf = ins[`buf${i}`];
        if (buf && !util.arraysEqual(buf.shape, paramInfos[i]!.shape))
          throw new TypeError(`${TRAIN_STEP_KERNEL}: buf${i} [${buf.shape}] and param${i} [${paramInfos[i]!.shape}] differ`);
        const pv = exclusiveStorage(b, paramInfos[i]);
        const bv = buf ? exclusiveStorage(b, buf) : null;
        if (!pv || !bv || pv === bv) return [];
        arrays.push(pv);
        buffers.push(bv);
      }
      const step: StepArrays = { params: arrays, labels: b.data.get(labels.dataId).values as Int32Array };
      const classes = plan.slots[program.logits]!.shape[1]!;
      const bad = step.labels.findIndex((l) => !(l >= 0 && l < classes));
      if (bad >= 0) throw new RangeError(`${TRAIN_STEP_KERNEL}: label ${step.labels[bad]} of row ${bad} is outside 0 … ${classes - 1}`);
      for (const s of plan.slots) s.written = false;
      plan.slots[0]!.value = xv;
      for (const f of plan.forward) f(step);
      const logits = plan.slots[program.logits]!;
      const loss = crossEntropyAndGradient(logits.value, step.labels, logits.shape[1]!, logits.grad!);
      logits.written = true;
      for (const f of plan.backward) f(step);
      plan.slots[0]!.value = new Float32Array(0); // the plan keeps no reference to the caller's batch
      const scalars = Float32Array.from([attrs.lr, attrs.momentum, 0]);
      for (let i = 0; i < params.length; i++) {
        if (!plan.reached[i]) continue;
        scalars[2] = attrs.weightDecay[i]!;
        addon.sgdUpdate(arrays[i]!, buffers[i]!, plan.grads[i]!, arrays[i]!, buffers[i]!, scalars, attrs.nesterov);
      }
      const stats = new Float32Array(plan.statsSize);
      let at = 0;
      for (const s of plan.stats) {
        stats.set(s, at);
        at += s.length;
      }
      return [
        b.makeTensorInfo([], 'float32', Float32Array.of(loss)),
        b.makeTensorInfo([plan.statsSize], 'float32', stats),
        b.makeTensorInfo([plan.counts.length], 'int32', plan.counts.slice()),
      ];
    },
  };
}
