/**
 * Layout ops: permute/transpose, slice, concat, broadcastTo and gather. Storage is always contiguous,
 * so these materialise their result with one strided copy (kernels/layout.wgsl), moving raw 32-bit
 * words: they work for every dtype.
 */
import { IndexError, ShapeError, WgradError, fmtShape } from '../errors.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, normalizeAxis, sameShape, type Shape } from '../tensor/shape.js';
import { launch } from '../tensor/launch.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { expectSameDevice, expectTensor } from './validate.js';
import { record } from '../tensor/record.js';
import { zeros } from '../tensor/create.js';

const ANY: readonly DType[] = ['float32', 'int32', 'bool'];

interface StridedCopy {
  shape: Shape;
  srcOffset: number;
  srcStrides: readonly number[];
  dstOffset: number;
  dstStrides: readonly number[];
}

function copyStrided(where: string, src: Tensor, dst: Tensor, c: StridedCopy): void {
  const n = c.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  launch(where, 'copy_strided', {
    bindings: { src, dst },
    uniforms: {
      n,
      rank: c.shape.length,
      src_offset: c.srcOffset,
      dst_offset: c.dstOffset,
      shape: c.shape,
      src_strides: c.srcStrides,
      dst_strides: c.dstStrides,
    },
    threads: n,
  });
}

/** Reorder the dimensions: result dimension i is input dimension dims[i]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const op = 'permute';
  expectTensor(op, 'x', x, ANY);
  const axes = dims.map((d) => normalizeAxis(op, d, x.rank));
  if (axes.length !== x.rank || new Set(axes).size !== x.rank) {
    throw new ShapeError(op, `dims [${dims.join(', ')}] are not a permutation of the ${x.rank} dimensions of ${fmtShape(x.shape)}`, `name each axis 0…${x.rank - 1} once`);
  }
  const shape = axes.map((a) => x.shape[a]!);
  const out = Tensor.empty(x.device, shape, x.dtype, op);
  const strides = contiguousStrides(x.shape);
  copyStrided(op, x, out, { shape, srcOffset: 0, srcStrides: axes.map((a) => strides[a]!), dstOffset: 0, dstStrides: contiguousStrides(shape) });
  return record(op, [x], out, { dims: axes });
}

/** Swap two dimensions (by default the last two). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  expectTensor('transpose', 'x', x, ANY);
  if (x.rank < 2 && dim0 === -2 && dim1 === -1) {
    throw new ShapeError('transpose', `tensor of shape ${fmtShape(x.shape)} has fewer than 2 dimensions`, 'pass the two dimensions to swap, or reshape first');
  }
  const a = normalizeAxis('transpose', dim0, x.rank);
  const b = normalizeAxis('transpose', dim1, x.rank);
  const dims = Array.from({ length: x.rank }, (_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, dims);
}

/**
 * Elements `start, start + step, …` below `end` along one axis, as Python slicing: negative start and
 * end count from the end, and both are clamped to the axis.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  const op = 'slice';
  expectTensor(op, 'x', x, ANY);
  const ax = normalizeAxis(op, axis, x.rank);
  if (x.rank === 0) throw new ShapeError(op, 'a rank-0 tensor has no axis to slice', 'reshape it to [1] first');
  if (!Number.isInteger(step) || step <= 0) throw new IndexError(op, `step ${step} is not a positive integer`, 'use step ≥ 1');
  const len = x.shape[ax]!;
  const clamp = (v: number) => Math.min(len, Math.max(0, v < 0 ? v + len : v));
  const from = clamp(start);
  const to = clamp(end ?? len);
  const count = Math.max(0, Math.ceil((to - from) / step));
  const shape = x.shape.map((d, i) => (i === ax ? count : d));
  const out = Tensor.empty(x.device, shape, x.dtype, op);
  const strides = contiguousStrides(x.shape);
  copyStrided(op, x, out, {
    shape,
    srcOffset: from * strides[ax]!,
    srcStrides: strides.map((s, i) => (i === ax ? s * step : s)),
    dstOffset: 0,
    dstStrides: contiguousStrides(shape),
  });
  return record(op, [x], out, { axis: ax, start: from, step });
}

/**
 * The adjoint of slice: a zero tensor of `shape` with `values` written where slice(axis, start, …,
 * step) would have read them. (slice's backward.)
 */
export function unslice(values: Tensor, shape: Shape, axis: number, start: number, step: number): Tensor {
  const out = zeros(shape, { device: values.device, dtype: values.dtype });
  const strides = contiguousStrides(shape);
  copyStrided('unslice', values, out, {
    shape: values.shape,
    srcOffset: 0,
    srcStrides: contiguousStrides(values.shape),
    dstOffset: start * strides[axis]!,
    dstStrides: strides.map((s, i) => (i === axis ? s * step : s)),
  });
  return out;
}

