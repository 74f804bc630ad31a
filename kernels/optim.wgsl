// optim.wgsl — fused optimizer updates, one dispatch per parameter tensor.
//
// adamw_step (AdamW as in PyTorch's torch.optim.AdamW, decoupled weight decay):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//   p ← p − lr · (m / bc1) / (√(v / bc2) + ε),   bc1 = 1 − β1^t, bc2 = 1 − β2^t (host computes them).
// sgd_step (SGD with momentum, PyTorch's form, dampening 0):
//   g ← g + wd·p;  buf ← μ·buf + g (buf = g at the first step);  p ← p − lr·buf.
// Bindings: 0 Params (uniform); `grad` read-only; `param`, `m`, `v` (or `param`, `momentum`) read-write.
// Workgroup: WG invocations (override, default 256), one element each; 1-D grid folded by the host.
// Guard: i >= n returns.

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

@group(0) @binding(0) var<uniform> ap: AdamWParams;
@group(0) @binding(0) var<uniform> sp: SgdParams;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> momentum: array<f32>;

@compute @workgroup_size(WG)
fn adamw_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * WG + lid;
  if (i >= ap.n) { return; }
  let g = grad[i];
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
  let g = grad[i] + sp.weight_decay * param[i];
  var buf = g;
  if (sp.momentum_factor != 0.0) {
    if (sp.first_step == 0u) { buf = sp.momentum_factor * momentum[i] + g; }
    momentum[i] = buf;
  }
  param[i] = param[i] - sp.lr * buf;
}
