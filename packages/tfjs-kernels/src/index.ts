/**
 * @metad2a/tfjs-kernels — fast CPU kernels for tfjs through its kernel registry. Importing the
 * package registers them, the tfjs way (as `@tensorflow/tfjs-backend-wasm` registers `wasm`):
 * - the `native` backend (cpu backend storage + a compiled Node-API addon for GEMM, convolutions,
 *   depthwise convolutions, average pooling and their gradients; `registerNativeBackend`), which
 *   `@metad2a/core`'s `initBackend` then prefers; where the addon does not load, the reason is
 *   reported to core (`initBackend` gives it) and nothing else changes;
 * - the training kernels wasm and cpu lack (`registerTrainingKernels`), added when `initBackend`
 *   initialises that backend.
 */
import { registerBackendSetup, reportBackendUnavailable } from '@metad2a/core';
import { registerNativeBackend } from './native/backend';
import { registerTrainingKernels } from './wasm/training-kernels';

export { registerNativeBackend, nativeInfo, setNativeThreads, NATIVE_BACKEND_NAME } from './native/backend';
export type { NativeRegistration } from './native/backend';
export { loadAddon, addonPath } from './addon';
export type { NativeAddon, AddonLoad } from './addon';
export { registerTrainingKernels } from './wasm/training-kernels';
export type { TrainingKernelsReport } from './wasm/training-kernels';

const native = registerNativeBackend({ quiet: true });
if (!native.ok) reportBackendUnavailable('native', native.reason);
registerBackendSetup('wasm', () => registerTrainingKernels('wasm'));
registerBackendSetup('cpu', () => registerTrainingKernels('cpu'));
