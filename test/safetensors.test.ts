import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import { WgradError } from '../src/errors.js';
import {
  MAX_HEADER_BYTES,
  SAFETENSORS_DTYPE_SIZES,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  toFloat32Array,
  toInt32Array,
  type SafetensorsDType,
  type SafetensorsInput,
  type SafetensorsTensor,
} from '../src/io/safetensors.js';

// No GPU here: this file only exercises the byte format.
const test = suite('safetensors');
const DTYPES = Object.keys(SAFETENSORS_DTYPE_SIZES) as SafetensorsDType[];
const SHAPES = [[], [0], [5], [2, 0, 4], [2, 3], [1, 1, 3, 2]];

function randomBytes(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The header length, the header text and the data section of an encoded file. */
function split(bytes: Uint8Array): { n: number; header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

/** A file with an arbitrary header text (padded to 8 bytes) and data section. */
function build(header: string, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  const json = new TextEncoder().encode(header);
  const n = pad ? json.length + ((8 - (json.length % 8)) % 8) : json.length;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

function assertSameTensors(got: Record<string, SafetensorsTensor>, want: Record<string, { dtype: string; shape: readonly number[]; data: ArrayBufferView }>, label: string): void {
  assert.equal(Object.keys(got).sort(), Object.keys(want).sort(), `${label}: names`);
  for (const name of Object.keys(want)) {
    const w = want[name]!;
    const g = got[name]!;
    assert.is(g.dtype, w.dtype, `${label}: ${name} dtype`);
    assert.equal(g.shape, [...w.shape], `${label}: ${name} shape`);
    assert.ok(g.data instanceof Uint8Array, `${label}: ${name} data is a Uint8Array`);
    assert.equal([...g.data], [...new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)], `${label}: ${name} bytes`);
  }
}

test('every dtype round-trips at every shape, including rank 0 and size 0', () => {
  const rng = new Rng(1);
  for (const dtype of DTYPES) {
    const tensors: Record<string, SafetensorsInput> = {};
    for (const [i, shape] of SHAPES.entries()) {
      tensors[`t${i}`] = { dtype, shape, data: randomBytes(rng, count(shape) * SAFETENSORS_DTYPE_SIZES[dtype]) };
    }
    const bytes = encodeSafetensors(tensors);
    const decoded = decodeSafetensors(bytes);
    assertSameTensors(decoded.tensors, tensors, dtype);
    assert.equal(decoded.metadata, {});
  }
  // All dtypes in one file, passed as typed arrays of their own kind.
  const typed: Record<string, SafetensorsInput> = {
    f32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, NaN]) },
    f64: { dtype: 'F64', shape: [3], data: new Float64Array([1e300, -0, Infinity]) },
    f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
    bf16: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
    i32: { dtype: 'I32', shape: [], data: new Int32Array([-7]) },
    u32: { dtype: 'U32', shape: [2], data: new Uint32Array([0xffffffff, 1]) },
    i64: { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 62n)]) },
    u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    i16: { dtype: 'I16', shape: [3], data: new Int16Array([-1, 2, -3]) },
    u16: { dtype: 'U16', shape: [0, 5], data: new Uint16Array(0) },
    i8: { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) },
    u8: { dtype: 'U8', shape: [3], data: new Uint8ClampedArray([0, 128, 255]) },
    bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    f8: { dtype: 'F8_E4M3', shape: [1], data: new Uint8Array([0x38]) },
  };
  const decoded = decodeSafetensors(encodeSafetensors(typed));
  assertSameTensors(decoded.tensors, typed, 'typed arrays');
  assert.equal([...toFloat32Array(decoded.tensors['f32']!)].map(String), ['1', '-2', '3.5', 'NaN']);
});

