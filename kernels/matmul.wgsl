// matmul.wgsl — batched matrix products C = act(op(A)·op(B) + bias), op = transpose or not.
//
// Shapes: A is (…, M, K) — stored (…, K, M) when transposed —, B is (…, K, N) — stored (…, N, K) when
//   transposed (TRANS_B) —, bias is (N), C and `pre` are (…, M, N), contiguous. Batch dimensions (…)
//   broadcast as in NumPy: the host passes the output batch shape and, per operand, the stride of each
//   batch dimension (0 where it is broadcast). `batch` is the number of output matrices.
// Bindings: 0 Params (uniform); `a`/`a4`, `b`/`b4`, `bias` read-only; `c` read-write, and `pre` (the
//   pre-activation A·B + bias, which autograd keeps for GELU's backward) in matmul_tile_pre. Without
//   BIAS the host binds any read-only tensor as `bias`; it is not read. matmul_pack reads `src` and
//   writes `panel` (PackParams).
// Kernels:
//   matmul_pack — copies an operand into a k-major panel of 4-row vec4 groups (see below); 64
//     invocations per workgroup, one per panel vec4, 1-D grid folded by the host. matmul_pack_rows4
//     does the same for an operand stored (R, K) with K % 4 == 0, one invocation per 4 × 4 block.
//   matmul_tile(_pre) — both operands as panels (vec4 units: a_base/b_base, batch strides); WGX × WGY
//     invocations, each accumulating TM rows × 4·TN4 columns in registers, so a workgroup covers
//     (WGY·TM) × (WGX·4·TN4) of C; one workgroup per tile and batch index, 1-D grid folded.
//   matvec, matvec_vec4, matvec_dot4 (M = 1) — MV_WG invocations: KS slices of K × (MV_WG / KS)
//     column groups of 4·TN4 columns; each sums its slice of K, then the slices are added through
//     workgroup memory (one barrier, after the loop). They read the operands in place (f32 units):
//     matvec_vec4 reads B as vec4 along N (!TRANS_B, N % 4 == 0), matvec_dot4 reads A and B as vec4
//     along K (TRANS_B, K % 4 == 0), matvec reads one float at a time.
// Guards: matmul_pack(_rows4) skip invocations ≥ count and write 0 for padding rows. Elsewhere loads clamp
//   their row / column (group) index into the operand, so every read stays inside the operands'
//   logical extent whatever the tile overhang; stores skip rows ≥ M, columns ≥ N and the spare
//   workgroups of a folded grid. The K loop runs exactly K times (K = 0 gives act(bias)). The host
//   never dispatches with M = 0, N = 0 or an empty batch.
// Tuning on lavapipe: loads, not arithmetic, set the speed there; measurements at the end of the file.

// Tile kernels: rows (a multiple of 4) and groups of 4 columns per invocation; workgroup shape.
override TM: u32 = 8u;
override TN4: u32 = 2u;
override WGX: u32 = 8u;
override WGY: u32 = 8u;
// matmul_pack: the operand is stored (…, K, R) rather than (…, R, K).
override TRANSPOSED: bool = false;
// Matrix-vector kernels: B is stored (…, N, K).
override TRANS_B: bool = false;
// Epilogue: add `bias` per column; activation 0 none, 1 GELU (tanh form, elementwise.wgsl's case 11).
override BIAS: bool = false;
override ACT: u32 = 0u;
// Matrix-vector kernels: invocations per workgroup, and slices of K among them.
override MV_WG: u32 = 64u;
override KS: u32 = 8u;

// Register budget: TM · TN4 ≤ MAX_ACC vec4 accumulators, TN4 ≤ MAX_TN4 (TILE and MATVEC in src/ops/matmul.ts).
const MAX_ACC: u32 = 32u;
const MAX_TN4: u32 = 8u;

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  m4: u32,
  n4: u32,
  batch: u32,
  batch_rank: u32,
  tiles_m: u32,
  tiles_n: u32,
  batch_shape: Dims,
  a_batch_strides: Dims,
  b_batch_strides: Dims,
}

