/**
 * Quantized weights in safetensors files, under a name of the caller's choosing (`name`, e.g.
 * `h.0.attn.c_attn.weight`), as these tensors:
 *
 *   q4_0 (GGUF's block bytes, one row of blocks per weight row):
 *     name                                U8 [N, K/32·18]  the Q4_0 blocks (float16 d, then 16 nibble bytes)
 *     name.quant_state.q4_0               U8 [bytes]       UTF-8 JSON {"quant_type":"q4_0","blocksize":32,"shape":[N,K]}
 *   nf4 (bitsandbytes' serialisation of a Params4bit, without double quantization):
 *     name                                U8 [N·K/2, 1]    codes, two per byte, the first in the high nibble
 *     name.absmax                         F32 [N·K/64]     each block's absmax
 *     name.quant_map                      F32 [16]         the NF4 table (checked on load)
 *     name.quant_state.bitsandbytes__nf4  U8 [bytes]       UTF-8 JSON {"quant_type":"nf4","blocksize":64,"dtype":"float32","shape":[N,K]}
 *
 * Loading validates the state, dtypes and sizes and throws SafetensorsError before anything is
 * allocated on the GPU.
 */
import type { Device } from '../gpu/device.js';
import { defaultDevice } from '../gpu/default-device.js';
import { SafetensorsError, type SafetensorsInput, type SafetensorsTensor } from './safetensors.js';
import { BLOCK_SIZE, NF4_TABLE, type QuantBlocks, type QuantFormat } from '../reference/quant.js';
import { Q4_0_BLOCK_BYTES, fromNF4Bytes, fromQ4_0Bytes, toNF4Bytes, toQ4_0Bytes } from '../quant/layout.js';
import { QuantizedTensor, type PartOptions } from '../quant/quantized-tensor.js';

const STATE_SUFFIX: Record<QuantFormat, string> = { q4_0: '.quant_state.q4_0', nf4: '.quant_state.bitsandbytes__nf4' };

/** The tensors that store `q` under `name` (merge them with others and pass them to encodeSafetensors). */
export async function quantizedToSafetensors(q: QuantizedTensor, name: string): Promise<Record<string, SafetensorsInput>> {
  const blocks = await q.toBlocks();
  const [n, k] = q.shape;
  const state = (extra: Record<string, unknown>): SafetensorsInput => {
    const data = new TextEncoder().encode(JSON.stringify({ quant_type: q.format, blocksize: q.blockSize, ...extra, shape: [n, k] }));
    return { dtype: 'U8', shape: [data.length], data };
  };
  if (q.format === 'q4_0') {
    return {
      [name]: { dtype: 'U8', shape: [n, (k / 32) * Q4_0_BLOCK_BYTES], data: toQ4_0Bytes(blocks) },
      [name + STATE_SUFFIX.q4_0]: state({}),
    };
  }
  const { packed, absmax } = toNF4Bytes(blocks);
  return {
    [name]: { dtype: 'U8', shape: [packed.length, 1], data: packed },
    [`${name}.absmax`]: { dtype: 'F32', shape: [absmax.length], data: absmax },
    [`${name}.quant_map`]: { dtype: 'F32', shape: [16], data: Float32Array.from(NF4_TABLE) },
    [name + STATE_SUFFIX.nf4]: state({ dtype: 'float32' }),
  };
}

/** Reads the weight stored under `name` (from decodeSafetensors(...).tensors) onto a device. */
export function quantizedFromSafetensors(tensors: Record<string, SafetensorsTensor>, name: string, options: PartOptions & { device?: Device } = {}): QuantizedTensor {
  const where = 'quantizedFromSafetensors';
  const format = (['q4_0', 'nf4'] as const).find((f) => Object.hasOwn(tensors, name + STATE_SUFFIX[f]));
  if (!format) {
    throw new SafetensorsError(where, `no quantized weight named ${JSON.stringify(name)}: neither ${JSON.stringify(name + STATE_SUFFIX.q4_0)} nor ${JSON.stringify(name + STATE_SUFFIX.nf4)} is in the file`, 'check the name (list the file with decodeSafetensors), or load it as a float tensor');
  }
  const [n, k] = readState(where, tensors[name + STATE_SUFFIX[format]]!, format, name);
  const blocks = format === 'q4_0' ? readQ4_0(where, tensors, name, n, k) : readNF4(where, tensors, name, n, k);
  return QuantizedTensor.fromBlocks(options.device ?? defaultDevice(where), blocks, options);
}

function readState(where: string, t: SafetensorsTensor, format: QuantFormat, name: string): [number, number] {
  let state: unknown;
  try {
    state = t.dtype === 'U8' ? JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(t.data)) : null;
  } catch {
    state = null;
  }
  const s = state as { quant_type?: unknown; blocksize?: unknown; shape?: unknown } | null;
  const shape = s?.shape;
  const ok = s !== null && typeof s === 'object' && s.quant_type === format && s.blocksize === BLOCK_SIZE[format] && Array.isArray(shape) && shape.length === 2 && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!ok) {
    throw new SafetensorsError(where, `the quant state of ${JSON.stringify(name)} is not U8 JSON {"quant_type":"${format}","blocksize":${BLOCK_SIZE[format]},"shape":[N,K]}`, 'the file is corrupt or uses another quantization (double-quantized NF4 and other block sizes are not supported)');
  }
  return shape as [number, number];
}

function tensorOf(where: string, tensors: Record<string, SafetensorsTensor>, key: string, dtype: string, bytes: number): SafetensorsTensor {
  const t = Object.hasOwn(tensors, key) ? tensors[key] : undefined;
  if (!t || t.dtype !== dtype || t.data.length !== bytes) {
    const got = t ? `${t.dtype} of ${t.data.length} bytes` : 'missing';
    throw new SafetensorsError(where, `${JSON.stringify(key)} should be ${dtype} of ${bytes} bytes, but is ${got}`, 'the file is truncated, corrupt or written for another shape: re-export the weights');
  }
  return t;
}

function readQ4_0(where: string, tensors: Record<string, SafetensorsTensor>, name: string, n: number, k: number): QuantBlocks {
  if (k % 32 !== 0) throw new SafetensorsError(where, `${JSON.stringify(name)} has K = ${k}, not a multiple of 32`, 'the quant state is corrupt');
  const t = tensorOf(where, tensors, name, 'U8', (n * k * Q4_0_BLOCK_BYTES) / 32);
  return fromQ4_0Bytes(t.data, n, k);
}

function readNF4(where: string, tensors: Record<string, SafetensorsTensor>, name: string, n: number, k: number): QuantBlocks {
  if (k % 64 !== 0) throw new SafetensorsError(where, `${JSON.stringify(name)} has K = ${k}, not a multiple of 64`, 'weights whose rows do not hold whole blocks are not supported');
  const packed = tensorOf(where, tensors, name, 'U8', (n * k) / 2);
  const absmax = tensorOf(where, tensors, `${name}.absmax`, 'F32', ((n * k) / 64) * 4);
  const map = tensorOf(where, tensors, `${name}.quant_map`, 'F32', 64);
  const table = new Float32Array(map.data.slice().buffer);
  if (!table.every((v, i) => v === NF4_TABLE[i])) {
    throw new SafetensorsError(where, `${JSON.stringify(name)}.quant_map is not the NF4 table`, 'this is another 4-bit code (FP4?), which wgrad does not read');
  }
  return fromNF4Bytes(packed.data, new Float32Array(absmax.data.slice().buffer), n, k);
}
