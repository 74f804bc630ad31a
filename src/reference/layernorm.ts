/**
 * Float64 oracles of kernels/layernorm.wgsl: LayerNorm over the last dimension (biased variance, as
 * PyTorch), its per-row statistics, and its vector-Jacobian product.
 */
import { ndarray, type NDArray } from './ndarray.js';

/** Which of weight and bias the op had; its inputs are [x, weight?, bias?] accordingly. */
export interface LayerNormAttrs {
  eps?: number;
  hasWeight?: boolean;
  hasBias?: boolean;
}

function rowsOf(x: NDArray): { n: number; c: number } {
  if (x.shape.length === 0) throw new Error('reference: layerNorm needs rank ≥ 1');
  const c = x.shape[x.shape.length - 1]!;
  return { n: c === 0 ? 0 : x.data.length / c, c };
}

/** Per-row mean and rstd = 1 / sqrt(var + eps), shape x.shape without its last dimension. */
export function layerNormStats(x: NDArray, eps = 1e-5): { mean: NDArray; rstd: NDArray } {
  const { n, c } = rowsOf(x);
  const shape = x.shape.slice(0, -1);
  const mean = ndarray(shape);
  const rstd = ndarray(shape);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += x.data[r * c + k]!;
    const mu = s / c;
    let m2 = 0;
    for (let k = 0; k < c; k++) m2 += (x.data[r * c + k]! - mu) ** 2;
    mean.data[r] = mu;
    rstd.data[r] = 1 / Math.sqrt(m2 / c + eps);
  }
  return { mean, rstd };
}

/** (x - mean) · rstd · weight + bias over the last dimension; weight and bias (C) or null. */
export function layerNorm(x: NDArray, weight: NDArray | null = null, bias: NDArray | null = null, eps = 1e-5): NDArray {
  const { n, c } = rowsOf(x);
  const { mean, rstd } = layerNormStats(x, eps);
  const y = ndarray(x.shape);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < c; k++) {
      const i = r * c + k;
      y.data[i] = (x.data[i]! - mean.data[r]!) * rstd.data[r]! * (weight ? weight.data[k]! : 1) + (bias ? bias.data[k]! : 0);
    }
  }
  return y;
}

/**
 * Gradients of layerNorm for inputs [x, weight?, bias?]: with x̂ = (x - mean)·rstd and g = dy·weight,
 * dx = rstd·(g - mean(g) - x̂·mean(g·x̂)), dweight = Σ_rows dy·x̂, dbias = Σ_rows dy.
 */
export function layerNormVjp(inputs: readonly NDArray[], dy: NDArray, attrs: Readonly<Record<string, unknown>> = {}): NDArray[] {
  const { eps = 1e-5, hasWeight = inputs.length > 1, hasBias = inputs.length > 2 } = attrs as LayerNormAttrs;
  const x = inputs[0]!;
  const weight = hasWeight ? inputs[1]! : null;
  const { n, c } = rowsOf(x);
  const { mean, rstd } = layerNormStats(x, eps);
  const dx = ndarray(x.shape);
  const dweight = ndarray([c]);
  const dbias = ndarray([c]);
  const xhat = new Float64Array(c);
  const g = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    const [mu, rs] = [mean.data[r]!, rstd.data[r]!];
    let sumG = 0;
    let sumGx = 0;
    for (let k = 0; k < c; k++) {
      const d = dy.data[r * c + k]!;
      xhat[k] = (x.data[r * c + k]! - mu) * rs;
      g[k] = d * (weight ? weight.data[k]! : 1);
      sumG += g[k]!;
      sumGx += g[k]! * xhat[k]!;
      dweight.data[k]! += d * xhat[k]!;
      dbias.data[k]! += d;
    }
    for (let k = 0; k < c; k++) dx.data[r * c + k] = rs * (g[k]! - sumG / c - (xhat[k]! * sumGx) / c);
  }
  return [dx, ...(hasWeight ? [dweight] : []), ...(hasBias ? [dbias] : [])];
}
