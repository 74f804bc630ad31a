import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import * as ops from '../src/ops/reduce.js';
import * as ref from '../src/reference/reduce.js';
import { ndarray, type NDArray } from '../src/reference/ndarray.js';
import { tensor } from '../src/tensor/create.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { DTypeError, IndexError } from '../src/errors.js';

const test = suite('reduce');
test.before(async () => {
  await testDevice();
});

type ReduceOp = 'sum' | 'mean' | 'max';
const REDUCE: ReduceOp[] = ['sum', 'mean', 'max'];

// Shapes: not multiples of the 64/256-wide workgroups, size 0, rank 0, up to rank 5.
const SHAPES = [[], [1], [7], [0], [3, 0], [0, 4], [257], [13, 31], [2, 3, 5, 7], [2, 1, 3, 1, 4], [3, 2100]];

/**
 * Tolerances, float32 on the GPU against the float64 oracle, growing with the reduction length `len`
 * (rounding errors of a sum of len terms grow like √len):
 *   sum  rtol 1e-5, atol 1e-6·√len·max|x|
 *   mean rtol 1e-5, atol 1e-6·max|x|/√len   (the sum's tolerance divided by len)
 *   max  exact (it only selects)
 */
function tol(op: ReduceOp, x: NDArray, len: number): { rtol: number; atol: number } {
  const maxAbs = x.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const n = Math.max(len, 1);
  if (op === 'sum') return { rtol: 1e-5, atol: 1e-6 * Math.sqrt(n) * maxAbs };
  if (op === 'mean') return { rtol: 1e-5, atol: (1e-6 * maxAbs) / Math.sqrt(n) };
  return { rtol: 0, atol: 0 };
}

/** Number of elements each output reduces. */
function lenOf(shape: readonly number[], axes: number | readonly number[] | undefined): number {
  if (axes === undefined) return shape.reduce((a, b) => a * b, 1);
  const list = typeof axes === 'number' ? [axes] : axes;
  if (shape.length === 0) return 1;
  return list.reduce((p, a) => p * shape[a < 0 ? a + shape.length : a]!, 1);
}

async function check(op: ReduceOp, x: { ref: NDArray; gpu: Tensor }, axes: number | readonly number[] | undefined, keepdim: boolean): Promise<void> {
  const len = lenOf(x.ref.shape, axes);
  const label = `${op}([${x.ref.shape}], axes ${JSON.stringify(axes)}, keepdim ${keepdim})`;
  await assertClose(ops[op](x.gpu, axes, keepdim), ref[op](x.ref, axes, keepdim), { ...tol(op, x.ref, len), label });
}

for (const op of REDUCE) {
  test(`${op} matches the oracle: all axes, each axis, negative axes, keepdim`, async () => {
    const rng = new Rng(10);
    for (const shape of SHAPES) {
      const x = randomPair(rng, shape, 2, op === 'mean' ? 1 : 0);
      // [] reduces nothing (NumPy's rule).
      const axesList: (number | number[] | undefined)[] = [undefined, [], ...shape.map((_, d) => d), ...shape.map((_, d) => d - shape.length)];
      if (shape.length === 0) axesList.push(0, -1, [0]);
      for (const axes of axesList) {
        for (const keepdim of [false, true]) {
          if (op === 'max' && lenOf(shape, axes) === 0) continue; // refused: see the error tests
          await check(op, x, axes, keepdim);
        }
      }
    }
  });

  test(`${op} matches the oracle over every subset of axes of a rank-4 tensor`, async () => {
    const rng = new Rng(11);
    const shape = [3, 4, 5, 6];
    const x = randomPair(rng, shape);
    for (let mask = 0; mask < 1 << shape.length; mask++) {
      const axes = shape.map((_, d) => d).filter((d) => mask & (1 << d));
      for (const keepdim of [false, true]) await check(op, x, axes, keepdim);
    }
    // Negative spellings of a subset, in any order.
    await check(op, x, [-1, 0], false);
    await check(op, x, [3, -3, 0], true);
  });
}

