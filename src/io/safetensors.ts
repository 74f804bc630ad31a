/**
 * safetensors: the tensor file format of the Hugging Face ecosystem, read and written here from
 * scratch. Platform-neutral (no Node imports): it works on bytes; file I/O lives in the other
 * src/io/ modules.
 *
 * Layout of a file:
 *   bytes [0, 8)        N, the header length, an unsigned 64-bit little-endian integer
 *   bytes [8, 8+N)      the header: UTF-8 JSON, an object
 *                         { "__metadata__": { "key": "value", … },            (optional, strings only)
 *                           "name": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, … }
 *                       possibly padded with trailing spaces
 *   bytes [8+N, end)    the data section; a tensor's bytes are [8+N+begin, 8+N+end), little-endian,
 *                       row-major. The tensors' ranges tile the data section exactly: no gaps, no overlaps.
 *
 * The writer is deterministic (same tensors and metadata → same bytes): tensors are laid out by
 * descending element size, then by name (UTF-8 byte order), as the reference implementation does, so
 * that every tensor starts at a multiple of its element size; the header is padded with spaces to a
 * multiple of 8 bytes so the data section starts 8-aligned; metadata keys are sorted.
 *
 * The reader validates everything the reference implementation does (and names what is wrong): the
 * header length against the file size and a 100 MB cap, UTF-8, JSON, dtypes, shapes, offsets, byte
 * sizes, and that the offsets tile the data section.
 */
import { WgradError, fmtShape } from '../errors.js';

/** A malformed safetensors file, or tensors that cannot be written as one. */
export class SafetensorsError extends WgradError {}

/** Bytes per element of every dtype the format defines with a whole number of bytes. */
export const SAFETENSORS_DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

/** The dtype names of the safetensors format (F32, F16, BF16, I32, U8, …). */
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPE_SIZES;

/** The largest header the reader accepts (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Typed arrays the writer accepts as tensor data. A Uint8Array is taken as raw bytes for any dtype. */
export type SafetensorsData =
  | Uint8Array
  | Uint8ClampedArray
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor to write. */
export interface SafetensorsInput {
  dtype: SafetensorsDType;
  shape: readonly number[];
  /** The elements, row-major: a typed array of the dtype's kind, or its little-endian bytes. */
  data: SafetensorsData;
}

/** A tensor read from a file. */
export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  /** Its bytes: a view into the decoded buffer (copy it before mutating if the buffer is shared). */
  data: Uint8Array;
}

