// cross_entropy.wgsl — fused softmax cross-entropy over rows of logits, forward and backward.
//
// Shapes: logits (N, V) float32, N = n_rows rows of V = v classes; targets (N) int32. Per row r:
//   m_r = max_k logits[r, k], ls_r = log Σ_k exp(logits[r, k] - m_r), lse_r = m_r + ls_r, and
//   loss_r = lse_r - logits[r, targets[r]], computed as (m_r - logits[r, t]) + ls_r so that large
//   logits do not cancel. The forward saves stats (N, 2) = (m_r, ls_r) for the backward, which then
//   forms softmax as exp((logit - m) - ls), accurate even for logits of ±1e4.
// Targets: a row whose target equals ignore_index has loss 0 and gradient 0 and is not counted in the
//   mean. Any other target outside [0, V) cannot be checked by the host (it lives on the GPU): the
//   kernel never reads logits at it, and gives that row a NaN loss and NaN gradients instead.
// Bindings: 0 Params (uniform); inputs read-only; outputs read-write (names per entry point below).
//
// cross_entropy_forward: one workgroup of WG invocations (override, a power of two) per row over a 1-D
//   grid the host folds beyond 65,535 workgroups ("online" max and sum of exp, merged by a tree in
//   workgroup memory: log2(WG) barriers; invocation 0 finishes the row), for rows of V ≥ 4,096.
// cross_entropy_forward_rows: one invocation per row (WG rows per workgroup), no barriers: two passes
//   (the max, then the sum of exp), for shorter rows. Measured on lavapipe: 2–10× faster than a
//   workgroup per row below 4,096 (barriers are expensive there), a tie above, where a real GPU needs
//   the workgroup per row.
// cross_entropy_reduce: one workgroup of WG invocations sums the per-row losses and counts the rows not
//   ignored (a tree, log2(WG) barriers); MEAN divides the sum by the count (NaN when the count is 0, as
//   PyTorch). Outputs: loss (1) and count (1, u32), which the backward of the mean needs.
// cross_entropy_backward: one invocation per chunk of `chunk` consecutive logits of a row
//   (N · chunks_per_row invocations, folded grid): dlogits[r, k] = (softmax[r, k] - [k = t_r]) · g_r,
//   with g_r = dloss[r] (REDUCTION 0, none), dloss[0] (1, sum) or dloss[0] / count (2, mean); 0 for
//   ignored rows. One invocation per logit was 6–8× slower on lavapipe: an integer division per
//   element (no SIMD integer division there) and per-row values loaded per element.
//
// Guards: row, chunk and lane indices are checked against n_rows, n_chunks and V before any access; a
//   workgroup whose row is past the end returns as a whole (barriers stay uniform), and the trees never
//   merge a slot beyond the data. Targets are range-checked before they index logits.

override WG: u32 = 64u;
override MEAN: bool = true;
override REDUCTION: u32 = 2u;

// The lowest finite f32, -3.4028235e38, in hex: Tint rejects that decimal literal as out of range.
const LOWEST: f32 = -0x1.fffffep+127f;

struct CrossEntropyParams {
  n_rows: u32,
  v: u32,
  ignore_index: i32,
}

struct BackwardParams {
  n_chunks: u32,
  chunks_per_row: u32,
  chunk: u32,
  v: u32,
  ignore_index: i32,
}

@group(0) @binding(0) var<uniform> p: CrossEntropyParams;
@group(0) @binding(0) var<uniform> bp: BackwardParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

// Reduce: the per-row losses and targets in; the loss and the count out.
@group(0) @binding(1) var<storage, read> row_losses: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> count: array<u32>;

// Backward: logits, targets, saved stats, dloss and the count in; dlogits out.
@group(0) @binding(3) var<storage, read> row_stats: array<f32>;
@group(0) @binding(4) var<storage, read> dloss: array<f32>;
@group(0) @binding(5) var<storage, read> valid_count: array<u32>;
@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>;

var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_sum: array<f32, WG>;
var<workgroup> part_count: array<u32, WG>;

fn nan_f32() -> f32 {
  var bits = 0x7fc00000u; // a var, so constant folding cannot reject the NaN
  return bitcast<f32>(bits);
}

