// softmax.wgsl — softmax and log-softmax over one axis, numerically stable (the row max is subtracted).
//
// Bindings: 0 Params (uniform); `x` read-only; `out` read-write, same shape as `x`.
// Workgroup: WG invocations (override, a power of two; the host picks 64 for short rows, 256 for long
//   ones), one workgroup per row over a 1-D grid the host folds into 2-D/3-D beyond 65,535 workgroups.
// Shapes: the input is viewed as [outer, len, inner] around the softmax axis (`len` its size, `inner`
//   the product of the dimensions after it). There are n_rows = outer · inner rows; row r starts at
//   base = (r / inner) · len · inner + r % inner and its k-th element is at base + k · inner.
// Method: one pass computes the row max and the sum of exp(x - max) together ("online" softmax: each
//   invocation keeps a running max m and a sum s rescaled by exp(m_old - m_new) when m grows), a tree
//   in workgroup memory merges the (m, s) pairs (log2(WG) barriers, plus one to broadcast the result),
//   then a second pass writes exp(x - m) / s, or x - m - log(s) when LOG is set.
// Guards: workgroups with row >= n_rows return (the whole workgroup, so barriers stay uniform);
//   invocations with lid >= len hold the identity (lowest finite f32, 0), and the tree never merges a
//   slot >= len. A row of all -inf gives NaN, as in PyTorch.

override WG: u32 = 256u;
override LOG: bool = false;

// The lowest finite f32, -3.4028235e38, in hex: Tint rejects that decimal literal as out of range.
const LOWEST: f32 = -0x1.fffffep+127f;

struct SoftmaxParams {
  n_rows: u32,
  len: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> sp: SoftmaxParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> row_max: array<f32, WG>;
var<workgroup> row_sum: array<f32, WG>;

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_linear(wid, nwg);
  if (row >= sp.n_rows) { return; }
  let len = sp.len;
  let inner = sp.inner;
  let base = (row / inner) * len * inner + row % inner;

  var m = LOWEST;
  var s = 0.0;
  for (var k = lid; k < len; k += WG) {
    let v = x[base + k * inner];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  row_max[lid] = m;
  row_sum[lid] = s;
  for (var half = WG >> 1u; half > 0u; half >>= 1u) {
    workgroupBarrier();
    if (lid < half && lid + half < len) {
      let om = row_max[lid + half];
      let os = row_sum[lid + half];
      let nm = max(m, om);
      s = s * exp(m - nm) + os * exp(om - nm);
      m = nm;
      row_max[lid] = m;
      row_sum[lid] = s;
    }
  }
  workgroupBarrier();
  let mx = row_max[0];
  let total = row_sum[0];

  if (LOG) {
    // A row of all -inf sums to 0. WGSL does not promise log(0) = -inf (SwiftShader returns a finite
    // value, which would give -inf instead of NaN), so such a row is written as NaN explicitly.
    var nan_bits = 0x7fc00000u; // a var, so constant folding cannot reject the NaN
    let row_nan = bitcast<f32>(nan_bits);
    let log_total = log(total);
    for (var k = lid; k < len; k += WG) {
      let at = base + k * inner;
      out[at] = select((x[at] - mx) - log_total, row_nan, total == 0.0);
    }
  } else {
    for (var k = lid; k < len; k += WG) {
      let at = base + k * inner;
      out[at] = exp(x[at] - mx) / total;
    }
  }
}