/** A parsed safetensors file: tensors by name (views into the bytes) and the header's metadata. */
export interface DecodedSafetensors {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** Deepest JSON nesting the reader parses (a valid header needs 3; serde_json, the reference reader's parser, stops at 128). */
const MAX_NESTING = 100;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const encoder = new TextEncoder();

/**
 * Encodes tensors (and optional string metadata) as a safetensors file. Throws SafetensorsError for
 * an unknown dtype, a bad shape, data whose size or type does not match, a tensor named
 * `__metadata__`, non-string metadata, or a header beyond MAX_HEADER_BYTES.
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsInput>, metadata?: Record<string, string>): Uint8Array {
  const where = 'encodeSafetensors';
  if (tensors === null || typeof tensors !== 'object') {
    throw new SafetensorsError(where, `tensors must be an object mapping names to { dtype, shape, data }, got ${describe(tensors)}`, 'pass e.g. { w: { dtype: "F32", shape: [2], data: new Float32Array(2) } }');
  }
  const entries = Object.keys(tensors).map((name) => {
    if (name === METADATA_KEY) {
      throw new SafetensorsError(where, `a tensor cannot be named "${METADATA_KEY}": the format reserves that key for metadata`, 'rename the tensor');
    }
    if (!wellFormed(name)) {
      throw new SafetensorsError(where, `tensor name ${q(name)} contains a lone UTF-16 surrogate, which UTF-8 JSON readers reject`, 'use a well-formed Unicode name');
    }
    const t = tensors[name];
    if (t === null || typeof t !== 'object') {
      throw new SafetensorsError(where, `tensor ${q(name)} must be { dtype, shape, data }, got ${describe(t)}`, 'pass an object with dtype, shape and data');
    }
    const dtype = t.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPE_SIZES, dtype)) {
      throw new SafetensorsError(where, `tensor ${q(name)} has unknown dtype ${describe(dtype)}`, `use one of ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(', ')}`);
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SafetensorsError(where, `tensor ${q(name)} has shape ${describe(shape)}, not an array of non-negative integers`, 'pass the shape as e.g. [2, 3], or [] for a scalar');
    }
    const size = SAFETENSORS_DTYPE_SIZES[dtype];
    const data = t.data;
    if (!ArrayBuffer.isView(data) || data instanceof DataView) {
      throw new SafetensorsError(where, `tensor ${q(name)} data must be a typed array, got ${describe(data)}`, 'pass a typed array of the dtype (e.g. Float32Array for F32) or its raw bytes as a Uint8Array');
    }
    const kind = compatibleKind(data, dtype);
    if (!kind) {
      throw new SafetensorsError(where, `tensor ${q(name)} has dtype ${dtype} but its data is a ${data.constructor.name}`, `pass a ${expectedKind(dtype)}, or the raw little-endian bytes as a Uint8Array`);
    }
    const expected = byteSize(shape, size);
    if (expected !== data.byteLength) {
      throw new SafetensorsError(where, `tensor ${q(name)}: ${dtype} ${shapeText(shape)} needs ${expected === null ? 'more than 2^53' : expected} bytes but data has ${data.byteLength}`, 'check the shape against the number of elements');
    }
    return { name, key: encoder.encode(name), dtype, size, shape: shape.map((d) => d + 0), bytes: littleEndianBytes(data, size) };
  });
  entries.sort((a, b) => b.size - a.size || compareBytes(a.key, b.key) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new SafetensorsError(where, `metadata must be an object of strings, got ${describe(metadata)}`, 'pass e.g. { format: "pt" }, or omit it');
    }
    const keys = Object.keys(metadata).map((k) => ({ k, key: encoder.encode(k) }));
    keys.sort((a, b) => compareBytes(a.key, b.key) || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    for (const { k } of keys) {
      if (typeof metadata[k] !== 'string') {
        throw new SafetensorsError(where, `metadata ${q(k)} is ${describe(metadata[k])}; metadata values must be strings`, 'convert the value to a string (e.g. JSON.stringify)');
      }
      if (!wellFormed(k) || !wellFormed(metadata[k]!)) {
        throw new SafetensorsError(where, `metadata ${q(k)} contains a lone UTF-16 surrogate, which UTF-8 JSON readers reject`, 'use well-formed Unicode strings');
      }
    }
    if (keys.length > 0) parts.push(`"${METADATA_KEY}":{${keys.map(({ k }) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    const begin = offset;
    offset += e.bytes.byteLength;
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${begin},${offset}]}`);
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(where, `the header would be ${headerLength} bytes, more than readers accept (${MAX_HEADER_BYTES})`, 'write fewer tensors per file (shard the checkpoint), shorten names or metadata');
  }
  let out: Uint8Array;
  try {
    out = new Uint8Array(8 + headerLength + offset);
  } catch (err) {
    throw new SafetensorsError(where, `cannot allocate ${8 + headerLength + offset} bytes for the file (${(err as Error).message})`, 'write the tensors to several smaller files (shards)');
  }
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.byteLength;
  }
  return out;
}

/**
 * Decodes and validates a safetensors file. Tensor data are views into `bytes` (no copy). Throws
 * SafetensorsError naming what is wrong; never any other error for malformed input.
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const where = 'decodeSafetensors';
  const corrupt = 'the file is corrupt, truncated or not a safetensors file; re-download or re-export it';
  if (!(bytes instanceof Uint8Array)) {
    throw new SafetensorsError(where, `expected the file's bytes as a Uint8Array, got ${describe(bytes)}`, 'read the file into a Uint8Array (a Node Buffer is one)');
  }
  if (bytes.length < 8) {
    throw new SafetensorsError(where, `the file is ${bytes.length} bytes, shorter than the 8-byte header length that starts every safetensors file`, corrupt);
  }
  const prefix = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const low = prefix.getUint32(0, true);
  const high = prefix.getUint32(4, true);
  if (high !== 0 || low > MAX_HEADER_BYTES) {
    throw new SafetensorsError(where, `header length ${prefix.getBigUint64(0, true)} exceeds the ${MAX_HEADER_BYTES}-byte limit`, corrupt);
  }
  const n = low;
  if (8 + n > bytes.length) {
    throw new SafetensorsError(where, `header length ${n} exceeds the ${bytes.length - 8} bytes that follow it in the file`, corrupt);
  }
  if (n === 0 || bytes[8] !== 0x7b) {
    throw new SafetensorsError(where, `the header (${n} bytes) does not start with "{"`, corrupt);
  }
  const depth = nestingDepth(bytes.subarray(8, 8 + n));
  if (depth > MAX_NESTING) {
    throw new SafetensorsError(where, `the header nests arrays or objects more than ${MAX_NESTING} levels deep (a valid header needs 3)`, corrupt);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new SafetensorsError(where, `the header (${n} bytes) is not valid UTF-8`, corrupt);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(where, `the header is not valid JSON (${truncate(String((err as Error)?.message ?? err), 120)})`, corrupt);
  }
  if (!isRecord(header)) {
    throw new SafetensorsError(where, `the header is ${describe(header)}, not a JSON object`, corrupt);
  }

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const infos: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const name of Object.keys(header)) {
    const info = header[name];
    if (name === METADATA_KEY) {
      if (info === null) continue; // the reference reader accepts a null metadata as none
      if (!isRecord(info)) {
        throw new SafetensorsError(where, `"${METADATA_KEY}" is ${describe(info)}, not an object of strings`, corrupt);
      }
      if ('dtype' in info || 'data_offsets' in info) {
        throw new SafetensorsError(where, `"${METADATA_KEY}" describes a tensor; that name is reserved for metadata`, corrupt);
      }
      for (const key of Object.keys(info)) {
        const value = info[key];
        if (typeof value !== 'string') {
          throw new SafetensorsError(where, `metadata ${q(key)} is ${describe(value)}; metadata values must be strings`, corrupt);
        }
        if (!wellFormed(key) || !wellFormed(value)) {
          throw new SafetensorsError(where, `metadata ${q(key)} contains a lone UTF-16 surrogate escape (\\uD800–\\uDFFF), which is not valid Unicode`, corrupt);
        }
        define(metadata, key, value);
      }
      continue;
    }
    if (!wellFormed(name)) {
      throw new SafetensorsError(where, `tensor name ${q(name)} contains a lone UTF-16 surrogate escape (\\uD800–\\uDFFF), which is not valid Unicode`, corrupt);
    }
    if (!isRecord(info)) {
      throw new SafetensorsError(where, `tensor ${q(name)} is described by ${describe(info)}, not an object`, corrupt);
    }
    const dtype = info['dtype'];
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPE_SIZES, dtype)) {
      throw new SafetensorsError(where, `tensor ${q(name)} has unknown dtype ${describe(dtype)}`, `supported dtypes: ${Object.keys(SAFETENSORS_DTYPE_SIZES).join(', ')}; otherwise ${corrupt}`);
    }
    const size = SAFETENSORS_DTYPE_SIZES[dtype as SafetensorsDType];
    const shape = info['shape'];
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SafetensorsError(where, `tensor ${q(name)} has shape ${describe(shape)}, not an array of non-negative integers`, corrupt);
    }
    const offsets = info['data_offsets'];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isCount(offsets[0]) || !isCount(offsets[1])) {
      throw new SafetensorsError(where, `tensor ${q(name)} has data_offsets ${describe(offsets)}, not two non-negative integers [begin, end]`, corrupt);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) {
      throw new SafetensorsError(where, `tensor ${q(name)} has data_offsets [${begin}, ${end}] with begin > end`, corrupt);
    }
    if (end > dataLength) {
      throw new SafetensorsError(where, `tensor ${q(name)} has data_offsets [${begin}, ${end}] past the end of the ${dataLength}-byte data section`, corrupt);
    }
    const expected = byteSize(shape, size);
    if (expected !== end - begin) {
      throw new SafetensorsError(where, `tensor ${q(name)}: ${dtype} ${shapeText(shape)} needs ${expected === null ? 'more than 2^53' : expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`, corrupt);
    }
    infos.push({ name, dtype: dtype as SafetensorsDType, shape: shape.map((d: number) => d + 0), begin, end });
  }

  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < infos.length; i++) {
    const t = infos[i]!;
    if (t.begin < covered) {
      const prev = infos[i - 1]!;
      throw new SafetensorsError(where, `tensors ${q(prev.name)} [${prev.begin}, ${prev.end}] and ${q(t.name)} [${t.begin}, ${t.end}] overlap`, corrupt);
    }
    if (t.begin > covered) {
      const after = i > 0 ? ` (after ${q(infos[i - 1]!.name)}, before ${q(t.name)})` : ` (before ${q(t.name)})`;
      throw new SafetensorsError(where, `bytes [${covered}, ${t.begin}) of the data section belong to no tensor${after}`, corrupt);
    }
    covered = t.end;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(where, `the data section is ${dataLength} bytes but the tensors cover only ${covered}`, corrupt);
  }

  const tensors: Record<string, SafetensorsTensor> = {};
  for (const t of infos) {
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart + t.begin, t.end - t.begin);
    define(tensors, t.name, { dtype: t.dtype, shape: t.shape, data });
  }
  return { tensors, metadata };
}

/**
 * A decoded tensor's values as float32: F32 as is (a view when the bytes are 4-aligned, else a copy),
 * F16 and BF16 widened exactly. Other dtypes throw SafetensorsError.
 */
export function toFloat32Array(t: SafetensorsTensor, name = 'tensor'): Float32Array {
  const count = checkedCount(t, name, 'toFloat32Array');
  const src = t.data;
  if (t.dtype === 'F32') {
    if (LITTLE_ENDIAN && src.byteOffset % 4 === 0) return new Float32Array(src.buffer, src.byteOffset, count);
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (t.dtype === 'BF16' || t.dtype === 'F16') {
    const out = new Float32Array(count);
    const bits = new Uint32Array(out.buffer);
    const table = t.dtype === 'F16' ? f16Table() : null;
    for (let i = 0; i < count; i++) {
      const h = src[2 * i]! | (src[2 * i + 1]! << 8);
      if (table) out[i] = table[h]!;
      else bits[i] = h << 16;
    }
    return out;
  }
  throw new SafetensorsError('toFloat32Array', `${name} has dtype ${t.dtype}; only F32, F16 and BF16 convert to float32 here`, 'convert the values yourself, or store the tensor as F32');
}

/**
 * A decoded tensor's values as int32: I32 as is (a view when 4-aligned, else a copy); BOOL, U8, I8,
 * U16, I16 widened; U32, I64, U64 converted when every value fits in int32 (else SafetensorsError).
 */
export function toInt32Array(t: SafetensorsTensor, name = 'tensor'): Int32Array {
  const where = 'toInt32Array';
  const count = checkedCount(t, name, where);
  const src = t.data;
  if (t.dtype === 'I32' && LITTLE_ENDIAN && src.byteOffset % 4 === 0) return new Int32Array(src.buffer, src.byteOffset, count);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Int32Array(count);
  const tooBig = (i: number, v: bigint | number) =>
    new SafetensorsError(where, `${name} (${t.dtype}) element ${i} is ${v}, outside the int32 range`, 'keep the values as they are (read data yourself) or store them as I32 within range');
  switch (t.dtype) {
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    case 'BOOL':
    case 'U8':
      out.set(src);
      return out;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    case 'U16':
      for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true);
      return out;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    case 'U32':
      for (let i = 0; i < count; i++) {
        const v = view.getUint32(4 * i, true);
        if (v > 0x7fffffff) throw tooBig(i, v);
        out[i] = v;
      }
      return out;
    case 'I64':
    case 'U64':
      for (let i = 0; i < count; i++) {
        const v = t.dtype === 'I64' ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true);
        if (v < -0x80000000n || v > 0x7fffffffn) throw tooBig(i, v);
        out[i] = Number(v);
      }
      return out;
    default:
      throw new SafetensorsError(where, `${name} has dtype ${t.dtype}, not an integer dtype`, 'use toFloat32Array for floating-point tensors');
  }
}

/**
 * The deepest nesting of arrays and objects in JSON text (strings skipped), stopping early beyond
 * MAX_NESTING: rejecting deep nesting before JSON.parse keeps hostile headers cheap to refuse.
 */
function nestingDepth(json: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > MAX_NESTING) return max;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** The number of elements of a shape, or null beyond 2^53. */
function elementCount(shape: readonly number[]): number | null {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) return null;
  }
  return count;
}

