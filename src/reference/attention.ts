/**
 * Float64 oracle of kernels/attention.wgsl: scaled dot-product attention over the last two axes,
 * written the textbook way (the whole score matrix per head, then softmax, then ·V), and its
 * vector-Jacobian product.
 *
 * Shapes: q (…, Tq, D), k and v (…, Tk, D) with the same leading dimensions; out (…, Tq, D).
 * Causal masking is aligned bottom-right: query i sees keys j ≤ i + (Tk − Tq) (so Tq = Tk is the usual
 * lower triangle, and one new query against a KV cache sees every key). Masked scores are set to
 * ATTENTION_MASK, a large finite negative number, as the kernel does.
 */
import { ndarray, type NDArray } from './ndarray.js';

/** The score given to masked (query, key) pairs: finite, so a fully masked row cannot make NaN. */
export const ATTENTION_MASK = -1e30;

/** Options of the attention oracle: causal masking and the score scale. */
export interface AttentionAttrs {
  causal?: boolean;
  /** Default 1/√D. */
  scale?: number;
}

interface Dims {
  heads: number;
  tq: number;
  tk: number;
  d: number;
  scale: number;
  causal: boolean;
}

function dimsOf(q: NDArray, k: NDArray, attrs: AttentionAttrs): Dims {
  const r = q.shape.length;
  const d = q.shape[r - 1]!;
  const tq = q.shape[r - 2]!;
  const tk = k.shape[r - 2]!;
  const heads = q.shape.slice(0, r - 2).reduce((a, b) => a * b, 1);
  return { heads, tq, tk, d, scale: attrs.scale ?? 1 / Math.sqrt(d), causal: attrs.causal ?? true };
}

/** Softmax probabilities P (Tq × Tk) of head h, masked scores included. */
function probabilities(q: NDArray, k: NDArray, h: number, n: Dims): Float64Array {
  const { tq, tk, d, scale, causal } = n;
  const p = new Float64Array(tq * tk);
  for (let i = 0; i < tq; i++) {
    const row = p.subarray(i * tk, (i + 1) * tk);
    for (let j = 0; j < tk; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += q.data[(h * tq + i) * d + c]! * k.data[(h * tk + j) * d + c]!;
      row[j] = causal && j > i + tk - tq ? ATTENTION_MASK : s * scale;
    }
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    let total = 0;
    for (let j = 0; j < tk; j++) total += (row[j] = Math.exp(row[j]! - m));
    for (let j = 0; j < tk; j++) row[j]! /= total;
  }
  return p;
}

/** softmax(q·kᵀ·scale, masked) · v. */
export function attention(q: NDArray, k: NDArray, v: NDArray, attrs: AttentionAttrs = {}): NDArray {
  const n = dimsOf(q, k, attrs);
  const { heads, tq, tk, d } = n;
  const out = ndarray(q.shape);
  for (let h = 0; h < heads; h++) {
    const p = probabilities(q, k, h, n);
    for (let i = 0; i < tq; i++) {
      for (let j = 0; j < tk; j++) {
        const pij = p[i * tk + j]!;
        for (let c = 0; c < d; c++) out.data[(h * tq + i) * d + c]! += pij * v.data[(h * tk + j) * d + c]!;
      }
    }
  }
  return out;
}

/** The per-row log-sum-exp of the (scaled, masked) scores, shape (…, Tq): what the kernel saves. */
export function attentionLse(q: NDArray, k: NDArray, attrs: AttentionAttrs = {}): NDArray {
  const n = dimsOf(q, k, attrs);
  const { heads, tq, tk, d, scale, causal } = n;
  const out = ndarray(q.shape.slice(0, -1));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < tq; i++) {
      const s = Array.from({ length: tk }, (_, j) => {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q.data[(h * tq + i) * d + c]! * k.data[(h * tk + j) * d + c]!;
        return causal && j > i + tk - tq ? ATTENTION_MASK : dot * scale;
      });
      const m = Math.max(...s);
      out.data[h * tq + i] = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
    }
  }
  return out;
}

/**
 * Gradients of ⟨attention(q, k, v), dy⟩: with P the probabilities, dV = Pᵀ·dy, dP = dy·Vᵀ,
 * dS = P ∘ (dP − rowsum(dP ∘ P)), dQ = dS·K·scale, dK = dSᵀ·Q·scale (masked entries have P = 0).
 */
