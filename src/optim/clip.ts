/** Gradient clipping by global norm, computed on the GPU without a readback. */
import { add, div, minimum, mul, sqrt, square } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { noGrad } from '../autograd/tape.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Scale every gradient by min(1, maxNorm / ‖g‖) where ‖g‖ is the L2 norm of all gradients together.
 * Returns ‖g‖ before clipping (a rank-0 tensor; read it with `await norm.item()` if you need it).
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor | null {
  const withGrad = params.filter((p) => p.grad);
  if (withGrad.length === 0) return null;
  return noGrad(() => scope(() => {
    let total: Tensor | null = null;
    for (const p of withGrad) {
      const s = sum(square(p.grad!));
      total = total ? add(total, s) : s;
    }
    const norm = sqrt(total!);
    const factor = minimum(div(maxNorm, add(norm, 1e-6)), 1);
    for (const p of withGrad) {
      const clipped = keep(mul(p.grad!, factor));
      p.grad!.dispose();
      p.grad = clipped;
    }
    return norm;
  }));
}