// Writes row `row`'s loss and stats from its max m and s = Σ exp(logit - m).
fn finish_row(row: u32, m: f32, s: f32) {
  let ls = log(s);
  stats[2u * row] = m;
  stats[2u * row + 1u] = ls;
  let t = targets[row];
  if (t == p.ignore_index) {
    losses[row] = 0.0;
  } else if (t < 0 || u32(t) >= p.v) {
    losses[row] = nan_f32();
  } else {
    losses[row] = (m - logits[row * p.v + u32(t)]) + ls;
  }
}

@compute @workgroup_size(WG)
fn cross_entropy_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg);
  if (row >= p.n_rows) { return; }
  let v = p.v;
  let base = row * v;
  var m = LOWEST;
  var s = 0.0;
  for (var k = lid; k < v; k += WG) {
    let l = logits[base + k];
    if (l > m) {
      s = s * exp(m - l) + 1.0;
      m = l;
    } else {
      s += exp(l - m);
    }
  }
  part_max[lid] = m;
  part_sum[lid] = s;
  for (var half = WG >> 1u; half > 0u; half >>= 1u) {
    workgroupBarrier();
    if (lid < half && lid + half < v) {
      let om = part_max[lid + half];
      let os = part_sum[lid + half];
      let nm = max(m, om);
      s = s * exp(m - nm) + os * exp(om - nm);
      m = nm;
      part_max[lid] = m;
      part_sum[lid] = s;
    }
  }
  if (lid == 0u) {
    finish_row(row, m, s);
  }
}

@compute @workgroup_size(WG)
fn cross_entropy_forward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg) * WG + lid;
  if (row >= p.n_rows) { return; }
  let v = p.v;
  let base = row * v;
  var m = LOWEST;
  for (var k = 0u; k < v; k++) { m = max(m, logits[base + k]); }
  var s = 0.0;
  for (var k = 0u; k < v; k++) { s += exp(logits[base + k] - m); }
  finish_row(row, m, s);
}

@compute @workgroup_size(WG)
fn cross_entropy_reduce(@builtin(local_invocation_index) lid: u32) {
  var total = 0.0;
  var n = 0u;
  for (var r = lid; r < p.n_rows; r += WG) {
    total += row_losses[r];
    n += select(1u, 0u, targets[r] == p.ignore_index);
  }
  part_sum[lid] = total;
  part_count[lid] = n;
  for (var half = WG >> 1u; half > 0u; half >>= 1u) {
    workgroupBarrier();
    if (lid < half) {
      total += part_sum[lid + half];
      n += part_count[lid + half];
      part_sum[lid] = total;
      part_count[lid] = n;
    }
  }
  if (lid == 0u) {
    count[0] = n;
    if (!MEAN) {
      loss[0] = total;
    } else if (n == 0u) {
      loss[0] = nan_f32();
    } else {
      loss[0] = total / f32(n);
    }
  }
}

@compute @workgroup_size(WG)
fn cross_entropy_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= bp.n_chunks) { return; }
  let row = i / bp.chunks_per_row;
  let first = (i % bp.chunks_per_row) * bp.chunk;
  let last = min(first + bp.chunk, bp.v);
  let base = row * bp.v;
  let t = targets[row];
  if (t == bp.ignore_index) {
    for (var k = first; k < last; k++) { dlogits[base + k] = 0.0; }
    return;
  }
  if (t < 0 || u32(t) >= bp.v) {
    let nan = nan_f32();
    for (var k = first; k < last; k++) { dlogits[base + k] = nan; }
    return;
  }
  var g: f32;
  if (REDUCTION == 0u) {
    g = dloss[row];
  } else if (REDUCTION == 1u) {
    g = dloss[0];
  } else {
    g = dloss[0] / f32(valid_count[0]);
  }
  let m = row_stats[2u * row];
  let ls = row_stats[2u * row + 1u];
  let cls = u32(t);
  for (var k = first; k < last; k++) {
    // (p - 1) rather than p·g - g: exact for p near 1, where the difference is small.
    dlogits[base + k] = (exp((logits[base + k] - m) - ls) - select(0.0, 1.0, k == cls)) * g;
  }
}
