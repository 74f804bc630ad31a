// dropout.wgsl — inverted dropout with a counter-based hash, so the mask is never stored: backward
// recomputes it from the same seed.
//
// out[i] = x[i] / (1 − p) where hash(seed, i) ≥ p·2³², else 0.
// Bindings: 0 Params (uniform); `x` read-only; `out` read-write.
// Workgroup: WG invocations (override, default 256), one element each; 1-D grid folded by the host.
// Guard: i >= n returns.

override WG: u32 = 256u;

struct DropoutParams {
  n: u32,
  seed: u32,
  threshold: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: DropoutParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// A 32-bit integer hash (the "lowbias32" mixer): cheap, and good enough to decorrelate neighbours.
fn mix32(key: u32) -> u32 {
  var h = key;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

@compute @workgroup_size(WG)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= p.n) { return; }
  let keep = mix32(i ^ mix32(p.seed)) >= p.threshold;
  out[i] = select(0.0, x[i] * p.scale, keep);
}