@group(0) @binding(0) var<uniform> mp: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;

var<workgroup> partial: array<vec4<f32>, MV_WG * TN4>;

// Where one invocation works: its batch matrix, first row and the base of its columns. `live` is
// false for the spare workgroups of a folded grid (they compute a clamped tile and store nothing).
struct Lane {
  a_base: u32,
  b_base: u32,
  c_base: u32,
  row0: u32,
  col0: u32,
  live: bool,
}

fn lane_of(wl: u32, tiles: u32, row0: u32, col0: u32) -> Lane {
  let bi = min(wl / tiles, mp.batch - 1u);
  let rank = mp.batch_rank;
  let a_off = strided_offset(bi, rank, mp.batch_shape, mp.a_batch_strides);
  let b_off = strided_offset(bi, rank, mp.batch_shape, mp.b_batch_strides);
  return Lane(a_off, b_off, bi * mp.m * mp.n, row0, col0, wl < tiles * mp.batch);
}

fn b_at(l: Lane, kk: u32, col: u32) -> f32 {
  let cc = min(col, mp.n - 1u);
  if (TRANS_B) {
    return b[l.b_base + cc * mp.k + kk];
  }
  return b[l.b_base + kk * mp.n + cc];
}

// Row kk of B at the 4-column group col4 (vec4 layout: !TRANS_B, N % 4 == 0).
fn b4_at(l: Lane, kk: u32, col4: u32) -> vec4<f32> {
  let n4 = mp.n / 4u;
  return b4[l.b_base / 4u + kk * n4 + min(col4, n4 - 1u)];
}

fn gelu_tanh(v: vec4<f32>) -> vec4<f32> {
  let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  return 0.5 * v * (1.0 + tanh(clamp(inner, vec4<f32>(-15.0), vec4<f32>(15.0))));
}

fn with_bias(v: vec4<f32>, cols: vec4<u32>) -> vec4<f32> {
  if (!BIAS) {
    return v;
  }
  let last = mp.n - 1u;
  return v + vec4<f32>(bias[min(cols.x, last)], bias[min(cols.y, last)], bias[min(cols.z, last)], bias[min(cols.w, last)]);
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == 1u) {
    return gelu_tanh(v);
  }
  return v;
}

fn store_c(l: Lane, row: u32, cols: vec4<u32>, v: vec4<f32>) {
  if (!l.live || row >= mp.m) {
    return;
  }
  let at = l.c_base + row * mp.n;
  for (var q = 0u; q < 4u; q++) {
    if (cols[q] < mp.n) {
      c[at + cols[q]] = v[q];
    }
  }
}

fn store_pre(l: Lane, row: u32, cols: vec4<u32>, v: vec4<f32>) {
  if (!l.live || row >= mp.m) {
    return;
  }
  let at = l.c_base + row * mp.n;
  for (var q = 0u; q < 4u; q++) {
    if (cols[q] < mp.n) {
      pre[at + cols[q]] = v[q];
    }
  }
}

// ---- panels and tile kernels ----------------------------------------------------------------------

// A panel holds a matrix X of R rows and K columns (A: R = M; B: R = N, as Bᵀ) k-major in groups of
// four rows: panel[k · R4 + r4] = (X[4·r4, k], …, X[4·r4 + 3, k]), rows ≥ R padded with 0. Both
// operands of the tile kernel are panels, so every load there is one vec4 (lavapipe scalarises each
// load per invocation; one vec4 costs about as much as two floats). B (…, K, N) with N % 4 == 0 and
// A stored transposed (…, K, M) with M % 4 == 0 already are panels and are used in place.
struct PackParams {
  rows: u32,
  k: u32,
  rows4: u32,
  count: u32,
}

@group(0) @binding(0) var<uniform> pp: PackParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> panel: array<vec4<f32>>;

