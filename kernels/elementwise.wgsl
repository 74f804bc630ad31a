// elementwise.wgsl — unary, binary and comparison ops, with NumPy broadcasting, and `where`.
//
// Bindings: 0 Params (uniform); inputs `x` or `a`, `b` (`cond`, `if_true`, `if_false` for where) read-only;
//   the output `out`, `c`, `mask` or `chosen` read-write. The *_vec4 entry points bind the same tensors as
//   arrays of vec4 under the same names with a `4` suffix (`x4`, `out4`, …).
// Workgroup: WG invocations (override, default 256) over a 1-D grid the host folds into 2-D/3-D beyond
//   65,535 workgroups. Each invocation handles ITEMS outputs (override): elements in the scalar entry
//   points, vec4s of four consecutive elements in the *_vec4 ones, WG apart (first + k·WG), so that
//   neighbouring invocations touch neighbouring memory. The host picks a *_vec4 entry point only when
//   n % 4 == 0 (and a row operand's length % 4 == 0), so a vec4 never reaches past the end of a tensor.
// Shapes: `n` output elements of rank `rank`, shape `shape`. How an input is indexed is an override per
//   input (INDEX_A, INDEX_B, INDEX_COND), so each pipeline carries only the arithmetic it needs:
//     FULL (0)    the input has the output's shape: element i;
//     BLOCK (1)   the input repeats one contiguous run of the output's dims (bias rows (C) against (…, C),
//                 columns (R, 1) against (R, C)): element (i / div) % size, with `div` (the product of
//                 the output dims after the run) and `size` (the input's element count) in
//                 Params.block_div / block_size, one component per input;
//     STRIDED (2) any other broadcast: strides with 0 along repeated dims, walked with strided_offset;
//     SPLAT (3)   a one-element input: element 0;
//     CONST (4)   a number operand: Params.constants (one component per input); its binding holds a
//                 stand-in tensor that is never used.
//   The vec4 entry points take FULL, SPLAT, CONST and BLOCK inputs with div == 1 (rows) and size % 4 == 0.
// Guard: an invocation returns at its first output index >= n (vec4: >= n / 4), before touching memory.
//   SPLAT and CONST inputs are read at index 0 (as a vec4 in the *_vec4 entry points) and at most the
//   first component is used (pooled buffers hold at least 256 bytes, so the load stays inside them).
// Op codes (override OP) are listed in src/ops/elementwise.ts next to their names.

override WG: u32 = 256u;
override ITEMS: u32 = 4u;
override OP: u32 = 0u;
override SCALAR_LEFT: bool = false;
override INDEX_A: u32 = 0u;
override INDEX_B: u32 = 0u;
override INDEX_COND: u32 = 0u;

const FULL = 0u;
const BLOCK = 1u;
const SPLAT = 3u;
const CONST = 4u;

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

// The vec4 forms apply the scalar op per component: the same arithmetic (GPUs and lavapipe compute
// vectors one component at a time anyway); what vec4 saves is loads, stores and index math.
fn unary_op4(v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(unary_op(v.x), unary_op(v.y), unary_op(v.z), unary_op(v.w));
}

fn binary_op4(l: vec4<f32>, r: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(binary_op(l.x, r.x), binary_op(l.y, r.y), binary_op(l.z, r.z), binary_op(l.w, r.w));
}

fn compare_op4(l: vec4<f32>, r: vec4<f32>) -> vec4<u32> {
  return select(vec4<u32>(0u), vec4<u32>(1u),
                vec4<bool>(compare_op(l.x, r.x), compare_op(l.y, r.y), compare_op(l.z, r.z), compare_op(l.w, r.w)));
}

// Offset of output element `i` in an input indexed as `how` (see the header).
fn input_offset(i: u32, how: u32, div: u32, size: u32, rank: u32, shape: Dims, strides: Dims) -> u32 {
  if (how == FULL) { return i; }
  if (how == BLOCK) { return (i / div) % size; }
  if (how == SPLAT || how == CONST) { return 0u; }
  return strided_offset(i, rank, shape, strides);
}

// An input's value: as read from its binding, or the Params constant of a CONST input.
fn input_value(v: f32, how: u32, constant: f32) -> f32 {
  return select(v, constant, how == CONST);
}

// vec4 index of the input's values for output elements 4·j … 4·j+3 (FULL, SPLAT, CONST, or a BLOCK row).
fn input_offset4(j: u32, how: u32, size: u32) -> u32 {
  if (how == FULL) { return j; }
  if (how == SPLAT || how == CONST) { return 0u; }
  return j % (size / 4u);
}

// The four values of a vec4 read: a SPLAT input's one value is its first component; a CONST input's
// comes from Params.
fn spread4(v: vec4<f32>, how: u32, constant: f32) -> vec4<f32> {
  if (how == CONST) { return vec4<f32>(constant); }
  return select(v, vec4<f32>(v.x), how == SPLAT);
}

fn spread4u(v: vec4<u32>, how: u32) -> vec4<u32> {
  return select(v, vec4<u32>(v.x), how == SPLAT);
}

struct UnaryParams {
  n: u32,
}

