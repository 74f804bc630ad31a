/** Shape rules: sizes, contiguous strides, NumPy broadcasting, axis normalisation. */
import { IndexError, ShapeError, fmtShape } from '../errors.js';

/** Kernels carry shapes in 8 slots (see kernels/common.wgsl). */
export const MAX_RANK = 8;

/** A tensor's dimensions, outermost first; [] is a scalar (rank 0). */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(op: string, shape: Shape): void {
  if (shape.length > MAX_RANK) {
    throw new ShapeError(op, `rank ${shape.length} (shape ${fmtShape(shape)}) exceeds the maximum rank ${MAX_RANK}`, 'reshape to merge dimensions');
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(op, `shape ${fmtShape(shape)} has a dimension that is not a non-negative integer`, 'dimensions are whole numbers ≥ 0');
    }
  }
}

/** The NumPy broadcast of several shapes; throws ShapeError naming the op and the arguments. */
export function broadcastShapes(op: string, shapes: readonly Shape[], names: readonly string[] = ['a', 'b', 'c']): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let d = 0; d < rank; d++) {
    for (const s of shapes) {
      const dim = s[s.length - rank + d] ?? 1;
      if (dim === 1) continue;
      if (out[d] !== 1 && out[d] !== dim) {
        const args = shapes.map((sh, i) => `${names[i]} ${fmtShape(sh)}`).join(', ');
        throw new ShapeError(op, `shapes ${args} cannot be broadcast (dimension ${d - rank} differs)`, 'each dimension, counted from the right, must be equal or 1');
      }
      out[d] = dim;
    }
  }
  return out;
}

/** Strides that read an input of `shape` broadcast to `outShape`: 0 along repeated dimensions. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => (d < offset || shape[d - offset] === 1 ? 0 : own[d - offset]!));
}

/** Normalise a possibly negative axis; throws IndexError when out of range. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -Math.max(rank, 1) || axis >= Math.max(rank, 1)) {
    throw new IndexError(op, `axis ${axis} is out of range for a tensor of rank ${rank}`, `use an axis in [${-rank}, ${rank - 1}]`);
  }
  if (rank === 0) return 0;
  return axis < 0 ? axis + rank : axis;
}

/** Normalise a list of axes (undefined means all); sorted, without duplicates. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  if (rank === 0) {
    for (const a of typeof axes === 'number' ? [axes] : axes) normalizeAxis(op, a, rank);
    return []; // a scalar has no axes to reduce; PyTorch accepts 0 and -1 here
  }
  const list = (typeof axes === 'number' ? [axes] : axes).map((a) => normalizeAxis(op, a, rank));
  const unique = [...new Set(list)].sort((a, b) => a - b);
  if (unique.length !== list.length) {
    throw new IndexError(op, `axes [${(typeof axes === 'number' ? [axes] : axes).join(', ')}] repeat an axis`, 'name each axis once');
  }
  return unique;
}
