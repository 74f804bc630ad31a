/**
 * QuantizedTensor: an [N, K] weight (out_features, in_features) in an int4 block format, held on the
 * GPU as kernels/q4.wgsl reads it — codes packed 8 per u32 with rows contiguous along K, one float32
 * scale per block in its own array. A weight larger than one storage binding is split into parts of
 * whole rows, each with its own two buffers; every kernel is dispatched once per part.
 *
 * It is not a Tensor (no dtype, no autograd): int4Matmul reads it, dequantize() expands it, and
 * toBlocks() / fromBlocks() move it to and from the CPU's codes-and-scales form, which src/quant/layout.ts
 * converts to the published byte layouts. Like a tensor, scope() frees it unless it is returned.
 */
import type { Device } from '../gpu/device.js';
import { LimitError, ValueError, fmtShape } from '../errors.js';
import { BLOCK_SIZE, checkQuantShape, type QuantBlocks, type QuantFormat } from '../reference/quant.js';
import { launch } from '../tensor/launch.js';
import { keep, track } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { codesToWords, wordsToCodes } from './layout.js';

export type { QuantFormat };

/** Rows [row0, row0 + rows) of the weight: `words` int32 [rows, K/8] (u32 bits), `scales` float32 [rows, K/blockSize]. */
export interface QuantPart {
  readonly row0: number;
  readonly rows: number;
  readonly words: Tensor;
  readonly scales: Tensor;
}

/** How a weight is split into parts. */
export interface PartOptions {
  /** At most this many rows per part (default: as many as one storage binding holds). For tests. */
  maxPartRows?: number;
}

/** An int4 weight [N, K] on the GPU: packed codes and per-block scales, split into parts of whole rows when it exceeds one binding. */
export class QuantizedTensor {
  /** The block format. */
  readonly format: QuantFormat;
  /** Logical shape [N, K]. */
  readonly shape: readonly [number, number];
  /** Weights per block along K: 32 for q4_0, 64 for nf4. */
  readonly blockSize: number;
  /** The device holding the codes and scales. */
  readonly device: Device;
  /** Row ranges, each with its own codes and scales buffers. */
  readonly parts: readonly QuantPart[];
  private disposed = false;

  /** Use quantize() or QuantizedTensor.fromBlocks(); `parts` are adopted (freed by dispose()). */
  constructor(device: Device, format: QuantFormat, shape: readonly [number, number], parts: readonly QuantPart[]) {
    this.device = device;
    this.format = format;
    this.shape = Object.freeze([shape[0], shape[1]]) as readonly [number, number];
    this.blockSize = BLOCK_SIZE[format];
    this.parts = Object.freeze([...parts]);
    for (const p of parts) {
      keep(p.words);
      keep(p.scales);
    }
    track(this);
  }

  /** Empty parts for an [N, K] weight: row ranges sized to the device's largest binding. */
  static allocate(device: Device, format: QuantFormat, n: number, k: number, where: string, options: PartOptions = {}): QuantizedTensor {
    checkQuantShape(where, format, n, k);
    const bs = BLOCK_SIZE[format];
    const maxBinding = device.maxBindingBytes;
    const rowBytes = Math.max(k / 2, (k / bs) * 4, 1);
    let perPart = Math.floor(maxBinding / rowBytes);
    if (perPart < 1) {
      throw new LimitError(where, `one row of a ${format} weight ${fmtShape([n, k])} takes ${k / 2} bytes, more than one storage binding holds (${maxBinding} bytes)`, 'split the layer along K (in_features) into several weights');
    }
    if (options.maxPartRows !== undefined) {
      if (!Number.isInteger(options.maxPartRows) || options.maxPartRows < 1) {
        throw new ValueError(where, `maxPartRows ${options.maxPartRows} is not a positive integer`, 'omit it, or pass e.g. 1024');
      }
      perPart = Math.min(perPart, options.maxPartRows);
    }
    const parts: QuantPart[] = [];
    // An empty weight still gets one (empty) part, so that every weight has buffers to bind.
    const count = Math.max(1, Math.ceil(n / perPart));
    for (let i = 0; i < count; i++) {
      const row0 = i * perPart;
      const rows = Math.min(perPart, n - row0);
      parts.push({ row0, rows, words: Tensor.empty(device, [rows, k / 8], 'int32', where), scales: Tensor.empty(device, [rows, k / bs], 'float32', where) });
    }
    return new QuantizedTensor(device, format, [n, k], parts);
  }

