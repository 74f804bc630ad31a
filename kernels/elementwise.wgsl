// elementwise.wgsl — unary, binary and comparison ops, with NumPy broadcasting, and `where`.
//
// Bindings: 0 Params (uniform); inputs `x` or `a`, `b` (and `cond`) read-only; `out` read-write.
// Workgroup: WG invocations (override, default 256), one output element each, over a 1-D grid the
//   host folds into 2-D/3-D beyond 65,535 workgroups.
// Shapes: `n` output elements of rank `rank`, shape `shape`. Broadcast inputs carry stride 0 along
//   the dimensions they repeat, so one kernel serves every broadcast pattern; SAME_SHAPE skips the
//   index arithmetic when every input already has the output's shape.
// Guard: invocations with i >= n return before touching memory.
// Op codes (override OP) are listed in src/ops/elementwise.ts next to their names.

override WG: u32 = 256u;
override OP: u32 = 0u;
override SAME_SHAPE: bool = false;
override SCALAR_LEFT: bool = false;

fn unary_op(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return abs(v); }
    case 2u: { return exp(v); }
    case 3u: { return log(v); }
    case 4u: { return sqrt(v); }
    case 5u: { return inverseSqrt(v); }
    case 6u: { return sin(v); }
    case 7u: { return cos(v); }
    case 8u: { return tanh(clamp(v, -15.0, 15.0)); }
    case 9u: { return 1.0 / (1.0 + exp(-v)); }
    case 10u: { return max(v, 0.0); }
    case 11u: {
      // GELU, tanh form as in GPT-2: 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))).
      let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
      return 0.5 * v * (1.0 + tanh(clamp(inner, -15.0, 15.0)));
    }
    case 12u: { return v * v; }
    case 13u: { return 1.0 / v; }
    case 14u: { return sign(v); }
    case 15u: {
      // d/dv of the tanh-form GELU above (its backward).
      let k = 0.7978845608028654;
      let t = tanh(clamp(k * (v + 0.044715 * v * v * v), -15.0, 15.0));
      return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * v * v);
    }
    default: { return v; }
  }
}

// pow with the sign rules of Math.pow for integer exponents (WGSL's pow is undefined for x < 0).
fn signed_pow(base: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (base >= 0.0) { return pow(base, e); }
  if (floor(e) != e) {
    var nan_bits = 0x7fc00000u; // a var, so constant folding cannot reject the NaN
    return bitcast<f32>(nan_bits);
  }
  let r = pow(-base, e);
  if ((abs(e) % 2.0) == 1.0) { return -r; }
  return r;
}

fn binary_op(l: f32, r: f32) -> f32 {
  switch OP {
    case 0u: { return l + r; }
    case 1u: { return l - r; }
    case 2u: { return l * r; }
    case 3u: { return l / r; }
    case 4u: { return signed_pow(l, r); }
    case 5u: { return max(l, r); }
    case 6u: { return min(l, r); }
    default: { return l; }
  }
}

fn compare_op(l: f32, r: f32) -> bool {
  switch OP {
    case 0u: { return l == r; }
    case 1u: { return l != r; }
    case 2u: { return l < r; }
    case 3u: { return l <= r; }
    case 4u: { return l > r; }
    default: { return l >= r; }
  }
}

struct UnaryParams {
  n: u32,
}

struct BroadcastParams {
  n: u32,
  rank: u32,
  shape: Dims,
  a_strides: Dims,
  b_strides: Dims,
}

struct ScalarParams {
  n: u32,
  scalar: f32,
}

struct WhereParams {
  n: u32,
  rank: u32,
  shape: Dims,
  cond_strides: Dims,
  a_strides: Dims,
  b_strides: Dims,
}

@group(0) @binding(0) var<uniform> up: UnaryParams;
@group(0) @binding(0) var<uniform> bp: BroadcastParams;
@group(0) @binding(0) var<uniform> sp: ScalarParams;
@group(0) @binding(0) var<uniform> wp: WhereParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> cond: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> if_true: array<f32>;
@group(0) @binding(3) var<storage, read> if_false: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> chosen: array<f32>;

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= up.n) { return; }
  out[i] = unary_op(x[i]);
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= bp.n) { return; }
  if (SAME_SHAPE) {
    c[i] = binary_op(a[i], b[i]);
  } else {
    c[i] = binary_op(a[strided_offset(i, bp.rank, bp.shape, bp.a_strides)],
                           b[strided_offset(i, bp.rank, bp.shape, bp.b_strides)]);
  }
}

@compute @workgroup_size(WG)
fn binary_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= sp.n) { return; }
  if (SCALAR_LEFT) {
    out[i] = binary_op(sp.scalar, x[i]);
  } else {
    out[i] = binary_op(x[i], sp.scalar);
  }
}

@compute @workgroup_size(WG)
fn compare(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= bp.n) { return; }
  let av = a[strided_offset(i, bp.rank, bp.shape, bp.a_strides)];
  let bv = b[strided_offset(i, bp.rank, bp.shape, bp.b_strides)];
  mask[i] = select(0u, 1u, compare_op(av, bv));
}

@compute @workgroup_size(WG)
fn where_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= wp.n) { return; }
  let c = cond[strided_offset(i, wp.rank, wp.shape, wp.cond_strides)];
  let av = if_true[strided_offset(i, wp.rank, wp.shape, wp.a_strides)];
  let bv = if_false[strided_offset(i, wp.rank, wp.shape, wp.b_strides)];
  chosen[i] = select(bv, av, c != 0u);
}