test('metadata round-trips; an empty or absent metadata is omitted from the header', () => {
  const t = { x: { dtype: 'F32' as const, shape: [1], data: new Float32Array([1]) } };
  const metadata = { format: 'pt', note: 'ünïcödé ✓ "quoted" \\ \n', empty: '', '0': 'integer-like key', __proto__x: 'y' };
  const decoded = decodeSafetensors(encodeSafetensors(t, metadata));
  assert.equal(decoded.metadata, metadata);
  assert.not.ok(split(encodeSafetensors(t)).header.includes('__metadata__'));
  assert.not.ok(split(encodeSafetensors(t, {})).header.includes('__metadata__'));
  assert.equal(decodeSafetensors(encodeSafetensors(t, {})).metadata, {});
});

test('awkward names round-trip: __proto__, constructor, empty, integer-like, unicode, escapes', () => {
  const names = ['__proto__', 'constructor', '', '0', '10', '2', 'émoji 😀', 'a"b\\c\nd', 'toString', 'h.0.attn.c_attn.weight'];
  const tensors: Record<string, SafetensorsInput> = {};
  names.forEach((name, i) => Object.defineProperty(tensors, name, { value: { dtype: 'I32', shape: [1], data: new Int32Array([i]) }, enumerable: true }));
  const decoded = decodeSafetensors(encodeSafetensors(tensors));
  assert.equal(Object.keys(decoded.tensors).sort(), [...names].sort());
  names.forEach((name, i) => {
    assert.ok(Object.hasOwn(decoded.tensors, name), name);
    assert.equal([...toInt32Array(decoded.tensors[name]!)], [i], name);
  });
  assert.is(Object.getPrototypeOf(decoded.tensors), Object.prototype, 'the record keeps its prototype');
});

test('deterministic bytes: encoding twice, or with keys inserted in another order, gives identical files', () => {
  const rng = new Rng(2);
  const make = (order: string[]) => {
    const tensors: Record<string, SafetensorsInput> = {};
    for (const name of order) {
      const r = new Rng(name.length * 31 + name.charCodeAt(0));
      tensors[name] = { dtype: name.startsWith('h') ? 'F16' : 'F32', shape: [3, 2], data: name.startsWith('h') ? new Uint16Array(6).map(() => r.int(65536)) : new Float32Array(6).map(() => r.normal()) };
    }
    const meta: Record<string, string> = {};
    for (const k of [...order].reverse()) meta[`k-${k}`] = k;
    return encodeSafetensors(tensors, meta);
  };
  const names = ['wte', 'wpe', 'h.0', 'ln_f', 'h.1', 'b'];
  const first = make(names);
  assert.equal([...make(names)], [...first], 'twice');
  for (let i = 0; i < 5; i++) {
    const shuffled = [...names];
    for (let j = shuffled.length - 1; j > 0; j--) {
      const k = rng.int(j + 1);
      [shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!];
    }
    assert.equal([...make(shuffled)], [...first], `order ${shuffled}`);
  }
});

test('alignment: the header is space-padded so data start at a multiple of 8; each tensor is aligned to its element size', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 50; trial++) {
    const tensors: Record<string, SafetensorsInput> = {};
    const n = 1 + rng.int(6);
    for (let i = 0; i < n; i++) {
      const dtype = DTYPES[rng.int(DTYPES.length)]!;
      const shape = [rng.int(4), 1 + rng.int(3)];
      tensors[`${'x'.repeat(rng.int(9))}${i}`] = { dtype, shape, data: randomBytes(rng, count(shape) * SAFETENSORS_DTYPE_SIZES[dtype]) };
    }
    const bytes = encodeSafetensors(tensors, rng.int(2) ? { m: 'y'.repeat(rng.int(7)) } : undefined);
    const { n: headerLength, header } = split(bytes);
    assert.is((8 + headerLength) % 8, 0, 'data section starts 8-aligned');
    assert.match(header, /^\{.*\} *$/, 'JSON then spaces');
    assert.ok(header.length - header.trimEnd().length < 8, 'fewer than 8 padding spaces');
    const parsed = JSON.parse(header) as Record<string, { dtype: SafetensorsDType; data_offsets: [number, number] }>;
    for (const [name, info] of Object.entries(parsed)) {
      if (name === '__metadata__') continue;
      assert.is(info.data_offsets[0] % SAFETENSORS_DTYPE_SIZES[info.dtype], 0, `${name} (${info.dtype}) at ${info.data_offsets[0]}`);
    }
    const decoded = decodeSafetensors(bytes);
    for (const [name, t] of Object.entries(decoded.tensors)) assert.is(t.data.byteOffset % SAFETENSORS_DTYPE_SIZES[t.dtype], 0, `${name} view offset`);
  }
});

