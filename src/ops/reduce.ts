/** Reductions: sum, mean and max over any set of axes, argmax over one axis or the whole tensor. */
import { IndexError, fmtShape } from '../errors.js';
import { contiguousStrides, normalizeAxes, normalizeAxis, sizeOf, type Shape } from '../tensor/shape.js';
import { launch } from '../tensor/launch.js';
import { Tensor } from '../tensor/tensor.js';
import { expectTensor } from './validate.js';
import { record } from '../tensor/record.js';

/** Op codes of kernels/reduce.wgsl's `reduce_op`. */
export const REDUCE_OPS = { sum: 0, max: 1 } as const;

/** Axes to reduce: one axis, a list, or undefined for all of them. Negative axes count from the end. */
export type Axes = number | readonly number[] | undefined;

/** argmax: rows at least this long get 256 invocations per workgroup; shorter ones get 64. */
const LONG_ROW = 2048;

/** How a reduction walks its input: see the shape legend of kernels/reduce.wgsl. */
interface ReducePlan {
  outShape: number[];
  nOut: number;
  len: number;
  keepShape: number[];
  keepStrides: number[];
  redShape: number[];
  redStrides: number[];
  /** The input's sizes along the reduced axes (for messages). */
  reducedSizes: number[];
}

/**
 * Splits x's dimensions into kept and reduced ones (with x's contiguous strides), dropping size-1
 * dimensions and merging neighbours of the same kind, which stay contiguous with each other.
 */
function plan(shape: Shape, reduced: readonly number[], keepdim: boolean): ReducePlan {
  const strides = contiguousStrides(shape);
  const keep: { n: number; s: number }[] = [];
  const red: { n: number; s: number }[] = [];
  let prevKind: 'keep' | 'red' | null = null;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const kind = reduced.includes(d) ? 'red' : 'keep';
    const list = kind === 'red' ? red : keep;
    const last = list[list.length - 1];
    if (prevKind === kind && last) {
      last.n *= n;
      last.s = strides[d]!;
    } else {
      list.push({ n, s: strides[d]! });
    }
    prevKind = kind;
  }
  const outShape = keepdim
    ? shape.map((n, d) => (reduced.includes(d) ? 1 : n))
    : shape.filter((_, d) => !reduced.includes(d));
  return {
    outShape,
    nOut: sizeOf(outShape),
    len: sizeOf(reduced.map((d) => shape[d]!)),
    keepShape: keep.map((k) => k.n),
    keepStrides: keep.map((k) => k.s),
    redShape: red.map((r) => r.n),
    redStrides: red.map((r) => r.s),
    reducedSizes: reduced.map((d) => shape[d]!),
  };
}

function layoutUniforms(p: ReducePlan) {
  return {
    n_out: p.nOut,
    len: p.len,
    keep_rank: p.keepShape.length,
    red_rank: p.redShape.length,
    keep_shape: p.keepShape,
    keep_strides: p.keepStrides,
    red_shape: p.redShape,
    red_strides: p.redStrides,
  };
}

/** max and argmax have no value for zero elements; PyTorch refuses them too (even when no output row would need one). */
function refuseEmpty(op: string, x: Tensor, p: ReducePlan, along: string | null): void {
  if (p.len !== 0) return;
  const what = along === null ? `x ${fmtShape(x.shape)} has no elements` : `x ${fmtShape(x.shape)} has no elements along ${along}`;
  throw new IndexError(op, `cannot reduce zero elements: ${what}`, `${op} of an empty set is undefined; reduce over axes of non-zero size (or check the tensor is not empty)`);
}

/** Invocations worth filling when a few long rows are split into parts (a few workgroups per core). */
const PARTS_TARGET = 512;
/** Rows at most this long are reduced in one pass whatever their number. */
const ONE_PASS_LEN = 256;

