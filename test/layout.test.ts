import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import * as ops from '../src/ops/layout.js';
import * as ref from '../src/reference/layout.js';
import { ndarray } from '../src/reference/ndarray.js';
import { tensor, full } from '../src/tensor/create.js';
import { DTypeError, IndexError, ShapeError } from '../src/errors.js';

const test = suite('layout');
test.before(async () => {
  await testDevice();
});
const exact = { rtol: 0, atol: 0 };

test('permute and transpose match the oracle for every permutation of rank 3 and rank 0/1/5 cases', async () => {
  const rng = new Rng(10);
  const x = randomPair(rng, [2, 3, 5]);
  for (const dims of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
    await assertClose(ops.permute(x.gpu, dims), ref.permute(x.ref, dims), { ...exact, label: `permute [${dims}]` });
  }
  await assertClose(ops.permute(x.gpu, [-1, 0, 1]), ref.permute(x.ref, [2, 0, 1]), { ...exact, label: 'negative dims' });
  await assertClose(ops.transpose(x.gpu), ref.permute(x.ref, [0, 2, 1]), exact);
  const big = randomPair(rng, [2, 1, 3, 4, 5]);
  await assertClose(ops.permute(big.gpu, [4, 2, 0, 3, 1]), ref.permute(big.ref, [4, 2, 0, 3, 1]), exact);
  const s = randomPair(rng, []);
  await assertClose(ops.permute(s.gpu, []), s.ref, exact);
  const empty = randomPair(rng, [0, 3]);
  await assertClose(ops.transpose(empty.gpu), ndarray([3, 0]), exact);
});

test('slice follows Python slicing: negative bounds, clamping, steps', async () => {
  const rng = new Rng(11);
  const x = randomPair(rng, [4, 7, 3]);
  const cases: [number, number, number | undefined, number][] = [
    [0, 1, 3, 1], [1, -3, undefined, 1], [1, 0, 100, 2], [2, 1, 2, 1], [-2, 5, 2, 1], [1, -100, -1, 3],
  ];
  for (const [axis, start, end, step] of cases) {
    const norm = axis < 0 ? axis + 3 : axis;
    await assertClose(ops.slice(x.gpu, axis, start, end, step), ref.slice(x.ref, norm, start, end, step), { ...exact, label: `slice(${axis}, ${start}, ${end}, ${step})` });
  }
});

test('concat along every axis, including empty parts', async () => {
  const rng = new Rng(12);
  for (const axis of [0, 1, 2]) {
    const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s) => s.map((d, i) => (i === axis ? d + i : d)));
    const parts = shapes.map((s) => randomPair(rng, s));
    const empty = randomPair(rng, shapes[0]!.map((d, i) => (i === axis ? 0 : d)));
    await assertClose(ops.concat([...parts.map((p) => p.gpu), empty.gpu], axis), ref.concat([...parts.map((p) => p.ref), empty.ref], axis), { ...exact, label: `concat axis ${axis}` });
  }
});

test('broadcastTo materialises a broadcast view', async () => {
  const rng = new Rng(13);
  const x = randomPair(rng, [3, 1]);
  await assertClose(ops.broadcastTo(x.gpu, [2, 3, 4]), ref.broadcastTo(x.ref, [2, 3, 4]), exact);
});

test('gather picks rows; out-of-range indices give zero rows and never read out of bounds', async () => {
  const rng = new Rng(14);
  const table = randomPair(rng, [5, 3]);
  const idx = [4, 0, 0, 2, -1, 5, 1000];
  const indices = tensor(idx, [7], { dtype: 'int32' });
  await assertClose(ops.gather(table.gpu, indices), ref.gather(table.ref, ndarray([7], idx)), exact);
  const idx2d = tensor([[1, 2], [3, 4]], undefined, { dtype: 'int32' });
  const out = ops.gather(table.gpu, idx2d);
  assert.equal([...out.shape], [2, 2, 3]);
  await assertClose(out, ref.gather(table.ref, ndarray([2, 2], [1, 2, 3, 4])), exact);
  // A shard holding rows [10, 15) of a larger table: index 10 + r picks row r, the rest give zeros.
  const shardIdx = [10, 14, 9, 15, 12, -1];
  await assertClose(ops.gather(table.gpu, tensor(shardIdx, [6], { dtype: 'int32' }), { first: 10 }), ref.gather(table.ref, ndarray([6], shardIdx), 10), exact);
});

test('layout ops keep int32 and bool dtypes', async () => {
  const i = tensor([[1, 2], [3, 4]], undefined, { dtype: 'int32' });
  const t = ops.transpose(i);
  assert.is(t.dtype, 'int32');
  assert.equal([...(await t.toArray())], [1, 3, 2, 4]);
  const b = full([2], 1, { dtype: 'bool' });
  assert.equal([...(await ops.concat([b, b]).toArray())], [1, 1, 1, 1]);
});

test('bad input: typed errors naming the op, the arguments and the shapes', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  assertThrows(() => ops.permute(x, [0, 0]), ShapeError, 'permute', '[2, 3]');
  assertThrows(() => ops.transpose(x, 0, 2), IndexError, 'transpose', 'axis 2', 'rank 2');
  assertThrows(() => ops.slice(x, 1, 0, 2, 0), IndexError, 'slice', 'step 0');
  assertThrows(() => ops.concat([x, tensor([1, 2])]), ShapeError, 'concat', '[2]', '[2, 3]');
  assertThrows(() => ops.broadcastTo(x, [3, 3]), ShapeError, 'broadcastTo', '[2, 3]', '[3, 3]');
  assertThrows(() => ops.gather(x, tensor([0])), DTypeError, 'gather', 'indices', 'int32');
});

test.run();
