/** Float64 oracles of the layout ops (src/ops/layout.ts): permute, slice, concat, broadcastTo, gather. */
import { atBroadcast, ndarray, stridesOf, unravel, type NDArray } from './ndarray.js';

/** Oracle of permute: dimensions reordered by `dims`. */
export function permute(x: NDArray, dims: readonly number[]): NDArray {
  const shape = dims.map((d) => x.shape[d]!);
  const strides = stridesOf(x.shape);
  const out = ndarray(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = x.data[idx.reduce((off, v, j) => off + v * strides[dims[j]!]!, 0)]!;
  }
  return out;
}

/** Oracle of slice: elements start..end by step along `axis`. */
export function slice(x: NDArray, axis: number, start: number, end: number | undefined, step = 1): NDArray {
  const len = x.shape[axis]!;
  const norm = (v: number) => Math.min(len, Math.max(0, v < 0 ? v + len : v));
  const picked: number[] = [];
  for (let k = norm(start); k < norm(end ?? len); k += step) picked.push(k);
  const shape = x.shape.map((d, i) => (i === axis ? picked.length : d));
  const strides = stridesOf(x.shape);
  const out = ndarray(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    idx[axis] = picked[idx[axis]!]!;
    out.data[i] = x.data[idx.reduce((off, v, j) => off + v * strides[j]!, 0)]!;
  }
  return out;
}

/** Oracle of concat along `axis`. */
export function concat(xs: readonly NDArray[], axis: number): NDArray {
  const shape = xs[0]!.shape.map((d, i) => (i === axis ? xs.reduce((s, x) => s + x.shape[axis]!, 0) : d));
  const out = ndarray(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    let k = idx[axis]!;
    const src = xs.find((x) => (k < x.shape[axis]! ? true : ((k -= x.shape[axis]!), false)))!;
    idx[axis] = k;
    out.data[i] = src.data[idx.reduce((off, v, j) => off + v * stridesOf(src.shape)[j]!, 0)]!;
  }
  return out;
}

/** Oracle of broadcastTo. */
export function broadcastTo(x: NDArray, shape: readonly number[]): NDArray {
  const out = ndarray(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = atBroadcast(x, unravel(i, shape));
  return out;
}

/** Rows of `table` at `indices` − first (a shard's first row); out-of-range indices give zero rows (as the kernel does). */
export function gather(table: NDArray, indices: NDArray, first = 0): NDArray {
  const row = table.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = ndarray([...indices.shape, ...table.shape.slice(1)]);
  indices.data.forEach((i, r) => {
    const index = i - first;
    if (index < 0 || index >= table.shape[0]!) return;
    for (let c = 0; c < row; c++) out.data[r * row + c] = table.data[index * row + c]!;
  });
  return out;
}
