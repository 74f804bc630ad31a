/**
 * Float64 oracles of kernels/cross_entropy.wgsl: softmax cross-entropy with PyTorch's semantics
 * (ignoreIndex, mean over the rows not ignored, NaN when all are ignored), and its vector-Jacobian
 * product. As the kernel, a target outside [0, V) that is not ignoreIndex gives a NaN loss.
 */
import { ndarray, type NDArray } from './ndarray.js';

/** Options of the cross-entropy oracle (as the op's). */
export interface CrossEntropyAttrs {
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/** Per row: log Σ exp(logits), computed around the row max. */
function logSumExp(logits: NDArray, r: number): number {
  const v = logits.shape[1]!;
  let m = -Infinity;
  for (let k = 0; k < v; k++) m = Math.max(m, logits.data[r * v + k]!);
  let s = 0;
  for (let k = 0; k < v; k++) s += Math.exp(logits.data[r * v + k]! - m);
  return m + Math.log(s);
}

function classify(t: number, v: number, ignoreIndex: number): 'ignored' | 'invalid' | 'valid' {
  if (t === ignoreIndex) return 'ignored';
  return Number.isInteger(t) && t >= 0 && t < v ? 'valid' : 'invalid';
}

/** The loss: a scalar for 'mean' and 'sum', the per-row losses (N) for 'none'. */
export function crossEntropy(logits: NDArray, targets: NDArray, attrs: CrossEntropyAttrs = {}): NDArray {
  const { ignoreIndex = -100, reduction = 'mean' } = attrs;
  const [n, v] = [logits.shape[0]!, logits.shape[1]!];
  const losses = ndarray([n]);
  let count = 0;
  for (let r = 0; r < n; r++) {
    const t = targets.data[r]!;
    const kind = classify(t, v, ignoreIndex);
    if (kind !== 'ignored') count++;
    losses.data[r] = kind === 'ignored' ? 0 : kind === 'invalid' ? NaN : logSumExp(logits, r) - logits.data[r * v + t]!;
  }
  if (reduction === 'none') return losses;
  const total = losses.data.reduce((a, b) => a + b, 0);
  return ndarray([], [reduction === 'sum' ? total : total / count]);
}

/** Gradients for inputs [logits, targets]: (softmax - onehot) · dloss (÷ count for the mean); targets get 0. */
export function crossEntropyVjp(inputs: readonly NDArray[], dy: NDArray, attrs: Readonly<Record<string, unknown>> = {}): NDArray[] {
  const { ignoreIndex = -100, reduction = 'mean' } = attrs as CrossEntropyAttrs;
  const [logits, targets] = [inputs[0]!, inputs[1]!];
  const [n, v] = [logits.shape[0]!, logits.shape[1]!];
  const kinds = Array.from(targets.data, (t) => classify(t, v, ignoreIndex));
  const count = kinds.filter((k) => k !== 'ignored').length;
  const dlogits = ndarray(logits.shape);
  for (let r = 0; r < n; r++) {
    if (kinds[r] === 'ignored') continue;
    const g = reduction === 'none' ? dy.data[r]! : reduction === 'sum' ? dy.data[0]! : dy.data[0]! / count;
    const lse = logSumExp(logits, r);
    for (let k = 0; k < v; k++) {
      const i = r * v + k;
      dlogits.data[i] = kinds[r] === 'invalid' ? NaN : (Math.exp(logits.data[i]! - lse) - (k === targets.data[r] ? 1 : 0)) * g;
    }
  }
  return [dlogits, ndarray(targets.shape)];
}