test('byte-exact against a file written by hand from the spec', () => {
  // {"a": F32 [2] = [1, -2], "b": U8 [3] = [1, 2, 3], "c": I8 [] = -1}, metadata {format: "pt"}.
  // Layout: larger elements first, then by name; the 191-byte JSON gets 1 space → N = 192.
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},' +
    '"c":{"dtype":"I8","shape":[],"data_offsets":[11,12]}}';
  assert.is(header.length, 191);
  const expected = new Uint8Array([
    0xc0, 0, 0, 0, 0, 0, 0, 0, // N = 192, u64 little-endian
    ...Array.from(header, (ch) => ch.charCodeAt(0)), 0x20, // the header and its padding
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, // a: 1.0f, -2.0f
    1, 2, 3, // b
    0xff, // c: -1
  ]);
  assert.is(expected.length, 212);
  const got = encodeSafetensors(
    {
      c: { dtype: 'I8', shape: [], data: new Int8Array([-1]) },
      b: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) },
    },
    { format: 'pt' },
  );
  assert.equal([...got], [...expected]);
  const decoded = decodeSafetensors(expected);
  assert.equal([...toFloat32Array(decoded.tensors['a']!)], [1, -2]);
  assert.equal([...toInt32Array(decoded.tensors['b']!)], [1, 2, 3]);
  assert.equal([...toInt32Array(decoded.tensors['c']!)], [-1]);
  assert.equal(decoded.tensors['c']!.shape, []);
  assert.equal(decoded.metadata, { format: 'pt' });
  // No tensors at all: "{}" padded with 6 spaces.
  assert.equal([...encodeSafetensors({})], [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  assert.equal(decodeSafetensors(encodeSafetensors({})), { tensors: {}, metadata: {} });
});

test('decodes valid files written differently: any key order, unpadded header, whitespace, unknown fields, null metadata, offset views', () => {
  const data = new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 9]);
  const header = ' {\n "z": {"shape": [1], "data_offsets": [8, 9], "dtype": "U8", "extra": true},\n "y": {"dtype":"I32","shape":[2],"data_offsets":[0,8]}, "__metadata__": null }\t';
  // A leading space is not allowed (the header must start with "{"); strip it and it decodes.
  assertThrows(() => decodeSafetensors(build(header, data, false)), SafetensorsError, 'does not start with "{"');
  for (const pad of [false, true]) {
    const decoded = decodeSafetensors(build(header.slice(1), data, pad));
    assert.equal([...toInt32Array(decoded.tensors['y']!)], [1, 2]);
    assert.equal([...decoded.tensors['z']!.data], [9]);
    assert.equal(decoded.metadata, {});
  }
  // The decoded bytes may themselves be a view at an odd offset into a larger buffer.
  const file = build('{"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(new Float32Array([0.5, 7]).buffer));
  const big = new Uint8Array(file.length + 3);
  big.set(file, 3);
  const view = big.subarray(3);
  const t = decodeSafetensors(view).tensors['f']!;
  assert.is(t.data.buffer, big.buffer, 'data is a view, not a copy');
  assert.equal([...toFloat32Array(t)], [0.5, 7], 'misaligned F32 is copied');
});

