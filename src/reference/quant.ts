/**
 * Oracle of kernels/q4.wgsl: the two int4 block formats, computed on the CPU exactly as their
 * reference implementations do, so that codes and scales match them bit for bit.
 *
 * - Q4_0 (llama.cpp / GGUF, `quantize_row_q4_0_ref`): blocks of 32 along K. In float32 arithmetic:
 *   the element of largest magnitude `max` (the first one on ties), `d = max / -8`, `id = 1/d` (0 when
 *   d is 0), code `q = min(15, trunc(x·id + 8.5))`; the block stores d rounded to float16 (nearest,
 *   ties to even) and the value of code q is `(q - 8)·d16`. One deliberate difference: when `1/d`
 *   overflows float32 (|max| ≤ 2^-125, where d16 is 0 anyway) llama.cpp converts ±Inf/NaN to int8,
 *   which is undefined behaviour in C; here id is taken as 0 there (every code 8). Both dequantize to 0.
 * - NF4 (QLoRA / bitsandbytes, `kQuantizeBlockwise` with `dQuantizeNF4`): blocks of 64 along K, the
 *   block's absmax stored as float32, `x · (1/absmax)` (float32) coded by bitsandbytes' decision tree,
 *   whose thresholds are the midpoints of the 16-entry NormalFloat table: the code is the number of
 *   midpoints the value is strictly greater than (NaN, as in an all-zero block where 0·(1/0) is NaN,
 *   gives code 0). The value of code q is `table[q]·absmax` (float32).
 *
 * Weights are [N, K] (out_features, in_features), rows contiguous along K; codes are one byte per
 * weight (0..15) in that order, scales one per block ([N, K / blockSize]). Byte layouts live in
 * src/quant/layout.ts. Non-finite weights and a K that is not a multiple of the block size are refused.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import type { NDArray } from './ndarray.js';

/** The int4 block formats: llama.cpp's Q4_0 (blocks of 32) and QLoRA's NF4 (blocks of 64). */
export type QuantFormat = 'nf4' | 'q4_0';

/** Weights per block: 32 for Q4_0 (QK4_0), 64 for NF4 (QLoRA's default blocksize). */
export const BLOCK_SIZE: Readonly<Record<QuantFormat, number>> = { q4_0: 32, nf4: 64 };

/** bitsandbytes' NormalFloat4 code table (as float32 values), codes 0..15. */
export const NF4_TABLE: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
].map(Math.fround);

/**
 * dQuantizeNF4's 15 thresholds, ascending, as float32: the float64 midpoints of adjacent table entries
 * (bitsandbytes prints them as float literals, e.g. -0.8480964004993439f, which round to these).
 */
export const NF4_THRESHOLDS: readonly number[] = NF4_TABLE.slice(0, 15).map((t, i) => Math.fround((t + NF4_TABLE[i + 1]!) / 2));

/** Codes and scales of an [N, K] weight: one code byte per weight, one scale per block. */
export interface QuantBlocks {
  format: QuantFormat;
  n: number;
  k: number;
  /** N·K codes in 0..15, row-major. */
  codes: Uint8Array;
  /** N·K/blockSize scales: d as float16 values for Q4_0, absmax for NF4 (all exactly float32). */
  scales: Float32Array;
}

/** Checks K against the block size and the data against N·K; throws ShapeError naming `where`. */
export function checkQuantShape(where: string, format: QuantFormat, n: number, k: number): void {
  const bs = BLOCK_SIZE[format];
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 0 || k < 0 || k % bs !== 0) {
    throw new ShapeError(where, `a ${format} weight of shape ${fmtShape([n, k])} needs K (the last dimension, in_features) to be a multiple of the ${bs}-weight block`, `pad the weight's K to a multiple of ${bs} with zeros (and the inputs with zeros too), or keep that layer in float32`);
  }
}

/** Quantizes float32 weights [N, K] (row-major values) as llama.cpp or bitsandbytes would. */
export function quantizeRef(format: QuantFormat, values: ArrayLike<number>, n: number, k: number): QuantBlocks {
  const where = `quantize(${format}) oracle`;
  checkQuantShape(where, format, n, k);
  if (values.length !== n * k) throw new ShapeError(where, `${values.length} values for shape ${fmtShape([n, k])}`, 'pass N·K values');
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new ValueError(where, `weight ${i} (row ${Math.floor(i / k)}, column ${i % k}) is ${values[i]}`, 'quantize finite weights only: find where the NaN or Inf came from (a diverged training run?)');
    }
  }
  const bs = BLOCK_SIZE[format];
  const codes = new Uint8Array(n * k);
  const scales = new Float32Array((n * k) / bs);
  for (let b = 0; b < scales.length; b++) {
    const at = b * bs;
    scales[b] = format === 'q4_0' ? q4_0Block(values, at, codes) : nf4Block(values, at, codes);
  }
  return { format, n, k, codes, scales };
}