// One invocation per panel vec4, over `count` = matrices · K · R4; X is read as (R, K), or as (K, R)
// when TRANSPOSED.
@compute @workgroup_size(64)
fn matmul_pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * 64u + lid;
  if (i >= pp.count) {
    return;
  }
  let r4 = i % pp.rows4;
  let kk = (i / pp.rows4) % pp.k;
  let base = (i / (pp.rows4 * pp.k)) * pp.rows * pp.k;
  var v = vec4<f32>();
  for (var q = 0u; q < 4u; q++) {
    let row = r4 * 4u + q;
    if (row < pp.rows) {
      if (TRANSPOSED) {
        v[q] = src[base + kk * pp.rows + row];
      } else {
        v[q] = src[base + row * pp.k + kk];
      }
    }
  }
  panel[i] = v;
}

// X (R, K) with K % 4 == 0 (!TRANSPOSED): one invocation per 4 × 4 block, read as four vec4 rows
// and written as four panel vec4 (a transpose in registers), over `count` = matrices · K/4 · R4.
// Four vec4 loads instead of sixteen scalar ones: about twice as fast as matmul_pack on lavapipe.
@compute @workgroup_size(64)
fn matmul_pack_rows4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * 64u + lid;
  if (i >= pp.count) {
    return;
  }
  let k4 = pp.k / 4u;
  let r4 = i % pp.rows4;
  let kq = (i / pp.rows4) % k4;
  let mat = i / (pp.rows4 * k4);
  var x: array<vec4<f32>, 4>;
  for (var q = 0u; q < 4u; q++) {
    let row = r4 * 4u + q;
    if (row < pp.rows) {
      x[q] = src4[(mat * pp.rows + row) * k4 + kq];
    }
  }
  let out = (mat * pp.k + kq * 4u) * pp.rows4 + r4;
  for (var j = 0u; j < 4u; j++) {
    panel[out + j * pp.rows4] = vec4<f32>(x[0][j], x[1][j], x[2][j], x[3][j]);
  }
}

// The workgroup's batch index and tile, and the invocation's first row and column (multiples of 4).
fn tile_lane(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> Lane {
  let wl = workgroup_linear(wid, nwg);
  let tn = wl % mp.tiles_n;
  let tm = (wl / mp.tiles_n) % mp.tiles_m;
  return lane_of(wl, mp.tiles_n * mp.tiles_m, (tm * WGY + lid.y) * TM, (tn * WGX + lid.x) * TN4 * 4u);
}

// Columns of group j: four adjacent columns.
fn vec4_cols(l: Lane, j: u32) -> vec4<u32> {
  let base = l.col0 + j * 4u;
  return vec4<u32>(base, base + 1u, base + 2u, base + 3u);
}

// A·B for the invocation's TM × 4·TN4 block, from the two panels (a_base, b_base in vec4 units).
// Rows and column groups past the panels' padding are clamped to the last group: those results are
// never stored.
fn tile_acc(l: Lane) -> array<vec4<f32>, MAX_ACC> {
  var acc: array<vec4<f32>, MAX_ACC>;
  let m4 = mp.m4;
  let n4 = mp.n4;
  for (var kk = 0u; kk < mp.k; kk++) {
    var bv: array<vec4<f32>, MAX_TN4>;
    for (var j = 0u; j < TN4; j++) {
      bv[j] = b4[l.b_base + kk * n4 + min(l.col0 / 4u + j, n4 - 1u)];
    }
    for (var i4 = 0u; i4 < TM / 4u; i4++) {
      let av = a4[l.a_base + kk * m4 + min(l.row0 / 4u + i4, m4 - 1u)];
      for (var q = 0u; q < 4u; q++) {
        let x = vec4<f32>(av[q]);
        for (var j = 0u; j < TN4; j++) {
          acc[(i4 * 4u + q) * TN4 + j] = fma(x, bv[j], acc[(i4 * 4u + q) * TN4 + j]);
        }
      }
    }
  }
  return acc;
}

@compute @workgroup_size(WGX, WGY)
fn matmul_tile(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
  let l = tile_lane(wid, nwg, lid);
  let acc = tile_acc(l);
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN4; j++) {
      let cols = vec4_cols(l, j);
      store_c(l, l.row0 + i, cols, activate(with_bias(acc[i * TN4 + j], cols)));
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn matmul_tile_pre(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
  let l = tile_lane(wid, nwg, lid);
  let acc = tile_acc(l);
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN4; j++) {
      let cols = vec4_cols(l, j);
      let z = with_bias(acc[i * TN4 + j], cols);
      store_pre(l, l.row0 + i, cols, z);
      store_c(l, l.row0 + i, cols, activate(z));
    }
  }
}