struct BroadcastParams {
  n: u32,
  rank: u32,
  constants: vec4<f32>,
  block_div: vec4<u32>,
  block_size: vec4<u32>,
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
  constants: vec4<f32>,
  block_div: vec4<u32>,
  block_size: vec4<u32>,
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
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> cond4: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> if_true4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> if_false4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> mask4: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> chosen4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let i = first + k * WG;
    if (i >= up.n) { return; }
    out[i] = unary_op(x[i]);
  }
}

@compute @workgroup_size(WG)
fn unary_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let j = first + k * WG;
    if (j >= up.n / 4u) { return; }
    out4[j] = unary_op4(x4[j]);
  }
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let i = first + k * WG;
    if (i >= bp.n) { return; }
    let ai = input_offset(i, INDEX_A, bp.block_div.x, bp.block_size.x, bp.rank, bp.shape, bp.a_strides);
    let bi = input_offset(i, INDEX_B, bp.block_div.y, bp.block_size.y, bp.rank, bp.shape, bp.b_strides);
    let av = input_value(a[ai], INDEX_A, bp.constants.x);
    let bv = input_value(b[bi], INDEX_B, bp.constants.y);
    c[i] = binary_op(av, bv);
  }
}

@compute @workgroup_size(WG)
fn binary_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let j = first + k * WG;
    if (j >= bp.n / 4u) { return; }
    let av = spread4(a4[input_offset4(j, INDEX_A, bp.block_size.x)], INDEX_A, bp.constants.x);
    let bv = spread4(b4[input_offset4(j, INDEX_B, bp.block_size.y)], INDEX_B, bp.constants.y);
    c4[j] = binary_op4(av, bv);
  }
}

@compute @workgroup_size(WG)
fn binary_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let i = first + k * WG;
    if (i >= sp.n) { return; }
    if (SCALAR_LEFT) {
      out[i] = binary_op(sp.scalar, x[i]);
    } else {
      out[i] = binary_op(x[i], sp.scalar);
    }
  }
}

@compute @workgroup_size(WG)
fn binary_scalar_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  let s = vec4<f32>(sp.scalar);
  for (var k = 0u; k < ITEMS; k++) {
    let j = first + k * WG;
    if (j >= sp.n / 4u) { return; }
    if (SCALAR_LEFT) {
      out4[j] = binary_op4(s, x4[j]);
    } else {
      out4[j] = binary_op4(x4[j], s);
    }
  }
}

@compute @workgroup_size(WG)
fn compare(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let i = first + k * WG;
    if (i >= bp.n) { return; }
    let ai = input_offset(i, INDEX_A, bp.block_div.x, bp.block_size.x, bp.rank, bp.shape, bp.a_strides);
    let bi = input_offset(i, INDEX_B, bp.block_div.y, bp.block_size.y, bp.rank, bp.shape, bp.b_strides);
    let av = input_value(a[ai], INDEX_A, bp.constants.x);
    let bv = input_value(b[bi], INDEX_B, bp.constants.y);
    mask[i] = select(0u, 1u, compare_op(av, bv));
  }
}

@compute @workgroup_size(WG)
fn compare_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let j = first + k * WG;
    if (j >= bp.n / 4u) { return; }
    let av = spread4(a4[input_offset4(j, INDEX_A, bp.block_size.x)], INDEX_A, bp.constants.x);
    let bv = spread4(b4[input_offset4(j, INDEX_B, bp.block_size.y)], INDEX_B, bp.constants.y);
    mask4[j] = compare_op4(av, bv);
  }
}

@compute @workgroup_size(WG)
fn where_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let i = first + k * WG;
    if (i >= wp.n) { return; }
    let ci = input_offset(i, INDEX_COND, wp.block_div.x, wp.block_size.x, wp.rank, wp.shape, wp.cond_strides);
    let ai = input_offset(i, INDEX_A, wp.block_div.y, wp.block_size.y, wp.rank, wp.shape, wp.a_strides);
    let bi = input_offset(i, INDEX_B, wp.block_div.z, wp.block_size.z, wp.rank, wp.shape, wp.b_strides);
    let av = input_value(if_true[ai], INDEX_A, wp.constants.y);
    let bv = input_value(if_false[bi], INDEX_B, wp.constants.z);
    chosen[i] = select(bv, av, cond[ci] != 0u);
  }
}

@compute @workgroup_size(WG)
fn where_select_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let first = workgroup_linear(wid, nwg) * WG * ITEMS + lid;
  for (var k = 0u; k < ITEMS; k++) {
    let j = first + k * WG;
    if (j >= wp.n / 4u) { return; }
    let cv = spread4u(cond4[input_offset4(j, INDEX_COND, wp.block_size.x)], INDEX_COND);
    let av = spread4(if_true4[input_offset4(j, INDEX_A, wp.block_size.y)], INDEX_A, wp.constants.y);
    let bv = spread4(if_false4[input_offset4(j, INDEX_B, wp.block_size.z)], INDEX_B, wp.constants.z);
    chosen4[j] = select(bv, av, cv != vec4<u32>(0u));
  }
}
