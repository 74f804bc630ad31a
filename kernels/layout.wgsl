// layout.wgsl — moving elements without arithmetic: fill, and the strided copy behind transpose,
// permute, slice, concat and contiguous copies of broadcast views.
//
// Elements are moved as raw 32-bit words (array<u32>), so one kernel serves float32, int32 and bool.
// Bindings: 0 Params (uniform); `src` read-only; `dst` read-write (`fill` has only `dst`).
// Workgroup: WG invocations (override, default 256), one element each; 1-D grid folded by the host.
// copy_strided: element i of a logical tensor of shape `shape` (rank `rank`, n elements) is read at
//   src_offset + Σ index_d · src_strides_d and written at dst_offset + Σ index_d · dst_strides_d.
// Guard: i >= n returns.

override WG: u32 = 256u;

struct FillParams {
  n: u32,
  value: u32,
}

struct CopyParams {
  n: u32,
  rank: u32,
  src_offset: u32,
  dst_offset: u32,
  shape: Dims,
  src_strides: Dims,
  dst_strides: Dims,
}

@group(0) @binding(0) var<uniform> fp: FillParams;
@group(0) @binding(0) var<uniform> cp: CopyParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> filled: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= fp.n) { return; }
  filled[i] = fp.value;
}

@compute @workgroup_size(WG)
fn copy_strided(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= cp.n) { return; }
  let read_at = cp.src_offset + strided_offset(i, cp.rank, cp.shape, cp.src_strides);
  let write_at = cp.dst_offset + strided_offset(i, cp.rank, cp.shape, cp.dst_strides);
  dst[write_at] = src[read_at];
}
