import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import * as ops from '../src/ops/elementwise.js';
import * as ref from '../src/reference/elementwise.js';
import { ndarray } from '../src/reference/ndarray.js';
import { tensor, zeros } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import { launch } from '../src/tensor/launch.js';
import { Tensor } from '../src/tensor/tensor.js';
import { DTypeError, ShapeError, DisposedError } from '../src/errors.js';

const test = suite('elementwise');
test.before(async () => {
  await testDevice();
});

// Shapes: not multiples of the 256-wide workgroup, size 0, rank 0, up to rank 5.
const SHAPES = [[], [1], [7], [0], [3, 0], [257], [13, 31], [2, 3, 5, 7], [2, 1, 3, 1, 4]];

// float32 against float64: rtol ~1e-5 elementwise; transcendental builtins get a little more. sin and
// cos get the absolute error WGSL allows them (2^-11): Chromium's SwiftShader is off by ~1.4e-4 where
// lavapipe is within 1e-5, and these files run in both (test/browser/).
const UNARY_TOL: Record<string, { rtol: number; atol: number }> = {
  exp: { rtol: 1e-5, atol: 1e-6 }, log: { rtol: 1e-5, atol: 1e-5 }, sin: { rtol: 0, atol: 2 ** -11 }, cos: { rtol: 0, atol: 2 ** -11 },
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

test('a large dispatch writes every element exactly once', async () => {
  // 70,000 × 256 + 3 elements: the scalar kernel (n % 4 == 3), several elements per invocation.
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

// ---- the vec4 and BLOCK/SPLAT fast paths ----------------------------------------------------------
// n % 4 == 0 takes the *_vec4 kernels (rows too when C % 4 == 0); other sizes the scalar ones.

test('every size mod 4 matches the oracle: unary, binary, scalar operands, compare, where', async () => {
  const rng = new Rng(4);
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 20, 1024, 1025, 1026, 1027, 1028, 4099, 4100]) {
    const a = randomPair(rng, [n]);
    const b = randomPair(rng, [n]);
    const c = randomPair(rng, [n]);
    const label = `n=${n}`;
    await assertClose(ops.gelu(a.gpu), ref.unary('gelu', a.ref), { ...UNARY_TOL.gelu!, label: `gelu ${label}` });
    await assertClose(ops.sub(a.gpu, b.gpu), ref.binary('sub', a.ref, b.ref), { rtol: 1e-6, atol: 1e-6, label: `sub ${label}` });
    await assertClose(ops.div(3, a.gpu), ref.binary('div', ndarray([], [3]), a.ref), { rtol: 2e-6, atol: 1e-6, label: `3 / a ${label}` });
    await assertClose(ops.sub(a.gpu, 0.5), ref.binary('sub', a.ref, ndarray([], [0.5])), { rtol: 1e-6, atol: 1e-6, label: `a - 0.5 ${label}` });
    const mask = ops.lt(a.gpu, b.gpu);
    const maskRef = ref.compare('lt', a.ref, b.ref);
    await assertClose(mask, maskRef, { rtol: 0, atol: 0, label: `lt ${label}` });
    await assertClose(ops.ge(a.gpu, 0), ref.compare('ge', a.ref, ndarray([], [0])), { rtol: 0, atol: 0, label: `ge 0 ${label}` });
    await assertClose(ops.where(mask, b.gpu, c.gpu), ref.where(maskRef, b.ref, c.ref), { rtol: 0, atol: 0, label: `where ${label}` });
    await assertClose(ops.where(mask, c.gpu, -2), ref.where(maskRef, c.ref, ndarray([], [-2])), { rtol: 0, atol: 0, label: `where c : -2 ${label}` });
    await assertClose(ops.where(mask, -2, c.gpu), ref.where(maskRef, ndarray([], [-2]), c.ref), { rtol: 0, atol: 0, label: `where -2 : c ${label}` });
    await assertClose(ops.where(mask, 1, 0.5), ref.where(maskRef, ndarray([], [1]), ndarray([], [0.5])), { rtol: 0, atol: 0, label: `where 1 : 0.5 ${label}` });
  }
});

// Rows (bias), columns, middle blocks, scalars on either side, rows whose length is not a multiple of 4,
// and patterns that need the general strided walk.
const BROADCASTS: [number[], number[]][] = [
  [[6, 8], [8]], [[8], [6, 8]], [[3, 5, 12], [12]], [[6, 7], [7]], [[7], [6, 7]], [[6, 8], [6, 1]], [[6, 1], [6, 8]],
  [[4, 5, 6], [1, 5, 1]], [[4, 5, 6], [5, 1]], [[2, 4], []], [[], [2, 4]], [[3, 3], [1]], [[2, 4], [1, 1]], [[5, 1, 4], [3, 1]],
];

test('BLOCK and SPLAT broadcasts match the oracle, for binary ops, compare and where', async () => {
  const rng = new Rng(5);
  for (const [sa, sb] of BROADCASTS) {
    const a = randomPair(rng, sa);
    const b = randomPair(rng, sb);
    for (const op of ['sub', 'div', 'maximum'] as const) {
      await assertClose(ops.binary(op, a.gpu, b.gpu), ref.binary(op, a.ref, b.ref), { rtol: 2e-6, atol: 1e-6, label: `${op} [${sa}]·[${sb}]` });
    }
    const mask = ops.le(a.gpu, b.gpu);
    const maskRef = ref.compare('le', a.ref, b.ref);
    await assertClose(mask, maskRef, { rtol: 0, atol: 0, label: `le [${sa}]·[${sb}]` });
    const cond = ops.gt(b.gpu, 0);
    const condRef = ref.compare('gt', b.ref, ndarray([], [0]));
    await assertClose(ops.where(cond, a.gpu, b.gpu), ref.where(condRef, a.ref, b.ref), { rtol: 0, atol: 0, label: `where [${sb}] ? [${sa}] : [${sb}]` });
  }
});

test('large vec4 tensors, and grids folded beyond 65,535 workgroups', async () => {
  // 70,000 × 256 elements: a multiple of 4, so add takes binary_vec4.
  const n = 70_000 * 256;
  const x = zeros([n]);
  const y = ops.add(x, ops.add(x, 2.5));
  const values = await y.toArray();
  let wrong = 0;
  for (const v of values) if (v !== 2.5) wrong++;
  assert.is(wrong, 0, 'every element written exactly once');
  for (const t of [x, y]) t.dispose();
  // With one invocation per workgroup and one output per invocation, 70,000 outputs need 70,000
  // workgroups, folded into a 2-D grid: the vec4 kernel with a row operand, the scalar one with a column.
  const m = 70_000;
  const src = tensor(Float32Array.from({ length: 4 * m }, (_, i) => i % 1000), [m, 4]);
  const row = tensor([1, 2, 3, 4]);
  const col = tensor(Float32Array.from({ length: m }, (_, i) => i % 7), [m, 1]);
  const fold = { WG: 1, ITEMS: 1 };
  const rowOut = Tensor.empty(src.device, [m, 4], 'float32', 'test');
  launch('test', 'binary_vec4', {
    bindings: { a4: src, b4: row, c4: rowOut },
    uniforms: { n: 4 * m, rank: 2, shape: [m, 4], constants: [0, 0], block_div: [1, 1], block_size: [4 * m, 4], a_strides: [4, 1], b_strides: [0, 1] },
    overrides: { OP: ops.BINARY_OPS.mul, INDEX_A: 0, INDEX_B: 1, ...fold },
    threads: m,
  });
  const colOut = Tensor.empty(src.device, [m], 'float32', 'test');
  launch('test', 'binary', {
    bindings: { a: col, b: col, c: colOut },
    uniforms: { n: m, rank: 1, shape: [m], constants: [0, 0], block_div: [1, 1], block_size: [m, m], a_strides: [1], b_strides: [1] },
    overrides: { OP: ops.BINARY_OPS.add, INDEX_A: 0, INDEX_B: 1, ...fold },
    threads: m,
  });
  const [gotRow, gotCol] = [await rowOut.toArray(), await colOut.toArray()];
  wrong = 0;
  for (let i = 0; i < 4 * m; i++) if (gotRow[i] !== (i % 1000) * ((i % 4) + 1)) wrong++;
  for (let i = 0; i < m; i++) if (gotCol[i] !== 2 * (i % 7)) wrong++;
  assert.is(wrong, 0, 'folded grids cover every element once');
  for (const t of [src, row, col, rowOut, colOut]) t.dispose();
});

/**
 * Sentinels: small tensors get 256-byte pool buffers (64 floats), most of which lie past their last
 * element. Inputs are padded with NaN beyond their size (which must never reach an output), and the
 * outputs land in buffers pre-filled with a sentinel (which must survive past n).
 */
const SENTINEL = 0x7f7f_7f7f;

async function sentinelBuffers(count: number): Promise<Set<number>> {
  const device = await testDevice();
  const fill = new Uint32Array(64).fill(SENTINEL);
  const tensors = Array.from({ length: count }, () => {
    const t = Tensor.empty(device, [64], 'float32', 'test');
    device.write(t.buffer('test'), fill);
    return t;
  });
  const ids = new Set(tensors.map((t) => t.buffer('test').id));
  for (const t of tensors) t.dispose(); // the pool hands these buffers out next
  return ids;
}

function padded(values: Float64Array, shape: number[]): Tensor {
  const t = tensor(Float32Array.from(values), shape);
  const all = new Float32Array(64).fill(NaN);
  all.set(values);
  t.device.write(t.buffer('test'), all);
  return t;
}

async function expectSentinelsIntact(t: Tensor, ids: Set<number>, label: string): Promise<void> {
  const buf = t.buffer('test');
  assert.ok(ids.has(buf.id), `${label}: the output got a sentinel-filled buffer`);
  const words = new Uint32Array(await t.device.read(buf, 256, 'test'));
  for (let i = t.size; i < 64; i++) assert.is(words[i], SENTINEL, `${label}: word ${i} past n=${t.size} was written`);
}

test('fast paths never write past n nor read past their inputs (sentinels)', async () => {
  const rng = new Rng(6);
  for (const n of [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 60]) {
    const [ra, rb, rc] = [randomPair(rng, [n]).ref, randomPair(rng, [n]).ref, randomPair(rng, [4]).ref];
    const a = padded(ra.data, [n]);
    const b = padded(rb.data, [n]);
    const row = padded(rc.data, [4]);
    const scalar = padded(Float64Array.of(1.5), []);
    const cases: [string, () => Tensor, ReturnType<typeof ndarray>][] = [
      ['neg', () => ops.neg(a), ref.unary('neg', ra)],
      ['add', () => ops.add(a, b), ref.binary('add', ra, rb)],
      ['mul(a, 3)', () => ops.mul(a, 3), ref.binary('mul', ra, ndarray([], [3]))],
      ['sub(3, a)', () => ops.sub(3, a), ref.binary('sub', ndarray([], [3]), ra)],
      ['pow(a, scalar tensor)', () => ops.pow(ops.abs(a), scalar), ref.binary('pow', ref.unary('abs', ra), ndarray([], [1.5]))],
      ['gt', () => ops.gt(a, b), ref.compare('gt', ra, rb)],
      ['where', () => ops.where(ops.gt(a, b), a, b), ref.where(ref.compare('gt', ra, rb), ra, rb)],
      ['where with numbers', () => ops.where(ops.gt(a, 0), a, -1), ref.where(ref.compare('gt', ra, ndarray([], [0])), ra, ndarray([], [-1]))],
    ];
    if (n % 4 === 0) {
      const ra2 = ndarray([n / 4, 4], ra.data);
      cases.push(['row add', () => ops.add(a.reshape([n / 4, 4]), row), ref.binary('add', ra2, rc)]);
      cases.push(['row sub, row first', () => ops.sub(row, a.reshape([n / 4, 4])), ref.binary('sub', rc, ra2)]);
    }
    for (const [label, run, expected] of cases) {
      const ids = await sentinelBuffers(6);
      const out = run();
      const full = out.shape.length === expected.shape.length ? out : out.reshape(expected.shape);
      await assertClose(full, expected, { rtol: 1e-6, atol: 1e-6, label: `${label} n=${n}` });
      await expectSentinelsIntact(out, ids, `${label} n=${n}`);
    }
  }
});

test('number operands of compare and where travel in Params: no upload, no extra submit', async () => {
  const device = await testDevice();
  const x = tensor(Float32Array.from({ length: 1024 }, (_, i) => i - 512), [1024]);
  await device.sync();
  const queue = device.gpu.queue;
  const submit = queue.submit;
  let submits = 0;
  queue.submit = (buffers) => {
    submits++;
    submit.call(queue, buffers);
  };
  try {
    // 20 × (gt + where) = 40 dispatches: fewer than one batch (64), so one submit at the readback.
    const y = scope(() => {
      let t = x;
      for (let i = 0; i < 20; i++) t = ops.where(ops.gt(t, -100), t, 0);
      return t;
    });
    const values = await y.toArray();
    assert.is(submits, 1, 'submits');
    assert.equal([...values], Array.from({ length: 1024 }, (_, i) => (i - 512 > -100 ? i - 512 : 0)));
    y.dispose();
  } finally {
    queue.submit = submit;
    x.dispose();
  }
});

test('Params reach the right dispatch when the same kernel and buffers run with new values', async () => {
  // mul(x, k) reuses one output buffer each step (the pool hands it back), so every mul has the same
  // kernel and buffers but a new scalar: within one submit, and across submits.
  const device = await testDevice();
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8]);
  for (const syncEachStep of [false, true]) {
    let acc = zeros([8]);
    for (let k = 1; k <= 10; k++) {
      const t = ops.mul(x, k);
      const next = ops.add(acc, t);
      acc.dispose();
      t.dispose();
      acc = next;
      if (syncEachStep) await device.sync();
    }
    assert.equal([...(await acc.toArray())], [1, 2, 3, 4, 5, 6, 7, 8].map((v) => v * 55), `sync each step: ${syncEachStep}`);
    acc.dispose();
  }
  x.dispose();
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
