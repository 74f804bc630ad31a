// q4.wgsl — int4 weights (Q4_0 and NF4): quantize, dequantize, and the fused products
// Y = X·dequant(W)ᵀ (+ bias) and dX = dY·dequant(W), never materialising dequant(W).
//
// Shapes: W is [N, K] (out_features, in_features), stored as `words` — 8 codes per u32, element k of a
//   row in bits 4·(k % 8) of word k / 8, rows contiguous along K — and `scales`, one f32 per block of
//   BLOCK weights along K ([N, K / BLOCK]; Q4_0's float16 d held as its exact f32 value). A weight split
//   over several bindings ("parts" of whole rows) is dispatched once per part: `n0` is the part's first
//   row, `rows` its row count. X and dY are (M, K) and (M, N) (M = every leading dimension), Y is
//   (M, N), dX (M, K), all contiguous f32. The code → value maps: Q4_0 (q - 8)·d, NF4 table[q]·absmax.
// Bindings: 0 a Params uniform (QuantParams, DequantParams or ProdParams). q4_quantize: 1 `src`,
//   2 `codes`, 3 `block_scales`. The others: 1 `words` / `words4` (the same codes as u32 or vec4<u32>),
//   2 `scales`, 3 `out4` (q4_dequantize) or `x4` / `dy`, 4 `bias` (read only when BIAS; the host binds
//   any read-only tensor otherwise), 5 `y` / `dx4`.
// Kernels and workgroups (1-D grids folded by the host, workgroup_linear):
//   q4_quantize — 64 invocations, one per block; q4_dequantize — 64, one per word (8 values);
//   q4_matvec (one row of X) — 64 invocations, one weight row each, TM rows of X per workgroup;
//   q4_matmul_tile (many rows) — 8 × 8 invocations, TM rows × TN columns of Y each;
//   q4_matmul_dx — 64 invocations, one word column (8 values of K) each, TM rows of dY per workgroup.
// Guards: q4_quantize and q4_dequantize skip invocations past their block / word count. The products
//   clamp the weight row (and the X / dY row) they read into range, so every load stays inside the
//   operands, and skip stores past the part's rows, past M, and in the spare workgroups of a folded grid.
// K is a multiple of BLOCK (≥ 32), so every row is whole vec4<u32>s and whole vec4<f32>s.
// Speed on lavapipe, where loads cost far more than arithmetic: q4_matvec and q4_matmul_dx read X / dY
// at addresses common to the whole workgroup and one weight row (word column) per invocation, 32 (8)
// codes per load; q4_matmul_tile shares each X load among TN columns and each decoded code among TM
// rows, as kernels/matmul.wgsl's tile does. Notes at the end of the file.

override NF4: bool = false;
// Weights per block: 32 for Q4_0, 64 for NF4.
override BLOCK: u32 = 32u;
// Products: add `bias` to Y; dX: add to what `dx4` holds (every part after the first).
override BIAS: bool = false;
override ACCUMULATE: bool = false;
// Products: rows of X (of dY) per workgroup or per invocation (see each kernel); q4_matmul_tile's
// columns per invocation (a multiple of 4).
override TM: u32 = 8u;
override TN: u32 = 8u;

const MAX_TM: u32 = 16u;
const MAX_TN4: u32 = 4u;
const MAX_TILE_ACC: u32 = MAX_TM * MAX_TN4;
const MAX_TILE_W: u32 = 8u * MAX_TN4;

// ---- code values ---------------------------------------------------------------------------------

// bitsandbytes' NF4 table as f32 bit patterns (WGSL may round a decimal literal either way). Indexed
// per code: faster than a 15-select tree in the tile kernel, as fast in the matrix-vector one (notes
// at the end).
const NF4_BITS = array<u32, 16>(0xbf800000u, 0xbf3239b1u, 0xbf066b30u, 0xbeca32a0u, 0xbe91a24du, 0xbe3d353fu, 0xbdba7871u, 0x00000000u, 0x3da2faffu, 0x3e24cae3u, 0x3e7c04ddu, 0x3ead033au, 0x3ee1a4b8u, 0x3f1007abu, 0x3f3913b3u, 0x3f800000u);

// The unscaled value of four codes: q - 8, or table[q].
fn code_value(q: vec4<u32>) -> vec4<f32> {
  if (NF4) {
    return bitcast<vec4<f32>>(vec4<u32>(NF4_BITS[q.x], NF4_BITS[q.y], NF4_BITS[q.z], NF4_BITS[q.w]));
  }
  return vec4<f32>(q) - vec4<f32>(8.0);
}

