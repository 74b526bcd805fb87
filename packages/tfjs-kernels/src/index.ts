/**
 * @metad2a/tfjs-kernels — Fast CPU kernels for tfjs: gradient kernels for wasm and a native (Node-API) backend.
 *
 * Not implemented yet (issue #11): this package exports nothing so far.
 */
export {};
