// common.wgsl — helpers the registry prepends to every kernel file.
//
// Shapes and strides travel in the Params uniform as array<vec4<u32>, 2>: eight u32 values, enough for
// tensors of rank 8 (the engine's maximum). Large 1-D dispatches are folded by the host into a 2-D or
// 3-D grid of at most 65,535 workgroups per dimension; `workgroup_linear` undoes the folding.

alias Dims = array<vec4<u32>, 2>;

fn dim(v: Dims, d: u32) -> u32 {
  return v[d >> 2u][d & 3u];
}

// Index of this workgroup in the flattened (folded) grid.
fn workgroup_linear(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}

// Offset of the i-th element (row-major over `shape`, rank `rank`) in a tensor with `strides`.
fn strided_offset(i: u32, rank: u32, shape: Dims, strides: Dims) -> u32 {
  var rem = i;
  var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let n = dim(shape, u32(d));
    off += (rem % n) * dim(strides, u32(d));
    rem /= n;
  }
  return off;
}
