/** int4 weights: the Q4_0 and NF4 formats, GPU quantization, fused products and byte layouts (their safetensors files: src/io/quant-files.ts). */
export { QuantizedTensor, type QuantPart, type PartOptions, type QuantFormat } from './quantized-tensor.js';
export { quantize, quantizeChecked, int4Matmul, int4MatmulDx } from './ops.js';
export { codesToWords, wordsToCodes, toQ4_0Bytes, fromQ4_0Bytes, toNF4Bytes, fromNF4Bytes, Q4_0_BLOCK_BYTES } from './layout.js';
export { BLOCK_SIZE, NF4_TABLE, type QuantBlocks } from '../reference/quant.js';
