/**
 * @metad2a/tfjs-kernels — fast CPU kernels for tfjs through its kernel registry:
 * - `registerNativeBackend()`: the `native` backend (cpu backend storage + a compiled Node-API
 *   addon for GEMM, convolutions, depthwise convolutions, average pooling and their gradients);
 *   `@metad2a/core`'s `initBackend` calls it.
 */
export { registerNativeBackend, nativeInfo, setNativeThreads, NATIVE_BACKEND_NAME } from './native/backend';
export type { NativeRegistration } from './native/backend';
export { loadAddon, addonPath } from './addon';
export type { NativeAddon, AddonLoad } from './addon';
export { registerTrainingKernels } from './wasm/training-kernels';
export type { TrainingKernelsReport } from './wasm/training-kernels';
