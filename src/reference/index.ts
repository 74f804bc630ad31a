/** The float64 oracle of every kernel and op, for tests, gradcheck and benchmarks. */
export * as elementwise from './elementwise.js';
export * as layout from './layout.js';
export * as reduce from './reduce.js';
export * as softmax from './softmax.js';
export * as layernorm from './layernorm.js';
export * as crossEntropy from './cross-entropy.js';
export * as matmul from './matmul.js';
export * as attention from './attention.js';
export { referenceVjp, sumToShape } from './grad.js';
export { ndarray, type NDArray } from './ndarray.js';