export function attentionVjp([q, k, v]: readonly NDArray[], dy: NDArray, attrs: AttentionAttrs | Readonly<Record<string, unknown>> = {}): NDArray[] {
  const n = dimsOf(q!, k!, attrs as AttentionAttrs);
  const { heads, tq, tk, d, scale } = n;
  const dq = ndarray(q!.shape);
  const dk = ndarray(k!.shape);
  const dv = ndarray(v!.shape);
  for (let h = 0; h < heads; h++) {
    const p = probabilities(q!, k!, h, n);
    for (let i = 0; i < tq; i++) {
      const dp = new Float64Array(tk);
      let rowDot = 0;
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += dy.data[(h * tq + i) * d + c]! * v!.data[(h * tk + j) * d + c]!;
        dp[j] = s;
        rowDot += s * p[i * tk + j]!;
      }
      for (let j = 0; j < tk; j++) {
        const pij = p[i * tk + j]!;
        const ds = pij * (dp[j]! - rowDot) * scale;
        for (let c = 0; c < d; c++) {
          dq.data[(h * tq + i) * d + c]! += ds * k!.data[(h * tk + j) * d + c]!;
          dk.data[(h * tk + j) * d + c]! += ds * q!.data[(h * tq + i) * d + c]!;
          dv.data[(h * tk + j) * d + c]! += pij * dy.data[(h * tq + i) * d + c]!;
        }
      }
    }
  }
  return [dq, dk, dv];
}

/**
 * (…, T, 3C) → q, k, v as (B, H, T, D) arrays, B the product of the leading dimensions: GPT-2's
 * split-heads, done by index arithmetic.
 */
function splitHeads(qkv: NDArray, nHead: number): NDArray[] {
  const r = qkv.shape.length;
  const t = qkv.shape[r - 2]!;
  const c = qkv.shape[r - 1]! / 3;
  const d = c / nHead;
  const b = qkv.data.length / (t * 3 * c);
  return [0, 1, 2].map((part) => {
    const out = ndarray([b, nHead, t, d]);
    for (let bi = 0; bi < b; bi++) for (let h = 0; h < nHead; h++) for (let i = 0; i < t; i++) for (let x = 0; x < d; x++) {
      out.data[((bi * nHead + h) * t + i) * d + x] = qkv.data[(bi * t + i) * 3 * c + part * c + h * d + x]!;
    }
    return out;
  });
}

/** (B, H, T, D) → (…lead, T, H·D): merge-heads, the inverse of one part of splitHeads. */
function mergeHeads(y: NDArray, lead: readonly number[]): NDArray {
  const [b, nHead, t, d] = y.shape as [number, number, number, number];
  const out = ndarray([...lead, t, nHead * d]);
  for (let bi = 0; bi < b; bi++) for (let h = 0; h < nHead; h++) for (let i = 0; i < t; i++) for (let x = 0; x < d; x++) {
    out.data[(bi * t + i) * nHead * d + h * d + x] = y.data[((bi * nHead + h) * t + i) * d + x]!;
  }
  return out;
}

/** Attention options plus the number of heads packed in the qkv tensor. */
export interface MultiHeadAttrs extends AttentionAttrs {
  nHead: number;
}

/** Self-attention on a fused projection qkv (…, T, 3C) with nHead heads → (…, T, C). */
export function multiHeadAttention(qkv: NDArray, attrs: MultiHeadAttrs): NDArray {
  const [q, k, v] = splitHeads(qkv, attrs.nHead);
  return mergeHeads(attention(q!, k!, v!, attrs), qkv.shape.slice(0, -2));
}

/** Gradient of ⟨multiHeadAttention(qkv), dy⟩ with respect to qkv: the per-head VJP, heads merged back. */
export function multiHeadAttentionVjp([qkv]: readonly NDArray[], dy: NDArray, attrs: MultiHeadAttrs | Readonly<Record<string, unknown>>): NDArray[] {
  const a = attrs as MultiHeadAttrs;
  const [q, k, v] = splitHeads(qkv!, a.nHead);
  const lead = qkv!.shape.slice(0, -2);
  const t = qkv!.shape[qkv!.shape.length - 2]!;
  const c = qkv!.shape[qkv!.shape.length - 1]! / 3;
  // dy (…, T, C) split into heads like one part of qkv.
  const dyHeads = splitHeads(ndarray([...lead, t, 3 * c], interleave(dy, c)), a.nHead)[0]!;
  const grads = attentionVjp([q!, k!, v!], dyHeads, a).map((g) => mergeHeads(g, lead));
  const out = ndarray(qkv!.shape);
  const rows = out.data.length / (3 * c);
  for (let row = 0; row < rows; row++) for (let part = 0; part < 3; part++) {
    out.data.set(grads[part]!.data.subarray(row * c, (row + 1) * c), row * 3 * c + part * c);
  }
  return [out];
}

/** Rows of width C placed in the first third of rows of width 3C (the rest zero). */
function interleave(x: NDArray, c: number): Float64Array {
  const rows = x.data.length / c;
  const out = new Float64Array(rows * 3 * c);
  for (let row = 0; row < rows; row++) out.set(x.data.subarray(row * c, (row + 1) * c), row * 3 * c);
  return out;
}