// Codes of elements 0–3 and 4–7 of a word.
fn nibbles_lo(w: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(15u);
}

fn nibbles_hi(w: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(15u);
}

// ---- quantize ------------------------------------------------------------------------------------

struct QuantParams {
  // Blocks to quantize, and the first of them in `src` (a part of a weight split over bindings).
  blocks: u32,
  first: u32,
  // Q4_0: the smallest p with trunc(p + 8.5) ≥ c, c = 1..15; NF4: dQuantizeNF4's midpoints (15 used).
  thresholds: array<vec4<f32>, 4>,
}

@group(0) @binding(0) var<uniform> qp: QuantParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> block_scales: array<f32>;

// v >> s rounded to nearest, ties to even (1 ≤ s ≤ 24).
fn round_shift(v: u32, s: u32) -> u32 {
  let q = v >> s;
  let rem = v & ((1u << s) - 1u);
  let half = 1u << (s - 1u);
  return q + select(0u, 1u, rem > half || (rem == half && (q & 1u) == 1u));
}

// v rounded to float16 (nearest, ties to even; overflow to ±Inf), returned as its exact f32 value.
// Integer arithmetic: WGSL leaves the rounding of f16 conversions to the implementation.
fn f16_round(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  let sign = b & 0x80000000u;
  let e = i32((b >> 23u) & 0xffu) - 112;
  let man = b & 0x7fffffu;
  var h = 0u;
  if (e >= 31) {
    return bitcast<f32>(sign | 0x7f800000u);
  } else if (e <= 0) {
    if (e >= -10) {
      h = round_shift(man | 0x800000u, u32(14 - e));
    }
  } else {
    h = round_shift((u32(e) << 23u) | man, 13u);
  }
  if (h >= 0x7c00u) {
    return bitcast<f32>(sign | 0x7f800000u);
  }
  if (h < 0x400u) {
    // Subnormal float16: h · 2^-24, exact in f32.
    return bitcast<f32>(sign | bitcast<u32>(f32(h) * 5.9604644775390625e-8));
  }
  return bitcast<f32>(sign | (((h >> 10u) + 112u) << 23u) | ((h & 0x3ffu) << 13u));
}

// 1/v rounded to nearest f32 (a tie cannot occur), for finite non-zero v, in integers: WGSL's f32
// division may be 2.5 ulp off (lavapipe's is, for subnormal v) and its fma need not be fused.
fn recip_rn(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  let sign = b & 0x80000000u;
  let inf = bitcast<f32>(sign | 0x7f800000u);
  var man = b & 0x7fffffu;
  var ex = i32((b >> 23u) & 0xffu) - 127;
  if (ex == -127) {
    // Subnormal: normalise so that the leading bit is bit 23.
    let s = countLeadingZeros(man) - 8u;
    man = (man << s) & 0x7fffffu;
    ex = -126 - i32(s);
  }
  // |v| = M·2^(ex - 23) with M = 1.man in [2^23, 2^24).
  if (man == 0u) {
    let re = -ex;
    if (re > 127) {
      return inf;
    }
    if (re >= -126) {
      return bitcast<f32>(sign | (u32(re + 127) << 23u));
    }
    return bitcast<f32>(sign | (1u << u32(re + 149)));
  }
  // Z = 2^47 / M in (2^23, 2^24) by long division (quotient q, remainder r); 1/|v| = Z·2^(-24 - ex).
  let big_m = man | 0x800000u;
  var r = 0x800000u;
  var q = 0u;
  for (var i = 0u; i < 24u; i++) {
    r = r << 1u;
    q = q << 1u;
    if (r >= big_m) {
      r -= big_m;
      q |= 1u;
    }
  }
  let biased = 126 - ex;
  if (biased >= 255) {
    return inf;
  }
  if (biased >= 1) {
    let bits = (u32(biased) << 23u) + q + select(0u, 1u, 2u * r > big_m) - 0x800000u;
    return bitcast<f32>(sign | min(bits, 0x7f800000u));
  }
  // Subnormal result (ex = 126 or 127): Z / 2^s in units of 2^-149; r > 0, so low == half rounds up.
  let s = u32(ex - 125);
  let low = q & ((1u << s) - 1u);
  return bitcast<f32>(sign | ((q >> s) + select(0u, 1u, low >= (1u << (s - 1u)))));
}

