// layernorm.wgsl — fused LayerNorm over the last dimension, forward and backward.
//
// Shapes: x is viewed as (N, C): N = n_rows rows (every leading dimension, B·T), C = c features, row r
//   at x[r·C .. r·C + C). weight, bias: (C). mean, rstd: (N), saved by the forward for the backward.
//   Variance is biased (divided by C), as PyTorch: y = (x - mean) · rstd · weight + bias, with
//   rstd = 1 / sqrt(var + eps).
// Bindings: 0 Params (uniform); inputs read-only; outputs read-write (names below, per entry point).
//   When the op has no weight (or no bias) the host binds x in its place and sets HAS_WEIGHT (HAS_BIAS)
//   to false: the kernel then never reads that binding.
//
// layernorm_forward: one invocation per row, WG rows per workgroup, over a 1-D grid the host folds
//   beyond 65,535 workgroups. Exact two-pass statistics (the mean, then the sum of squared deviations
//   from it), then a third pass writes y. No workgroup memory and no barriers: measured on lavapipe
//   (768 rows; C from 1 to 65,536, and 8 rows of 65,536), a workgroup per row with a tree reduction
//   was 2–20× slower at every size (more with 256-wide workgroups): barriers are that expensive there.
// layernorm_backward: dx, one invocation per row, from the saved mean and rstd: with g = dy · weight
//   and x̂ = (x - mean) · rstd, dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)).
// `_vec4` variants (forward, backward and partials): the same with vec4 loads and stores, for C % 4 = 0
//   (rows then start on 16-byte boundaries): 1.5–3× faster here than the scalar kernels, 10× for the
//   partials at C = 512. A vec4 partials invocation covers four columns; the layout is the same.
// layernorm_param_partials: pass 1 of dweight = Σ_rows dy · x̂ and dbias = Σ_rows dy, without atomics.
//   One invocation per (block, column) (neighbouring invocations read neighbouring columns): it sums
//   rows [blk · block_rows, (blk + 1) · block_rows) of its column into partial[blk, col] (dweight) and
//   partial[n_blocks + blk, col] (dbias).
// layernorm_param_reduce: pass 2, one invocation per column, sums the n_blocks partials in order.
//   The two passes are deterministic: same inputs, same bits.
//
// Guards: every kernel returns when its row, (block, column) or column index is past the end; every
//   loop is bounded by c, n_rows or n_blocks. Nothing beyond the logical extent of a buffer is read or
//   written.

override WG: u32 = 64u;
override HAS_WEIGHT: bool = true;
override HAS_BIAS: bool = true;

struct NormParams {
  n_rows: u32,
  c: u32,
  eps: f32,
}

struct PartialParams {
  n_rows: u32,
  c: u32,
  block_rows: u32,
  n_blocks: u32,
}

@group(0) @binding(0) var<uniform> p: NormParams;
@group(0) @binding(0) var<uniform> pp: PartialParams;

// Forward: x, weight, bias in; y, mean, rstd out.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> saved_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved_rstd: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<f32>>;

// Backward: x, dy, weight, mean, rstd in; dx (or the partials) out.
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> row_mean: array<f32>;
@group(0) @binding(5) var<storage, read> row_rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> partial4: array<vec4<f32>>;

// Pass 2: the partials in, dweight and dbias out.
@group(0) @binding(1) var<storage, read> partial_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> d_weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> d_bias: array<f32>;

fn affine(v: f32, k: u32) -> f32 {
  var out_v = v;
  if (HAS_WEIGHT) { out_v *= weight[k]; }
  if (HAS_BIAS) { out_v += bias[k]; }
  return out_v;
}

fn affine4(v: vec4<f32>, k: u32) -> vec4<f32> {
  var out_v = v;
  if (HAS_WEIGHT) { out_v *= weight4[k]; }
  if (HAS_BIAS) { out_v += bias4[k]; }
  return out_v;
}

fn scaled_grad(at: u32, k: u32) -> f32 {
  if (HAS_WEIGHT) { return dy[at] * w[k]; }
  return dy[at];
}

fn scaled_grad4(at: u32, k: u32) -> vec4<f32> {
  if (HAS_WEIGHT) { return dy4[at] * w4[k]; }
  return dy4[at];
}

fn hsum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

@compute @workgroup_size(WG)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg) * WG + lid;
  if (row >= p.n_rows) { return; }
  let c = p.c;
  let base = row * c;
  var s = 0.0;
  for (var k = 0u; k < c; k++) { s += x[base + k]; }
  let mu = s / f32(c);
  var m2 = 0.0;
  for (var k = 0u; k < c; k++) {
    let d = x[base + k] - mu;
    m2 += d * d;
  }
  let r = inverseSqrt(m2 / f32(c) + p.eps);
  for (var k = 0u; k < c; k++) {
    y[base + k] = affine((x[base + k] - mu) * r, k);
  }
  saved_mean[row] = mu;
  saved_rstd[row] = r;
}

