/** Float64 oracles of kernels/elementwise.wgsl: unary, binary, compare, where. */
import { atBroadcast, broadcast, ndarray, unravel, type NDArray } from './ndarray.js';

/** The scalar functions of the unary ops, in float64, by op name (the oracle's table; `unary()` is its interface). @internal */
export const unaryFns = {
  neg: (x: number) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x: number) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  relu: (x: number) => Math.max(x, 0),
  gelu: (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  square: (x: number) => x * x,
  reciprocal: (x: number) => 1 / x,
  sign: Math.sign,
  geluGrad: (x: number) => {
    const k = Math.sqrt(2 / Math.PI);
    const t = Math.tanh(k * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
  },
} as const;

/** The scalar functions of the binary ops, in float64, by op name (the oracle's table; `binary()` is its interface). @internal */
export const binaryFns = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
} as const;

/** The scalar comparisons, by op name (the oracle's table; `compare()` is its interface). @internal */
export const compareFns = {
  eq: (a: number, b: number) => a === b,
  ne: (a: number, b: number) => a !== b,
  lt: (a: number, b: number) => a < b,
  le: (a: number, b: number) => a <= b,
  gt: (a: number, b: number) => a > b,
  ge: (a: number, b: number) => a >= b,
} as const;

/** Oracle of the unary ops: `op` applied to every element. */
export function unary(op: keyof typeof unaryFns, x: NDArray): NDArray {
  return ndarray(x.shape, Array.from(x.data, unaryFns[op]));
}

/** Elementwise map over NumPy-broadcast inputs. */
export function broadcastMap(inputs: readonly NDArray[], fn: (...v: number[]) => number): NDArray {
  const shape = broadcast(...inputs.map((t) => t.shape));
  const out = ndarray(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = fn(...inputs.map((t) => atBroadcast(t, idx)));
  }
  return out;
}

/** Oracle of the binary ops, with NumPy broadcasting. */
export function binary(op: keyof typeof binaryFns, a: NDArray, b: NDArray): NDArray {
  return broadcastMap([a, b], binaryFns[op]);
}

/** Oracle of the comparisons, with NumPy broadcasting: 1 where true, 0 where false. */
export function compare(op: keyof typeof compareFns, a: NDArray, b: NDArray): NDArray {
  return broadcastMap([a, b], (x, y) => (compareFns[op](x!, y!) ? 1 : 0));
}

/** Oracle of where(): `a` where cond ≠ 0, else `b`, broadcast. */
export function where(cond: NDArray, a: NDArray, b: NDArray): NDArray {
  return broadcastMap([cond, a, b], (c, x, y) => (c !== 0 ? x! : y!));
}