test('toFloat32Array widens F16 and BF16 exactly (zeros, subnormals, extremes, infinities, NaN)', () => {
  const f16 = new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x3555]);
  const want16 = [0, -0, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, -2, 65504, -65504, Infinity, -Infinity, NaN, 0.333251953125];
  const bf16 = new Uint16Array([0x0000, 0x8000, 0x3f80, 0xc040, 0x7f7f, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x3eab]);
  const want16b = [0, -0, 1, -3, 3.3895313892515355e38, 9.183549615799121e-41, Infinity, -Infinity, NaN, 0.333984375];
  const decoded = decodeSafetensors(encodeSafetensors({ h: { dtype: 'F16', shape: [f16.length], data: f16 }, b: { dtype: 'BF16', shape: [bf16.length], data: bf16 } }));
  const gotH = toFloat32Array(decoded.tensors['h']!);
  const gotB = toFloat32Array(decoded.tensors['b']!);
  want16.forEach((w, i) => assert.ok(Object.is(gotH[i], w), `f16 0x${f16[i]!.toString(16)}: got ${gotH[i]}, want ${w}`));
  want16b.forEach((w, i) => assert.ok(Object.is(gotB[i], w), `bf16 0x${bf16[i]!.toString(16)}: got ${gotB[i]}, want ${w}`));
  // Every finite f16 value, checked against the formula.
  const all = new Uint16Array(65536).map((_, i) => i);
  const got = toFloat32Array(decodeSafetensors(encodeSafetensors({ h: { dtype: 'F16', shape: [65536], data: all } })).tensors['h']!);
  for (let h = 0; h < 65536; h++) {
    const e = (h >> 10) & 31;
    const m = h & 1023;
    const s = h & 0x8000 ? -1 : 1;
    const want = e === 31 ? (m ? NaN : s * Infinity) : e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
    if (!Object.is(got[h], want)) assert.unreachable(`f16 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
  }
  assertThrows(() => toFloat32Array(decoded.tensors['h']!.dtype === 'F16' ? { dtype: 'I32', shape: [1], data: new Uint8Array(4) } : decoded.tensors['h']!, 'ids'), SafetensorsError, 'ids', 'I32');
});

test('toInt32Array widens small integer dtypes and range-checks 32/64-bit ones', () => {
  const one = (dtype: SafetensorsDType, data: SafetensorsInput['data'], n: number) => decodeSafetensors(encodeSafetensors({ t: { dtype, shape: [n], data } })).tensors['t']!;
  assert.equal([...toInt32Array(one('I64', new BigInt64Array([-5n, 2147483647n, -2147483648n]), 3))], [-5, 2147483647, -2147483648]);
  assert.equal([...toInt32Array(one('U64', new BigUint64Array([7n]), 1))], [7]);
  assert.equal([...toInt32Array(one('U32', new Uint32Array([2147483647]), 1))], [2147483647]);
  assert.equal([...toInt32Array(one('I16', new Int16Array([-300, 300]), 2))], [-300, 300]);
  assert.equal([...toInt32Array(one('U16', new Uint16Array([65535]), 1))], [65535]);
  assert.equal([...toInt32Array(one('I8', new Int8Array([-1]), 1))], [-1]);
  assert.equal([...toInt32Array(one('BOOL', new Uint8Array([1, 0]), 2))], [1, 0]);
  assertThrows(() => toInt32Array(one('I64', new BigInt64Array([2n ** 31n]), 1), 'ids'), SafetensorsError, 'ids', 'element 0', 'int32 range');
  assertThrows(() => toInt32Array(one('U32', new Uint32Array([0, 2 ** 31]), 2)), SafetensorsError, 'element 1');
  assertThrows(() => toInt32Array(one('F32', new Float32Array([1]), 1)), SafetensorsError, 'F32');
  assertThrows(() => toInt32Array({ dtype: 'I32', shape: [2], data: new Uint8Array(4) }), SafetensorsError, 'does not match');
});

test('encode rejects bad input with SafetensorsError before writing anything', () => {
  const ok = { dtype: 'F32' as const, shape: [2], data: new Float32Array(2) };
  assertThrows(() => encodeSafetensors({ __metadata__: ok }), SafetensorsError, '__metadata__', 'reserves');
  assertThrows(() => encodeSafetensors({ w: { ...ok, dtype: 'F12' as SafetensorsDType } }), SafetensorsError, '"w"', 'unknown dtype "F12"');
  assertThrows(() => encodeSafetensors({ w: { ...ok, dtype: 'toString' as SafetensorsDType } }), SafetensorsError, 'unknown dtype');
  assertThrows(() => encodeSafetensors({ w: { ...ok, shape: [-2] } }), SafetensorsError, '"w"', 'shape [-2]');
  assertThrows(() => encodeSafetensors({ w: { ...ok, shape: [1.5] } }), SafetensorsError, 'non-negative integers');
  assertThrows(() => encodeSafetensors({ w: { ...ok, shape: [3] } }), SafetensorsError, 'needs 12 bytes but data has 8');
  assertThrows(() => encodeSafetensors({ w: { ...ok, dtype: 'I32' } }), SafetensorsError, 'I32', 'Float32Array');
  assertThrows(() => encodeSafetensors({ w: { ...ok, data: [1, 2] as unknown as Float32Array } }), SafetensorsError, 'typed array');
  assertThrows(() => encodeSafetensors({ w: ok }, { n: 3 as unknown as string }), SafetensorsError, 'metadata "n"', 'strings');
  assertThrows(() => encodeSafetensors(null as unknown as Record<string, SafetensorsInput>), SafetensorsError, 'tensors must be an object');
  assertThrows(() => encodeSafetensors({ 'w\ud800': ok }), SafetensorsError, 'lone UTF-16 surrogate');
  assertThrows(() => encodeSafetensors({ w: ok }, { k: 'x\udc00' }), SafetensorsError, 'metadata "k"', 'surrogate');
  // Raw bytes are accepted for any dtype.
  assert.ok(encodeSafetensors({ w: { dtype: 'F64', shape: [1], data: new Uint8Array(8) } }).length > 0);
});

test('decode rejects each malformation with a SafetensorsError that names it', () => {
  const good = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, b: { dtype: 'U8', shape: [4], data: new Uint8Array(4) } }, { k: 'v' });
  const data = split(good).data; // 12 bytes: a [0, 8], b [8, 12]
  const withHeader = (h: object | string, d = data) => build(typeof h === 'string' ? h : JSON.stringify(h), d);
  const A = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const B = { dtype: 'U8', shape: [4], data_offsets: [8, 12] };
  const cases: [Uint8Array, string[]][] = [
    [good.subarray(0, 5), ['5 bytes', 'shorter than the 8-byte']],
    [new Uint8Array(0), ['0 bytes']],
    [(() => { const f = good.slice(); new DataView(f.buffer).setBigUint64(0, 2n ** 63n, true); return f; })(), ['header length 9223372036854775808', 'limit']],
    [(() => { const f = good.slice(); new DataView(f.buffer).setBigUint64(0, 2n ** 53n + 1n, true); return f; })(), ['9007199254740993']],
    [(() => { const f = good.slice(); new DataView(f.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true); return f; })(), ['100000001', 'limit']],
    [(() => { const f = good.slice(); new DataView(f.buffer).setBigUint64(0, BigInt(f.length - 7), true); return f; })(), [`header length ${good.length - 7} exceeds the ${good.length - 8} bytes`]],
    [withHeader('[1, 2]'), ['does not start with "{"']],
    [build('', data, false), ['does not start with "{"']],
    [withHeader('{"a": '), ['not valid JSON']],
    [withHeader('{} {}'), ['not valid JSON']],
    [(() => { const f = withHeader({ a: A, b: B }); f[10] = 0xff; return f; })(), ['not valid UTF-8']],
    [withHeader({ a: A, b: { ...B, dtype: 'F12' } }), ['"b"', 'unknown dtype "F12"']],
    [withHeader({ a: A, b: { ...B, dtype: 'hasOwnProperty' } }), ['unknown dtype']],
    [withHeader({ a: A, b: { ...B, dtype: 5 } }), ['unknown dtype 5']],
    [withHeader({ a: A, b: { ...B, shape: [-4] } }), ['"b"', 'shape [-4]']],
    [withHeader({ a: A, b: { ...B, shape: [2.5] } }), ['shape [2.5]']],
    [withHeader({ a: A, b: { ...B, shape: '4' } }), ['shape "4"']],
    [withHeader({ a: A, b: { dtype: 'U8', data_offsets: [8, 12] } }), ['shape undefined']],
    [withHeader({ a: A, b: { ...B, shape: [2 ** 40, 2 ** 40] } }), ['more than 2^53 bytes']],
    [withHeader({ a: A, b: { ...B, data_offsets: [8] } }), ['data_offsets [8]']],
    [withHeader({ a: A, b: { ...B, data_offsets: [8, 12.5] } }), ['data_offsets [8,12.5]']],
    [withHeader({ a: A, b: { ...B, data_offsets: [-1, 12] } }), ['non-negative']],
    [withHeader({ a: A, b: { ...B, data_offsets: [12, 8] } }), ['begin > end']],
    [withHeader({ a: A, b: { ...B, data_offsets: [8, 13] } }), ['past the end of the 12-byte data section']],
    [withHeader({ a: A, b: { ...B, data_offsets: [2 ** 53, 2 ** 53 + 4] } }), ['data_offsets']],
    [withHeader({ a: A, b: { ...B, shape: [3] } }), ['U8 [3] needs 3 bytes', 'hold 4']],
    [withHeader({ a: A, b: { ...B, shape: [2], data_offsets: [6, 8] } }), ['"a" [0, 8] and "b" [6, 8] overlap']],
    [withHeader({ a: A, b: { ...B, shape: [2], data_offsets: [10, 12] } }), ['bytes [8, 10)', 'belong to no tensor']],
    [withHeader({ a: { ...A, data_offsets: [4, 12] }, b: { ...B, data_offsets: [0, 4] } }, data), []], // valid: any order of offsets
    [withHeader({ b: { ...B, data_offsets: [4, 8] }, a: { ...A, data_offsets: [4, 12] } }), ['bytes [0, 4)']],
    [withHeader({ a: A }), ['data section is 12 bytes', 'cover only 8']],
    [withHeader({ a: A, b: B, __metadata__: { k: 1 } }), ['metadata "k"', 'must be strings']],
    [withHeader({ a: A, b: B, __metadata__: ['x'] }), ['"__metadata__" is ["x"]']],
    [withHeader({ a: A, __metadata__: B }), ['reserved for metadata']],
    [withHeader({ a: A, b: 7 }), ['"b" is described by 7']],
    [withHeader('{"a\\ud800":' + JSON.stringify(A) + ',"b":' + JSON.stringify(B) + '}'), ['lone UTF-16 surrogate']],
    [withHeader('{"a":' + JSON.stringify(A) + ',"b":' + JSON.stringify(B) + ',"__metadata__":{"k":"\\udfff"}}'), ['metadata "k"', 'surrogate']],
    [withHeader('{"\\ud83d\\ude00":' + JSON.stringify(A) + ',"b":' + JSON.stringify(B) + '}'), []], // an escaped surrogate pair is fine
  ];
  for (const [bytes, fragments] of cases) {
    if (fragments.length === 0) {
      decodeSafetensors(bytes);
      continue;
    }
    assertThrows(() => decodeSafetensors(bytes), SafetensorsError, ...fragments);
  }
  assertThrows(() => decodeSafetensors([1, 2] as unknown as Uint8Array), SafetensorsError, 'Uint8Array');
});

/** Decodes mutated bytes: a consistent result (re-encodes to a file that decodes identically) or a SafetensorsError. */
function decodeOrReject(bytes: Uint8Array, label: string): 'ok' | 'rejected' {
  let decoded;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (err) {
    if (!(err instanceof SafetensorsError)) assert.unreachable(`${label}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.ok(err instanceof WgradError && err.message.includes('HINT:'), `${label}: message has a hint`);
    return 'rejected';
  }
  const { tensors, metadata } = decoded;
  let total = 0;
  for (const [name, t] of Object.entries(tensors)) {
    assert.is(t.data.byteLength, count(t.shape) * SAFETENSORS_DTYPE_SIZES[t.dtype], `${label}: ${name} size`);
    assert.is(t.data.buffer, bytes.buffer, `${label}: ${name} views the input`);
    assert.ok(t.data.byteOffset >= bytes.byteOffset + 8 && t.data.byteOffset + t.data.byteLength <= bytes.byteOffset + bytes.length, `${label}: ${name} inside the file`);
    total += t.data.byteLength;
  }
  assert.is(total, bytes.length - 8 - split(bytes).n, `${label}: tensors tile the data section`);
  const again = decodeSafetensors(encodeSafetensors(tensors, metadata));
  assertSameTensors(again.tensors, tensors, `${label} re-encoded`);
  assert.equal(again.metadata, metadata, `${label} metadata`);
  return 'ok';
}

