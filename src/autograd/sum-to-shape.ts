/** Reducing a broadcast gradient back to its input's shape (summing over the broadcast dimensions). */
import { sum } from '../ops/reduce.js';
import { sameShape, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Returns g itself when it already has `shape`; otherwise a new tensor (g is left to the caller). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) return g; // not a broadcast: let the caller's shape check report it
  const axes: number[] = [];
  for (let d = 0; d < g.rank; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  }
  if (axes.length === 0) return g;
  const reduced = sum(g, axes, true);
  const out = reduced.reshape(shape);
  reduced.dispose();
  return out;
}
