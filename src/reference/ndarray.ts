/**
 * The oracle's array type: a shape and float64 values in row-major order. Reference implementations
 * take and return these, computing everything in float64.
 */
export interface NDArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** A new NDArray of `shape`, from `data` or zero-filled. */
export function ndarray(shape: readonly number[], data?: ArrayLike<number>): NDArray {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(size) };
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Multi-index of the i-th element of `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** The NumPy broadcast of shapes (the oracle's own version, independent of the engine's). */
export function broadcast(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, d) => {
    const dims = shapes.map((s) => s[s.length - rank + d] ?? 1).filter((x) => x !== 1);
    if (new Set(dims).size > 1) throw new Error(`reference: cannot broadcast ${shapes.map((s) => `[${s}]`).join(' ')}`);
    return dims[0] ?? 1;
  });
}

/** Value of `a` at output multi-index `idx` of a broadcast result. */
export function atBroadcast(a: NDArray, idx: readonly number[]): number {
  const offset = idx.length - a.shape.length;
  let flat = 0;
  for (let d = 0; d < a.shape.length; d++) {
    const n = a.shape[d]!;
    flat = flat * n + (n === 1 ? 0 : idx[d + offset]!);
  }
  return a.data[flat]!;
}
