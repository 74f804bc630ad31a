/**
 * Float64 oracles of kernels/reduce.wgsl: sum, mean, max over any set of axes, and argmax over one
 * axis or the flattened array. Plain loops over multi-indices, independent of the engine's planning.
 */
import { ndarray, stridesOf, unravel, type NDArray } from './ndarray.js';

/** Axes to reduce: undefined means all; negative axes count from the end; sorted, no repeats. */
function axesOf(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = (typeof axes === 'number' ? [axes] : [...axes]).map((a) => {
    const r = Math.max(rank, 1);
    if (!Number.isInteger(a) || a < -r || a >= r) throw new Error(`reference: axis ${a} out of range for rank ${rank}`);
    return a < 0 ? a + r : a;
  });
  if (new Set(list).size !== list.length) throw new Error(`reference: repeated axis in [${list}]`);
  return rank === 0 ? [] : list.sort((a, b) => a - b);
}

/**
 * Folds `fn` over the reduced axes, visiting each output's elements in row-major order of the reduced
 * axes; `fn` gets the accumulator, the value and that row-major position.
 */
function fold(x: NDArray, axes: number | readonly number[] | undefined, keepdim: boolean, init: number,
  fn: (acc: number, v: number, j: number, state: { best: number }) => number, finish: (acc: number, len: number, state: { best: number }) => number): NDArray {
  const rank = x.shape.length;
  const reduced = axesOf(axes, rank);
  const kept = x.shape.map((_, d) => d).filter((d) => !reduced.includes(d));
  const keptShape = kept.map((d) => x.shape[d]!);
  const redShape = reduced.map((d) => x.shape[d]!);
  const len = redShape.reduce((a, b) => a * b, 1);
  const outShape = keepdim ? x.shape.map((n, d) => (reduced.includes(d) ? 1 : n)) : keptShape;
  const out = ndarray(outShape);
  const strides = stridesOf(x.shape);
  for (let o = 0; o < out.data.length; o++) {
    const keptIdx = unravel(o, keptShape);
    let base = 0;
    kept.forEach((d, k) => (base += keptIdx[k]! * strides[d]!));
    let acc = init;
    const state = { best: NaN };
    for (let j = 0; j < len; j++) {
      const redIdx = unravel(j, redShape);
      let at = base;
      reduced.forEach((d, k) => (at += redIdx[k]! * strides[d]!));
      acc = fn(acc, x.data[at]!, j, state);
    }
    out.data[o] = finish(acc, len, state);
  }
  return out;
}

/** Oracle of sum over axes (all by default). */
export function sum(x: NDArray, axes?: number | readonly number[], keepdim = false): NDArray {
  return fold(x, axes, keepdim, 0, (acc, v) => acc + v, (acc) => acc);
}

/** Mean; NaN where nothing is reduced. */
export function mean(x: NDArray, axes?: number | readonly number[], keepdim = false): NDArray {
  return fold(x, axes, keepdim, 0, (acc, v) => acc + v, (acc, len) => acc / len);
}

/** Max; throws on an empty reduction, which has no maximum. */
export function max(x: NDArray, axes?: number | readonly number[], keepdim = false): NDArray {
  return fold(x, axes, keepdim, -Infinity, (acc, v) => Math.max(acc, v), (acc, len) => {
    if (len === 0) throw new Error('reference: max of zero elements');
    return acc;
  });
}

/**
 * Index of the largest value along `axis` (the first one on ties), or in the flattened array when
 * `axis` is undefined; with keepdim and no axis, the result has x's rank with every size 1.
 */
export function argmax(x: NDArray, axis?: number, keepdim = false): NDArray {
  const pick = (acc: number, v: number, j: number, state: { best: number }) => {
    if (j === 0 || v > state.best) {
      state.best = v;
      return j;
    }
    return acc;
  };
  const finish = (acc: number, len: number) => {
    if (len === 0) throw new Error('reference: argmax of zero elements');
    return acc;
  };
  if (axis === undefined) {
    const flat = fold(ndarray([x.data.length], x.data), 0, false, -1, pick, finish);
    return keepdim ? ndarray(x.shape.map(() => 1), flat.data) : flat;
  }
  return fold(x, axis, keepdim, -1, pick, finish);
}
