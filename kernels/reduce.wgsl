// reduce.wgsl — reductions over any subset of axes: sum, max (and mean = sum · scale), and argmax.
//
// Bindings: 0 Params (uniform); `x` read-only (float32); `out` (reduce, f32) or `indices` (argmax, i32)
//   read-write, one element per output row.
// Workgroup: WG invocations (override, a power of two; the host picks 64 for short rows, 256 for long
//   ones), one workgroup per output element over a 1-D grid the host folds into 2-D/3-D beyond 65,535
//   workgroups. Invocation `lid` accumulates the reduced elements lid, lid + WG, lid + 2·WG, … in
//   order, then a tree in workgroup memory combines the WG partial results: log2(WG) barriers in all.
//   reduce_serial is for many short rows (e.g. a gradient summed over a batch of 12): one invocation
//   per output element, WG per workgroup, folded 1-D grid, no workgroup memory and no barrier (on
//   lavapipe a barrier makes the shader a coroutine, which costs more than such a row's loads).
// Shapes: the input is split into kept dimensions (`keep_rank` dims `keep_shape` with input strides
//   `keep_strides`; their row-major product is `n_out`, the output size) and reduced dimensions
//   (`red_rank` dims `red_shape` with strides `red_strides`; their product is `len`). Output row `row`
//   reads x[strided_offset(row, keep…) + strided_offset(j, red…)] for j in [0, len). The host merges
//   adjacent dimensions of the same kind and drops size-1 ones, so both ranks are usually 1.
//   argmax reports j, the row-major index over the reduced dimensions (one axis, or the flattened
//   tensor).
// Guards: workgroups with row >= n_out return (the whole workgroup, so barriers stay uniform);
//   invocations with lid >= len contribute the identity, and the tree never combines a slot >= len,
//   so the identity never reaches a result when len > 0 (max of all -inf is -inf). With len = 0 the
//   identity is the result: sum 0, and mean 0 · scale where the host passes scale = NaN.
//   reduce_serial: invocations with row >= n_out return; len = 0 gives identity · scale likewise.
// Op codes (override OP): 0 sum, 1 max. The max identity is the lowest finite f32, since WGSL has no
//   infinity literal. NaN handling of max follows the GPU's max() and is not specified.

override WG: u32 = 256u;
override OP: u32 = 0u;

// The lowest finite f32, -3.4028235e38, in hex: Tint rejects that decimal literal as out of range.
const LOWEST: f32 = -0x1.fffffep+127f;
// argmax's marker for "no element seen yet".
const NO_INDEX: u32 = 0xffffffffu;

struct ReduceParams {
  n_out: u32,
  len: u32,
  keep_rank: u32,
  red_rank: u32,
  scale: f32,
  keep_shape: Dims,
  keep_strides: Dims,
  red_shape: Dims,
  red_strides: Dims,
}

struct ArgmaxParams {
  n_out: u32,
  len: u32,
  keep_rank: u32,
  red_rank: u32,
  keep_shape: Dims,
  keep_strides: Dims,
  red_shape: Dims,
  red_strides: Dims,
}

@group(0) @binding(0) var<uniform> rp: ReduceParams;
@group(0) @binding(0) var<uniform> ap: ArgmaxParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> indices: array<i32>;

var<workgroup> vals: array<f32, WG>;
var<workgroup> best_vals: array<f32, WG>;
var<workgroup> best_idx: array<u32, WG>;

fn reduce_identity() -> f32 {
  if (OP == 1u) { return LOWEST; }
  return 0.0;
}

fn reduce_op(l: f32, r: f32) -> f32 {
  if (OP == 1u) { return max(l, r); }
  return l + r;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg);
  if (row >= rp.n_out) { return; }
  let len = rp.len;
  let base = strided_offset(row, rp.keep_rank, rp.keep_shape, rp.keep_strides);
  var acc = reduce_identity();
  if (lid < len) {
    acc = x[base + strided_offset(lid, rp.red_rank, rp.red_shape, rp.red_strides)];
    for (var j = lid + WG; j < len; j += WG) {
      acc = reduce_op(acc, x[base + strided_offset(j, rp.red_rank, rp.red_shape, rp.red_strides)]);
    }
  }
  vals[lid] = acc;
  for (var s = WG >> 1u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s && lid + s < len) {
      vals[lid] = reduce_op(vals[lid], vals[lid + s]);
    }
  }
  // Invocation 0 wrote vals[0] last itself: no barrier needed before reading it.
  if (lid == 0u) {
    out[row] = vals[0] * rp.scale;
  }
}

@compute @workgroup_size(WG)
fn reduce_serial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg) * WG + lid;
  if (row >= rp.n_out) { return; }
  let base = strided_offset(row, rp.keep_rank, rp.keep_shape, rp.keep_strides);
  // Start from the first element, so that the identity never reaches a result (max of all -inf).
  var acc = reduce_identity();
  if (rp.len > 0u) {
    acc = x[base + strided_offset(0u, rp.red_rank, rp.red_shape, rp.red_strides)];
  }
  for (var j = 1u; j < rp.len; j++) {
    acc = reduce_op(acc, x[base + strided_offset(j, rp.red_rank, rp.red_shape, rp.red_strides)]);
  }
  out[row] = acc * rp.scale;
}

@compute @workgroup_size(WG)
fn argmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg);
  if (row >= ap.n_out) { return; }
  let len = ap.len;
  let base = strided_offset(row, ap.keep_rank, ap.keep_shape, ap.keep_strides);
  var bv = LOWEST;
  var bi = NO_INDEX;
  if (lid < len) {
    bv = x[base + strided_offset(lid, ap.red_rank, ap.red_shape, ap.red_strides)];
    bi = lid;
    // j increases, so a strict > keeps the first of equal values.
    for (var j = lid + WG; j < len; j += WG) {
      let v = x[base + strided_offset(j, ap.red_rank, ap.red_shape, ap.red_strides)];
      if (v > bv) {
        bv = v;
        bi = j;
      }
    }
  }
  best_vals[lid] = bv;
  best_idx[lid] = bi;
  for (var s = WG >> 1u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s && lid + s < len) {
      let ov = best_vals[lid + s];
      let oi = best_idx[lid + s];
      // Ties go to the smaller index, as PyTorch's argmax.
      if (ov > bv || (ov == bv && oi < bi)) {
        bv = ov;
        bi = oi;
        best_vals[lid] = bv;
        best_idx[lid] = bi;
      }
    }
  }
  if (lid == 0u) {
    indices[row] = i32(bi);
  }
}
