/**
 * Scaled dot-product attention over the last two axes: q (…, Tq, D), k and v (…, Tk, D) → (…, Tq, D).
 *
 * `attention` is the fused kernel (kernels/attention.wgsl): an online softmax over the keys that never
 * stores the Tq×Tk score matrix, saving only the per-row log-sum-exp for its backward, so memory grows
 * linearly in T. `composedAttention` builds the same function from matmul, where and softmax (the
 * score matrix materialised): the baseline the fused kernel is tested and benchmarked against.
 *
 * Causal masking is aligned bottom-right: query i sees keys j ≤ i + Tk − Tq, so Tq = Tk gives the usual
 * lower triangle and a few new queries against a longer KV cache see every earlier key. Masked scores
 * get ATTENTION_MASK, a large finite negative number (never −∞, so no row can turn into NaN).
 */
import { LimitError, ShapeError, WgradError, fmtShape } from '../errors.js';
import { arange, zeros } from '../tensor/create.js';
import { launch } from '../tensor/launch.js';
import { record } from '../tensor/record.js';
import { scope } from '../tensor/scope.js';
import { sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, gt, mul, where } from './elementwise.js';
import { concat, permute, slice } from './layout.js';
import { matmul } from './matmul.js';
import { softmax } from './softmax.js';
import { expectSameDevice, expectTensor } from './validate.js';

/** The score of a masked (query, key) pair: large, negative and finite (MASK in the kernel). */
export const ATTENTION_MASK = -1e30;

/** Options of attention: causal masking and the score scale (default 1/√head size). */
export interface AttentionOptions {
  /** Mask the keys after each query (bottom-right aligned when Tq < Tk). Default true. */
  causal?: boolean;
  /** Multiplies the scores q·kᵀ. Default 1/√D. */
  scale?: number;
}

/** The largest head size D the fused kernel holds in registers (4·MAX_D4 in kernels/attention.wgsl). */
export const MAX_HEAD_SIZE = 128;
/** Storage buffers bound by the largest attention kernel (attention_bwd_dkv). */
const STORAGE_BUFFERS = 8;
/** Invocations per workgroup (one SIMD group on lavapipe's 8-wide AVX2 code). */
const WORKGROUP = 8;
/** Invocations per workgroup of attention_bwd_delta (one row each). */
const DELTA_WORKGROUP = 64;

/**
 * Rows (query or key) each invocation owns: every vec4 it loads from K/V (Q/dO) serves this many. The
 * kernels are fully unrolled over rows × head size × block, so compile time (tens of seconds per kernel
 * on lavapipe the first time; Mesa's shader cache serves it afterwards) grows with R·D: keep R·D ≤ 128.
 */
function rowsPerInvocation(d: number): number {
  return Math.max(1, Math.min(4, Math.floor(128 / d)));
}

/**
 * Keys (queries, in the dK/dV kernel) per block: one online-softmax rescale per block in the forward,
 * and a block of K (Q, dO) rows kept in registers in the backward. Heads beyond 64 take blocks of 2:
 * at D = 128, blocks of 4 took about 5 minutes to compile the first time, blocks of 2 about 2, single
 * keys 1 (but they ran 1.6× slower).
 */
function keysPerBlock(d: number): number {
  return d <= 64 ? 4 : 2;
}

/** What the kernels need to know about a call, after validation. */
interface AttentionPlan {
  /** Product of the leading (batch, head) dimensions. */
  nBh: number;
  tq: number;
  tk: number;
  d: number;
  causal: boolean;
  scale: number;
}

