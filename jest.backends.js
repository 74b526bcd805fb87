// The application side of every test file, as in the CLI: importing @metad2a/tfjs-kernels registers
// the native backend and the wasm/cpu training kernels (the tfjs way); core names no implementation.
// Core's own tests opt out (they test initBackend with and without a registered backend).
require('@metad2a/tfjs-kernels');