function q4_0Block(x: ArrayLike<number>, at: number, codes: Uint8Array): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = Math.fround(x[at + j]!);
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = Math.fround(max / -8);
  let id = d !== 0 ? Math.fround(1 / d) : 0;
  if (!Number.isFinite(id)) id = 0; // see the header: UB in llama.cpp, codes 8 here
  for (let j = 0; j < 32; j++) {
    const p = Math.fround(Math.fround(x[at + j]!) * id);
    codes[at + j] = Math.min(15, Math.trunc(Math.fround(p + 8.5)));
  }
  return f16BitsToNumber(f32ToF16Bits(d));
}

function nf4Block(x: ArrayLike<number>, at: number, codes: Uint8Array): number {
  let absmax = 0;
  for (let j = 0; j < 64; j++) absmax = Math.max(absmax, Math.abs(Math.fround(x[at + j]!)));
  const inv = Math.fround(1 / absmax); // Infinity for an all-zero block, as in bitsandbytes
  for (let j = 0; j < 64; j++) codes[at + j] = nf4Code(Math.fround(Math.fround(x[at + j]!) * inv));
  return absmax;
}

/** dQuantizeNF4: how many thresholds `v` is strictly above (0 for NaN). */
export function nf4Code(v: number): number {
  let c = 0;
  for (const t of NF4_THRESHOLDS) if (v > t) c++;
  return c;
}

/**
 * For the GPU: the smallest float32 p with trunc(fround(p + 8.5)) ≥ c, for c = 1..15. Counting the
 * thresholds p reaches gives Q4_0's code without an add that a compiler could fuse into an FMA
 * (which would round differently).
 */
export function q4_0Thresholds(): number[] {
  return Array.from({ length: 15 }, (_, i) => {
    const c = i + 1;
    let p = Math.fround(c - 8.5); // exact, and reaches c
    for (;;) {
      const below = nextDown(p);
      if (Math.trunc(Math.fround(below + 8.5)) < c) return p;
      p = below;
    }
  });
}

/** The float32 just below a float32 value. */
function nextDown(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  if (v === 0) u[0] = 0x80000001;
  else if (v > 0) u[0]! -= 1;
  else u[0]! += 1;
  return f[0]!;
}

/** The value of every weight: [N, K] in float64 (each value is exactly a float32). */
export function dequantizeRef(q: QuantBlocks): NDArray {
  const bs = BLOCK_SIZE[q.format];
  const data = new Float64Array(q.n * q.k);
  for (let i = 0; i < data.length; i++) {
    const s = q.scales[Math.floor(i / bs)]!;
    data[i] = q.format === 'q4_0' ? (q.codes[i]! - 8) * s : Math.fround(NF4_TABLE[q.codes[i]!]! * s);
  }
  return { shape: [q.n, q.k], data };
}

/** y = x · dequant(W)ᵀ (+ bias) for x of shape (…, K); result (…, N). */
export function int4MatmulRef(x: NDArray, q: QuantBlocks, bias?: NDArray): NDArray {
  const w = dequantizeRef(q).data;
  const rows = x.data.length / q.k;
  const out = new Float64Array(rows * q.n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < q.n; j++) {
      let s = bias ? bias.data[j]! : 0;
      for (let kk = 0; kk < q.k; kk++) s += x.data[r * q.k + kk]! * w[j * q.k + kk]!;
      out[r * q.n + j] = s;
    }
  }
  return { shape: [...x.shape.slice(0, -1), q.n], data: out };
}

/** dX = dY · dequant(W) for dY of shape (…, N); result (…, K). */
export function int4MatmulBackwardRef(dy: NDArray, q: QuantBlocks): NDArray {
  const w = dequantizeRef(q).data;
  const rows = dy.data.length / q.n;
  const out = new Float64Array(rows * q.k);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < q.n; j++) {
      const g = dy.data[r * q.n + j]!;
      for (let kk = 0; kk < q.k; kk++) out[r * q.k + kk]! += g * w[j * q.k + kk]!;
    }
  }
  return { shape: [...dy.shape.slice(0, -1), q.k], data: out };
}

/** RMS of dequant(quantize(w)) − w. */
export function rmsError(values: ArrayLike<number>, q: QuantBlocks): number {
  const deq = dequantizeRef(q).data;
  let s = 0;
  for (let i = 0; i < deq.length; i++) s += (deq[i]! - values[i]!) ** 2;
  return Math.sqrt(s / Math.max(1, deq.length));
}

// ---- float16 (IEEE binary16), exact conversions -------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest to a float32 value (ties to even; overflow to ±Inf), as _cvtss_sh does. */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const man = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 | (man >>> 13) : 0);
  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) float16: value = m·2^-24 with m = (1.man)·2^(e-1+10)·… — shift in the implicit bit.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to 0
    const full = man | 0x800000;
    const shift = 14 - e; // bits dropped
    return sign | roundShift(full, shift);
  }
  // Normal: drop 13 mantissa bits; a carry into the exponent (and up to Inf) is the right result.
  return sign | roundShift((e << 23) | man, 13);
}

/** v >> shift, rounded to nearest with ties to even. */
function roundShift(v: number, shift: number): number {
  const q = Math.floor(v / 2 ** shift);
  const rem = v - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** The value of float16 bits (exact). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}
