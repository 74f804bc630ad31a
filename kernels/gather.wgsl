// gather.wgsl — row gather (embedding lookup): out[i, :] = table[indices[i] − first, :], and its
// backward, the scatter-add d_table[v, :] = Σ_{i : indices[i] − first = v} d_rows[i, :]. `first` is 0
// for a whole table; a table split into row shards (a vocabulary larger than one binding) gathers
// from each shard with its first row, and the shards' results add up.
//
// Bindings: 0 Params (uniform); `table` (V rows of `row` words) and `indices` (n_rows i32) read-only;
//   `rows` read-write (n_rows × row words).
// Elements move as raw 32-bit words, so any 4-byte dtype works.
// Workgroup: WG invocations (override, default 256), one output word each; 1-D grid folded by the host.
// Guards: i >= n returns; an index outside [first, first + V) writes zeros instead of reading out of
//   bounds (the host cannot check indices that live on the GPU without a readback), and gets no
//   gradient.
// scatter_add_rows: one invocation per d_table element (n = V × row); each loops over all n_rows
//   indices. WGSL has no float atomics; this deterministic form costs V·row·n_rows reads of `indices`,
//   fine for character vocabularies, and the reason a sort-based version would be needed for 50k.

override WG: u32 = 256u;

struct GatherParams {
  n: u32,
  row: u32,
  vocab: u32,
  first: i32,
}

struct ScatterParams {
  n: u32,
  row: u32,
  n_rows: u32,
  first: i32,
}

@group(0) @binding(0) var<uniform> p: GatherParams;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> rows: array<u32>;
@group(0) @binding(0) var<uniform> sp: ScatterParams;
@group(0) @binding(1) var<storage, read> d_rows: array<f32>;
@group(0) @binding(3) var<storage, read_write> d_table: array<f32>;

@compute @workgroup_size(WG)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= p.n) { return; }
  let r = i / p.row;
  let col = i % p.row;
  let index = indices[r] - p.first;
  if (index < 0 || u32(index) >= p.vocab) {
    rows[i] = 0u;
    return;
  }
  rows[i] = table[u32(index) * p.row + col];
}

@compute @workgroup_size(WG)
fn scatter_add_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= sp.n) { return; }
  let v = i32(i / sp.row);
  let col = i % sp.row;
  var acc = 0.0;
  for (var r = 0u; r < sp.n_rows; r++) {
    if (indices[r] - sp.first == v) { acc += d_rows[r * sp.row + col]; }
  }
  d_table[i] = acc;
}