// Q4_0: how many thresholds p reaches; NF4: how many it exceeds.
fn code_of(p: f32) -> u32 {
  var c = 0u;
  for (var i = 0u; i < 15u; i++) {
    let t = qp.thresholds[i >> 2u][i & 3u];
    if ((!NF4 && p >= t) || (NF4 && p > t)) {
      c++;
    }
  }
  return c;
}

// One invocation per block: its scale (NaN when the block holds a NaN or Inf) and BLOCK / 8 words.
@compute @workgroup_size(64)
fn q4_quantize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let blk = workgroup_linear(wid, nwg) * 64u + lid;
  if (blk >= qp.blocks) {
    return;
  }
  let base = (qp.first + blk) * BLOCK;
  // Largest magnitude, the first on ties (llama.cpp's `amax < fabsf(v)`), compared as bit patterns.
  var amax = 0u;
  var max_bits = 0u;
  var finite = true;
  for (var j = 0u; j < BLOCK; j++) {
    let bits = bitcast<u32>(src[base + j]);
    let mag = bits & 0x7fffffffu;
    finite = finite && mag < 0x7f800000u;
    if (mag > amax) {
      amax = mag;
      max_bits = bits;
    }
  }
  // Q4_0: d = max / -8 (exact but for subnormal rounding, as a multiplication), id = 1/d, 0 when d is
  // 0 or 1/d overflows. NF4: id = 1/absmax, Inf for a zero or tiny absmax.
  var scale = 0.0;
  var id = 0.0;
  var id_inf = false;
  if (NF4) {
    scale = bitcast<f32>(amax);
    id_inf = amax <= 0x00200000u;
    if (!id_inf) {
      id = recip_rn(scale);
    }
  } else {
    let d = bitcast<f32>(max_bits) * -0.125;
    let dmag = bitcast<u32>(d) & 0x7fffffffu;
    if (dmag > 0x00200000u) {
      id = recip_rn(d);
    }
    scale = f16_round(d);
  }
  if (!finite) {
    // A runtime NaN (Dawn rejects a constant one): `amax & 0u` is not a const-expression.
    scale = bitcast<f32>(0x7fc00000u | (amax & 0u));
  }
  block_scales[blk] = scale;
  for (var w = 0u; w < BLOCK / 8u; w++) {
    var word = 0u;
    for (var e = 0u; e < 8u; e++) {
      let v = src[base + w * 8u + e];
      var c = 0u;
      if (id_inf) {
        // v·Inf: +Inf above every threshold; -Inf, and NaN for v = 0, below them all.
        c = select(0u, 15u, v > 0.0);
      } else {
        c = code_of(v * id);
      }
      word |= c << (4u * e);
    }
    codes[blk * BLOCK / 8u + w] = word;
  }
}

// ---- dequantize ----------------------------------------------------------------------------------

struct DequantParams {
  // Words in this part, and where its first value goes in `out4` (vec4 units).
  count: u32,
  out_base: u32,
}

@group(0) @binding(0) var<uniform> dp: DequantParams;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(1) var<storage, read> words4: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

// One invocation per word: 8 values.
@compute @workgroup_size(64)
fn q4_dequantize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * 64u + lid;
  if (i >= dp.count) {
    return;
  }
  let w = words[i];
  let s = scales[i * 8u / BLOCK];
  out4[dp.out_base + 2u * i] = code_value(nibbles_lo(w)) * s;
  out4[dp.out_base + 2u * i + 1u] = code_value(nibbles_hi(w)) * s;
}

// ---- products ------------------------------------------------------------------------------------

struct ProdParams {
  m: u32,
  // Rows of W in all parts (the columns of Y, the row length of dY), and this part's first row and count.
  n: u32,
  n0: u32,
  rows: u32,
  k: u32,
  // Workgroups along this dispatch's inner dimension (weight rows, or dX words).
  tiles: u32,
}

@group(0) @binding(0) var<uniform> pp: ProdParams;
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx4: array<vec4<f32>>;

// Where a workgroup works: the first of its TM rows of X (of dY), and its inner tile.
struct Place {
  m0: u32,
  tile: u32,
  live: bool,
}

fn place_of(wid: vec3<u32>, nwg: vec3<u32>) -> Place {
  let wl = workgroup_linear(wid, nwg);
  let tiles_m = (pp.m + TM - 1u) / TM;
  return Place(min(wl / pp.tiles, tiles_m - 1u) * TM, wl % pp.tiles, wl < pp.tiles * tiles_m);
}