function plan(op: string, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): AttentionPlan {
  expectTensor(op, 'q', q);
  expectTensor(op, 'k', k);
  expectTensor(op, 'v', v);
  expectSameDevice(op, { q, k, v });
  const shapes = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (q.rank < 2 || k.rank !== q.rank || v.rank !== q.rank) {
    throw new ShapeError(op, `expected q (…, Tq, D), k and v (…, Tk, D) of the same rank ≥ 2; got ${shapes}`, 'pass (B, H, T, D) tensors; split the heads with reshape and permute first');
  }
  const r = q.rank;
  const d = q.shape[r - 1]!;
  if (k.shape[r - 1] !== d || v.shape[r - 1] !== d) {
    throw new ShapeError(op, `the head size (last dimension) differs: ${shapes}`, 'q, k and v must have the same head size D');
  }
  const lead = q.shape.slice(0, r - 2);
  if (!lead.every((n, i) => k.shape[i] === n && v.shape[i] === n)) {
    throw new ShapeError(op, `the leading (batch, head) dimensions differ: ${shapes}`, 'q, k and v must have the same batch and head dimensions (no broadcasting)');
  }
  const tq = q.shape[r - 2]!;
  const tk = k.shape[r - 2]!;
  if (v.shape[r - 2] !== tk) {
    throw new ShapeError(op, `k and v have different numbers of keys: ${shapes}`, 'k and v must both be (…, Tk, D)');
  }
  const { causal, scale } = resolveOptions(op, d, options);
  const nBh = sizeOf(lead);
  if (causal && tq > tk) {
    throw new ShapeError(op, `causal attention with more queries than keys (Tq ${tq} > Tk ${tk}) would leave query rows that see no key: ${shapes}`, 'pass Tq ≤ Tk (the mask is aligned bottom-right), or { causal: false }');
  }
  if (tk === 0 && nBh * tq * d > 0) {
    throw new ShapeError(op, `there are no keys (Tk = 0) to attend to: ${shapes}`, 'pass at least one key');
  }
  return { nBh, tq, tk, d, causal, scale };
}

function resolveOptions(op: string, d: number, options: AttentionOptions): { causal: boolean; scale: number } {
  const { causal = true, scale = 1 / Math.sqrt(d) } = options;
  if (typeof causal !== 'boolean') {
    throw new WgradError(op, `option 'causal' is ${String(causal)}, not a boolean`, 'pass { causal: true } or { causal: false }');
  }
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new WgradError(op, `option 'scale' is ${String(scale)}, not a finite number`, 'omit it for 1/√D, or pass a finite number');
  }
  return { causal, scale };
}

/** Checks what only the fused kernels need: the head size and the storage-buffer count. */
function checkFusedLimits(op: string, p: AttentionPlan, q: Tensor, k: Tensor, v: Tensor): void {
  const shapes = q === k ? `qkv ${fmtShape(q.shape)}` : `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (p.d > MAX_HEAD_SIZE) {
    throw new LimitError(op, `head size D = ${p.d} exceeds the fused kernel's maximum of ${MAX_HEAD_SIZE} (${shapes})`, `use heads of at most ${MAX_HEAD_SIZE} (more heads of a smaller size), or composedAttention`);
  }
  const limit = q.device.limits.maxStorageBuffersPerShaderStage;
  if (limit < STORAGE_BUFFERS) {
    throw new LimitError(op, `the attention backward binds ${STORAGE_BUFFERS} storage buffers; this device allows ${limit} (maxStorageBuffersPerShaderStage)`, 'use composedAttention on this device');
  }
}

/**
 * Where each head's rows are, in vec4s (the uniforms of the kernel header's three layouts): for head
 * bh = b·heads + h, a row starts at base + b·sb + h·sh + row·st.
 */
interface HeadLayout {
  heads: number;
  q_base: number; q_sb: number; q_sh: number; q_st: number;
  k_base: number; v_base: number; kv_sb: number; kv_sh: number; kv_st: number;
  o_sb: number; o_sh: number; o_st: number;
}

/** Separate contiguous (BH, T, D) tensors: one "head" per batch entry. */
function contiguousLayout(p: AttentionPlan): HeadLayout {
  const d4 = p.d / 4;
  return {
    heads: 1,
    q_base: 0, q_sb: p.tq * d4, q_sh: 0, q_st: d4,
    k_base: 0, v_base: 0, kv_sb: p.tk * d4, kv_sh: 0, kv_st: d4,
    o_sb: p.tq * d4, o_sh: 0, o_st: d4,
  };
}