function reduceOp(op: 'sum' | 'mean' | 'max', x: Tensor, axes: Axes, keepdim: boolean): Tensor {
  expectTensor(op, 'x', x);
  const reduced = normalizeAxes(op, axes, x.rank);
  const p = plan(x.shape, reduced, keepdim);
  if (op === 'max') refuseEmpty(op, x, p, axes === undefined ? null : `axes [${reduced.join(', ')}] (sizes [${p.reducedSizes.join(', ')}])`);
  const code = REDUCE_OPS[op === 'mean' ? 'sum' : op];
  // mean of zero elements is NaN: the kernel gives 0 · scale.
  const scale = op === 'mean' ? (p.len === 0 ? NaN : 1 / p.len) : 1;
  const out = Tensor.empty(x.device, p.outShape, 'float32', op);
  if (2 * p.nOut >= PARTS_TARGET || p.len <= ONE_PASS_LEN) {
    launchReduce(op, x, out, code, layoutUniforms(p), scale, 1, p.len);
  } else {
    // Few long rows: each split into parts (every part non-empty) reduced into a (nOut, parts)
    // temporary, whose rows are then reduced: parallel work without a barrier.
    const partLen = Math.max(ONE_PASS_LEN / 4, Math.ceil((p.len * p.nOut) / PARTS_TARGET));
    const parts = Math.ceil(p.len / partLen);
    const partial = Tensor.empty(x.device, [p.nOut, parts], 'float32', op);
    launchReduce(op, x, partial, code, layoutUniforms(p), 1, parts, partLen);
    const rows = { n_out: p.nOut, len: parts, keep_rank: 1, red_rank: 1, keep_shape: [p.nOut], keep_strides: [parts], red_shape: [parts], red_strides: [1] };
    launchReduce(op, partial, out, code, rows, scale, 1, parts);
    partial.dispose(); // later dispatches run after these
  }
  return record(op, [x], out, { axes: reduced, keepdim });
}

function launchReduce(op: string, x: Tensor, out: Tensor, code: number, layout: ReturnType<typeof layoutUniforms>, scale: number, parts: number, partLen: number): void {
  launch(op, 'reduce', {
    bindings: { x, out },
    uniforms: { ...layout, scale, parts, part_len: partLen },
    overrides: { OP: code },
    workgroups: Math.ceil((layout.n_out * parts) / 64),
  });
}

/**
 * Sum over `axes` (all when undefined); reduced axes are dropped, or kept with size 1 when `keepdim`.
 * The sum of zero elements is 0. An empty list of axes reduces nothing (NumPy's rule; PyTorch reduces
 * everything).
 */
export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return reduceOp('sum', x, axes, keepdim);
}

/** Mean over `axes` (all when undefined); the mean of zero elements is NaN. */
export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return reduceOp('mean', x, axes, keepdim);
}

/** Maximum over `axes` (all when undefined), like PyTorch's amax; IndexError for zero elements. */
export function max(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return reduceOp('max', x, axes, keepdim);
}

/**
 * Index of the largest value along `axis`, the first one on ties (as PyTorch), as an int32 tensor.
 * Without an axis, the index into the flattened tensor (with keepdim, of shape [1, 1, …]).
 * IndexError when the reduced axis (or the tensor) has no elements.
 */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  const op = 'argmax';
  expectTensor(op, 'x', x);
  let p: ReducePlan;
  if (axis === undefined) {
    p = plan([x.size], [0], false);
    if (keepdim) p.outShape = x.shape.map(() => 1);
    refuseEmpty(op, x, p, null);
  } else {
    const a = normalizeAxis(op, axis, x.rank);
    p = plan(x.shape, x.rank === 0 ? [] : [a], keepdim);
    refuseEmpty(op, x, p, `axis ${axis} (size ${p.reducedSizes[0]})`);
  }
  const indices = Tensor.empty(x.device, p.outShape, 'int32', op);
  launch(op, 'argmax', {
    bindings: { x, indices },
    uniforms: layoutUniforms(p),
    overrides: { WG: p.len >= LONG_ROW ? 256 : 64 },
    workgroups: p.nOut,
  });
  return indices;
}