test('empty reductions: sum 0, mean NaN; empty outputs have the right shape', async () => {
  await assertClose(ops.sum(tensor([], [3, 0]), 1), ndarray([3], [0, 0, 0]), { label: 'sum [3, 0] axis 1' });
  await assertClose(ops.sum(tensor([], [3, 0]), 1, true), ndarray([3, 1], [0, 0, 0]), { label: 'sum keepdim' });
  await assertClose(ops.sum(tensor([], [0])), ndarray([], [0]), { label: 'sum of [0]' });
  await assertClose(ops.mean(tensor([], [3, 0]), -1), ndarray([3], [NaN, NaN, NaN]), { label: 'mean [3, 0] axis -1' });
  await assertClose(ops.mean(tensor([], [0])), ndarray([], [NaN]), { label: 'mean of [0]' });
  await assertClose(ops.sum(tensor([], [0, 3]), 1), ndarray([0]), { label: 'sum [0, 3] axis 1' });
  await assertClose(ops.max(tensor([], [0, 3]), 1), ndarray([0]), { label: 'max [0, 3] axis 1' });
  await assertClose(ops.argmax(tensor([], [0, 3]), 1, true), ndarray([0, 1]), { label: 'argmax [0, 3] axis 1' });
});

test('rank 0: every op returns the element (argmax 0)', async () => {
  const x = tensor(-2.5);
  for (const axes of [undefined, 0, -1]) {
    await assertClose(ops.sum(x, axes), ndarray([], [-2.5]), { label: `sum ${axes}` });
    await assertClose(ops.mean(x, axes, true), ndarray([], [-2.5]), { label: `mean ${axes}` });
    await assertClose(ops.max(x, axes), ndarray([], [-2.5]), { label: `max ${axes}` });
  }
  for (const axis of [undefined, 0, -1]) {
    const i = ops.argmax(x, axis);
    assert.is(i.dtype, 'int32');
    await assertClose(i, ndarray([], [0]), { rtol: 0, atol: 0, label: `argmax ${axis}` });
  }
});

test('long reductions exercise the strided loop (100,000 elements, contiguous and strided)', async () => {
  const rng = new Rng(12);
  // [50000, 2, 2] over axes [0, 2]: two reduced dimensions that cannot be merged; [70, 5000] and
  // [5000, 70]: long rows reduced one invocation per row (reduce_serial).
  for (const [shape, axes] of [[[100_000], undefined], [[3, 100_000], 1], [[100_000, 3], 0], [[50_000, 2, 2], [0, 2]], [[70, 5000], 1], [[5000, 70], 0]] as [number[], number | number[] | undefined][]) {
    const x = randomPair(rng, shape, 3, 0.5);
    for (const op of REDUCE) await check(op, x, axes, false);
    if (!Array.isArray(axes)) {
      await assertClose(ops.argmax(x.gpu, axes), ref.argmax(x.ref, axes), { rtol: 0, atol: 0, label: `argmax [${shape}] axis ${axes}` });
    }
    x.gpu.dispose();
  }
});

test('more than 65,535 output rows: the folded grid reaches every row', async () => {
  const rng = new Rng(13);
  const x = randomPair(rng, [70_000, 3]);
  for (const op of REDUCE) await check(op, x, 1, false);
  await check('sum', x, -1, true);
  await assertClose(ops.argmax(x.gpu, 1), ref.argmax(x.ref, 1), { rtol: 0, atol: 0, label: 'argmax [70000, 3] axis 1' });
  x.gpu.dispose();
});

test('argmax: ties go to the first index, within and across invocations', async () => {
  const rng = new Rng(14);
  // Few distinct values: most rows have ties, in rows short (WG 64) and long (WG 256).
  for (const shape of [[40, 300], [5, 3000], [7, 9, 11]]) {
    const data = Array.from({ length: shape.reduce((a, b) => a * b) }, () => Math.round(rng.normal()));
    const x = tensor(data, shape);
    const xr = ndarray(shape, data);
    for (let axis = -shape.length; axis < shape.length; axis++) {
      await assertClose(ops.argmax(x, axis), ref.argmax(xr, axis), { rtol: 0, atol: 0, label: `ties [${shape}] axis ${axis}` });
    }
    await assertClose(ops.argmax(x), ref.argmax(xr), { rtol: 0, atol: 0, label: `ties [${shape}] flattened` });
  }
  // The maximum at positions handled by different invocations and loop iterations.
  const row = new Float32Array(3000).fill(-1);
  for (const at of [2900, 1700, 600, 356, 100]) row[at] = 4;
  await assertClose(ops.argmax(tensor(row)), ndarray([], [100]), { rtol: 0, atol: 0, label: 'first of five maxima' });
  await assertClose(ops.argmax(tensor(new Float32Array(500).fill(7)), 0), ndarray([], [0]), { rtol: 0, atol: 0, label: 'all equal' });
});

