/**
 * LayerNorm over the last dimension: the fused kernels of kernels/layernorm.wgsl (forward, dx, and the
 * two-pass dweight/dbias reduction), and `composedLayerNorm`, the same function built from existing
 * ops — the fallback, and the oracle the fused gradients are checked against.
 */
import { ShapeError, WgradError, fmtShape } from '../errors.js';
import { launch } from '../tensor/launch.js';
import { record } from '../tensor/record.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { add, mul, rsqrt, square, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { expectSameDevice, expectTensor } from './validate.js';

/** Rows per workgroup (one invocation per row: see the header of kernels/layernorm.wgsl). */
const WG = 64;

/** The scalar kernel, or its vec4 twin when rows are a whole number of vec4s. */
function variant(entry: string, c: number, bindings: Record<string, Tensor>): { entry: string; bindings: Record<string, Tensor> } {
  if (c % 4 !== 0) return { entry, bindings };
  const vec4 = new Set(['x', 'weight', 'bias', 'y', 'dy', 'w', 'dx', 'partial']);
  return { entry: `${entry}_vec4`, bindings: Object.fromEntries(Object.entries(bindings).map(([k, t]) => [vec4.has(k) ? `${k}4` : k, t])) };
}

/** What the autograd rule of 'layerNorm' finds in the record's attrs. */
export type LayerNormAttrs = {
  eps: number;
  hasWeight: boolean;
  hasBias: boolean;
  /** The per-row statistics (N), for the backward: the rule saves views of them. */
  stats: readonly [mean: Tensor, rstd: Tensor];
};

function validate(op: string, x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): number {
  expectTensor(op, 'x', x);
  if (x.rank === 0) {
    throw new ShapeError(op, 'x is rank 0: LayerNorm normalises over the last dimension', 'reshape x to [1] or give it a feature dimension');
  }
  const c = x.shape[x.rank - 1]!;
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t === null) continue;
    expectTensor(op, name, t);
    expectSameDevice(op, { x, [name]: t });
    if (t.rank !== 1 || t.shape[0] !== c) {
      throw new ShapeError(op, `${name} ${fmtShape(t.shape)} does not match x ${fmtShape(x.shape)}: expected [${c}], the size of x's last dimension`, `pass a ${name} of shape [${c}], or null for none`);
    }
  }
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new WgradError(op, `eps ${String(eps)} is not a finite number ≥ 0`, 'use a small positive eps such as 1e-5');
  }
  return c;
}

/**
 * y = (x - mean) / sqrt(var + eps) · weight + bias over the last dimension (biased variance, as
 * PyTorch's LayerNorm). weight and bias have shape [C] (C = x's last dimension) and are optional (null:
 * no scale, no shift). x may have any leading dimensions ((B, T, C), …).
 */
export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  const c = validate(op, x, weight, bias, eps);
  const nRows = c === 0 ? 0 : x.size / c;
  const y = Tensor.empty(x.device, x.shape, 'float32', op);
  const rowMean = Tensor.empty(x.device, x.shape.slice(0, -1), 'float32', op);
  const rowRstd = Tensor.empty(x.device, x.shape.slice(0, -1), 'float32', op);
  if (x.size > 0) {
    const k = variant('layernorm_forward', c, { x, weight: weight ?? x, bias: bias ?? x, y, saved_mean: rowMean, saved_rstd: rowRstd });
    launch(op, k.entry, {
      bindings: k.bindings,
      uniforms: { n_rows: nRows, c, eps },
      overrides: { WG, HAS_WEIGHT: weight ? 1 : 0, HAS_BIAS: bias ? 1 : 0 },
      threads: nRows,
    });
  }
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  const attrs: LayerNormAttrs = { eps, hasWeight: weight !== null, hasBias: bias !== null, stats: [rowMean, rowRstd] };
  record(op, inputs, y, attrs);
  // The autograd rule keeps views of the statistics when it needs them.
  rowMean.dispose();
  rowRstd.dispose();
  return y;
}

export interface LayerNormGrads {
  dx: Tensor;
  /** Σ over rows of dy · x̂, shape [C]. */
  dweight: Tensor;
  /** Σ over rows of dy, shape [C]. */
  dbias: Tensor;
}

/**
 * The backward of layerNorm from the saved row statistics: dx (one kernel, a workgroup or invocation
 * per row) and, when `params` is set, dweight and dbias (two passes: partial sums over blocks of rows,
 * then a sum over the blocks; no atomics, so the result is deterministic). Not differentiable itself.
 */
export function layerNormBackward(dy: Tensor, x: Tensor, weight: Tensor | null, rowMean: Tensor, rowRstd: Tensor, params: boolean): Partial<LayerNormGrads> & { dx: Tensor } {
  const op = 'layerNormBackward';
  const c = x.shape[x.rank - 1]!;
  const nRows = c === 0 ? 0 : x.size / c;
  const dx = Tensor.empty(x.device, x.shape, 'float32', op);
  if (x.size > 0) {
    const k = variant('layernorm_backward', c, { x, dy, w: weight ?? x, row_mean: rowMean, row_rstd: rowRstd, dx });
    launch(op, k.entry, {
      bindings: k.bindings,
      uniforms: { n_rows: nRows, c, eps: 0 },
      overrides: { WG, HAS_WEIGHT: weight ? 1 : 0 },
      threads: nRows,
    });
  }
  if (!params) return { dx };
  // Blocks of about √N rows balance the two passes (each sums about √N numbers per column).
  const blockRows = Math.max(1, Math.ceil(Math.sqrt(nRows)));
  const nBlocks = Math.ceil(nRows / blockRows);
  const dweight = Tensor.empty(x.device, [c], 'float32', op);
  const dbias = Tensor.empty(x.device, [c], 'float32', op);
  const partial = Tensor.empty(x.device, [2, nBlocks, c], 'float32', op);
  const uniforms = { n_rows: nRows, c, block_rows: blockRows, n_blocks: nBlocks };
  const k = variant('layernorm_param_partials', c, { x, dy, row_mean: rowMean, row_rstd: rowRstd, partial });
  // The vec4 kernel gives each invocation four columns.
  launch(op, k.entry, { bindings: k.bindings, uniforms, overrides: { WG }, threads: (nBlocks * c) / (c % 4 === 0 ? 4 : 1) });
  if (c > 0) {
    launch(op, 'layernorm_param_reduce', { bindings: { partial_in: partial, d_weight: dweight, d_bias: dbias }, uniforms, overrides: { WG }, threads: c });
  }
  partial.dispose();
  return { dx, dweight, dbias };
}

/**
 * layerNorm composed from mean, sub, square, rsqrt, mul and add: the fallback, and the oracle for the
 * fused kernels' gradients (its gradient comes from those ops' rules).
 */
export function composedLayerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  validate('composedLayerNorm', x, weight, bias, eps);
  return scope(() => {
    const centred = sub(x, mean(x, -1, true)); // (…, C)
    const rstd = rsqrt(add(mean(square(centred), -1, true), eps)); // (…, 1)
    let y = mul(centred, rstd);
    if (weight) y = mul(y, weight);
    if (bias) y = add(y, bias);
    return y;
  });
}