test('fuzz: truncations, byte flips, huge header lengths and header edits decode consistently or throw SafetensorsError', () => {
  const rng = new Rng(4);
  const base = encodeSafetensors(
    {
      'h.0.w': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      'h.0.b': { dtype: 'F16', shape: [3], data: new Uint16Array([1, 2, 3]) },
      step: { dtype: 'I64', shape: [], data: new BigInt64Array([42n]) },
      mask: { dtype: 'BOOL', shape: [5], data: new Uint8Array([1, 0, 1, 1, 0]) },
      empty: { dtype: 'F64', shape: [0, 4], data: new Float64Array(0) },
    },
    { format: 'pt', run: 'fuzz' },
  );
  const { n, header, data } = split(base);
  const stats = { ok: 0, rejected: 0 };
  const tally = (bytes: Uint8Array, label: string) => stats[decodeOrReject(bytes, label)]++;

  // Every truncation is invalid.
  for (let len = 0; len < base.length; len++) {
    assert.is(decodeOrReject(base.subarray(0, len), `truncated to ${len}`), 'rejected', `truncated to ${len}`);
  }
  // Extra trailing bytes are invalid too.
  assert.is(decodeOrReject(Uint8Array.from([...base, 0]), 'one extra byte'), 'rejected');

  // Header lengths: huge, just past the file, and every value near the true one.
  const lengths = [2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n, 2n ** 32n + BigInt(n), BigInt(MAX_HEADER_BYTES), BigInt(base.length), BigInt(base.length - 7), 0n];
  for (let d = -12; d <= 12; d++) lengths.push(BigInt(n + d));
  for (const value of lengths) {
    const f = base.slice();
    new DataView(f.buffer).setBigUint64(0, value, true);
    tally(f, `header length ${value}`);
  }

  // Random byte flips in the header (1 to 3 per file), then anywhere in the file.
  for (let i = 0; i < 3000; i++) {
    const f = base.slice();
    const flips = 1 + rng.int(3);
    for (let k = 0; k < flips; k++) {
      const at = i < 2000 ? 8 + rng.int(n) : rng.int(f.length);
      f[at] = rng.int(2) ? f[at]! ^ (1 << rng.int(8)) : rng.int(256);
    }
    tally(f, `flip #${i}`);
  }

  // Structured header edits: overlaps, gaps, unknown dtypes, bad shapes, offsets past the end, …
  const parsed = JSON.parse(header) as Record<string, Record<string, unknown>>;
  const names = Object.keys(parsed).filter((k) => k !== '__metadata__');
  const weird: unknown[] = [-1, -0, 0.5, 1e300, NaN, 2 ** 53, 2 ** 53 - 1, 2 ** 63, '3', null, [], {}, true, [1, 2, 3], 'F32', 'F8', 'Q4_K', '__proto__', 1.0000001];
  const pick = () => structuredClone(weird[rng.int(weird.length)]);
  for (let i = 0; i < 2000; i++) {
    const h = structuredClone(parsed) as Record<string, Record<string, unknown>>;
    const edits = 1 + rng.int(3);
    for (let k = 0; k < edits; k++) {
      const t = h[names[rng.int(names.length)]!]!;
      if (!Array.isArray(t['data_offsets'])) t['data_offsets'] = [0, 0];
      if (!Array.isArray(t['shape'])) t['shape'] = [];
      const offsets = t['data_offsets'] as number[];
      switch (rng.int(9)) {
        case 0: offsets[rng.int(2)] = (offsets[rng.int(2)] ?? 0) + rng.int(9) - 4; break; // overlaps and gaps
        case 1: t['data_offsets'] = [offsets[1], offsets[0]]; break;
        case 2: t['dtype'] = pick(); break;
        case 3: t['dtype'] = Object.keys(SAFETENSORS_DTYPE_SIZES)[rng.int(DTYPES.length)]; break;
        case 4: (t['shape'] as unknown[])[rng.int(3)] = pick(); break;
        case 5: t['shape'] = pick(); break;
        case 6: offsets[rng.int(2)] = data.length + rng.int(1000); break; // past the end
        case 7: delete t[['dtype', 'shape', 'data_offsets'][rng.int(3)]!]; break;
        case 8: h['__metadata__'] = rng.int(2) ? t : { k: pick() }; break;
      }
    }
    const text = JSON.stringify(h, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? 1e400 : v)).replace(/1e\+400/g, '1e400');
    tally(build(text, data, rng.int(2) === 1), `edit #${i}: ${text}`);
  }
  // Random garbage, with and without a plausible header length.
  for (let i = 0; i < 500; i++) {
    const f = randomBytes(rng, rng.int(64));
    if (f.length >= 8 && rng.int(2)) new DataView(f.buffer).setBigUint64(0, BigInt(rng.int(f.length)), true);
    tally(f, `garbage #${i}`);
  }
  assert.ok(stats.ok > 100 && stats.rejected > 1000, `both outcomes exercised: ${JSON.stringify(stats)}`);
});

