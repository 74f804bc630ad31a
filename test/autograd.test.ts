import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows, testDevice } from './helpers.js';
import { add, backward, exp, mul, noGrad, registerGradient, sum, tensor, AutogradError, ShapeError, DTypeError } from '../src/index.js';
import { record } from '../src/tensor/record.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';

const test = suite('autograd');
test.before(async () => {
  await testDevice();
});

test('leaf gradients accumulate across backward calls until zeroed', async () => {
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  for (let i = 0; i < 2; i++) {
    const loss = sum(mul(x, x));
    loss.backward();
    loss.dispose();
  }
  assert.equal(Array.from(await x.grad!.toArray()), [4, 8, 12], '2 · 2x');
  x.grad!.dispose();
  x.grad = null;
  const loss = sum(x);
  loss.backward();
  assert.equal(Array.from(await x.grad!.toArray()), [1, 1, 1]);
  loss.dispose();
  x.dispose();
});

test('noGrad records nothing; detach cuts the graph', () => {
  const x = tensor([1, 2], [2], { requiresGrad: true });
  const y = noGrad(() => exp(x));
  assert.not.ok(y.requiresGrad);
  assert.is(y.node, null);
  const z = exp(x).detach();
  assert.not.ok(z.requiresGrad);
  for (const t of [x, y, z]) t.dispose();
});

test('backward on a non-scalar needs a gradient; a gradient of the right shape works', async () => {
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  const y = mul(x, 3);
  assertThrows(() => y.backward(), ShapeError, 'backward', 'non-scalar', '[3]', 'gradient');
  y.backward(tensor([1, 0, 2]));
  assert.equal(Array.from(await x.grad!.toArray()), [3, 0, 6]);
  assertThrows(() => mul(x, 2).backward(tensor([1, 2])), ShapeError, 'gradient [2]', '[3]');
  y.dispose();
  x.dispose();
});

test('backward on a tensor that does not require grad is an AutogradError', () => {
  const x = tensor([1, 2]);
  const y = sum(x);
  assertThrows(() => y.backward(), AutogradError, 'does not require grad', 'requiresGrad');
  for (const t of [x, y]) t.dispose();
});

test('a second backward through a freed graph is an AutogradError', () => {
  const x = tensor([1, 2], [2], { requiresGrad: true });
  const loss = sum(exp(x));
  loss.backward();
  assertThrows(() => loss.backward(), AutogradError, 'already back-propagated', 'forward pass again');
  loss.dispose();
  x.dispose();
});

test('a registered rule returning a gradient of the wrong shape or dtype is caught', () => {
  const bogus = (x: Tensor) => record('test_bogus', [x], add(x, 0));
  registerGradient('test_bogus', { backward: (_, dy) => [sum(dy, 0, true)] });
  const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
  const loss = sum(bogus(x));
  assertThrows(() => loss.backward(), ShapeError, "rule of 'test_bogus'", '[1, 2]', '[2, 2]');
  registerGradient('test_bogus_dtype', { backward: () => [tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' })] });
  const loss2 = sum(record('test_bogus_dtype', [x], add(x, 0)));
  assertThrows(() => loss2.backward(), DTypeError, 'int32', 'float32');
  for (const t of [x, loss, loss2]) t.dispose();
});

test('an op without a registered gradient fails at backward with a hint', () => {
  const x = tensor([1], [1], { requiresGrad: true });
  const loss = sum(record('test_unregistered', [x], add(x, 1)));
  assertThrows(() => loss.backward(), AutogradError, "no gradient is registered for op 'test_unregistered'", 'registerGradient');
  for (const t of [x, loss]) t.dispose();
});

test('saved tensors are freed by backward, and an unused graph is freed with its loss', async () => {
  const device = await testDevice();
  const x = tensor([1, 2, 3, 4], [4], { requiresGrad: true });
  const before = device.memory();
  // Backward frees the saved tensors; the scope frees the intermediates; only x.grad remains.
  scope(() => sum(mul(exp(x), x)).backward());
  assert.is(device.memory().tensors, before.tensors + 1, 'only the gradient is new');
  x.grad!.dispose();
  x.grad = null;
  // Never back-propagated: leaving the scope disposes the loss and with it the whole graph.
  scope(() => {
    sum(mul(exp(x), exp(x)));
  });
  assert.is(device.memory().tensors, before.tensors);
  assert.is(device.memory().bytesInUse, before.bytesInUse);
  x.dispose();
});

test('backward of a leaf scalar itself gives gradient 1', async () => {
  const x = tensor([5], [], { requiresGrad: true });
  backward(x);
  assert.equal(Array.from(await x.grad!.toArray()), [1]);
  x.dispose();
});

test.run();
