/**
 * Float64 oracle gradients: for each differentiable op, the vector-Jacobian product written out by
 * hand in float64, independently of the engine's gradient rules. gradcheck() checks these against
 * finite differences, then the GPU gradients against these.
 */
import * as E from './elementwise.js';
import * as L from './layout.js';
import * as R from './reduce.js';
import * as S from './softmax.js';
import { attentionVjp, multiHeadAttentionVjp } from './attention.js';
import { layerNormVjp } from './layernorm.js';
import { crossEntropyVjp } from './cross-entropy.js';
import { ndarray, unravel, type NDArray } from './ndarray.js';
import { matmulVjp } from './matmul.js';

/** Sum a gradient of a broadcast result back to the shape of the input that was broadcast. */
export function sumToShape(g: NDArray, shape: readonly number[]): NDArray {
  const out = ndarray(shape);
  const offset = g.shape.length - shape.length;
  for (let i = 0; i < g.data.length; i++) {
    const idx = unravel(i, g.shape);
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + (shape[d] === 1 ? 0 : idx[d + offset]!);
    out.data[flat]! += g.data[i]!;
  }
  return out;
}

const zip = E.broadcastMap;

type Vjp = (inputs: readonly NDArray[], dy: NDArray, attrs: Readonly<Record<string, unknown>>) => NDArray[];

const unaryDerivative: Record<string, (x: number) => number> = {
  neg: () => -1,
  abs: Math.sign,
  exp: Math.exp,
  log: (x) => 1 / x,
  sqrt: (x) => 0.5 / Math.sqrt(x),
  rsqrt: (x) => -0.5 * x ** -1.5,
  sin: Math.cos,
  cos: (x) => -Math.sin(x),
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 - s);
  },
  relu: (x) => (x > 0 ? 1 : 0),
  gelu: E.unaryFns.geluGrad,
  square: (x) => 2 * x,
  reciprocal: (x) => -1 / (x * x),
};

const binaryPartials: Record<string, (a: number, b: number) => [number, number]> = {
  add: () => [1, 1],
  sub: () => [1, -1],
  mul: (a, b) => [b, a],
  div: (a, b) => [1 / b, -a / (b * b)],
  pow: (a, b) => [b * a ** (b - 1), a ** b * Math.log(a)],
  maximum: (a, b) => (a > b ? [1, 0] : a < b ? [0, 1] : [0.5, 0.5]),
  minimum: (a, b) => (a < b ? [1, 0] : a > b ? [0, 1] : [0.5, 0.5]),
};

function reduceAxes(axes: unknown, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  return (typeof axes === 'number' ? [axes] : (axes as number[])).map((a) => (a < 0 ? a + rank : a));
}

/** dy of a reduction broadcast back over the input (reduced axes as size 1). */
function spread(dy: NDArray, shape: readonly number[], axes: readonly number[]): NDArray {
  const kept = { shape: shape.map((n, d) => (axes.includes(d) ? 1 : n)), data: dy.data };
  return L.broadcastTo(kept, shape);
}

/** The oracle's vector-Jacobian product of every differentiable op, by op name: input gradients from inputs, dy and attributes. */
export const referenceVjp: Record<string, Vjp> = {
  ...Object.fromEntries(Object.entries(unaryDerivative).map(([op, d]) => [op, ([x], dy) => [zip([x!, dy], (v, g) => g! * d(v!))]])),
  ...Object.fromEntries(Object.entries(binaryPartials).map(([op, partial]) => [op, ([a, b], dy) => [
    sumToShape(zip([a!, b!, dy], (x, y, g) => g! * partial(x!, y!)[0]), a!.shape),
    sumToShape(zip([a!, b!, dy], (x, y, g) => g! * partial(x!, y!)[1]), b!.shape),
  ]])),
  where: ([cond, a, b], dy) => [
    ndarray(cond!.shape),
    sumToShape(zip([cond!, dy], (c, g) => (c !== 0 ? g! : 0)), a!.shape),
    sumToShape(zip([cond!, dy], (c, g) => (c !== 0 ? 0 : g!)), b!.shape),
  ],
  sum: ([x], dy, { axes }) => [spread(dy, x!.shape, reduceAxes(axes, x!.shape.length))],
  mean: ([x], dy, { axes }) => {
    const ax = reduceAxes(axes, x!.shape.length);
    const count = ax.reduce((n, d) => n * x!.shape[d]!, 1);
    return [zip([spread(dy, x!.shape, ax)], (g) => g! / count)];
  },
  max: ([x], dy, { axes }) => {
    const ax = reduceAxes(axes, x!.shape.length);
    const m = spread(R.max(x!, ax, true), x!.shape, ax);
    const hits = zip([x!, m], (v, best) => (v === best ? 1 : 0));
    const count = spread(R.sum(hits, ax, true), x!.shape, ax);
    return [zip([hits, count, spread(dy, x!.shape, ax)], (h, c, g) => (h! * g!) / c!)];
  },
  softmax: ([x], dy, { axis }) => {
    const y = S.softmax(x!, axis as number);
    const dot = R.sum(zip([dy, y], (g, v) => g! * v!), axis as number, true);
    return [zip([y, dy, dot], (v, g, s) => v! * (g! - s!))];
  },
  logSoftmax: ([x], dy, { axis }) => {
    const p = S.softmax(x!, axis as number);
    const total = R.sum(dy, axis as number, true);
    return [zip([dy, p, total], (g, v, s) => g! - v! * s!)];
  },
  permute: (_, dy, { dims }) => {
    const inverse: number[] = [];
    (dims as number[]).forEach((d, i) => (inverse[d] = i));
    return [L.permute(dy, inverse)];
  },
  transpose: ([x], dy) => {
    const r = x!.shape.length;
    const dims = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
    return [L.permute(dy, dims)];
  },
  slice: ([x], dy, { axis, start, step }) => {
    const out = ndarray(x!.shape);
    const ax = axis as number;
    for (let i = 0; i < dy.data.length; i++) {
      const idx = unravel(i, dy.shape);
      idx[ax] = (start as number) + idx[ax]! * ((step as number | undefined) ?? 1);
      let flat = 0;
      for (let d = 0; d < idx.length; d++) flat = flat * x!.shape[d]! + idx[d]!;
      out.data[flat] = dy.data[i]!;
    }
    return [out];
  },
  concat: (xs, dy, { axis }) => {
    let offset = 0;
    return xs.map((x) => {
      const ax = axis as number;
      const part = L.slice(dy, ax, offset, offset + x.shape[ax]!);
      offset += x.shape[ax]!;
      return part;
    });
  },
  broadcastTo: ([x], dy) => [sumToShape(dy, x!.shape)],
  reshape: ([x], dy) => [{ shape: x!.shape, data: dy.data }],
  gather: ([table, indices], dy, attrs) => {
    const row = table!.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = ndarray(table!.shape);
    indices!.data.forEach((i, r) => {
      const v = i - ((attrs.first as number | undefined) ?? 0);
      if (v < 0 || v >= table!.shape[0]!) return;
      for (let c = 0; c < row; c++) out.data[v * row + c]! += dy.data[r * row + c]!;
    });
    return [out, ndarray(indices!.shape)];
  },
  layerNorm: layerNormVjp,
  crossEntropy: crossEntropyVjp,
  matmul: matmulVjp,
  attention: attentionVjp,
  multiHeadAttention: multiHeadAttentionVjp,
};
