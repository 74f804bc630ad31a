// attention.wgsl — fused scaled dot-product attention (flash-attention style), forward and backward.
//
// Shapes: q (BH, Tq, D), k and v (BH, Tk, D), out (BH, Tq, D), lse (BH, Tq), read as vec4s: D is a
//   multiple of 4 (the host pads other head sizes) and at most 4·MAX_D4 = 128. BH = n_bh is the number
//   of (batch, head) pairs, bh = b·heads + h. Rows need not be contiguous: the uniforms give, in vec4s,
//   where head (b, h)'s rows start and how far apart they are, in three layouts: Q (q, dq), KV (k, v,
//   dk, dv; k and v at their own bases) and O (out, o, dout). So the kernels read the heads straight out
//   of GPT-2's fused c_attn output (B, T, 3C) and write the output with its heads merged (B, T, C),
//   where a separate split-heads/merge-heads copy would cost more than the attention itself. lse and
//   delta are contiguous (BH, Tq). D is an override, so the loops
//   over it have constant trip counts and unroll, and the per-row arrays below are indexed by
//   constants only: they live in registers (or spill to the stack, which is cheap next to a
//   storage-buffer load).
//   Causal masking (uniform `causal`) is aligned bottom-right: query i sees keys j ≤ i + Tk − Tq (the
//   host requires Tq ≤ Tk, so no row is fully masked); masked scores are MASK, a large finite negative.
// Method: the T×T score matrix is never stored. The forward keeps, per query row, a running max m, sum
//   l and output accumulator (the online softmax, rescaled once per block of BK keys) and saves only
//   lse = m + log l. The backward (FlashAttention-2) recomputes p = exp(s − lse): attention_bwd_delta
//   computes delta_i = Σ_d dout·out per query row; attention_bwd_dq gives dQ = scale·Σ_j ds_ij k_j per
//   query row; attention_bwd_dkv gives dV = Σ_i p_ij dout_i and dK = scale·Σ_i ds_ij q_i per key row,
//   where ds = p·(dout·v − delta). Every output row has one owner: no atomics (WGSL has no float ones).
// Why this shape (measured on lavapipe): a storage load costs the same whether or not all invocations
//   read the same address (each SIMD lane loads on its own, ~10× the cost of an FMA), and staging K/V
//   in workgroup memory behind barriers was slower. So each invocation owns R rows (register
//   blocking): every K/V (Q/dO) vec4 it loads serves R rows; no workgroup memory, no barriers. Blocks
//   of BK keys keep the accumulator's read-modify-write (spilled registers) to once per block; the
//   backward keeps a block's K (Q and dO) rows in registers for its second product.
// Unrolling: the per-row state (q or k/v rows, accumulators) must live in registers, so every loop
//   indexing a private array is written `for (i < MAX) { if (i < N) { … } }` with MAX the array's
//   length and N an override: Mesa unrolls a loop whose trip count equals the length of an array it
//   indexes, and the guard folds away per pipeline. (A plain `i < N` loop with N < MAX stays a loop
//   when its body is large, and then every array access becomes a slow dynamic one.) The price is
//   compile time, which grows with R·D·BK: the host keeps R·D ≤ 128.
// Bindings: 0 AttnParams (uniform, every entry); q, k, v read-only at 1, 2, 3 (may be one buffer);
//   attention_fwd: out 4, lse 5 (read-write);
//   attention_bwd_delta: o 1, dout 4 (read-only), delta 2 (read-write);
//   attention_bwd_dq: dout 4, lse_in 5, delta_in 6 (read-only), dq 7 (read-write);
//   attention_bwd_dkv: dout 4, lse_in 5, delta_in 6 (read-only), dk 7, dv 8 (read-write; see PACKED_DKV).
// Workgroup: WG invocations (override); invocation lid owns rows row0 + lid + r·WG, r < R, of one (b, h):
//   a workgroup covers WG·R rows, over a 1-D grid of n_bh · ceil(rows / (WG·R)) workgroups the host folds
//   into 2-D/3-D beyond 65,535. attention_bwd_delta: one query row per invocation. With causal masking a
//   workgroup loops only over the keys its last query row sees (attention_fwd, _dq), or the queries
//   that see its first key (_dkv); rows that see fewer mask the rest.
// Guards: workgroups with bh >= n_bh return; rows past the end clamp their reads to the last row and
//   write nothing; key (query) indices past the end of a block are clamped for reading and weigh 0
//   (score LOWEST in the forward, p = 0 in the backward).

