/**
 * Names and contracts of the fused kernels that MetaD2A's models call through the tfjs kernel
 * registry. A backend may register them (the `native` backend of `@metad2a/tfjs-kernels` does);
 * callers check `tf.getKernel(name, tf.getBackend())` and otherwise compute the same thing with
 * tfjs ops.
 */

/**
 * One `torch.optim.Adam` step of one parameter (no weight decay, no amsgrad).
 * Inputs `{ param, m, v, grad }` (float32, same shape); attrs `{ beta1, beta2, eps, stepSize,
 * sqrtBc2 }` (`stepSize` = lr / (1 − β1ᵗ), `sqrtBc2` = √(1 − β2ᵗ)); outputs `[param', m', v']`:
 * m' = m·β1 + g·(1−β1), v' = v·β2 + g²·(1−β2), param' = param − (m' / (√v' / sqrtBc2 + ε))·stepSize,
 * each operation rounded to float32 in that order (as the composite tfjs ops do).
 */
export const ADAM_UPDATE_KERNEL = 'MetaD2AAdamUpdate';

/**
 * Training-mode batch normalisation over every axis but the last (channels-last).
 * Inputs `{ x, gamma, beta }` (float32; gamma, beta [C]); attr `{ epsilon }`; outputs
 * `[y, mean, variance]`: per-channel batch mean and biased variance [C],
 * y = (x − mean)·(γ / √(variance + ε)) + β. `@metad2a/layers`' `batchNormTrain` registers its gradient.
 */
export const BATCH_NORM_TRAIN_KERNEL = 'MetaD2ABatchNormTrain';

/**
 * Gradient of `BATCH_NORM_TRAIN_KERNEL` w.r.t. x, γ, β. Inputs `{ dy, x, gamma, mean, variance,
 * dmean, dvariance }` (the last two: gradients reaching the mean / variance outputs, [C]); attr
 * `{ epsilon }`; outputs `[dx, dgamma, dbeta]`.
 */
export const BATCH_NORM_TRAIN_GRAD_KERNEL = 'MetaD2ABatchNormTrainGrad';