// Matrix-vector path (generation; any M, but every row re-reads all of W): Y[m0..m0+TM, n0 + j] for
// one weight row j per invocation. Per vec4<u32> of codes (32 weights, one scale: BLOCK is a multiple
// of 32), decode 8 values at a time, scale them, and multiply with the workgroup's TM rows of X, which
// every invocation reads at the same address; each row keeps a vec4 of partial sums, added at the end.
@compute @workgroup_size(64)
fn q4_matvec(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let at = place_of(wid, nwg);
  let j_raw = at.tile * 64u + lid;
  let j = min(j_raw, pp.rows - 1u);
  let chunks = pp.k / 32u;
  let k4 = pp.k / 4u;
  let blocks = pp.k / BLOCK;
  var acc: array<vec4<f32>, MAX_TM>;
  for (var c = 0u; c < chunks; c++) {
    let w4 = words4[j * chunks + c];
    let s = scales[j * blocks + c * 32u / BLOCK];
    for (var q = 0u; q < 4u; q++) {
      let lo = code_value(nibbles_lo(w4[q])) * s;
      let hi = code_value(nibbles_hi(w4[q])) * s;
      for (var i = 0u; i < TM; i++) {
        let row = min(at.m0 + i, pp.m - 1u);
        let xa = x4[row * k4 + c * 8u + 2u * q];
        let xb = x4[row * k4 + c * 8u + 2u * q + 1u];
        acc[i] = fma(xa, lo, fma(xb, hi, acc[i]));
      }
    }
  }
  if (!at.live || j_raw >= pp.rows) {
    return;
  }
  let col = pp.n0 + j;
  for (var i = 0u; i < TM; i++) {
    let row = at.m0 + i;
    if (row < pp.m) {
      var v = dot(acc[i], vec4<f32>(1.0));
      if (BIAS) {
        v += bias[col];
      }
      y[row * pp.n + col] = v;
    }
  }
}

// Tiled path (many rows): an 8 × 8 workgroup of invocations, each accumulating TM rows of Y × TN columns
// (TN weight rows, in groups of 4), so a workgroup covers (8·TM) × (8·TN) of Y. Per word column (8 k):
// TN u32 loads decode to 8 vec4s per group of 4 columns (scaled; the scales are reloaded once per
// block), then each of the TM rows of X is read as 2 vec4s and multiplied into TN/4 vec4 accumulators.
@compute @workgroup_size(8, 8)
fn q4_matmul_tile(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
  let wl = workgroup_linear(wid, nwg);
  let tiles_m = (pp.m + 8u * TM - 1u) / (8u * TM);
  let live = wl < pp.tiles * tiles_m;
  let row0 = (min(wl / pp.tiles, tiles_m - 1u) * 8u + lid.y) * TM;
  let col0 = ((wl % pp.tiles) * 8u + lid.x) * TN;
  let per_row = pp.k / 8u;
  let k4 = pp.k / 4u;
  let blocks = pp.k / BLOCK;
  let last = vec4<u32>(pp.rows - 1u);
  var acc: array<vec4<f32>, MAX_TILE_ACC>;
  var sv: array<vec4<f32>, MAX_TN4>;
  for (var wd = 0u; wd < per_row; wd++) {
    var wv: array<vec4<f32>, MAX_TILE_W>;
    for (var g = 0u; g < TN / 4u; g++) {
      let cols = min(vec4<u32>(col0 + 4u * g) + vec4<u32>(0u, 1u, 2u, 3u), last);
      if ((wd * 8u) % BLOCK == 0u) {
        let blk = wd * 8u / BLOCK;
        sv[g] = vec4<f32>(scales[cols.x * blocks + blk], scales[cols.y * blocks + blk], scales[cols.z * blocks + blk], scales[cols.w * blocks + blk]);
      }
      let wq = vec4<u32>(words[cols.x * per_row + wd], words[cols.y * per_row + wd], words[cols.z * per_row + wd], words[cols.w * per_row + wd]);
      for (var e = 0u; e < 8u; e++) {
        wv[e * MAX_TN4 + g] = code_value((wq >> vec4<u32>(4u * e)) & vec4<u32>(15u)) * sv[g];
      }
    }
    for (var i = 0u; i < TM; i++) {
      let r = min(row0 + i, pp.m - 1u);
      let xa = x4[r * k4 + 2u * wd];
      let xb = x4[r * k4 + 2u * wd + 1u];
      for (var g = 0u; g < TN / 4u; g++) {
        var a = acc[i * MAX_TN4 + g];
        for (var e = 0u; e < 4u; e++) {
          a = fma(vec4<f32>(xa[e]), wv[e * MAX_TN4 + g], a);
          a = fma(vec4<f32>(xb[e]), wv[(e + 4u) * MAX_TN4 + g], a);
        }
        acc[i * MAX_TN4 + g] = a;
      }
    }
  }
  if (!live) {
    return;
  }
  for (var i = 0u; i < TM; i++) {
    let row = row0 + i;
    if (row >= pp.m) {
      break;
    }
    for (var g = 0u; g < TN / 4u; g++) {
      for (var q = 0u; q < 4u; q++) {
        let j = col0 + 4u * g + q;
        if (j < pp.rows) {
          var v = acc[i * MAX_TN4 + g][q];
          if (BIAS) {
            v += bias[pp.n0 + j];
          }
          y[row * pp.n + pp.n0 + j] = v;
        }
      }
    }
  }
}

