import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import * as ops from '../src/ops/elementwise.js';
import * as ref from '../src/reference/elementwise.js';
import { ndarray } from '../src/reference/ndarray.js';
import { tensor, zeros } from '../src/tensor/create.js';
import { DTypeError, ShapeError, DisposedError } from '../src/errors.js';

const test = suite('elementwise');
test.before(async () => {
  await testDevice();
});

// Shapes: not multiples of the 256-wide workgroup, size 0, rank 0, up to rank 5.
const SHAPES = [[], [1], [7], [0], [3, 0], [257], [13, 31], [2, 3, 5, 7], [2, 1, 3, 1, 4]];

// float32 against float64: rtol ~1e-5 elementwise; transcendental builtins get a little more.
const UNARY_TOL: Record<string, { rtol: number; atol: number }> = {
  exp: { rtol: 1e-5, atol: 1e-6 }, log: { rtol: 1e-5, atol: 1e-5 }, sin: { rtol: 1e-5, atol: 1e-5 }, cos: { rtol: 1e-5, atol: 1e-5 },
  tanh: { rtol: 1e-5, atol: 1e-5 }, sigmoid: { rtol: 1e-5, atol: 1e-6 }, gelu: { rtol: 1e-5, atol: 1e-5 }, geluGrad: { rtol: 1e-5, atol: 1e-5 },
};

for (const op of Object.keys(ops.UNARY_OPS) as ops.UnaryOp[]) {
  test(`${op} matches the float64 oracle`, async () => {
    const rng = new Rng(1);
    const positive = ['log', 'sqrt', 'rsqrt'].includes(op);
    for (const shape of SHAPES) {
      const { ref: x, gpu } = randomPair(rng, shape, positive ? 1 : 2, positive ? 3 : 0);
      if (positive) x.data.forEach((v, i) => (x.data[i] = Math.fround(Math.abs(v) + 0.1)));
      const input = positive ? tensor(Float32Array.from(x.data), shape) : gpu;
      await assertClose(ops.unary(op, input), ref.unary(op, x), { ...(UNARY_TOL[op] ?? { rtol: 1e-6, atol: 1e-7 }), label: `${op} [${shape}]` });
    }
  });
}

// Broadcasting in every position: leading, trailing, middle, both sides, rank 0 against rank 3.
const PAIRS: [number[], number[]][] = [
  [[4, 5], [4, 5]], [[4, 5], [5]], [[4, 5], [4, 1]], [[1, 5], [4, 1]], [[3, 1, 5], [4, 1]],
  [[], [2, 3, 4]], [[2, 3, 4], []], [[2, 1, 3, 1], [1, 5, 1, 4]], [[0, 3], [3]], [[300], [300]],
];

for (const op of Object.keys(ops.BINARY_OPS) as ops.BinaryOp[]) {
  test(`${op} broadcasts and matches the oracle`, async () => {
    const rng = new Rng(2);
    for (const [sa, sb] of PAIRS) {
      const a = randomPair(rng, sa, 1, op === 'pow' ? 2 : 0);
      const b = randomPair(rng, sb);
      if (op === 'pow') a.ref.data.forEach((v, i) => (a.ref.data[i] = Math.fround(Math.abs(v) + 0.5)));
      const ga = op === 'pow' ? tensor(Float32Array.from(a.ref.data), sa) : a.gpu;
      const rtol = op === 'pow' ? 1e-5 : op === 'div' ? 2e-6 : 1e-6;
      await assertClose(ops.binary(op, ga, b.gpu), ref.binary(op, a.ref, b.ref), { rtol, atol: 1e-6, label: `${op} [${sa}]·[${sb}]` });
    }
  });
}

test('number operands on either side', async () => {
  const x = tensor([1, 2, 4]);
  await assertClose(ops.sub(10, x), ndarray([3], [9, 8, 6]));
  await assertClose(ops.div(x, 4), ndarray([3], [0.25, 0.5, 1]));
  await assertClose(ops.pow(2, x), ndarray([3], [2, 4, 16]));
  await assertClose(ops.pow(tensor([-2, -2, 0]), tensor([3, 2, 0])), ndarray([3], [-8, 4, 1]), { label: 'pow sign rules' });
});

for (const op of Object.keys(ops.COMPARE_OPS) as ops.CompareOp[]) {
  test(`${op} gives a bool mask equal to the oracle's`, async () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    const b = tensor([3, 2, 4]);
    const mask = ops.compare(op, a, b);
    assert.is(mask.dtype, 'bool');
    await assertClose(mask, ref.compare(op, ndarray([2, 3], [1, 2, 3, 4, 5, 6]), ndarray([3], [3, 2, 4])), { rtol: 0, atol: 0 });
  });
}

test('where broadcasts condition and both branches', async () => {
  const rng = new Rng(3);
  const a = randomPair(rng, [2, 3, 4]);
  const b = randomPair(rng, [4]);
  const c = randomPair(rng, [3, 1]);
  const cond = ops.gt(c.gpu, 0);
  const condRef = ndarray([3, 1], Array.from(c.ref.data, (v) => (v > 0 ? 1 : 0)));
  await assertClose(ops.where(cond, a.gpu, b.gpu), ref.where(condRef, a.ref, b.ref), { rtol: 0, atol: 0 });
  await assertClose(ops.where(cond, 1, -1), ref.where(condRef, ndarray([], [1]), ndarray([], [-1])), { rtol: 0, atol: 0 });
});

test('a dispatch beyond 65,535 workgroups in one dimension is folded', async () => {
  // 70,000 workgroups of 256 invocations: the grid must become 2-D.
  const n = 70_000 * 256 + 3;
  const x = zeros([n]);
  const y = ops.add(x, 1.5);
  const values = await y.toArray();
  assert.is(values.length, n);
  let wrong = 0;
  for (const v of values) if (v !== 1.5) wrong++;
  assert.is(wrong, 0, 'every element written exactly once');
  x.dispose();
  y.dispose();
});

test('bad input: typed errors that name the op, the arguments and the shapes', () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([1, 2]);
  assertThrows(() => ops.add(a, b), ShapeError, 'add', '[2, 3]', '[2]');
  assertThrows(() => ops.exp(tensor([1, 2], [2], { dtype: 'int32' })), DTypeError, 'exp', 'int32');
  assertThrows(() => ops.where(a, a, a), DTypeError, 'where', 'cond');
  const gone = tensor([1]);
  gone.dispose();
  assertThrows(() => ops.neg(gone), DisposedError, 'neg', 'dispose');
});

test.run();
