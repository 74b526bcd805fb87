/**
 * @metad2a/layers — tfjs building blocks with PyTorch semantics and PyTorch parameter names:
 * a named parameter store, `Linear`, `GRUCell`, PyTorch-default initialisation, and the
 * `Adam` / `SGD` update rules of torch.optim (with state that checkpoints can hold), and the
 * training-mode batch normalisation op `batchNormTrain` (a fused kernel where the backend has one).
 *
 * Importing this package registers tfjs-core's gradient functions (the `@tensorflow/tfjs`
 * umbrella does that too, but we depend on tfjs-core alone).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

export { ParameterStore, joinName } from './parameter-store';
export { Linear } from './linear';
export { GRUCell } from './gru-cell';
export { GatedSum } from './gated-sum';
export { uniformInit, linearInit, xavierUniformInit } from './init';
export { Adam, SGD, type OptimizerState } from './optimizers';
export {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  batchNormTrain,
  batchNormTrainComposite,
  batchNormTrainGradComposite,
  type BatchNormTrainResult,
} from './batch-norm';
export { reluConvBnTrain, reluConvBnTrainComposite, type ReluConvBnOptions } from './relu-conv-bn';
export { withLeanSavedTensors } from './saved-tensors';