  /** Uploads codes and scales (the oracle's form, or what layout.ts decoded from a file). */
  static fromBlocks(device: Device, blocks: QuantBlocks, options: PartOptions = {}): QuantizedTensor {
    const where = 'QuantizedTensor.fromBlocks';
    const q = QuantizedTensor.allocate(device, blocks.format, blocks.n, blocks.k, where, options);
    const bs = BLOCK_SIZE[blocks.format];
    const words = codesToWords(blocks.codes);
    for (const p of q.parts) {
      if (p.rows === 0 || blocks.k === 0) continue;
      device.write(p.words.buffer(where), words.subarray((p.row0 * blocks.k) / 8, ((p.row0 + p.rows) * blocks.k) / 8));
      device.write(p.scales.buffer(where), blocks.scales.subarray((p.row0 * blocks.k) / bs, ((p.row0 + p.rows) * blocks.k) / bs));
    }
    return q;
  }

  /** GPU bytes held: packed codes and scales. */
  get byteSize(): number {
    const [n, k] = this.shape;
    return (n * k) / 2 + ((n * k) / this.blockSize) * 4;
  }

  /** Whether dispose() was called (or a scope ended that owned it). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Reads codes and scales back (bit for bit what the GPU holds). */
  async toBlocks(): Promise<QuantBlocks> {
    this.assertLive('toBlocks');
    const [n, k] = this.shape;
    const codes = new Uint8Array(n * k);
    const scales = new Float32Array((n * k) / this.blockSize);
    for (const p of this.parts) {
      if (p.rows === 0 || k === 0) continue;
      const w = new Uint32Array((await p.words.toArray()).buffer);
      codes.set(wordsToCodes(w), p.row0 * k);
      scales.set(await p.scales.toArray(), (p.row0 * k) / this.blockSize);
    }
    return { format: this.format, n, k, codes, scales };
  }

  /** The float32 weight [N, K]. */
  dequantize(): Tensor {
    const where = 'dequantize';
    this.assertLive(where);
    const [n, k] = this.shape;
    const out = Tensor.empty(this.device, [n, k], 'float32', where);
    for (const p of this.parts) {
      const count = (p.rows * k) / 8;
      if (count === 0) continue;
      launch(where, 'q4_dequantize', {
        bindings: { words: p.words, scales: p.scales, out4: out },
        uniforms: { count, out_base: (p.row0 * k) / 4 },
        overrides: this.overrides(),
        workgroups: Math.ceil(count / 64),
      });
    }
    return out;
  }

  /** The kernels' format constants. */
  overrides(): { NF4: number; BLOCK: number } {
    return { NF4: this.format === 'nf4' ? 1 : 0, BLOCK: this.blockSize };
  }

  /** Throws DisposedError (through the part tensors) once disposed. */
  assertLive(where: string): void {
    for (const p of this.parts) {
      p.words.buffer(where);
      p.scales.buffer(where);
    }
  }

  /** Frees the GPU buffers. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.parts) {
      p.words.dispose();
      p.scales.dispose();
    }
  }

  /** Format, shape and parts, for messages. */
  toString(): string {
    return `QuantizedTensor(${this.format}, ${fmtShape(this.shape)}, ${this.parts.length} part${this.parts.length === 1 ? '' : 's'}${this.disposed ? ', disposed' : ''})`;
  }
}