@compute @workgroup_size(WG)
fn layernorm_forward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg) * WG + lid;
  if (row >= p.n_rows) { return; }
  let c4 = p.c / 4u;
  let base = row * c4;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < c4; k++) { s += x4[base + k]; }
  let mu = hsum(s) / f32(p.c);
  var m2 = vec4<f32>(0.0);
  for (var k = 0u; k < c4; k++) {
    let d = x4[base + k] - mu;
    m2 += d * d;
  }
  let r = inverseSqrt(hsum(m2) / f32(p.c) + p.eps);
  for (var k = 0u; k < c4; k++) {
    y4[base + k] = affine4((x4[base + k] - mu) * r, k);
  }
  saved_mean[row] = mu;
  saved_rstd[row] = r;
}

@compute @workgroup_size(WG)
fn layernorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg) * WG + lid;
  if (row >= p.n_rows) { return; }
  let c = p.c;
  let base = row * c;
  let mu = row_mean[row];
  let r = row_rstd[row];
  var sum_g = 0.0;
  var sum_gx = 0.0;
  for (var k = 0u; k < c; k++) {
    let g = scaled_grad(base + k, k);
    sum_g += g;
    sum_gx += g * (x[base + k] - mu) * r;
  }
  let mean_g = sum_g / f32(c);
  let mean_gx = sum_gx / f32(c);
  for (var k = 0u; k < c; k++) {
    let xhat = (x[base + k] - mu) * r;
    dx[base + k] = r * (scaled_grad(base + k, k) - mean_g - xhat * mean_gx);
  }
}

@compute @workgroup_size(WG)
fn layernorm_backward_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg) * WG + lid;
  if (row >= p.n_rows) { return; }
  let c4 = p.c / 4u;
  let base = row * c4;
  let mu = row_mean[row];
  let r = row_rstd[row];
  var sum_g = vec4<f32>(0.0);
  var sum_gx = vec4<f32>(0.0);
  for (var k = 0u; k < c4; k++) {
    let g = scaled_grad4(base + k, k);
    sum_g += g;
    sum_gx += g * (x4[base + k] - mu) * r;
  }
  let mean_g = hsum(sum_g) / f32(p.c);
  let mean_gx = hsum(sum_gx) / f32(p.c);
  for (var k = 0u; k < c4; k++) {
    let xhat = (x4[base + k] - mu) * r;
    dx4[base + k] = r * (scaled_grad4(base + k, k) - mean_g - xhat * mean_gx);
  }
}

@compute @workgroup_size(WG)
fn layernorm_param_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  let c = pp.c;
  if (i >= pp.n_blocks * c) { return; }
  let blk = i / c;
  let col = i % c;
  let first = blk * pp.block_rows;
  let last = min(first + pp.block_rows, pp.n_rows);
  var dw = 0.0;
  var db = 0.0;
  for (var r = first; r < last; r++) {
    let at = r * c + col;
    let g = dy[at];
    dw += g * (x[at] - row_mean[r]) * row_rstd[r];
    db += g;
  }
  partial[i] = dw;
  partial[pp.n_blocks * c + i] = db;
}

@compute @workgroup_size(WG)
fn layernorm_param_partials_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  let c4 = pp.c / 4u;
  if (i >= pp.n_blocks * c4) { return; }
  let blk = i / c4;
  let col = i % c4;
  let first = blk * pp.block_rows;
  let last = min(first + pp.block_rows, pp.n_rows);
  var dw = vec4<f32>(0.0);
  var db = vec4<f32>(0.0);
  for (var r = first; r < last; r++) {
    let at = r * c4 + col;
    let g = dy4[at];
    dw += g * (x4[at] - row_mean[r]) * row_rstd[r];
    db += g;
  }
  partial4[i] = dw;
  partial4[pp.n_blocks * c4 + i] = db;
}

@compute @workgroup_size(WG)
fn layernorm_param_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let col = workgroup_linear(wid, nwg) * WG + lid;
  let c = pp.c;
  if (col >= c) { return; }
  let nb = pp.n_blocks;
  var dw = 0.0;
  var db = 0.0;
  for (var b = 0u; b < nb; b++) {
    dw += partial_in[b * c + col];
    db += partial_in[(nb + b) * c + col];
  }
  d_weight[col] = dw;
  d_bias[col] = db;
}

