/** Float64 oracles of the optimizer updates (kernels/optim.wgsl), written from the papers' formulas. */

export interface AdamWState { m: Float64Array; v: Float64Array; t: number }

/** One AdamW step (Loshchilov & Hutter; PyTorch's AdamW): updates p and the state in place. */
export function adamwStep(p: Float64Array, g: ArrayLike<number>, s: AdamWState, o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }): void {
  s.t++;
  for (let i = 0; i < p.length; i++) {
    p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    s.m[i] = o.beta1 * s.m[i]! + (1 - o.beta1) * g[i]!;
    s.v[i] = o.beta2 * s.v[i]! + (1 - o.beta2) * g[i]! ** 2;
    const mHat = s.m[i]! / (1 - o.beta1 ** s.t);
    const vHat = s.v[i]! / (1 - o.beta2 ** s.t);
    p[i] = p[i]! - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
  }
}

/** One SGD-with-momentum step (PyTorch's form, dampening 0). `buf` is null before the first step. */
export function sgdStep(p: Float64Array, g: ArrayLike<number>, buf: Float64Array | null, o: { lr: number; momentum: number; weightDecay: number }): Float64Array {
  const next = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const d = g[i]! + o.weightDecay * p[i]!;
    next[i] = buf && o.momentum !== 0 ? o.momentum * buf[i]! + d : d;
    p[i] = p[i]! - o.lr * (o.momentum !== 0 ? next[i]! : d);
  }
  return next;
}

/** The clip factor of clip-by-global-norm, and the norm. */
export function clipFactor(grads: readonly ArrayLike<number>[], maxNorm: number): { norm: number; factor: number } {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i]! ** 2;
  const norm = Math.sqrt(sq);
  return { norm, factor: Math.min(1, maxNorm / (norm + 1e-6)) };
}
