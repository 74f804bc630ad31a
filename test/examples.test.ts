/**
 * The examples under examples/ run here, so they cannot rot: each as its own process (as a user runs
 * it, which also proves the process exits once its device is destroyed), and the custom op in this
 * process too, against its float64 oracle, through gradcheck and through its typed errors.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertClose, assertThrows, testDevice } from './helpers.js';
// The runtime's init: unlike the package's, it leaves the default device (the shared test device) alone.
import { init } from '../src/gpu/acquire.js';
import { DTypeError, DeviceError, KernelBindingError, ShapeError, add, gradcheck, launch, mul, sigmoid, sum, tensor } from '../src/index.js';
import { sampleInput, siluGate, siluGateReference, siluGateReferenceBackward } from '../examples/custom-op.js';

const test = suite('examples');
const root = join(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

test.before(async () => {
  await testDevice();
});

/** Runs an example as a user would (tsx resolves `wgrad` to src/ through tsconfig's paths). */
function runExample(file: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [tsx, join('examples', file), ...args], { cwd: root, encoding: 'utf8', timeout: 90_000 });
  if (result.error) throw result.error;
  assert.is(result.signal, null, `${file} did not exit on its own within 90 s`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('every example is run by this file', () => {
  const source = readFileSync(import.meta.filename, 'utf8');
  for (const file of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'))) {
    assert.ok(source.includes(`'${file}'`), `examples/${file} has no test here`);
  }
});

test('node-cli-tool.ts: trains, keeps memory flat, exits 0; a bad option is a typed error and exit code 2', () => {
  const ok = runExample('node-cli-tool.ts', ['--steps', '80', '--json']);
  assert.is(ok.status, 0, ok.stderr);
  const result = JSON.parse(ok.stdout.trim().split('\n').at(-1)!) as { firstLoss: number; lastLoss: number; liveTensors: [number, number] };
  assert.ok(result.lastLoss < result.firstLoss / 4, `loss ${result.firstLoss} → ${result.lastLoss}`);
  assert.is(result.liveTensors[1], result.liveTensors[0], 'live tensors after the first and the last step');

  const bad = runExample('node-cli-tool.ts', ['--steps', '2', '--hidden', '2.5']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /fit-curve: tensor: shape \[2\.5, 1\]/);
  assert.match(bad.stderr, /HINT:/);
  assert.not.match(bad.stderr, /    at /, 'no stack trace');
});

test('int4-inference.ts: a checkpoint runs with int4 weights at nearly the float32 loss, in a seventh of the bytes', () => {
  const run = runExample('int4-inference.ts', ['--steps', '60', '--tokens', '12', '--json']);
  assert.is(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { loss: { float32: number; int4: number }; linearBytes: { float32: number; int4: number }; text: string };
  // The corpus has ~20 characters (ln 20 ≈ 3.0 nats untrained): the float32 model must have learned it.
  assert.ok(report.loss.float32 < 1.5, `float32 loss ${report.loss.float32}`);
  assert.ok(Math.abs(report.loss.int4 - report.loss.float32) < 0.1, `int4 loss ${report.loss.int4} vs float32 ${report.loss.float32}`);
  // NF4: 4 bits per weight plus one float32 scale per 64 weights = 4.5 bits, against 32.
  assert.ok(report.linearBytes.int4 * 6 < report.linearBytes.float32, `bytes ${report.linearBytes.int4} vs ${report.linearBytes.float32}`);
  assert.is(report.text.length, 12);

  const missing = runExample('int4-inference.ts', ['--ckpt', join(root, 'scratch', 'no-such-checkpoint')]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /int4-inference: .*no-such-checkpoint/);
  assert.match(missing.stderr, /HINT:/);
});

test("the README's ten lines that train something run, and the loss falls", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Embedding wgrad in your tool'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code && code.includes("from 'wgrad'"), 'the section opens with a TypeScript example importing wgrad');
  const dir = mkdtempSync(join(tmpdir(), 'wgrad-readme-'));
  try {
    const file = join(dir, 'readme.mts');
    writeFileSync(file, code!);
    // tsconfig.json's paths resolve `wgrad` to src/, as for the examples.
    const result = spawnSync(process.execPath, [tsx, '--tsconfig', join(root, 'tsconfig.json'), file], { cwd: root, encoding: 'utf8', timeout: 90_000 });
    assert.is(result.signal, null, 'the snippet did not exit on its own');
    assert.is(result.status, 0, result.stderr);
    const losses = result.stdout.trim().split('\n').map((line) => Number(line.split(' ')[1]));
    assert.is(losses.length, 5, result.stdout);
    assert.ok(losses.at(-1)! < losses[0]! / 10, `losses ${losses}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('custom-op.ts as a script: gradcheck passes and the process exits', () => {
  const run = runExample('custom-op.ts');
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /gradcheck siluGate: oracle error [\d.e+-]+, GPU error [\d.e+-]+/);
});

test('siluGate forward matches the float64 oracle, including empty and multi-workgroup sizes', async () => {
  for (const shape of [[0], [1], [7, 3], [3, 1000]]) {
    const a = sampleInput(shape, 11);
    const b = sampleInput(shape, 12);
    const out = siluGate(tensor(Float32Array.from(a.data), shape), tensor(Float32Array.from(b.data), shape));
    // exp and division in f32: a few ulps of the largest values (|silu(a)·b| ≤ 16).
    await assertClose(out, siluGateReference(a, b), { rtol: 1e-5, atol: 1e-5, label: `[${shape}]` });
  }
});

test('siluGate gradients: gradcheck, and the same gradients as the op composed from wgrad\'s own', async () => {
  await gradcheck({
    name: 'siluGate',
    forward: (a, b) => siluGate(a!, b!),
    reference: (a, b) => siluGateReference(a!, b!),
    referenceBackward: siluGateReferenceBackward,
    inputs: [sampleInput([2, 300], 5), sampleInput([2, 300], 6)],
  });
  // Inside a larger graph: x feeds both inputs, so its gradient is the sum of two paths.
  const x1 = tensor(Float32Array.from(sampleInput([4, 9], 8).data), [4, 9], { requiresGrad: true });
  const x2 = tensor(await x1.toArray(), [4, 9], { requiresGrad: true });
  sum(siluGate(x1, add(x1, 1))).backward();
  sum(mul(mul(x2, sigmoid(x2)), add(x2, 1))).backward();
  const composed = Float64Array.from(await x2.grad!.toArray());
  await assertClose(x1.grad!, { shape: [4, 9], data: composed }, { rtol: 1e-5, atol: 1e-6, label: 'fused vs composed' });
});

test('siluGate validates before it allocates or dispatches', async () => {
  const device = await testDevice();
  const a = tensor([1, 2, 3]);
  const before = device.memory();
  assertThrows(() => siluGate(a, tensor([1, 2])), ShapeError, 'siluGate', '[3]', '[2]');
  const ints = tensor([1, 2, 3], [3], { dtype: 'int32' });
  const afterInputs = device.memory();
  assertThrows(() => siluGate(a, ints), DTypeError, 'siluGate', 'int32');
  assert.equal(device.memory(), afterInputs, 'nothing allocated by a failed call');
  assert.ok(before.tensors < afterInputs.tensors);
  // The user's kernel is held to the reflected WGSL like wgrad's own: a wrapper that drifts fails.
  siluGate(a, a).dispose(); // registers the kernels on this device
  const out = tensor([0, 0, 0]);
  assertThrows(() => launch('siluGate', 'silu_gate', { bindings: { a, gate: a, out }, uniforms: { n: 3 }, threads: 3 }), KernelBindingError, "'b' is declared but not passed", "'gate' is passed but not declared");
});

test('siluGate on a second device registers its kernels there; mixing devices is a DeviceError', async () => {
  const other = await init();
  try {
    const here = tensor([0.5, -1], [2], { device: await testDevice() });
    const there = tensor([0.5, -1], [2], { device: other });
    assert.not.ok(other.kernels.has('silu_gate'), 'a new device has only wgrad\'s kernels');
    const out = siluGate(there, there);
    assert.ok(other.kernels.has('silu_gate'));
    await assertClose(out, siluGateReference({ shape: [2], data: Float64Array.of(0.5, -1) }, { shape: [2], data: Float64Array.of(0.5, -1) }), { rtol: 1e-6, atol: 1e-7 });
    assertThrows(() => siluGate(here, there), DeviceError, 'siluGate', 'different device');
  } finally {
    other.destroy();
  }
});

test.run();