override WG: u32 = 8u;
// Rows per invocation (≤ MAX_R), head size (a multiple of 4, ≤ 4·MAX_D4), keys per block (≤ MAX_BK).
override R: u32 = 4u;
override D: u32 = 64u;
override BK: u32 = 4u;
override D4: u32 = D / 4u;
// true: dK and dV share one buffer (the packed dQKV), so dV is written through the dk binding at v_base
// (WebGPU forbids binding one buffer to two writable bindings); dv is then an unused placeholder.
override PACKED_DKV: bool = false;

const MAX_R: u32 = 4u;
const MAX_D4: u32 = 32u;
const MAX_BK: u32 = 4u;
// The score of a masked (query, key) pair: finite, as in the float64 oracle and composedAttention.
const MASK: f32 = -1.0e30;
// The lowest finite f32, -3.4028235e38, in hex: Tint rejects that decimal literal as out of range.
const LOWEST: f32 = -0x1.fffffep+127f;

struct AttnParams {
  n_bh: u32,
  tq: u32,
  tk: u32,
  scale: f32,
  // 1: causal mask, 0: none.
  causal: u32,
  // Heads per batch entry: b = bh / heads, h = bh % heads.
  heads: u32,
  // Layouts, in vec4s: base + b·sb + h·sh + row·st is where a row starts.
  q_base: u32, q_sb: u32, q_sh: u32, q_st: u32,
  k_base: u32, v_base: u32, kv_sb: u32, kv_sh: u32, kv_st: u32,
  o_sb: u32, o_sh: u32, o_st: u32,
}

@group(0) @binding(0) var<uniform> ap: AttnParams;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

@group(0) @binding(1) var<storage, read> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> delta: array<f32>;
@group(0) @binding(5) var<storage, read> lse_in: array<f32>;
@group(0) @binding(6) var<storage, read> delta_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>;

// Where row 0 of head bh starts in each layout (rows then follow `st` vec4s apart).
fn q_head(bh: u32) -> u32 { return ap.q_base + (bh / ap.heads) * ap.q_sb + (bh % ap.heads) * ap.q_sh; }
fn kv_head(bh: u32) -> u32 { return (bh / ap.heads) * ap.kv_sb + (bh % ap.heads) * ap.kv_sh; }
fn o_head(bh: u32) -> u32 { return (bh / ap.heads) * ap.o_sb + (bh % ap.heads) * ap.o_sh; }

// Note: every private array below is initialised explicitly. A `var a: array<…>;` declared inside a
// loop was observed (Dawn + lavapipe) to keep its previous iteration's values instead of being zeroed.

@compute @workgroup_size(WG)
fn attention_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let tq = ap.tq;
  let tk = ap.tk;
  let span = WG * R;
  let blocks = (tq + span - 1u) / span;
  let g = workgroup_linear(wid, nwg);
  let bh = g / blocks;
  if (bh >= ap.n_bh) { return; }
  let row0 = (g % blocks) * span;
  let q0 = q_head(bh);
  let k0 = kv_head(bh) + ap.k_base;
  let v0 = kv_head(bh) + ap.v_base;
  let off = tk - tq;
  let causal = ap.causal != 0u;
  // Keys this workgroup looks at: all of them, or those its last row sees.
  var kend = tk;
  if (causal) { kend = min(tk, min(row0 + span, tq) + off); }

  var qr = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var acc = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var m = array<f32, MAX_R>(LOWEST, LOWEST, LOWEST, LOWEST);
  var l = array<f32, MAX_R>();
  for (var r = 0u; r < MAX_R; r++) { if (r < R) {
    let at = q0 + min(row0 + lid + r * WG, tq - 1u) * ap.q_st;
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) { qr[r][c] = q[at + c] * ap.scale; } }
  } }
  for (var j0 = 0u; j0 < kend; j0 += BK) {
    // Scores of this block: s[r][t] = (scale·q_r)·k_{j0+t}.
    var s = array<array<f32, MAX_BK>, MAX_R>();
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let kc = k[k0 + min(j0 + t, tk - 1u) * ap.kv_st + c];
        for (var r = 0u; r < MAX_R; r++) { if (r < R) { s[r][t] += dot(qr[r][c], kc); } }
      } }
    } }
    // Online softmax: mask, new running max, rescale factor, probabilities (in s), running sum.
    var corr = array<f32, MAX_R>();
    for (var r = 0u; r < MAX_R; r++) { if (r < R) {
      let row = row0 + lid + r * WG;
      var mb = m[r];
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let j = j0 + t;
        var x = s[r][t];
        if (causal && j > row + off) { x = MASK; }
        if (j >= kend) { x = LOWEST; }
        s[r][t] = x;
        mb = max(mb, x);
      } }
      corr[r] = exp(m[r] - mb);
      var sum = l[r] * corr[r];
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let p = exp(s[r][t] - mb);
        s[r][t] = p;
        sum += p;
      } }
      l[r] = sum;
      m[r] = mb;
    } }
    // acc = acc·corr + P·V.
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      var a = array<vec4<f32>, MAX_R>();
      for (var r = 0u; r < MAX_R; r++) { if (r < R) { a[r] = acc[r][c] * corr[r]; } }
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let vc = v[v0 + min(j0 + t, tk - 1u) * ap.kv_st + c];
        for (var r = 0u; r < MAX_R; r++) { if (r < R) { a[r] += s[r][t] * vc; } }
      } }
      for (var r = 0u; r < MAX_R; r++) { if (r < R) { acc[r][c] = a[r]; } }
    } }
  }
  for (var r = 0u; r < MAX_R; r++) { if (r < R) {
    let row = row0 + lid + r * WG;
    if (row < tq) {
      let at = o_head(bh) + row * ap.o_st;
      let inv = 1.0 / l[r];
      for (var c = 0u; c < MAX_D4; c++) { if (c < D4) { out[at + c] = acc[r][c] * inv; } }
      lse[bh * tq + row] = m[r] + log(l[r]);
    }
  } }
}