/** Join tensors along an existing axis; all other dimensions must agree. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (tensors.length === 0) throw new WgradError(op, 'no tensors to concatenate', 'pass at least one tensor');
  tensors.forEach((t, i) => expectTensor(op, `tensors[${i}]`, t, ANY));
  expectSameDevice(op, Object.fromEntries(tensors.map((t, i) => [`tensors[${i}]`, t])));
  const first = tensors[0]!;
  const ax = normalizeAxis(op, axis, first.rank);
  if (first.rank === 0) throw new ShapeError(op, 'rank-0 tensors have no axis to concatenate along', 'reshape them to [1] first');
  for (const [i, t] of tensors.entries()) {
    if (t.dtype !== first.dtype) throw new ShapeError(op, `tensors[${i}] has dtype ${t.dtype}, tensors[0] has ${first.dtype}`, 'concatenate tensors of one dtype');
    const agree = t.rank === first.rank && t.shape.every((d, j) => j === ax || d === first.shape[j]);
    if (!agree) {
      throw new ShapeError(op, `tensors[${i}] ${fmtShape(t.shape)} does not match tensors[0] ${fmtShape(first.shape)} outside axis ${ax}`, 'all dimensions except the concatenation axis must be equal');
    }
  }
  const shape = first.shape.map((d, j) => (j === ax ? tensors.reduce((s, t) => s + t.shape[ax]!, 0) : d));
  const out = Tensor.empty(first.device, shape, first.dtype, op);
  const outStrides = contiguousStrides(shape);
  let offset = 0;
  for (const t of tensors) {
    copyStrided(op, t, out, { shape: t.shape, srcOffset: 0, srcStrides: contiguousStrides(t.shape), dstOffset: offset * outStrides[ax]!, dstStrides: outStrides });
    offset += t.shape[ax]!;
  }
  return record(op, tensors, out, { axis: ax });
}

/** Materialise x broadcast to `shape` (NumPy rules). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const op = 'broadcastTo';
  expectTensor(op, 'x', x, ANY);
  const target = broadcastShapes(op, [x.shape, shape], ['x', 'shape']);
  if (!sameShape(target, shape)) {
    throw new ShapeError(op, `x ${fmtShape(x.shape)} cannot be broadcast to ${fmtShape(shape)}`, 'each dimension of x, from the right, must equal the target or be 1');
  }
  const out = Tensor.empty(x.device, shape, x.dtype, op);
  copyStrided(op, x, out, { shape, srcOffset: 0, srcStrides: broadcastStrides(x.shape, shape), dstOffset: 0, dstStrides: contiguousStrides(shape) });
  return record(op, [x], out);
}

/**
 * Rows of `table` picked by integer `indices` (an embedding lookup): the result has shape
 * indices.shape + table.shape[1:]. Out-of-range indices give rows of zeros (checked on the GPU).
 * With `first`, the table holds the rows [first, first + table.shape[0]) of a larger one (a shard):
 * index i picks its row i − first, and indices outside the shard give zeros.
 */
export function gather(table: Tensor, indices: Tensor, { first = 0 }: { first?: number } = {}): Tensor {
  const op = 'gather';
  expectTensor(op, 'table', table, ANY);
  expectTensor(op, 'indices', indices, ['int32']);
  expectSameDevice(op, { table, indices });
  if (table.rank === 0) throw new ShapeError(op, 'table is rank 0', 'gather picks rows: the table needs at least one dimension');
  const rowShape = table.shape.slice(1);
  const row = rowShape.reduce((a, b) => a * b, 1);
  const out = Tensor.empty(table.device, [...indices.shape, ...rowShape], table.dtype, op);
  if (out.size > 0) {
    launch(op, 'gather_rows', { bindings: { table, indices, rows: out }, uniforms: { n: out.size, row, vocab: table.shape[0]!, first }, threads: out.size });
  }
  return record(op, [table, indices], out, { first });
}

/**
 * The adjoint of gather: d_table[v] = Σ of the rows of `dRows` whose index is v + first (gather's
 * backward). `dRows` has shape indices.shape + tableShape[1:].
 */
export function scatterAdd(dRows: Tensor, indices: Tensor, tableShape: Shape, { first = 0 }: { first?: number } = {}): Tensor {
  const op = 'scatterAdd';
  expectTensor(op, 'dRows', dRows);
  expectTensor(op, 'indices', indices, ['int32']);
  const dTable = Tensor.empty(dRows.device, tableShape, 'float32', op);
  const row = tableShape.slice(1).reduce((a, b) => a * b, 1);
  if (dTable.size > 0) {
    launch(op, 'scatter_add_rows', { bindings: { d_rows: dRows, indices, d_table: dTable }, uniforms: { n: dTable.size, row, n_rows: indices.size, first }, threads: dTable.size });
  }
  return dTable;
}
