import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows, testDevice } from './helpers.js';
import { init } from '../src/gpu/acquire.js';
import { foldGrid } from '../src/gpu/device.js';
import { tensor, zeros } from '../src/tensor/create.js';
import { add, neg } from '../src/ops/elementwise.js';
import { launch } from '../src/tensor/launch.js';
import { DeviceError, DeviceLostError, KernelBindingError, LimitError } from '../src/errors.js';

const test = suite('device');
test.before(async () => {
  await testDevice();
});

test('the device gets the adapter\'s real limits, not the spec defaults', async () => {
  const device = await testDevice();
  // Spec defaults: 256 MiB buffers, 128 MiB bindings, 16 KiB workgroup storage.
  assert.ok(device.limits.maxComputeWorkgroupStorageSize >= 16384);
  assert.ok(device.limits.maxBufferSize >= 268435456);
});

test('two init() calls give independent devices; mixing their tensors is a DeviceError', async () => {
  const main = await testDevice();
  const other = await init();
  try {
    const a = tensor([1, 2], [2], { device: main });
    const b = tensor([3, 4], [2], { device: other });
    assert.equal([...(await add(b, b).toArray())], [6, 8]);
    assertThrows(() => add(a, b), DeviceError, 'add', 'different device');
    a.dispose();
  } finally {
    other.destroy();
  }
});

test('a destroyed device turns every later use into DeviceLostError', async () => {
  const doomed = await init();
  const t = tensor([1, 2, 3], [3], { device: doomed });
  doomed.destroy();
  assertThrows(() => neg(t), DeviceLostError, 'neg', 'destroyed');
  assertThrows(() => tensor([1], [1], { device: doomed }), DeviceLostError, 'destroyed');
  try {
    await t.toArray();
    assert.unreachable('toArray on a lost device');
  } catch (err) {
    assert.instance(err, DeviceLostError);
  }
});

test('a tensor larger than one storage binding is a LimitError, and nothing is allocated', async () => {
  const device = await testDevice();
  const before = device.memory();
  const elements = device.pool === undefined ? 0 : Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) / 4) + 1;
  assertThrows(() => zeros([elements]), LimitError, 'full', 'bytes', 'storage buffer');
  assert.equal(device.memory(), before);
});

test('a wrapper whose bindings drift from the WGSL fails with KernelBindingError', async () => {
  const x = zeros([4]);
  const out = zeros([4]);
  assertThrows(() => launch('test', 'unary', { bindings: { input: x, out }, uniforms: { n: 4 }, threads: 4 }), KernelBindingError, "'x' is declared but not passed", "'input' is passed but not declared");
  assertThrows(() => launch('test', 'unary', { bindings: { x, out }, uniforms: { n: 4, m: 1 }, threads: 4 }), KernelBindingError, "uniform field 'm'");
  assertThrows(() => launch('test', 'no_such_kernel', { bindings: { x }, threads: 1 }), KernelBindingError, 'no_such_kernel');
});

test('every kernel in kernels/ reflects cleanly and compiles', async () => {
  const device = await testDevice();
  const { KERNEL_SOURCES } = await import('../src/gpu/kernel-sources.js');
  let entries = 0;
  for (const [file, code] of Object.entries(KERNEL_SOURCES)) {
    for (const m of code.matchAll(/@compute[^;{]*?\bfn\s+(\w+)/g)) {
      const info = device.kernels.info(m[1]!);
      assert.is(info.file, file);
      device.kernels.pipeline(m[1]!);
      entries++;
    }
  }
  assert.ok(entries >= 8);
  await device.sync(); // throws if any pipeline failed to compile
});

test('custom kernels register and dispatch through the same checks', async () => {
  const device = await testDevice();
  device.registerKernel('test_triple.wgsl', `
    struct TripleParams { n: u32 }
    @group(0) @binding(0) var<uniform> tp: TripleParams;
    @group(0) @binding(1) var<storage, read_write> values: array<f32>;
    @compute @workgroup_size(64) fn test_triple(@builtin(global_invocation_id) g: vec3<u32>) {
      if (g.x < tp.n) { values[g.x] = 3.0 * values[g.x]; }
    }`);
  const t = tensor([1, 2, 3]);
  launch('triple', 'test_triple', { bindings: { values: t }, uniforms: { n: 3 }, threads: 3 });
  assert.equal([...(await t.toArray())], [3, 6, 9]);
  assertThrows(() => device.registerKernel('other.wgsl', '@compute @workgroup_size(1) fn test_triple() {}'), KernelBindingError, 'already defined');
});

test('grids fold into 2-D and 3-D within the per-dimension limit', () => {
  for (const n of [1, 65535, 65536, 70000, 65535 * 65535, 65535 * 65535 + 1, 5e9]) {
    const [x, y, z] = foldGrid(n, 65535, 'test');
    assert.ok(x <= 65535 && y <= 65535 && z <= 65535, `${n}: ${x}×${y}×${z}`);
    assert.ok(x * y * z >= n, `${n} covered`);
    assert.ok(x * y * z - n < x * y, `${n}: waste under one z-slice`);
  }
});

test.run();
