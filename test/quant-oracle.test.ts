/** The int4 oracle (src/reference/quant.ts) and the byte layouts (src/quant/layout.ts), on the CPU. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import { NF4_TABLE, NF4_THRESHOLDS, dequantizeRef, f16BitsToNumber, f32ToF16Bits, nf4Code, q4_0Thresholds, quantizeRef } from '../src/reference/quant.js';
import { codesToWords, fromNF4Bytes, fromQ4_0Bytes, toNF4Bytes, toQ4_0Bytes, wordsToCodes } from '../src/quant/layout.js';
import { ShapeError, ValueError } from '../src/errors.js';

const test = suite('quant oracle');

function block(n: number, f: (j: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, j) => f(j));
}

test('float16 rounding: known values, and the nearest float16 for random float32 values', () => {
  const cases: [number, number][] = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [-0, 0x8000], [1e-40, 0]];
  for (const [v, bits] of cases) assert.is(f32ToF16Bits(Math.fround(v)), bits, `f16(${v})`);
  const rng = new Rng(3);
  const finite = Array.from({ length: 0x7c00 }, (_, h) => f16BitsToNumber(h));
  for (let i = 0; i < 2000; i++) {
    const v = Math.fround(rng.normal() * 2 ** Math.floor(rng.uniform() * 40 - 26));
    const h = f32ToF16Bits(v);
    const mag = Math.abs(v);
    // Brute force: the nearest finite float16 (ties to the even code), or Inf past 65520.
    let best = 0;
    for (let c = 1; c < finite.length; c++) {
      const dc = Math.abs(finite[c]! - mag);
      const db = Math.abs(finite[best]! - mag);
      if (dc < db || (dc === db && c % 2 === 0)) best = c;
    }
    const want = mag >= 65520 ? 0x7c00 : best;
    assert.is(h & 0x7fff, want, `f16(${v})`);
  }
});

test('q4_0: a hand-computed block, as llama.cpp writes it', () => {
  // x_j = j - 16: the largest magnitude is -16, so d = 2 (0x4000) and code_j = trunc(j/2 + 0.5) capped at 15.
  const q = quantizeRef('q4_0', block(32, (j) => j - 16), 1, 32);
  assert.is(q.scales[0], 2);
  assert.equal(Array.from(q.codes), Array.from({ length: 32 }, (_, j) => Math.min(15, Math.floor((j + 1) / 2))));
  const bytes = toQ4_0Bytes(q);
  assert.equal(Array.from(bytes.subarray(0, 2)), [0x00, 0x40]);
  for (let j = 0; j < 16; j++) assert.is(bytes[2 + j], q.codes[j]! | (q.codes[j + 16]! << 4));
  // Integers in [-8, 7] with -8 present are exact: d = 1.
  const ints = block(32, (j) => (j % 16) - 8);
  assert.equal(Array.from(dequantizeRef(quantizeRef('q4_0', ints, 1, 32)).data), Array.from(ints));
});

test('q4_0: adversarial blocks (zeros, one huge outlier, negative and tied maxima, denormal-small)', () => {
  const zeros = quantizeRef('q4_0', new Float32Array(32), 1, 32);
  assert.is(zeros.scales[0], 0);
  assert.ok(zeros.codes.every((c) => c === 8), 'all-zero block: every code 8');
  const outlier = quantizeRef('q4_0', block(32, (j) => (j === 5 ? 3e4 : 0.01 * (j - 16))), 1, 32);
  assert.is(outlier.scales[0], f16BitsToNumber(f32ToF16Bits(Math.fround(3e4 / -8))));
  assert.is(outlier.codes[5], 0, 'the outlier maps to -8·d');
  assert.ok([...outlier.codes].every((c, j) => j === 5 || c === 8), 'the small values round to 0');
  const negMax = quantizeRef('q4_0', block(32, (j) => (j === 9 ? -5 : 1)), 1, 32);
  assert.ok(negMax.scales[0]! > 0, 'a negative maximum gives a positive d');
  assert.is(negMax.codes[9], 0);
  const tie = quantizeRef('q4_0', block(32, (j) => (j === 3 ? 4 : j === 20 ? -4 : 0)), 1, 32);
  assert.is(tie.scales[0], -0.5, 'on ties the first element of largest magnitude sets the sign');
  // f32-denormal values: d rounds to float16 0; below 2^-125 1/d overflows, and codes are 8 (see the header).
  const tiny = quantizeRef('q4_0', block(32, (j) => (j - 16) * 1e-41), 1, 32);
  assert.is(tiny.scales[0], 0);
  assert.ok(tiny.codes.every((c) => c === 8));
  const small = quantizeRef('q4_0', block(32, (j) => (j - 16) * 2 ** -118), 1, 32);
  assert.is(small.scales[0], 0);
  assert.is(small.codes[0], 0, 'above 2^-125 the codes still follow x/d');
  assert.is(small.codes[31], 15);
});

test('q4_0 code thresholds reproduce trunc(fround(p + 8.5))', () => {
  const t = q4_0Thresholds();
  const rng = new Rng(5);
  for (let i = 0; i < 20000; i++) {
    const p = Math.fround((rng.uniform() * 2 - 1) * 8.3);
    const want = Math.min(15, Math.trunc(Math.fround(p + 8.5)));
    assert.is(t.filter((x) => p >= x).length, want, `p = ${p}`);
  }
});

test('nf4: table codes, thresholds, adversarial blocks, pair packing', () => {
  assert.is(NF4_THRESHOLDS.length, 15);
  assert.is(NF4_THRESHOLDS[0], Math.fround(-0.8480964004993439), "bitsandbytes' first literal");
  assert.is(NF4_THRESHOLDS[14], Math.fround(0.8614784181118011), "bitsandbytes' last literal");
  for (let c = 0; c < 16; c++) assert.is(nf4Code(NF4_TABLE[c]!), c, `table[${c}] codes to itself`);
  assert.is(nf4Code(NaN), 0);
  const exact = quantizeRef('nf4', block(64, (j) => 2 * NF4_TABLE[j % 16]!), 1, 64);
  assert.is(exact.scales[0], 2);
  assert.equal(Array.from(exact.codes), Array.from({ length: 64 }, (_, j) => j % 16));
  const zeros = quantizeRef('nf4', new Float32Array(64), 1, 64);
  assert.is(zeros.scales[0], 0);
  assert.ok(zeros.codes.every((c) => c === 0), 'all-zero block: 0·(1/0) is NaN, code 0 as in bitsandbytes');
  const outlier = quantizeRef('nf4', block(64, (j) => (j === 7 ? -1e6 : 0.5)), 1, 64);
  assert.is(outlier.scales[0], 1e6);
  assert.is(outlier.codes[7], 0);
  assert.ok([...outlier.codes].every((c, j) => j === 7 || c === 7), 'the rest rounds to the 0 code');
  const denormal = quantizeRef('nf4', block(64, (j) => (j % 3 - 1) * 1e-42), 1, 64);
  assert.equal([...denormal.codes.subarray(0, 3)], [0, 0, 15], '1/absmax overflows: -Inf, NaN, +Inf');
  const { packed, absmax } = toNF4Bytes(exact);
  assert.is(packed[0], (0 << 4) | 1, 'first of a pair in the high nibble');
  assert.is(packed[1], (2 << 4) | 3);
  assert.equal(Array.from(absmax), [2]);
});

test('refused: K not a multiple of the block, NaN and Inf weights', () => {
  assertThrows(() => quantizeRef('q4_0', new Float32Array(48), 1, 48), ShapeError, 'multiple of the 32-weight block');
  assertThrows(() => quantizeRef('nf4', new Float32Array(96), 1, 96), ShapeError, 'multiple of the 64-weight block');
  assertThrows(() => quantizeRef('q4_0', block(32, (j) => (j === 4 ? NaN : 1)), 1, 32), ValueError, 'row 0, column 4');
  assertThrows(() => quantizeRef('nf4', block(64, (j) => (j === 63 ? -Infinity : 1)), 1, 64), ValueError, '-Infinity');
});

test('layouts round-trip bit for bit: GPU words, GGUF Q4_0 bytes, bitsandbytes NF4 bytes', () => {
  const rng = new Rng(9);
  const codes = Uint8Array.from({ length: 4 * 64 }, () => Math.floor(rng.uniform() * 16));
  assert.equal(wordsToCodes(codesToWords(codes)), codes);
  const words = codesToWords(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 15]));
  assert.is(words[0], 0xf7654321, 'element k in bits 4·(k % 8)');
  // Random Q4_0 bytes with finite float16 scales survive bytes → codes and scales → bytes.
  const bytes = Uint8Array.from({ length: 6 * 18 }, () => Math.floor(rng.uniform() * 256));
  for (let b = 0; b < 6; b++) bytes[b * 18 + 1] = bytes[b * 18 + 1]! & 0x7b; // exponent < 31: finite
  const q = fromQ4_0Bytes(bytes, 2, 96);
  assert.equal(toQ4_0Bytes(q), bytes);
  const packed = Uint8Array.from({ length: 128 }, () => Math.floor(rng.uniform() * 256));
  const absmax = Float32Array.from({ length: 4 }, () => Math.abs(rng.normal()));
  const nf = fromNF4Bytes(packed, absmax, 2, 128);
  const back = toNF4Bytes(nf);
  assert.equal(back.packed, packed);
  assert.equal(back.absmax, absmax);
});

test('import refuses truncated or mis-sized buffers and non-finite scales', () => {
  assertThrows(() => fromQ4_0Bytes(new Uint8Array(17), 1, 32), ShapeError, '18 bytes', 'got 17');
  assertThrows(() => fromQ4_0Bytes(new Uint8Array(36), 1, 32), ShapeError, 'got 36');
  const inf = new Uint8Array(18);
  inf[1] = 0x7c;
  assertThrows(() => fromQ4_0Bytes(inf, 1, 32), ValueError, 'block 0 has scale Infinity');
  assertThrows(() => fromNF4Bytes(new Uint8Array(31), new Float32Array(1), 1, 64), ShapeError, 'got 31');
  assertThrows(() => fromNF4Bytes(new Uint8Array(32), new Float32Array(2), 1, 64), ShapeError, 'absmax');
  assertThrows(() => fromNF4Bytes(new Uint8Array(32), Float32Array.of(NaN), 1, 64), ValueError, 'NaN');
});

test.run();
