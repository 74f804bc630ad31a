// reduce.wgsl — reductions over any subset of axes: sum, max (and mean = sum · scale), and argmax.
//
// Bindings: 0 Params (uniform); `x` read-only (float32); `out` (reduce, f32) or `indices` (argmax, i32)
//   read-write, one element per output row.
// Workgroups: reduce has 64 invocations, one per (output element, part) over a folded 1-D grid; each
//   combines its part's elements in order (part_len consecutive reduced elements; `parts` = 1 for one
//   pass). A few long rows are reduced in two passes: parts into a temporary, then the parts. No
//   workgroup memory and no barrier: on lavapipe a barrier turns the shader into a coroutine, which
//   cost more than the loads (a batch-of-12 gradient sum into 8192 outputs: 27 ms with a workgroup
//   tree per output, 1.5 ms serial). argmax keeps a workgroup per output row: WG invocations (override,
//   a power of two; the host picks 64 for short rows, 256 for long ones), invocation `lid` scans the
//   elements lid, lid + WG, … in order, then a tree in workgroup memory (log2(WG) barriers) combines
//   them.
// Shapes: the input is split into kept dimensions (`keep_rank` dims `keep_shape` with input strides
//   `keep_strides`; their row-major product is `n_out`, the output size) and reduced dimensions
//   (`red_rank` dims `red_shape` with strides `red_strides`; their product is `len`). Output row `row`
//   reads x[strided_offset(row, keep…) + strided_offset(j, red…)] for j in [0, len). The host merges
//   adjacent dimensions of the same kind and drops size-1 ones, so both ranks are usually 1.
//   argmax reports j, the row-major index over the reduced dimensions (one axis, or the flattened
//   tensor).
// Guards: reduce's invocations ≥ n_out · parts return; the host makes every part non-empty when
//   len > 0, and each part starts from its first element, so the identity never reaches a result
//   (max of all -inf is -inf). With len = 0 the identity is the result: sum 0, and mean 0 · scale
//   where the host passes scale = NaN. argmax: workgroups with row >= n_out return (the whole
//   workgroup, so barriers stay uniform); invocations with lid >= len contribute nothing, and the
//   tree never combines a slot >= len.
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
  parts: u32,
  part_len: u32,
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

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * 64u + lid;
  if (i >= rp.n_out * rp.parts) { return; }
  let base = strided_offset(i / rp.parts, rp.keep_rank, rp.keep_shape, rp.keep_strides);
  let start = (i % rp.parts) * rp.part_len;
  let end = min(rp.len, start + rp.part_len);
  var acc = reduce_identity();
  if (start < end) {
    acc = x[base + strided_offset(start, rp.red_rank, rp.red_shape, rp.red_strides)];
  }
  for (var j = start + 1u; j < end; j++) {
    acc = reduce_op(acc, x[base + strided_offset(j, rp.red_rank, rp.red_shape, rp.red_strides)]);
  }
  out[i] = acc * rp.scale;
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
