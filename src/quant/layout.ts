/**
 * Byte layouts of int4 weights, converted exactly (bit for bit) between:
 * - codes: one byte (0..15) per weight of an [N, K] matrix, row-major — the oracle's form;
 * - GPU words: 8 codes per u32, element k of a row in bits 4·(k % 8) of word k / 8 (kernels/q4.wgsl);
 * - Q4_0 blocks as GGUF stores them: 18 bytes per 32 weights, a little-endian float16 `d`, then 16
 *   bytes whose byte j holds element j in its low nibble and element j + 16 in its high nibble;
 * - NF4 as bitsandbytes stores it: the flattened weights two per byte, the first of a pair in the high
 *   nibble, with the float32 absmax of each 64-weight block in a separate array.
 * Import checks sizes and scales and throws typed errors before anything is allocated.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { BLOCK_SIZE, checkQuantShape, f16BitsToNumber, f32ToF16Bits, type QuantBlocks } from '../reference/quant.js';

/** Bytes of one Q4_0 block: a float16 scale and 16 bytes of codes. */
export const Q4_0_BLOCK_BYTES = 18;

/** Packs codes (one per byte) 8 to a u32, element k in bits 4·(k % 8): the GPU layout. */
export function codesToWords(codes: Uint8Array): Uint32Array {
  const words = new Uint32Array(codes.length / 8);
  for (let w = 0; w < words.length; w++) {
    let v = 0;
    for (let e = 7; e >= 0; e--) v = (v << 4) | codes[w * 8 + e]!;
    words[w] = v >>> 0;
  }
  return words;
}

/** Unpacks GPU words into one code per byte. */
export function wordsToCodes(words: Uint32Array): Uint8Array {
  const codes = new Uint8Array(words.length * 8);
  for (let w = 0; w < words.length; w++) for (let e = 0; e < 8; e++) codes[w * 8 + e] = (words[w]! >>> (4 * e)) & 15;
  return codes;
}

/** GGUF's Q4_0 bytes of [N, K] codes and float16-valued scales. */
export function toQ4_0Bytes(q: QuantBlocks): Uint8Array {
  expectFormat('toQ4_0Bytes', q, 'q4_0');
  const blocks = q.scales.length;
  const out = new Uint8Array(blocks * Q4_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q4_0_BLOCK_BYTES;
    view.setUint16(at, f32ToF16Bits(q.scales[b]!), true);
    for (let j = 0; j < 16; j++) out[at + 2 + j] = q.codes[b * 32 + j]! | (q.codes[b * 32 + 16 + j]! << 4);
  }
  return out;
}

/** Codes and scales of GGUF Q4_0 bytes for an [N, K] weight; throws before decoding anything wrong. */
export function fromQ4_0Bytes(bytes: Uint8Array, n: number, k: number): QuantBlocks {
  const where = 'fromQ4_0Bytes';
  checkQuantShape(where, 'q4_0', n, k);
  const blocks = (n * k) / 32;
  if (!(bytes instanceof Uint8Array) || bytes.length !== blocks * Q4_0_BLOCK_BYTES) {
    throw new ShapeError(where, `a q4_0 weight ${fmtShape([n, k])} takes ${blocks} blocks of ${Q4_0_BLOCK_BYTES} bytes (${blocks * Q4_0_BLOCK_BYTES} bytes), got ${bytes instanceof Uint8Array ? bytes.length : 'no Uint8Array'}`, 'the buffer is truncated or belongs to another shape: check N and K against the file');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scales = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) scales[b] = f16BitsToNumber(view.getUint16(b * Q4_0_BLOCK_BYTES, true));
  expectFiniteScales(where, scales);
  const codes = new Uint8Array(n * k);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q4_0_BLOCK_BYTES + 2;
    for (let j = 0; j < 16; j++) {
      codes[b * 32 + j] = bytes[at + j]! & 15;
      codes[b * 32 + 16 + j] = bytes[at + j]! >> 4;
    }
  }
  return { format: 'q4_0', n, k, codes, scales };
}

/** bitsandbytes' packed NF4 bytes (N·K / 2, first weight of a pair in the high nibble) and absmax. */
export function toNF4Bytes(q: QuantBlocks): { packed: Uint8Array; absmax: Float32Array } {
  expectFormat('toNF4Bytes', q, 'nf4');
  const packed = new Uint8Array(q.codes.length / 2);
  for (let i = 0; i < packed.length; i++) packed[i] = (q.codes[2 * i]! << 4) | q.codes[2 * i + 1]!;
  return { packed, absmax: Float32Array.from(q.scales) };
}

/** Codes and scales of bitsandbytes' packed NF4 bytes and absmax for an [N, K] weight; throws before decoding anything wrong. */
export function fromNF4Bytes(packed: Uint8Array, absmax: Float32Array, n: number, k: number): QuantBlocks {
  const where = 'fromNF4Bytes';
  checkQuantShape(where, 'nf4', n, k);
  if (!(packed instanceof Uint8Array) || packed.length !== (n * k) / 2) {
    throw new ShapeError(where, `an nf4 weight ${fmtShape([n, k])} packs into ${(n * k) / 2} bytes, got ${packed instanceof Uint8Array ? packed.length : 'no Uint8Array'}`, 'the buffer is truncated or belongs to another shape: check N and K against the file');
  }
  const blocks = (n * k) / BLOCK_SIZE.nf4;
  if (!(absmax instanceof Float32Array) || absmax.length !== blocks) {
    throw new ShapeError(where, `an nf4 weight ${fmtShape([n, k])} has ${blocks} blocks of 64, so ${blocks} absmax values; got ${absmax instanceof Float32Array ? absmax.length : 'no Float32Array'}`, 'pass the absmax array saved with these weights (float32, one per block)');
  }
  expectFiniteScales(where, absmax);
  const codes = new Uint8Array(n * k);
  for (let i = 0; i < packed.length; i++) {
    codes[2 * i] = packed[i]! >> 4;
    codes[2 * i + 1] = packed[i]! & 15;
  }
  return { format: 'nf4', n, k, codes, scales: Float32Array.from(absmax) };
}

function expectFormat(where: string, q: QuantBlocks, format: 'q4_0' | 'nf4'): void {
  if (q.format !== format) throw new ValueError(where, `the weight is ${q.format}, not ${format}`, `use the ${q.format} conversion instead`);
}

function expectFiniteScales(where: string, scales: Float32Array): void {
  for (let b = 0; b < scales.length; b++) {
    if (!Number.isFinite(scales[b]!)) {
      throw new ValueError(where, `block ${b} has scale ${scales[b]}`, 'the file is corrupt, or was quantized from non-finite weights; re-quantize from finite float weights');
    }
  }
}