// ---- matrix-vector kernels (M = 1) ----------------------------------------------------------------

// Column groups per workgroup; the invocation's K slice is lid / mv_groups().
fn mv_groups() -> u32 {
  return MV_WG / KS;
}

// The workgroup's batch index and column block; `col0` is the invocation's first column: interleaved
// layout (column = col0 + (4·j + q)·groups), or four adjacent columns per group (adjacent = true).
fn mv_lane(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, adjacent: bool) -> Lane {
  let wl = workgroup_linear(wid, nwg);
  let base = (wl % mp.tiles_n) * mv_groups() * TN4 * 4u;
  let g = lid % mv_groups();
  var col0 = base + g;
  if (adjacent) {
    col0 = base + g * TN4 * 4u;
  }
  return lane_of(wl, mp.tiles_n, 0u, col0);
}

// Interleaved columns of group j for the scalar matvec.
fn mv_scalar_cols(l: Lane, j: u32) -> vec4<u32> {
  let stride = mv_groups();
  let base = l.col0 + j * 4u * stride;
  return vec4<u32>(base, base + stride, base + 2u * stride, base + 3u * stride);
}

// Adds the KS slices' partial sums (invocations with the same column group) and returns them for
// slice 0; the other slices' results are unused.
fn mv_reduce(lid: u32, acc: array<vec4<f32>, MAX_TN4>) -> array<vec4<f32>, MAX_TN4> {
  for (var j = 0u; j < TN4; j++) {
    partial[lid * TN4 + j] = acc[j];
  }
  workgroupBarrier();
  var total: array<vec4<f32>, MAX_TN4>;
  let g = lid % mv_groups();
  for (var s = 0u; s < KS; s++) {
    for (var j = 0u; j < TN4; j++) {
      total[j] += partial[(s * mv_groups() + g) * TN4 + j];
    }
  }
  return total;
}

@compute @workgroup_size(MV_WG)
fn matvec(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let l = mv_lane(wid, nwg, lid, false);
  var acc: array<vec4<f32>, MAX_TN4>;
  for (var kk = lid / mv_groups(); kk < mp.k; kk += KS) {
    let x = a[l.a_base + kk];
    for (var j = 0u; j < TN4; j++) {
      let cols = mv_scalar_cols(l, j);
      acc[j] = fma(vec4<f32>(x), vec4<f32>(b_at(l, kk, cols.x), b_at(l, kk, cols.y), b_at(l, kk, cols.z), b_at(l, kk, cols.w)), acc[j]);
    }
  }
  let total = mv_reduce(lid, acc);
  if (lid < mv_groups()) {
    for (var j = 0u; j < TN4; j++) {
      let cols = mv_scalar_cols(l, j);
      store_c(l, 0u, cols, activate(with_bias(total[j], cols)));
    }
  }
}

