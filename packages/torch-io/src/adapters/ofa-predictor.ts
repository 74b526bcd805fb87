/**
 * OFA's pretrained accuracy predictor `acc_predictor.pth` (legacy torch.save of an
 * `nn.Sequential` state dict: Linear(128,400)-ReLU-Linear(400,400)-ReLU-Linear(400,400)-ReLU-
 * Linear(400,1)) → its eight named weights, shapes checked.
 */
import { fail, type NamedArray } from '@metad2a/core';
import type { PyValue } from '../values';
import { stateDictToNamedArrays } from './state-dict';

/** Names and shapes of the OFA accuracy predictor's parameters (PyTorch Linear layout `[out, in]`). */
export const OFA_ACC_PREDICTOR_SHAPES: Readonly<Record<string, readonly number[]>> = {
  '0.weight': [400, 128],
  '0.bias': [400],
  '2.weight': [400, 400],
  '2.bias': [400],
  '4.weight': [400, 400],
  '4.bias': [400],
  '6.weight': [1, 400],
  '6.bias': [1],
};

/** The decoded `acc_predictor.pth` as named float32 weights; any missing, extra or mis-shaped tensor is a CheckpointMismatch. */
export function ofaAccuracyPredictorWeights(root: PyValue, source = 'acc_predictor.pth'): Record<string, NamedArray> {
  const w = stateDictToNamedArrays(root, { source });
  const problems: string[] = [];
  for (const [k, shape] of Object.entries(OFA_ACC_PREDICTOR_SHAPES)) {
    const t = w[k];
    if (!t) problems.push(`missing ${k} [${shape.join(', ')}]`);
    else if (t.shape.join(',') !== shape.join(',')) problems.push(`${k}: expected [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  for (const k of Object.keys(w)) if (!(k in OFA_ACC_PREDICTOR_SHAPES)) problems.push(`unexpected ${k}`);
  if (problems.length > 0) fail('CheckpointMismatch', { source, expected: 'the OFA accuracy predictor (128→400→400→400→1)', details: problems });
  return w;
}