test('argmax: keepdim, negative axis, flattened with keepdim', async () => {
  const rng = new Rng(15);
  const x = randomPair(rng, [4, 5, 6]);
  await assertClose(ops.argmax(x.gpu, -2, true), ref.argmax(x.ref, -2, true), { rtol: 0, atol: 0, label: 'axis -2 keepdim' });
  const flat = ops.argmax(x.gpu, undefined, true);
  assert.equal([...flat.shape], [1, 1, 1]);
  await assertClose(flat, ref.argmax(x.ref, undefined, true), { rtol: 0, atol: 0, label: 'flattened keepdim' });
});

test('max and argmax see -inf and the lowest finite float (the kernels\' identity)', async () => {
  const lowest = -3.4028234663852886e38;
  const x = tensor([-Infinity, -Infinity, -Infinity, -Infinity, lowest, -Infinity], [2, 3]);
  await assertClose(ops.max(x, 1), ndarray([2], [-Infinity, lowest]), { rtol: 0, atol: 0, label: 'max rows' });
  await assertClose(ops.argmax(x, 1), ndarray([2], [0, 1]), { rtol: 0, atol: 0, label: 'argmax rows' });
  await assertClose(ops.max(x), ndarray([], [lowest]), { rtol: 0, atol: 0, label: 'max all' });
  await assertClose(ops.argmax(x), ndarray([], [4]), { rtol: 0, atol: 0, label: 'argmax all' });
});

test('bad input: typed errors naming the op, the axis and the rank or shape; nothing allocated', async () => {
  const device = await testDevice();
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const ints = tensor([1, 2], [2], { dtype: 'int32' });
  const scalar = tensor(1);
  const rowsEmpty = tensor([], [3, 0]);
  const colsEmpty = tensor([], [0, 3]);
  const empty = tensor([], [0]);
  const before = device.memory().tensors;
  for (const op of REDUCE) {
    assertThrows(() => ops[op](x, 2), IndexError, op, 'axis 2', 'rank 2');
    assertThrows(() => ops[op](x, [0, -3]), IndexError, op, 'axis -3', 'rank 2');
    assertThrows(() => ops[op](x, [1, -1]), IndexError, op, 'repeat');
    assertThrows(() => ops[op](ints), DTypeError, op, 'int32', '[2]');
  }
  assertThrows(() => ops.sum(scalar, 1), IndexError, 'sum', 'axis 1', 'rank 0');
  assertThrows(() => ops.argmax(x, 2), IndexError, 'argmax', 'axis 2', 'rank 2');
  assertThrows(() => ops.argmax(x, -3), IndexError, 'argmax', 'axis -3', 'rank 2');
  assertThrows(() => ops.argmax(ints), DTypeError, 'argmax', 'int32');
  // max and argmax of zero elements have no value (PyTorch refuses them too).
  assertThrows(() => ops.max(rowsEmpty, 1), IndexError, 'max', '[3, 0]', 'axes [1]');
  assertThrows(() => ops.max(colsEmpty), IndexError, 'max', '[0, 3]', 'no elements');
  assertThrows(() => ops.max(colsEmpty, 0), IndexError, 'max', '[0, 3]');
  assertThrows(() => ops.argmax(rowsEmpty, -1), IndexError, 'argmax', '[3, 0]', 'axis -1');
  assertThrows(() => ops.argmax(empty), IndexError, 'argmax', '[0]');
  // Validation comes first: no output tensor was allocated by any of the failed calls.
  assert.is(device.memory().tensors, before);
});

test.run();
