import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows, testDevice } from './helpers.js';
import { scope, keep } from '../src/tensor/scope.js';
import { randn, tensor, zeros } from '../src/tensor/create.js';
import { add, exp, mul, neg } from '../src/ops/elementwise.js';
import { DisposedError, WgradError } from '../src/errors.js';
import { bucketSize } from '../src/gpu/pool.js';

const test = suite('memory');
test.before(async () => {
  await testDevice();
});

test('1,000 iterations of an op chain inside scope() leave GPU memory and tensor count flat', async () => {
  const device = await testDevice();
  let x = keep(randn([64, 33], { seed: 1 }));
  const step = () => scope(() => add(mul(exp(neg(x)), 0.5), x));
  // Warm up so the pool holds its working set, then measure.
  x = swap(x, step());
  await device.sync();
  const before = device.memory();
  for (let i = 0; i < 1000; i++) x = swap(x, step());
  await device.sync();
  const after = device.memory();
  assert.is(after.tensors, before.tensors, 'tensor count');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
  assert.is(after.bytesAllocated, before.bytesAllocated, 'bytes allocated by the pool');
  const values = await x.toArray();
  assert.ok(values.every(Number.isFinite), 'values stay finite');
  x.dispose();
});

function swap(old: ReturnType<typeof randn>, next: ReturnType<typeof randn>) {
  old.dispose();
  return next;
}

test('scope keeps what it returns (nested in arrays and objects) and frees the rest', async () => {
  const device = await testDevice();
  const start = device.memory().tensors;
  const { a, list } = scope(() => {
    const t = zeros([3]);
    const u = add(t, 1);
    add(u, 2); // a temporary
    return { a: u, list: [mul(u, 3)] };
  });
  assert.is(device.memory().tensors, start + 2);
  assert.equal([...(await list[0]!.toArray())], [3, 3, 3]);
  a.dispose();
  list[0]!.dispose();
  assert.is(device.memory().tensors, start);
});

test('nested scopes hand returned tensors to the enclosing scope; errors free the scope', async () => {
  const device = await testDevice();
  const start = device.memory().tensors;
  scope(() => {
    const inner = scope(() => add(zeros([2]), 1));
    assert.not.ok(inner.isDisposed);
  });
  assert.is(device.memory().tensors, start, 'inner result freed by the outer scope');
  try {
    scope(() => {
      zeros([2]);
      throw new Error('boom');
    });
  } catch {
    // expected
  }
  assert.is(device.memory().tensors, start, 'tensors of a failed scope are freed');
});

test('scope refuses async functions', () => {
  assertThrows(() => scope(async () => zeros([1])), WgradError, 'scope', 'Promise');
});

test('a tensor freed by its scope cannot be used afterwards', () => {
  const leaked = [] as ReturnType<typeof zeros>[];
  scope(() => {
    leaked.push(zeros([2]));
  });
  assertThrows(() => neg(leaked[0]!), DisposedError, 'neg', 'dispose');
});

test('reshape views share storage: it is freed with the last view', async () => {
  const device = await testDevice();
  const before = device.memory();
  const t = tensor([1, 2, 3, 4, 5, 6]);
  const v = t.reshape([2, -1]);
  assert.equal([...v.shape], [2, 3]);
  t.dispose();
  assert.equal([...(await v.toArray())], [1, 2, 3, 4, 5, 6], 'view still readable');
  v.dispose();
  assert.is(device.memory().bytesInUse, before.bytesInUse);
});

test('pool buckets waste at most 25%', () => {
  for (const bytes of [1, 255, 256, 257, 1000, 4096, 5000, 123_456, 10_000_000]) {
    const size = bucketSize(bytes);
    assert.ok(size >= bytes && (bytes <= 256 || size <= bytes * 1.25), `${bytes} -> ${size}`);
  }
});

test.run();
