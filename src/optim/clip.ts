/** Gradient clipping by global norm, computed on the GPU without a readback. */
import { mul } from '../ops/elementwise.js';
import { launch } from '../tensor/launch.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { ValueError } from '../errors.js';

/** Invocations per workgroup of grad_sumsq: a gradient of a few thousand elements still spans two workgroups (two cores on lavapipe). */
const SUMSQ_WG = 64;
/** Each invocation of grad_sumsq sums a part of at least this many elements, and a gradient splits into at most SUMSQ_MAX_PARTS parts. */
const SUMSQ_MIN_PART = 16;
const SUMSQ_MAX_PARTS = 256;

/**
 * The L2 norm ‖g‖ of all `grads` together, and the clip scale min(1, maxNorm / (‖g‖ + 1e-6)), as
 * rank-0 tensors on the gradients' device: one dispatch per gradient and one more, no readback.
 * The optimizers take `scale` into their update kernels (`maxGradNorm`), so clipping costs no pass of
 * its own over the gradients.
 */
export function gradNormScale(grads: readonly Tensor[], maxNorm: number): { norm: Tensor; scale: Tensor } {
  if (!(maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new ValueError('clipGradNorm', `maxNorm is ${maxNorm}`, 'clip to a positive, finite norm (1 is usual)');
  }
  const device = grads[0]!.device;
  const plans = grads.map((g) => {
    const partLen = Math.max(SUMSQ_MIN_PART, Math.ceil(g.size / SUMSQ_MAX_PARTS));
    return { g, partLen, parts: Math.ceil(g.size / partLen) };
  });
  const count = plans.reduce((total, p) => total + p.parts, 0);
  const partials = Tensor.empty(device, [count], 'float32', 'clipGradNorm');
  let offset = 0;
  for (const { g, partLen, parts } of plans) {
    launch('clipGradNorm', 'grad_sumsq', {
      bindings: { grad: g, partials },
      uniforms: { n: g.size, parts, part_len: partLen, offset },
      overrides: { WG: SUMSQ_WG },
      threads: parts,
    });
    offset += parts;
  }
  const norm = Tensor.empty(device, [], 'float32', 'clipGradNorm');
  const scale = Tensor.empty(device, [], 'float32', 'clipGradNorm');
  launch('clipGradNorm', 'grad_clip_scale', {
    bindings: { partials_in: partials, scale_out: scale, norm },
    uniforms: { count, max_norm: maxNorm },
    workgroups: 1,
  });
  partials.dispose();
  return { norm, scale };
}

/**
 * Scale every gradient by min(1, maxNorm / ‖g‖) where ‖g‖ is the L2 norm of all gradients together
 * (PyTorch's clip_grad_norm_). Returns ‖g‖ before clipping (a rank-0 tensor; read it with
 * `await norm.item()` if you need it). To clip inside an optimizer's update instead, without the
 * multiplications, give the optimizer `maxGradNorm`.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor | null {
  const withGrad = params.filter((p) => p.grad);
  if (withGrad.length === 0) return null;
  const { norm, scale } = gradNormScale(withGrad.map((p) => p.grad!), maxNorm);
  for (const p of withGrad) {
    const clipped = keep(mul(p.grad!, scale));
    p.grad!.dispose();
    p.grad = clipped;
  }
  scale.dispose();
  return norm;
}