@compute @workgroup_size(WG)
fn attention_bwd_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= ap.n_bh * ap.tq) { return; }
  let at = o_head(i / ap.tq) + (i % ap.tq) * ap.o_st;
  var acc = vec4(0.0);
  for (var c = 0u; c < D4; c++) { acc += dout[at + c] * o[at + c]; }
  delta[i] = acc.x + acc.y + acc.z + acc.w;
}

@compute @workgroup_size(WG)
fn attention_bwd_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let tq = ap.tq;
  let tk = ap.tk;
  let span = WG * R;
  let blocks = (tq + span - 1u) / span;
  let g = workgroup_linear(wid, nwg);
  let bh = g / blocks;
  if (bh >= ap.n_bh) { return; }
  let row0 = (g % blocks) * span;
  let q0 = q_head(bh);
  let o0 = o_head(bh);
  let k0 = kv_head(bh) + ap.k_base;
  let v0 = kv_head(bh) + ap.v_base;
  let off = tk - tq;
  let causal = ap.causal != 0u;
  var kend = tk;
  if (causal) { kend = min(tk, min(row0 + span, tq) + off); }
  var qr = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var gr = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var acc = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var li = array<f32, MAX_R>();
  var di = array<f32, MAX_R>();
  for (var r = 0u; r < MAX_R; r++) { if (r < R) {
    let row = min(row0 + lid + r * WG, tq - 1u);
    let i = bh * tq + row;
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      qr[r][c] = q[q0 + row * ap.q_st + c] * ap.scale;
      gr[r][c] = dout[o0 + row * ap.o_st + c];
    } }
    li[r] = lse_in[i];
    di[r] = delta_in[i];
  } }
  for (var j0 = 0u; j0 < kend; j0 += BK) {
    // The key block stays in registers: it serves the scores and the dQ update.
    var kb = array<array<vec4<f32>, MAX_D4>, MAX_BK>();
    var s = array<array<f32, MAX_BK>, MAX_R>();
    var dp = array<array<f32, MAX_BK>, MAX_R>();
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let at = min(j0 + t, tk - 1u) * ap.kv_st + c;
        let kc = k[k0 + at];
        let vc = v[v0 + at];
        kb[t][c] = kc;
        for (var r = 0u; r < MAX_R; r++) { if (r < R) {
          s[r][t] += dot(qr[r][c], kc);
          dp[r][t] += dot(gr[r][c], vc);
        } }
      } }
    } }
    // ds = p·(dp − delta), kept in s.
    for (var r = 0u; r < MAX_R; r++) { if (r < R) {
      let row = row0 + lid + r * WG;
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let j = j0 + t;
        var p = exp(s[r][t] - li[r]);
        if ((causal && j > row + off) || j >= kend) { p = 0.0; }
        s[r][t] = p * (dp[r][t] - di[r]);
      } }
    } }
    // acc += dS·K.
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      var a = array<vec4<f32>, MAX_R>();
      for (var r = 0u; r < MAX_R; r++) { if (r < R) { a[r] = acc[r][c]; } }
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        for (var r = 0u; r < MAX_R; r++) { if (r < R) { a[r] += s[r][t] * kb[t][c]; } }
      } }
      for (var r = 0u; r < MAX_R; r++) { if (r < R) { acc[r][c] = a[r]; } }
    } }
  }
  for (var r = 0u; r < MAX_R; r++) { if (r < R) {
    let row = row0 + lid + r * WG;
    if (row < tq) {
      let at = q0 + row * ap.q_st;
      for (var c = 0u; c < MAX_D4; c++) { if (c < D4) { dq[at + c] = acc[r][c] * ap.scale; } }
    }
  } }
}

