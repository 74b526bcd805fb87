// Shared jest settings for every package: node environment (tfjs typed arrays
// misbehave under jsdom), TypeScript through @swc/jest, and workspace packages
// resolved to their sources so tests never need a prior build.
const path = require('node:path');

// The native kernels' threads poll for work between calls by default (fast training steps). Test
// processes run two at a time on CI's two cores, where a polling thread takes the CPU from the
// other process: off for tests (set here, in the real environment the test processes inherit;
// jest's sandboxed process.env would not reach the addon).
process.env.METAD2A_SPIN_US ??= '0';

/**
 * @param {string} packageDir absolute path of the package
 * @param {{ registerKernels?: boolean }} [opts] registerKernels: false leaves out jest.backends.js
 */
module.exports = function preset(packageDir, opts = {}) {
  return {
    rootDir: packageDir,
    displayName: path.basename(packageDir),
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
    transform: {
      '^.+\\.(t|j)s$': [require.resolve('@swc/jest'), { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    },
    moduleNameMapper: {
      '^@metad2a/([a-z0-9-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    },
    // tfjs-core's CommonJS bundle has no gradient functions; its ESM file
    // dist/register_all_gradients.js (imported by @metad2a/layers) registers them in tfjs's
    // global registry. Jest cannot require ESM on Node 20, so those files are transformed.
    transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core))'],
    testTimeout: 120000,
    setupFiles: opts.registerKernels === false ? [] : [path.join(__dirname, 'jest.backends.js')],
  };
};
