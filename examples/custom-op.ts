/**
 * A custom op with its own WGSL kernels: the SiLU gate of SwiGLU feed-forward layers,
 * `siluGate(a, b) = silu(a) · b = a · sigmoid(a) · b`, fused into one dispatch forward and one backward
 * (composed from wgrad's ops it takes three dispatches and two temporaries forward, and more backward).
 *
 * The pattern every custom op follows:
 *  1. register the WGSL on each device that runs the op (`device.registerKernel`): the registry reflects
 *     it with wgsl_reflect and checks every launch's bindings and Params against it;
 *  2. validate the inputs with wgrad's typed errors before allocating or dispatching anything;
 *  3. allocate the output with `Tensor.empty`, dispatch with `launch`, and `record` the result so that
 *     autograd sees it;
 *  4. `registerGradient` under the same op name (here another kernel; a composition of ops works too);
 *  5. prove the gradient with `gradcheck` against a float64 oracle.
 *
 * Run: npx tsx examples/custom-op.ts
 */
import { pathToFileURL } from 'node:url';
import { DTypeError, DisposedError, ShapeError, Tensor, WgradError, gradcheck, init, launch, record, registerGradient, type Device, type reference } from 'wgrad';

type NDArray = reference.NDArray;

const OP = 'siluGate';

/** The kernels. wgrad prepends its common.wgsl (for `workgroup_linear`) to every registered file. */
export const SILU_GATE_WGSL = /* wgsl */ `
// silu_gate.wgsl — out = silu(a) · b elementwise, and its backward (da, db from dy).
//
// Bindings: 0 Params { n } (uniform). silu_gate: 1 a, 2 b (read), 3 out (read_write).
//   silu_gate_backward: 1 a, 2 b, 3 dy (read), 4 da, 5 db (read_write).
// Workgroup: 256 invocations, one element each; the host folds more than 65,535 workgroups into a 2-D or
//   3-D grid, which workgroup_linear flattens again.
// Shapes: a, b, out, dy, da, db all hold n elements (one shape, no broadcasting).
// Guard: an invocation whose element index is >= n returns before touching memory.

struct SiluGateParams { n: u32 }

@group(0) @binding(0) var<uniform> sg: SiluGateParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;

// 1 / (1 + e^-v) underflows to 0 for very negative v instead of producing NaN.
fn sigmoid_of(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

@compute @workgroup_size(256)
fn silu_gate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * 256u + lid;
  if (i >= sg.n) { return; }
  let x = a[i];
  out[i] = x * sigmoid_of(x) * b[i];
}

// d silu(x) / dx = s · (1 + x · (1 − s)) with s = sigmoid(x).
@compute @workgroup_size(256)
fn silu_gate_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_linear(wid, nwg) * 256u + lid;
  if (i >= sg.n) { return; }
  let x = a[i];
  let s = sigmoid_of(x);
  let g = dy[i];
  da[i] = g * b[i] * s * (1.0 + x * (1.0 - s));
  db[i] = g * x * s;
}
`;

/** Devices that already have the kernels: each device has its own registry. */
const registered = new WeakSet<Device>();

function ensureKernels(device: Device): void {
  if (registered.has(device)) return;
  device.registerKernel('silu_gate.wgsl', SILU_GATE_WGSL);
  registered.add(device);
}

function expectFloatTensor(name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw new WgradError(OP, `argument '${name}' is not a Tensor`, 'create tensors with tensor(), randn(), …');
  if (value.isDisposed) throw new DisposedError(OP, `argument '${name}' (tensor #${value.id}) was disposed`, 'keep it alive until the op has run');
  if (value.dtype !== 'float32') throw new DTypeError(OP, `argument '${name}' has dtype ${value.dtype}; expected float32`, 'pass a float32 tensor');
  return value;
}

/** silu(a) · b elementwise; a and b must have the same shape. Differentiable in both. */
export function siluGate(a: Tensor, b: Tensor): Tensor {
  expectFloatTensor('a', a);
  expectFloatTensor('b', b);
  a.assertSameDevice(OP, b, "argument 'b'");
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new ShapeError(OP, `a [${a.shape.join(', ')}] and b [${b.shape.join(', ')}] differ in shape`, 'the gate and the value must have the same shape (no broadcasting)');
  }
  ensureKernels(a.device);
  const out = Tensor.empty(a.device, a.shape, 'float32', OP);
  launch(OP, 'silu_gate', { bindings: { a, b, out }, uniforms: { n: a.size }, threads: a.size });
  return record(OP, [a, b], out);
}

registerGradient(OP, {
  // Both inputs are needed: da uses b and a, db uses a.
  save: ({ inputs }) => [...inputs],
  backward: ({ saved }, dy) => {
    const [a, b] = saved as [Tensor, Tensor];
    const da = Tensor.empty(a.device, a.shape, 'float32', `${OP} backward`);
    const db = Tensor.empty(a.device, a.shape, 'float32', `${OP} backward`);
    launch(`${OP} backward`, 'silu_gate_backward', { bindings: { a, b, dy, da, db }, uniforms: { n: a.size }, threads: a.size });
    return [da, db];
  },
});

/** The float64 oracle of the forward pass. */
export function siluGateReference(a: NDArray, b: NDArray): NDArray {
  return { shape: [...a.shape], data: a.data.map((x, i) => (x / (1 + Math.exp(-x))) * b.data[i]!) };
}

/** The oracle's vector-Jacobian product (da, db given dy), which gradcheck also checks by finite differences. */
export function siluGateReferenceBackward([a, b]: NDArray[], dy: NDArray): NDArray[] {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const da = a!.data.map((x, i) => dy.data[i]! * b!.data[i]! * sig(x) * (1 + x * (1 - sig(x))));
  const db = a!.data.map((x, i) => dy.data[i]! * x * sig(x));
  return [{ shape: [...a!.shape], data: da }, { shape: [...a!.shape], data: db }];
}

/** Deterministic test values in [-4, 4): wide enough to reach both tails of the sigmoid. */
export function sampleInput(shape: number[], seed: number): NDArray {
  let state = seed >>> 0;
  const size = shape.reduce((p, d) => p * d, 1);
  const data = Float64Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 8 - 4;
  });
  return { shape, data };
}

async function main(): Promise<void> {
  const gpu = await init();
  try {
    // 3 × 37: not a multiple of the workgroup size, so the guard is exercised.
    const report = await gradcheck({
      name: OP,
      forward: (a, b) => siluGate(a!, b!),
      reference: (a, b) => siluGateReference(a!, b!),
      referenceBackward: siluGateReferenceBackward,
      inputs: [sampleInput([3, 37], 1), sampleInput([3, 37], 2)],
    });
    console.log(`gradcheck ${OP}: oracle error ${report.referenceError.toExponential(2)}, GPU error ${report.gpuError.toExponential(2)}`);
  } finally {
    gpu.destroy(); // Node exits once the device is gone
  }
}

// Run as a script; imported (by the tests), it only defines the op.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