/** GPT-2's fused projection (B, T, 3C) = [q | k | v], heads side by side in each; output (B, T, C). */
function packedLayout(p: AttentionPlan, heads: number): HeadLayout {
  const d4 = p.d / 4;
  const c4 = heads * d4;
  return {
    heads,
    q_base: 0, q_sb: p.tq * 3 * c4, q_sh: d4, q_st: 3 * c4,
    k_base: c4, v_base: 2 * c4, kv_sb: p.tk * 3 * c4, kv_sh: d4, kv_st: 3 * c4,
    o_sb: p.tq * c4, o_sh: d4, o_st: c4,
  };
}

/** Uniforms, overrides and workgroup count of one of the row-blocked kernels. */
function params(p: AttentionPlan, layout: HeadLayout, kernel: 'fwd' | 'dq' | 'dkv') {
  const rows = rowsPerInvocation(p.d);
  const span = WORKGROUP * rows;
  return {
    uniforms: { n_bh: p.nBh, tq: p.tq, tk: p.tk, scale: p.scale, causal: p.causal ? 1 : 0, ...layout },
    overrides: { WG: WORKGROUP, R: rows, D: p.d, BK: keysPerBlock(p.d) },
    workgroups: p.nBh * Math.ceil((kernel === 'dkv' ? p.tk : p.tq) / span),
  };
}

/** Nothing to compute: some dimension is 0. */
function empty(p: AttentionPlan): boolean {
  return p.nBh * p.tq * p.d === 0;
}

/** softmax(q·kᵀ·scale, masked)·v, fused: (…, Tq, D). Saves q, k, v, the output and the row log-sum-exp. */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const op = 'attention';
  const p = plan(op, q, k, v, options);
  checkFusedLimits(op, p, q, k, v);
  if (p.d % 4 !== 0 && !empty(p)) {
    // The kernels read vec4s: pad the head size with zeros (which change no score), then cut the
    // padding off the output. Both steps are ops of their own, so autograd goes through them.
    const pad = 4 - (p.d % 4);
    return scope(() => {
      const widen = (x: Tensor) => concat([x, zeros([...x.shape.slice(0, -1), pad], { device: x.device })], -1);
      return slice(attention(widen(q), widen(k), widen(v), { causal: p.causal, scale: p.scale }), -1, 0, p.d);
    });
  }
  const out = Tensor.empty(q.device, q.shape, 'float32', op); // (…, Tq, D)
  const lse = Tensor.empty(q.device, q.shape.slice(0, -1), 'float32', op); // (…, Tq)
  if (!empty(p)) {
    launch(op, 'attention_fwd', { bindings: { q, k, v, out, lse }, ...params(p, contiguousLayout(p), 'fwd') });
  }
  // The gradient rule saves a view of lse (see src/autograd/grads/attention.ts); this one goes.
  record(op, [q, k, v], out, { causal: p.causal, scale: p.scale, lse });
  lse.dispose();
  return out;
}

/**
 * The fused backward: dQ, dK, dV from the forward's inputs, output and row log-sum-exp, and the output's
 * gradient. Skips the dQ (or the dK/dV) pass when `needs` says that gradient is not wanted.
 */
