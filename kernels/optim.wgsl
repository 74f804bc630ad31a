// optim.wgsl — fused optimizer updates, one dispatch per parameter tensor, and clip-by-global-norm.
//
// adamw_step (AdamW as in PyTorch's torch.optim.AdamW, decoupled weight decay):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//   p ← p − lr · (m / bc1) / (√(v / bc2) + ε),   bc1 = 1 − β1^t, bc2 = 1 − β2^t (host computes them).
// sgd_step (SGD with momentum, PyTorch's form, dampening 0):
//   g ← g + wd·p;  buf ← μ·buf + g (buf = g at the first step);  p ← p − lr·buf.
// Both read the gradient as grad[i] · clip_scale[0]: 1, or the global-norm clip scale that grad_clip_scale
// wrote, so clipping costs no pass over the gradients of its own.
// grad_sumsq: partial sums of squares of one gradient: invocation w sums grad[j]² over its part
//   j ∈ [w·part_len, min(n, (w+1)·part_len)), in order, into partials[offset + w]. The host lays the
//   parts of every gradient side by side in one `partials` buffer. No workgroup memory, no barrier
//   (lavapipe runs barriers as coroutines; see reduce.wgsl).
// grad_clip_scale: one invocation adds all `count` partials in order: norm = √Σ, and
//   scale = min(1, max_norm / (norm + 1e-6)) (PyTorch's clip_grad_norm_ factor).
// Bindings: 0 Params (uniform); `grad` and `clip_scale` read-only; `param`, `m`, `v` (or `param`,
//   `momentum`) read-write; grad_sumsq: `grad` read-only, `partials` read-write; grad_clip_scale:
//   `partials_in` read-only, `scale_out` and `norm` read-write (one element each).
// Workgroup: WG invocations (override, default 256), one element (or part) each; 1-D grid folded by
//   the host; grad_clip_scale a single invocation.
// Guard: i >= n (w >= parts) returns.

override WG: u32 = 256u;

struct AdamWParams {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bias_correction1: f32,
  bias_correction2: f32,
}

struct SgdParams {
  n: u32,
  lr: f32,
  momentum_factor: f32,
  weight_decay: f32,
  first_step: u32,
}

struct SumsqParams {
  n: u32,
  parts: u32,
  part_len: u32,
  offset: u32,
}

struct ClipParams {
  count: u32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> ap: AdamWParams;
@group(0) @binding(0) var<uniform> sp: SgdParams;
@group(0) @binding(0) var<uniform> qp: SumsqParams;
@group(0) @binding(0) var<uniform> cp: ClipParams;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> momentum: array<f32>;
@group(0) @binding(5) var<storage, read> clip_scale: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> partials_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> scale_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> norm: array<f32>;

@compute @workgroup_size(WG)
fn adamw_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= ap.n) { return; }
  let g = grad[i] * clip_scale[0];
  let p = param[i] * (1.0 - ap.lr * ap.weight_decay);
  let m1 = ap.beta1 * m[i] + (1.0 - ap.beta1) * g;
  let v1 = ap.beta2 * v[i] + (1.0 - ap.beta2) * g * g;
  m[i] = m1;
  v[i] = v1;
  param[i] = p - ap.lr * (m1 / ap.bias_correction1) / (sqrt(v1 / ap.bias_correction2) + ap.eps);
}

@compute @workgroup_size(WG)
fn sgd_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= sp.n) { return; }
  let g = grad[i] * clip_scale[0] + sp.weight_decay * param[i];
  var buf = g;
  if (sp.momentum_factor != 0.0) {
    if (sp.first_step == 0u) { buf = sp.momentum_factor * momentum[i] + g; }
    momentum[i] = buf;
  }
  param[i] = param[i] - sp.lr * buf;
}

@compute @workgroup_size(WG)
fn grad_sumsq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let w = workgroup_linear(wid, nwg) * WG + lid;
  if (w >= qp.parts) { return; }
  let start = w * qp.part_len;
  let end = min(qp.n, start + qp.part_len);
  var s = 0.0;
  for (var j = start; j < end; j++) {
    let g = grad[j];
    s += g * g;
  }
  partials[qp.offset + w] = s;
}

@compute @workgroup_size(1)
fn grad_clip_scale(@builtin(workgroup_id) wid: vec3<u32>) {
  var s = 0.0;
  for (var i = 0u; i < cp.count; i++) { s += partials_in[i]; }
  let total = sqrt(s);
  norm[0] = total;
  scale_out[0] = min(1.0, cp.max_norm / (total + 1e-6));
}