function byteSize(shape: readonly number[], size: number): number | null {
  const count = elementCount(shape);
  if (count === null || count * size > Number.MAX_SAFE_INTEGER) return null;
  return count * size;
}

function checkedCount(t: SafetensorsTensor, name: string, where: string): number {
  if (t === null || typeof t !== 'object' || !(t.data instanceof Uint8Array) || !Array.isArray(t.shape) || !t.shape.every(isCount) || !Object.hasOwn(SAFETENSORS_DTYPE_SIZES, t.dtype)) {
    throw new SafetensorsError(where, `${name} is not a decoded tensor { dtype, shape, data: Uint8Array }`, 'pass an entry of decodeSafetensors(...).tensors');
  }
  const size = SAFETENSORS_DTYPE_SIZES[t.dtype];
  const count = elementCount(t.shape);
  if (count === null || count * size !== t.data.byteLength) {
    throw new SafetensorsError(where, `${name}: ${t.dtype} ${shapeText(t.shape)} does not match its ${t.data.byteLength} data bytes`, 'pass an entry of decodeSafetensors(...).tensors unchanged');
  }
  return count;
}

/** Whether a string is well-formed UTF-16 (no lone surrogates; with the u flag, pairs are one code point). */
function wellFormed(s: string): boolean {
  return !/\p{Cs}/u.test(s);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Sets an own enumerable property, even for names such as `__proto__`. */
function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Whether a typed array's kind fits a dtype (a Uint8Array always does: raw bytes). */
function compatibleKind(data: ArrayBufferView, dtype: SafetensorsDType): boolean {
  if (data instanceof Uint8Array) return true;
  switch (dtype) {
    case 'BOOL':
    case 'U8':
    case 'F8_E5M2':
    case 'F8_E4M3':
      return data instanceof Uint8ClampedArray;
    case 'I8':
      return data instanceof Int8Array;
    case 'I16':
      return data instanceof Int16Array;
    case 'U16':
    case 'BF16':
      return data instanceof Uint16Array;
    case 'F16':
      return data instanceof Uint16Array || data.constructor.name === 'Float16Array';
    case 'I32':
      return data instanceof Int32Array;
    case 'U32':
      return data instanceof Uint32Array;
    case 'F32':
      return data instanceof Float32Array;
    case 'F64':
      return data instanceof Float64Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'U64':
      return data instanceof BigUint64Array;
  }
}

function expectedKind(dtype: SafetensorsDType): string {
  const kinds: Record<SafetensorsDType, string> = {
    BOOL: 'Uint8Array', U8: 'Uint8Array', F8_E5M2: 'Uint8Array', F8_E4M3: 'Uint8Array', I8: 'Int8Array', I16: 'Int16Array',
    U16: 'Uint16Array', BF16: 'Uint16Array (the raw bf16 bits)', F16: 'Uint16Array (the raw f16 bits)', I32: 'Int32Array',
    U32: 'Uint32Array', F32: 'Float32Array', F64: 'Float64Array', I64: 'BigInt64Array', U64: 'BigUint64Array',
  };
  return kinds[dtype];
}

/** A typed array's bytes in little-endian order (a view on little-endian hosts, else a swapped copy). */
function littleEndianBytes(data: ArrayBufferView, size: number): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || size === 1 || data instanceof Uint8Array) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  return out;
}

let f16: Float32Array | null = null;

/** Every f16 bit pattern's float32 value (exact; NaN payloads and signed zeros kept). */
function f16Table(): Float32Array {
  if (f16) return f16;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = (sign ? -1 : 1) * mantissa * 2 ** -24; // zeros and subnormals
    else if (exponent === 31) bits[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    else bits[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  }
  f16 = table;
  return table;
}

function shapeText(shape: readonly number[]): string {
  return shape.length > 12 ? `${fmtShape(shape.slice(0, 12)).slice(0, -1)}, … (rank ${shape.length})]` : fmtShape(shape);
}

function q(name: string): string {
  return truncate(JSON.stringify(name), 80);
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined (missing)';
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  try {
    return truncate(JSON.stringify(v) ?? String(v), 80);
  } catch {
    return typeof v;
  }
}
