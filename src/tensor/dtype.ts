/** Element types. Every dtype takes 4 bytes on the GPU; `bool` is stored as u32 0/1. */
export type DType = 'float32' | 'int32' | 'bool';

export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;

export const BYTES_PER_ELEMENT = 4;

/** The array type a tensor of this dtype is read back as. */
export function arrayFor(dtype: DType, bytes: ArrayBuffer): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return new Float32Array(bytes);
  if (dtype === 'int32') return new Int32Array(bytes);
  return Uint8Array.from(new Uint32Array(bytes), (v) => (v !== 0 ? 1 : 0));
}

/** The array type a tensor of this dtype is uploaded from. */
export function uploadArray(dtype: DType, values: ArrayLike<number>): Float32Array | Int32Array | Uint32Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values);
  return Uint32Array.from(values, (v) => (v ? 1 : 0));
}
