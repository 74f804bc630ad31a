/** The float64 oracle of every kernel and op, for tests, gradcheck and benchmarks. */
export * as elementwise from './elementwise.js';
/** Oracles of the layout ops (permute, slice, concat, broadcast, gather). */
export * as layout from './layout.js';
/** Oracles of the reductions. */
export * as reduce from './reduce.js';
/** Oracles of softmax and logSoftmax. */
export * as softmax from './softmax.js';
/** Oracles of layer normalisation. */
export * as layernorm from './layernorm.js';
/** Oracles of the softmax cross-entropy loss. */
export * as crossEntropy from './cross-entropy.js';
/** Oracles of matmul. */
export * as matmul from './matmul.js';
/** Oracles of fused causal attention. */
export * as attention from './attention.js';
export { referenceVjp, sumToShape } from './grad.js';
export { ndarray, type NDArray } from './ndarray.js';