export function attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
  options: AttentionOptions, needs: { dq: boolean; dkv: boolean } = { dq: true, dkv: true }): [Tensor | null, Tensor | null, Tensor | null] {
  const op = 'attentionBackward';
  const p = plan(op, q, k, v, options);
  checkFusedLimits(op, p, q, k, v);
  if (p.d % 4 !== 0) {
    throw new ShapeError(op, `the kernels need a head size that is a multiple of 4; got q ${fmtShape(q.shape)}`, 'call attention(), which pads the head size, rather than attentionBackward() directly');
  }
  if (empty(p)) {
    // Zero-size tensors, or no queries (Tq = 0): then no key gets any gradient.
    const device = q.device;
    return [needs.dq ? zeros(q.shape, { device }) : null, needs.dkv ? zeros(k.shape, { device }) : null, needs.dkv ? zeros(v.shape, { device }) : null];
  }
  const dq = needs.dq ? Tensor.empty(q.device, q.shape, 'float32', op) : null;
  const dk = needs.dkv ? Tensor.empty(q.device, k.shape, 'float32', op) : null;
  const dv = needs.dkv ? Tensor.empty(q.device, v.shape, 'float32', op) : null;
  const layout = contiguousLayout(p);
  const delta = rowDots(op, p, layout, out, dout);
  if (dq) launch(op, 'attention_bwd_dq', { bindings: { q, k, v, dout, lse_in: lse, delta_in: delta, dq }, ...params(p, layout, 'dq') });
  if (dk && dv) launch(op, 'attention_bwd_dkv', { bindings: { q, k, v, dout, lse_in: lse, delta_in: delta, dk, dv }, ...params(p, layout, 'dkv') });
  delta.dispose();
  return [dq, dk, dv];
}

/** delta = Σ_d dout·out per query row, (BH, Tq): the first step of every backward. */
function rowDots(op: string, p: AttentionPlan, layout: HeadLayout, out: Tensor, dout: Tensor): Tensor {
  const delta = Tensor.empty(out.device, [p.nBh * p.tq], 'float32', op);
  const { uniforms } = params(p, layout, 'dq');
  const rows = p.nBh * p.tq;
  launch(op, 'attention_bwd_delta', { bindings: { o: out, dout, delta }, uniforms, overrides: { WG: DELTA_WORKGROUP, D: p.d }, workgroups: Math.ceil(rows / DELTA_WORKGROUP) });
  return delta;
}

/**
 * Multi-head self-attention on GPT-2's fused projection: qkv (…, T, 3C) holds q, k and v side by side,
 * each with nHead heads of size C / nHead; the result (…, T, C) has the heads merged back. The same
 * kernels as attention() read the heads in place and write the merged output, so there is no
 * split-heads or merge-heads copy either way; the gradient is one (…, T, 3C) tensor. Head sizes that
 * are not a multiple of 4 go through attention() on split heads instead.
 */
export function multiHeadAttention(qkv: Tensor, nHead: number, options: AttentionOptions = {}): Tensor {
  const op = 'multiHeadAttention';
  const p = packedPlan(op, qkv, nHead, options);
  if (p.d % 4 !== 0) return splitHeadsAttention(qkv, nHead, p);
  const shape = [...qkv.shape.slice(0, -1), p.d * nHead];
  const out = Tensor.empty(qkv.device, shape, 'float32', op); // (…, T, C)
  const lse = Tensor.empty(qkv.device, [p.nBh * p.tq], 'float32', op); // (…, nHead, T)
  if (!empty(p)) {
    launch(op, 'attention_fwd', { bindings: { q: qkv, k: qkv, v: qkv, out, lse }, ...params(p, packedLayout(p, nHead), 'fwd') });
  }
  record(op, [qkv], out, { nHead, causal: p.causal, scale: p.scale, lse });
  lse.dispose();
  return out;
}

