import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import * as ops from '../src/ops/softmax.js';
import * as ref from '../src/reference/softmax.js';
import { ndarray, type NDArray } from '../src/reference/ndarray.js';
import { tensor } from '../src/tensor/create.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { DTypeError, IndexError } from '../src/errors.js';

const test = suite('softmax');
test.before(async () => {
  await testDevice();
});

type SoftmaxOp = 'softmax' | 'logSoftmax';
const OPS: SoftmaxOp[] = ['softmax', 'logSoftmax'];

// Shapes: rows not multiples of the 64/256-wide workgroups, size 0, rank 0, up to rank 5, rows of
// 2,100 (256-wide workgroups).
const SHAPES = [[], [1], [7], [0], [3, 0], [0, 4], [257], [13, 31], [2, 3, 5, 7], [2, 1, 3, 1, 4], [3, 2100]];

/**
 * Tolerances, float32 on the GPU against the float64 oracle, for a row of `len` elements. The row sum
 * carries rounding errors that grow like √len; exp and log add ~1e-6 relative on lavapipe.
 *   softmax     rtol 1e-5 + 1e-8·√len, atol 1e-9 (probabilities that underflow)
 *   logSoftmax  rtol 1e-5, atol 1e-5 + 1e-8·√len (values near 0 are differences of O(1) terms)
 */
function tol(op: SoftmaxOp, len: number): { rtol: number; atol: number } {
  const grow = 1e-8 * Math.sqrt(Math.max(len, 1));
  return op === 'softmax' ? { rtol: 1e-5 + grow, atol: 1e-9 } : { rtol: 1e-5, atol: 1e-5 + grow };
}

async function check(op: SoftmaxOp, x: { ref: NDArray; gpu: Tensor }, axis: number | undefined): Promise<void> {
  const shape = x.ref.shape;
  const a = axis ?? -1;
  const len = shape.length === 0 ? 1 : shape[a < 0 ? a + shape.length : a]!;
  const label = `${op}([${shape}], axis ${axis})`;
  const got = axis === undefined ? ops[op](x.gpu) : ops[op](x.gpu, axis);
  await assertClose(got, axis === undefined ? ref[op](x.ref) : ref[op](x.ref, axis), { ...tol(op, len), label });
}

for (const op of OPS) {
  test(`${op} matches the oracle along every axis, negative axes and the default`, async () => {
    const rng = new Rng(20);
    for (const shape of SHAPES) {
      const x = randomPair(rng, shape, 3);
      const axes: (number | undefined)[] = [undefined, ...shape.map((_, d) => d), ...shape.map((_, d) => d - shape.length)];
      if (shape.length === 0) axes.push(0, -1);
      for (const axis of axes) await check(op, x, axis);
    }
  });

  test(`${op} is stable for large values and long rows (100,000 elements)`, async () => {
    const rng = new Rng(21);
    // Offsets of ±1000: exp overflows float32 unless the row max is subtracted.
    for (const [shape, axis, scale, offset] of [[[100_000], -1, 3, 0], [[2, 100_000], 1, 10, 1000], [[100_000, 2], 0, 10, -1000], [[40, 300], 1, 30, 1000]] as [number[], number, number, number][]) {
      const x = randomPair(rng, shape, scale, offset);
      await check(op, x, axis);
      x.gpu.dispose();
    }
  });

  test(`${op} over more than 65,535 rows: the folded grid reaches every row`, async () => {
    const rng = new Rng(22);
    // Rows along the last axis, and rows strided by inner = 70,000 along the first.
    for (const [shape, axis] of [[[70_000, 3], -1], [[3, 70_000], 0]] as [number[], number][]) {
      const x = randomPair(rng, shape);
      await check(op, x, axis);
      x.gpu.dispose();
    }
  });
}

test('rank 0 and size 0', async () => {
  const s = tensor(4.5);
  await assertClose(ops.softmax(s), ndarray([], [1]), { label: 'softmax of a scalar' });
  await assertClose(ops.logSoftmax(s, 0), ndarray([], [0]), { label: 'logSoftmax of a scalar' });
  for (const [shape, axis] of [[[0], 0], [[3, 0], 0], [[3, 0], 1], [[0, 4], -1]] as [number[], number][]) {
    const y = ops.softmax(tensor([], shape), axis);
    assert.equal([...y.shape], shape);
    assert.is((await y.toArray()).length, 0);
  }
});

test('-inf entries get probability 0 (log -inf); a row of only -inf gives NaN, as in PyTorch', async () => {
  const data = [0, -Infinity, 1, -Infinity, -Infinity, -Infinity];
  const x = tensor(data, [2, 3]);
  const xr = ndarray([2, 3], data);
  await assertClose(ops.softmax(x), ref.softmax(xr), { ...tol('softmax', 3), label: 'softmax' });
  await assertClose(ops.logSoftmax(x), ref.logSoftmax(xr), { ...tol('logSoftmax', 3), label: 'logSoftmax' });
  const p = await ops.softmax(x).toArray();
  assert.is(p[1], 0);
  assert.ok(Number.isNaN(p[3]) && Number.isNaN(p[5]), 'all -inf row is NaN');
});

test('bad input: typed errors naming the op, the axis and the rank; nothing allocated', async () => {
  const device = await testDevice();
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const ints = tensor([1, 2], [2], { dtype: 'int32' });
  const before = device.memory().tensors;
  for (const op of OPS) {
    assertThrows(() => ops[op](x, 2), IndexError, op, 'axis 2', 'rank 2');
    assertThrows(() => ops[op](x, -3), IndexError, op, 'axis -3', 'rank 2');
    assertThrows(() => ops[op](x, 0.5), IndexError, op, 'axis 0.5');
    assertThrows(() => ops[op](ints), DTypeError, op, 'int32', '[2]');
  }
  assert.is(device.memory().tensors, before);
});

test.run();
