module.exports = require('../../jest.preset.js')(__dirname, { registerKernels: false }); // core tests initBackend with and without a registered backend