// dX[m0..m0+TM, 8·w .. 8·w+8] for one word column w of this part per invocation: the sum over the
// part's weight rows of dY[m, n0 + j]·values of W[j, 8w..8w+8].
@compute @workgroup_size(64)
fn q4_matmul_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let at = place_of(wid, nwg);
  let per_row = pp.k / 8u;
  let w_raw = at.tile * 64u + lid;
  let w = min(w_raw, per_row - 1u);
  let blocks = pp.k / BLOCK;
  let blk = w * 8u / BLOCK;
  var acc: array<vec4<f32>, 32>;
  for (var j = 0u; j < pp.rows; j++) {
    let word = words[j * per_row + w];
    let s = scales[j * blocks + blk];
    let lo = code_value(nibbles_lo(word)) * s;
    let hi = code_value(nibbles_hi(word)) * s;
    for (var i = 0u; i < TM; i++) {
      let g = vec4<f32>(dy[min(at.m0 + i, pp.m - 1u) * pp.n + pp.n0 + j]);
      acc[2u * i] = fma(g, lo, acc[2u * i]);
      acc[2u * i + 1u] = fma(g, hi, acc[2u * i + 1u]);
    }
  }
  if (!at.live || w_raw >= per_row) {
    return;
  }
  for (var i = 0u; i < TM; i++) {
    let row = at.m0 + i;
    if (row < pp.m) {
      let o = (row * pp.k) / 4u + 2u * w;
      if (ACCUMULATE) {
        dx4[o] += acc[2u * i];
        dx4[o + 1u] += acc[2u * i + 1u];
      } else {
        dx4[o] = acc[2u * i];
        dx4[o + 1u] = acc[2u * i + 1u];
      }
    }
  }
}

// ---- tuning notes ----------------------------------------------------------------------------------
// Measured on lavapipe (Mesa 25.0, 2 cores shared with other jobs, load average ~14), process CPU time
// per product, variants interleaved in one process; ±25% noise.
// One row, 1×4096·[4096, 4096]ᵀ: q4_matvec (one weight row per invocation, X read at the workgroup's
//   common address, 32 codes per vec4<u32> load) q4_0 ~23 ms, nf4 ~32 ms; float32 matvec_dot4 on
//   the same [N, K] layout ~85 ms.
// 512×1024·[1024, 1024]ᵀ: the matrix-vector kernel reused with TM = 8 rows of X per workgroup took
//   ~1100 ms against float32's ~180 ms (its 16 X loads per 8 codes per row dominate); the register
//   tile (TM rows × TN columns per invocation, X loads shared by TN columns, decoded codes by TM rows)
//   q4_0 ~200 ms, float32 ~180–250 ms, nf4 ~250–300 ms. NF4's table indexed per code against a
//   15-select tree over the code's bits, interleaved A/B, nf4 [4096, 4096]: tile kernel at M = 256
//   1884 against 2396 ms (kept the table), matrix-vector 34 against 30 ms (within noise).
//   TM × TN = 8×8, 16×8, 8×16, 4×16: within noise; kept 8×8 (the smallest registers and compile).
// Q4_0's q - 8 as bitcast(0x4b000000 | q) - (2^23 + 8) instead of an int → float conversion: no
//   measurable difference; kept the conversion.
// dX = dY·W, 512×1024 · [1024, 1024]: q4_matmul_dx q4_0 ~210–255 ms, nf4 ~255–270, float32 ~225–232.
// lavapipe's f32 division is not correctly rounded (a few ulp off for subnormal divisors) and its
// fma is not fused (fma(a, a, c) equals a·a + c), hence recip_rn's integer long division.