test('the header length cap is enforced for files that really are that large', () => {
  // A header just over the cap, in a file long enough to hold it: rejected before any parsing.
  const f = new Uint8Array(8 + MAX_HEADER_BYTES + 8);
  new DataView(f.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 8), true);
  assertThrows(() => decodeSafetensors(f), SafetensorsError, 'exceeds the 100000000-byte limit');
});

test('hostile headers are refused quickly with short messages: deep nesting, huge ranks, long names', () => {
  const t0 = performance.now();
  const deep = 200_000;
  assertThrows(() => decodeSafetensors(build(`{"a":{"dtype":"F32","shape":${'['.repeat(deep)}${']'.repeat(deep)},"data_offsets":[0,0]}}`)), SafetensorsError, 'more than 100 levels deep');
  assertThrows(() => decodeSafetensors(build(`{"a":{"x":${'{"y":'.repeat(deep)}1${'}'.repeat(deep)}}}`)), SafetensorsError, 'levels deep');
  // Brackets inside strings do not count.
  const value = `${'[{'.repeat(500)}\\"]`; // brackets, a backslash and a quote
  assert.is(decodeSafetensors(build(`{"__metadata__":{"k":${JSON.stringify(value)}}}`)).metadata['k'], value);
  const rank = 1_000_000;
  try {
    decodeSafetensors(build(`{"${'n'.repeat(1_000_000)}":{"dtype":"U8","shape":[${new Array(rank).fill(1).join(',')}],"data_offsets":[0,0]}}`));
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, SafetensorsError);
    assert.ok((err as Error).message.length < 600, `message is short (${(err as Error).message.length} chars)`);
    assert.ok((err as Error).message.includes(`rank ${rank}`), (err as Error).message);
  }
  assert.ok(performance.now() - t0 < 5000, 'fast');
});

test.run();