/** The fused backward of multiHeadAttention: d qkv (…, T, 3C), written in place by the dQ and dK/dV kernels. */
export function multiHeadAttentionBackward(qkv: Tensor, out: Tensor, lse: Tensor, dout: Tensor, nHead: number, options: AttentionOptions): Tensor {
  const op = 'multiHeadAttentionBackward';
  const p = packedPlan(op, qkv, nHead, options);
  if (empty(p)) return zeros(qkv.shape, { device: qkv.device });
  const layout = packedLayout(p, nHead);
  const dqkv = Tensor.empty(qkv.device, qkv.shape, 'float32', op);
  // dK and dV land in the same buffer, through the dk binding; dv must still be bound to something.
  const unused = Tensor.empty(qkv.device, [4], 'float32', op);
  const delta = rowDots(op, p, layout, out, dout);
  const common = { q: qkv, k: qkv, v: qkv, dout, lse_in: lse, delta_in: delta };
  launch(op, 'attention_bwd_dq', { bindings: { ...common, dq: dqkv }, ...params(p, layout, 'dq') });
  const dkv = params(p, layout, 'dkv');
  launch(op, 'attention_bwd_dkv', { bindings: { ...common, dk: dqkv, dv: unused }, ...dkv, overrides: { ...dkv.overrides, PACKED_DKV: 1 } });
  delta.dispose();
  unused.dispose();
  return dqkv;
}

function packedPlan(op: string, qkv: Tensor, nHead: number, options: AttentionOptions): AttentionPlan {
  expectTensor(op, 'qkv', qkv);
  const three = qkv.shape[qkv.rank - 1] ?? 0;
  if (qkv.rank < 2 || three % 3 !== 0) {
    throw new ShapeError(op, `expected qkv (…, T, 3·C) with q, k and v side by side; got ${fmtShape(qkv.shape)}`, 'pass the output of the fused q/k/v projection (GPT-2\'s c_attn)');
  }
  if (!Number.isInteger(nHead) || nHead <= 0 || (three / 3) % nHead !== 0) {
    throw new ShapeError(op, `C = ${three / 3} (qkv ${fmtShape(qkv.shape)}) does not split into ${nHead} heads`, 'nHead must be a positive whole number dividing C');
  }
  const t = qkv.shape[qkv.rank - 2]!;
  const d = three / 3 / nHead;
  const p = { nBh: sizeOf(qkv.shape.slice(0, -2)) * nHead, tq: t, tk: t, d, ...resolveOptions(op, d, options) };
  checkFusedLimits(op, p, qkv, qkv, qkv);
  return p;
}

/** multiHeadAttention for head sizes the kernels cannot read as vec4s: split, attend (padded), merge. */
function splitHeadsAttention(qkv: Tensor, nHead: number, p: AttentionPlan): Tensor {
  return scope(() => {
    const lead = qkv.shape.slice(0, -2);
    const c = p.d * nHead;
    // (…, T, nh, d) ↔ (…, nh, T, d): the same permutation both ways.
    const swapTH = [...lead.map((_, i) => i), lead.length + 1, lead.length, lead.length + 2];
    const head = (part: number) => permute(slice(qkv, -1, part * c, (part + 1) * c).reshape([...lead, p.tq, nHead, p.d]), swapTH);
    const y = attention(head(0), head(1), head(2), { causal: p.causal, scale: p.scale }); // (…, nh, T, d)
    return permute(y, swapTH).reshape([...lead, p.tq, c]);
  });
}

/**
 * The same attention composed from existing ops: scores = q·kᵀ·scale (…, Tq, Tk), masked with where,
 * softmax over the keys, then ·v. Materialises the score matrix (memory quadratic in T); its gradient
 * comes from the rules of the ops it is made of.
 */
export function composedAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const p = plan('composedAttention', q, k, v, options);
  return scope(() => {
    let scores = mul(matmul(q, k, { transB: true }), p.scale); // (…, Tq, Tk)
    if (p.causal) scores = where(causalMask(q, p.tq, p.tk), ATTENTION_MASK, scores);
    return matmul(softmax(scores, -1), v); // (…, Tq, D)
  });
}

/** (Tq, Tk) bool: true where key j comes after what query i may see (j > i + Tk − Tq). */
function causalMask(like: Tensor, tq: number, tk: number): Tensor {
  const device = like.device;
  const keys = arange(tk, undefined, 1, { device }).reshape([1, tk]);
  const limit = add(arange(tq, undefined, 1, { device }), tk - tq).reshape([tq, 1]);
  return gt(keys, limit);
}