@compute @workgroup_size(WG)
fn attention_bwd_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let tq = ap.tq;
  let tk = ap.tk;
  let span = WG * R;
  let blocks = (tk + span - 1u) / span;
  let g = workgroup_linear(wid, nwg);
  let bh = g / blocks;
  if (bh >= ap.n_bh) { return; }
  let col0 = (g % blocks) * span;
  let q0 = q_head(bh);
  let o0 = o_head(bh);
  let k0 = kv_head(bh) + ap.k_base;
  let v0 = kv_head(bh) + ap.v_base;
  let lse0 = bh * tq;
  let off = tk - tq;
  let causal = ap.causal != 0u;
  var istart = 0u;
  if (causal) { istart = max(col0, off) - off; }
  var kr = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var vr = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var gk = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  var gv = array<array<vec4<f32>, MAX_D4>, MAX_R>();
  for (var r = 0u; r < MAX_R; r++) { if (r < R) {
    let j = min(col0 + lid + r * WG, tk - 1u) * ap.kv_st;
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      kr[r][c] = k[k0 + j + c] * ap.scale;
      vr[r][c] = v[v0 + j + c];
    } }
  } }
  for (var i0 = istart; i0 < tq; i0 += BK) {
    // The query block (q and dout rows) stays in registers: it serves the scores and both updates.
    var qb = array<array<vec4<f32>, MAX_D4>, MAX_BK>();
    var gb = array<array<vec4<f32>, MAX_D4>, MAX_BK>();
    var s = array<array<f32, MAX_BK>, MAX_R>();
    var dp = array<array<f32, MAX_BK>, MAX_R>();
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let i = min(i0 + t, tq - 1u);
        let qc = q[q0 + i * ap.q_st + c];
        let gc = dout[o0 + i * ap.o_st + c];
        qb[t][c] = qc;
        gb[t][c] = gc;
        for (var r = 0u; r < MAX_R; r++) { if (r < R) {
          s[r][t] += dot(kr[r][c], qc);
          dp[r][t] += dot(vr[r][c], gc);
        } }
      } }
    } }
    // p into s, ds = p·(dp − delta) into dp.
    for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
      let i = i0 + t;
      let ic = lse0 + min(i, tq - 1u);
      let lt = lse_in[ic];
      let dt = delta_in[ic];
      for (var r = 0u; r < MAX_R; r++) { if (r < R) {
        let col = col0 + lid + r * WG;
        var p = exp(s[r][t] - lt);
        if ((causal && col > i + off) || i >= tq) { p = 0.0; }
        s[r][t] = p;
        dp[r][t] = p * (dp[r][t] - dt);
      } }
    } }
    // dV += Pᵀ·dO (a), dK += dSᵀ·Q (b).
    for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
      var a = array<vec4<f32>, MAX_R>();
      var b = array<vec4<f32>, MAX_R>();
      for (var r = 0u; r < MAX_R; r++) { if (r < R) {
        a[r] = gv[r][c];
        b[r] = gk[r][c];
      } }
      for (var t = 0u; t < MAX_BK; t++) { if (t < BK) {
        let qc = qb[t][c];
        let gc = gb[t][c];
        for (var r = 0u; r < MAX_R; r++) { if (r < R) {
          a[r] += s[r][t] * gc;
          b[r] += dp[r][t] * qc;
        } }
      } }
      for (var r = 0u; r < MAX_R; r++) { if (r < R) {
        gv[r][c] = a[r];
        gk[r][c] = b[r];
      } }
    } }
  }
  for (var r = 0u; r < MAX_R; r++) { if (r < R) {
    let col = col0 + lid + r * WG;
    if (col < tk) {
      let at = col * ap.kv_st;
      for (var c = 0u; c < MAX_D4; c++) { if (c < D4) {
        dk[k0 + at + c] = gk[r][c] * ap.scale;
        if (PACKED_DKV) { dk[v0 + at + c] = gv[r][c]; } else { dv[v0 + at + c] = gv[r][c]; }
      } }
    }
  } }
}