@compute @workgroup_size(MV_WG)
fn matvec_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let l = mv_lane(wid, nwg, lid, true);
  var acc: array<vec4<f32>, MAX_TN4>;
  for (var kk = lid / mv_groups(); kk < mp.k; kk += KS) {
    let x = vec4<f32>(a[l.a_base + kk]);
    for (var j = 0u; j < TN4; j++) {
      acc[j] = fma(x, b4_at(l, kk, l.col0 / 4u + j), acc[j]);
    }
  }
  let total = mv_reduce(lid, acc);
  if (lid < mv_groups()) {
    for (var j = 0u; j < TN4; j++) {
      let cols = vec4_cols(l, j);
      store_c(l, 0u, cols, activate(with_bias(total[j], cols)));
    }
  }
}

// B stored (N, K): each output is a dot product of two rows read as vec4 along K (K % 4 == 0).
@compute @workgroup_size(MV_WG)
fn matvec_dot4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let l = mv_lane(wid, nwg, lid, false);
  let k4 = mp.k / 4u;
  // One vec4 of partial products per column: 4·TN4 columns.
  var acc: array<vec4<f32>, MAX_ACC>;
  for (var kq = lid / mv_groups(); kq < k4; kq += KS) {
    let x = a4[l.a_base / 4u + kq];
    for (var j = 0u; j < TN4; j++) {
      let cols = min(mv_scalar_cols(l, j), vec4<u32>(mp.n - 1u));
      for (var q = 0u; q < 4u; q++) {
        acc[j * 4u + q] = fma(x, b4[(l.b_base + cols[q] * mp.k) / 4u + kq], acc[j * 4u + q]);
      }
    }
  }
  var sums: array<vec4<f32>, MAX_TN4>;
  let ones = vec4<f32>(1.0);
  for (var j = 0u; j < TN4; j++) {
    sums[j] = vec4<f32>(dot(acc[j * 4u], ones), dot(acc[j * 4u + 1u], ones), dot(acc[j * 4u + 2u], ones), dot(acc[j * 4u + 3u], ones));
  }
  let total = mv_reduce(lid, sums);
  if (lid < mv_groups()) {
    for (var j = 0u; j < TN4; j++) {
      let cols = mv_scalar_cols(l, j);
      store_c(l, 0u, cols, activate(with_bias(total[j], cols)));
    }
  }
}

// ---- tuning notes ----------------------------------------------------------------------------------
// Measured at 1024³ on lavapipe (Mesa 25.0, Zen 4, 2 cores shared with other jobs), in GFLOP/s from
// process CPU time over 2 cores, variants interleaved in one process; ±15% noise.
// Why loads decide: lavapipe runs 8 invocations per SIMD vector but scalarises every storage load
//   per invocation, with a bounds check and a branch (~1.5 ns per f32, ~2.8 ns per vec4, one core),
//   while a vec4 mul+add costs ~0.35 ns. 8×8 with the loads only: ~12; with the FMAs only: ~47.
// Outputs per invocation (A one float per row, B vec4, workgroup 8×8): 4×4 ~7, 4×8 ~10.5 (the
//   DESIGN.md baseline), 8×4 ~10, 8×8 ~12.5; 8×12, 8×16, 12×8, 16×8, 16×16 no better (register
//   spills; compiles of 3–10 s).
// Workgroup 8×8, 16×4, 4×16, 16×16, 32×2, 64×1: within noise.
// K unrolled by 4 with A read as vec4 along K: 8.6 against 12.7 (a loop body with more loads pays
//   more per load).
// Workgroup-shared tiles: with a barrier in the K loop 4–6; after any barrier lavapipe resumes the
//   shader as a coroutine and loads cost 3–4× more; K-chunked straight-line kernels reading A from
//   workgroup memory at constant addresses (one scalar load per 8 invocations) 6–9, 7–40 s compiles.
// Both operands as k-major vec4 panels (A packed by matmul_pack): 8×8 ~13–15, +12–17% over reading
//   A one float at a time. Kept: TM = 8, TN4 = 2, workgroup 8×8. TF.js's WebGPU backend in the same
//   interleaved runs: 3.3–4.1 (this kernel ×3.6–3.8).
// Matrix-vector: TN4 = 2, KS = 8 (TN4 1–4, KS 4–16 within noise).
