/** Float64 oracles of kernels/softmax.wgsl: softmax and log-softmax along one axis. */
import { ndarray, type NDArray } from './ndarray.js';

function alongAxis(x: NDArray, axis: number, fn: (row: number[]) => number[]): NDArray {
  const rank = x.shape.length;
  const r = Math.max(rank, 1);
  if (!Number.isInteger(axis) || axis < -r || axis >= r) throw new Error(`reference: axis ${axis} out of range for rank ${rank}`);
  const a = rank === 0 ? 0 : axis < 0 ? axis + rank : axis;
  const len = rank === 0 ? 1 : x.shape[a]!;
  const inner = x.shape.slice(a + 1).reduce((p, n) => p * n, 1);
  const outer = rank === 0 ? 1 : x.shape.slice(0, a).reduce((p, n) => p * n, 1);
  const out = ndarray(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      const row = Array.from({ length: len }, (_, k) => x.data[base + k * inner]!);
      fn(row).forEach((v, k) => (out.data[base + k * inner] = v));
    }
  }
  return out;
}

/** exp(x - max) / Σ exp(x - max) along `axis`. */
export function softmax(x: NDArray, axis = -1): NDArray {
  return alongAxis(x, axis, (row) => {
    const m = row.reduce((p, v) => Math.max(p, v), -Infinity);
    const e = row.map((v) => Math.exp(v - m));
    const total = e.reduce((p, v) => p + v, 0);
    return e.map((v) => v / total);
  });
}

/** x - max - log Σ exp(x - max) along `axis`. */
export function logSoftmax(x: NDArray, axis = -1): NDArray {
  return alongAxis(x, axis, (row) => {
    const m = row.reduce((p, v) => Math.max(p, v), -Infinity);
    const lse = Math.log(row.reduce((p, v) => p + Math.exp(v - m), 0));
    return row.map((v) => v - m - lse);
  });
}
