import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import '../src/autograd/index.js';
import { gradcheck } from '../src/autograd/gradcheck.js';
import { Rng } from '../src/tensor/random.js';
import { full, tensor } from '../src/tensor/create.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { matmul, MATVEC, TILE, type MatmulOptions } from '../src/ops/matmul.js';
import { sum } from '../src/ops/reduce.js';
import * as ref from '../src/reference/matmul.js';
import { referenceVjp } from '../src/reference/grad.js';
import { unaryFns } from '../src/reference/elementwise.js';
import { ndarray, type NDArray } from '../src/reference/ndarray.js';
import { bucketSize } from '../src/gpu/pool.js';
import { DTypeError, ShapeError, WgradError } from '../src/errors.js';

const test = suite('matmul');
test.before(async () => {
  await testDevice();
});

/** float32 against float64: a K-term dot product of unit normals is about √K large, and its rounding error grows with K. */
function tol(k: number) {
  const s = Math.sqrt(Math.max(k, 1));
  return { rtol: 1e-5 * s, atol: 1e-5 * s };
}

type Opts = Omit<MatmulOptions, 'bias'> & { bias?: boolean };

/** Runs matmul on random inputs of the given stored shapes and compares with the oracle. */
async function check(rng: Rng, sa: number[], sb: number[], opts: Opts = {}, label = '') {
  const a = randomPair(rng, sa);
  const b = randomPair(rng, sb);
  const { transA, transB, activation } = opts;
  const k = sa.length === 1 ? sa[0]! : sa[transA ? sa.length - 2 : sa.length - 1]!;
  const n = sb.length === 1 ? 1 : sb[transB ? sb.length - 2 : sb.length - 1]!;
  const bias = opts.bias ? randomPair(rng, [n]) : null;
  const got = matmul(a.gpu, b.gpu, { transA, transB, activation, bias: bias?.gpu });
  const want = ref.matmul(a.ref, b.ref, { transA, transB, activation, bias: bias?.ref });
  await assertClose(got, want, { ...tol(k), label: `${label} [${sa}]${transA ? 'ᵀ' : ''}·[${sb}]${transB ? 'ᵀ' : ''}${opts.bias ? ' +bias' : ''}${activation ? ` ${activation}` : ''}` });
  for (const t of [a.gpu, b.gpu, bias?.gpu, got]) t?.dispose();
}

/** Stored shapes of A (M, K) and B (K, N) under the transpose flags. */
const shapeA = (m: number, k: number, t = false) => (t ? [k, m] : [m, k]);
const shapeB = (k: number, n: number, t = false) => (t ? [n, k] : [k, n]);

const ODD = [1, 3, 7, 17, 63, 65, 129];

test('odd M, N and K (1 … 129) match the float64 oracle', async () => {
  const rng = new Rng(1);
  for (const s of ODD) {
    for (const [m, n, k] of [[s, 7, 17], [17, s, 7], [7, 17, s]]) await check(rng, [m!, k!], [k!, n!]);
  }
  for (const [m, n, k] of [[63, 65, 129], [129, 63, 65], [65, 129, 63]]) await check(rng, [m!, k!], [k!, n!]);
});

test('operands used in place (B with N % 4 == 0, Aᵀ with M % 4 == 0) and tile overhang in every direction', async () => {
  const rng = new Rng(2);
  const bm = TILE.WGY * TILE.TM;
  const bn = TILE.WGX * TILE.TN4 * 4;
  for (const [m, n, k] of [[bm + 1, bn + 4, 33], [bm - 1, bn - 4, 64], [3, 4, 5], [130, 132, 17], [2 * bm, 2 * bn, 1]]) {
    await check(rng, [m!, k!], [k!, n!]);
    await check(rng, [k!, m! + 4 - (m! % 4 || 4)], [k!, n!], { transA: true });
  }
});

test('K = 0: the product is zero, then bias and activation apply', async () => {
  const a = tensor([], [3, 0]);
  const b = tensor([], [0, 5]);
  await assertClose(matmul(a, b), ndarray([3, 5]), { rtol: 0, atol: 0 });
  const bias = tensor([0.5, -1, 2, 0, -3]);
  const want = ndarray([3, 5], Array.from({ length: 15 }, (_, i) => unaryFns.gelu(Math.fround([0.5, -1, 2, 0, -3][i % 5]!))));
  await assertClose(matmul(a, b, { bias, activation: 'gelu' }), want, { rtol: 1e-5, atol: 1e-6 });
  await assertClose(matmul(tensor([], [1, 0]), tensor([], [0, 8]), { bias: tensor([1, 2, 3, 4, 5, 6, 7, 8]) }), ndarray([1, 8], [1, 2, 3, 4, 5, 6, 7, 8]), { rtol: 0, atol: 0, label: 'matvec, K = 0' });
});

test('empty results (M, N or a batch dimension of 0) have the right shape', async () => {
  assert.equal([...matmul(tensor([], [0, 4]), tensor(new Float32Array(20), [4, 5])).shape], [0, 5]);
  assert.equal([...matmul(tensor(new Float32Array(8), [2, 4]), tensor([], [4, 0])).shape], [2, 0]);
  assert.equal([...matmul(tensor([], [0, 2, 4]), tensor(new Float32Array(20), [4, 5])).shape], [0, 2, 5]);
});

test('all four transpose combinations, odd and vec4-aligned, with batch dimensions', async () => {
  const rng = new Rng(3);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [m, n, k] of [[7, 9, 13], [33, 36, 20], [65, 64, 3]]) {
        await check(rng, shapeA(m!, k!, transA), shapeB(k!, n!, transB), { transA, transB });
        await check(rng, [2, ...shapeA(m!, k!, transA)], [2, ...shapeB(k!, n!, transB)], { transA, transB });
      }
    }
  }
});

test('batch dimensions broadcast as in NumPy, on either side', async () => {
  const rng = new Rng(4);
  const pairs: [number[], number[]][] = [
    [[2, 3, 5, 6], [6, 7]], [[5, 6], [2, 3, 6, 8]], [[2, 1, 5, 6], [3, 6, 4]], [[1, 5, 6], [3, 6, 4]],
    [[3, 1, 5, 6], [1, 2, 6, 7]], [[2, 2, 1, 2, 3, 4], [2, 1, 4, 5]],
  ];
  for (const [sa, sb] of pairs) {
    await check(rng, sa, sb);
    const ta = [...sa.slice(0, -2), sa[sa.length - 1]!, sa[sa.length - 2]!];
    const tb = [...sb.slice(0, -2), sb[sb.length - 1]!, sb[sb.length - 2]!];
    await check(rng, ta, tb, { transA: true, transB: true });
  }
});

test('bias and GELU epilogues on every kernel (tile with packed or in-place operands, matvec variants)', async () => {
  const rng = new Rng(5);
  for (const opts of [{ bias: true }, { activation: 'gelu' as const }, { bias: true, activation: 'gelu' as const }]) {
    await check(rng, [17, 9], [9, 13], opts, 'tile, B packed');
    await check(rng, [17, 9], [9, 12], opts, 'tile, B in place');
    await check(rng, [2, 17, 9], [13, 9], { ...opts, transB: true }, 'tile transB');
    await check(rng, [1, 40], [40, 13], opts, 'matvec');
    await check(rng, [1, 40], [40, 12], opts, 'matvec vec4');
    await check(rng, [1, 40], [13, 40], { ...opts, transB: true }, 'matvec dot4');
  }
});

test('M = 1 (matrix-vector kernels): every variant, long K, many column blocks, batches', async () => {
  const rng = new Rng(6);
  const perBlock = (MATVEC.MV_WG / MATVEC.KS) * MATVEC.TN4 * 4;
  for (const k of [1, 3, 8, 1000]) {
    for (const n of [1, 5, 12, perBlock + 1, 3 * perBlock + 4]) {
      await check(rng, [1, k], [k, n], {}, 'matvec');
      await check(rng, [1, k], [n, k], { transB: true }, 'matvec transB');
    }
  }
  await check(rng, [3, 1, 16], [2, 1, 16, 20], {}, 'batched matvec');
  await check(rng, [2, 1, 16], [5, 16], { transB: true }, 'batched dot4');
  await check(rng, [4, 1], [4, 9], { transA: true }, 'transposed row');
});

test('1-D operands follow PyTorch: a row, a column, a dot product, broadcast against batches', async () => {
  const rng = new Rng(7);
  await check(rng, [33], [33, 5]);
  await check(rng, [33], [5, 33], { transB: true });
  await check(rng, [6, 33], [33]);
  await check(rng, [33, 6], [33], { transA: true });
  await check(rng, [33], [33]);
  await check(rng, [8], [3, 8, 4]);
  await check(rng, [2, 3, 6, 8], [8]);
  const x = tensor([1, 2, 3]);
  const dot = matmul(x, tensor([4, 5, 6]));
  assert.equal([...dot.shape], []);
  assert.is(await dot.item(), 32);
});

test('no out-of-bounds reads or writes: NaN beyond every input, sentinels beyond every output', async () => {
  const device = await testDevice();
  const rng = new Rng(8);
  /** A tensor of `shape` whose storage continues with NaN: any read past the end poisons the result. */
  const padded = (shape: number[]) => {
    const size = shape.reduce((x, y) => x * y, 1);
    const pair = randomPair(rng, shape);
    const storage = tensor(Float32Array.from([...pair.ref.data, ...new Array(256).fill(NaN)]), [size + 256]);
    const view = storage.view(shape);
    storage.dispose();
    pair.gpu.dispose();
    return { ref: pair.ref, gpu: view };
  };
  /** Leaves `count` sentinel-filled buffers of the output's bucket at the top of the pool, so the next outputs land in them. */
  const SENTINEL = Math.fround(1e30);
  const primePool = (outElements: number, count: number) => {
    const bucket = bucketSize(Math.max(1, outElements) * 4);
    const fillers = Array.from({ length: count }, () => full([bucket / 4], SENTINEL));
    const ids = fillers.map((f) => f.buffer('test').id);
    for (const f of fillers) f.dispose();
    return { bucket, ids };
  };
  const checkTail = async (t: Tensor, bucket: number, label: string) => {
    const raw = new Float32Array(await device.read(t.buffer('test'), bucket, 'test'));
    for (let i = t.size; i < raw.length; i++) {
      if (raw[i] !== SENTINEL) assert.unreachable(`${label}: element ${i} beyond the ${t.size} outputs was overwritten (${raw[i]})`);
    }
  };
  const cases: [number[], number[], Opts][] = [
    [[37, 21], [21, 45], {}], // both operands packed, tile overhang in M and N
    [[37, 21], [21, 44], {}], // B in place
    [[21, 36], [21, 44], { transA: true }], // both in place
    [[21, 37], [45, 21], { transA: true, transB: true }],
    [[2, 5, 9], [9, 13], { bias: true, activation: 'gelu' }],
    [[1, 35], [35, 19], {}], // matvec
    [[1, 36], [36, 20], { bias: true }], // matvec_vec4
    [[1, 36], [19, 36], { transB: true }], // matvec_dot4
  ];
  for (const [sa, sb, opts] of cases) {
    const a = padded(sa);
    const b = padded(sb);
    const n = sb[opts.transB ? sb.length - 2 : sb.length - 1]!;
    const bias = opts.bias ? padded([n]) : null;
    const want = ref.matmul(a.ref, b.ref, { ...opts, bias: bias?.ref });
    const { bucket, ids } = primePool(want.data.length, 1);
    const y = matmul(a.gpu, b.gpu, { ...opts, bias: bias?.gpu });
    assert.is(y.buffer('test').id, ids[0], 'the output reuses the sentinel-filled buffer');
    const k = sa[opts.transA ? sa.length - 2 : sa.length - 1]!;
    await assertClose(y, want, { ...tol(k), label: `[${sa}]·[${sb}] ${JSON.stringify(opts)}` });
    await checkTail(y, bucket, `[${sa}]·[${sb}]`);
    for (const t of [a.gpu, b.gpu, bias?.gpu, y]) t?.dispose();
  }
  // With gradients wanted, GELU's pre-activation is a second output: both must stay in bounds.
  const a = padded([5, 9]);
  const b = padded([9, 13]);
  a.gpu.requiresGrad = true;
  const { bucket, ids } = primePool(5 * 13, 2);
  const y = matmul(a.gpu, b.gpu, { activation: 'gelu' });
  assert.is(y.buffer('test').id, ids[1]);
  await assertClose(y, ref.matmul(a.ref, b.ref, { activation: 'gelu' }), tol(9));
  await checkTail(y, bucket, 'gelu output');
  const pre = (y.node as unknown as { saved?: Tensor[] }).saved?.[0];
  if (pre) await checkTail(pre, bucket, 'pre-activation');
  y.dispose();
  a.gpu.dispose();
  b.gpu.dispose();
});

test('bad input: typed errors naming the op, the arguments and the shapes', () => {
  const a = tensor(new Float32Array(12), [3, 4]);
  const b = tensor(new Float32Array(30), [5, 6]);
  assertThrows(() => matmul(a, b), ShapeError, 'matmul', '[3, 4]', '[5, 6]', 'K = 4', 'K = 5');
  assertThrows(() => matmul(a, tensor(new Float32Array(12), [4, 3]), { transB: true }), ShapeError, 'matmul', '(transposed)');
  assertThrows(() => matmul(tensor(2), b), ShapeError, 'matmul', "'a'", 'scalar');
  assertThrows(() => matmul(a, tensor(2)), ShapeError, 'matmul', "'b'", 'scalar');
  assertThrows(() => matmul(tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' }), a), DTypeError, 'matmul', 'int32');
  assertThrows(() => matmul(a, tensor([1, 2, 3, 4], [4, 1], { dtype: 'int32' })), DTypeError, 'matmul', "'b'", 'int32');
  const x = tensor(new Float32Array(24), [2, 3, 4]);
  const y = tensor(new Float32Array(60), [3, 4, 5]);
  assertThrows(() => matmul(x, y), ShapeError, 'matmul', '[2, 3, 4]', '[3, 4, 5]', 'batch');
  assertThrows(() => matmul(a, tensor(new Float32Array(20), [4, 5]), { bias: tensor([1, 2, 3]) }), ShapeError, 'matmul', 'bias', '[3]', '[5]');
  assertThrows(() => matmul(a, tensor(new Float32Array(20), [4, 5]), { activation: 'relu' as 'gelu' }), WgradError, 'matmul', 'relu');
  for (const t of [a, b, x, y]) t.dispose();
});

// ---- gradients -------------------------------------------------------------------------------------

const grng = new Rng(42);
const rand = (shape: number[]): NDArray => ({ shape, data: Float64Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => grng.normal()) });

async function gradMatmul(sa: number[], sb: number[], opts: Opts = {}) {
  const { transA = false, transB = false, activation } = opts;
  const n = sb.length === 1 ? 1 : sb[transB ? sb.length - 2 : sb.length - 1]!;
  const inputs = opts.bias ? [rand(sa), rand(sb), rand([n])] : [rand(sa), rand(sb)];
  const attrs = { transA: sa.length > 1 && transA, transB: sb.length > 1 && transB, bias: opts.bias === true, activation };
  await gradcheck({
    name: `matmul [${sa}]·[${sb}] ${JSON.stringify(opts)}`,
    forward: (x, y, z) => matmul(x!, y!, { transA, transB, activation, bias: z }),
    reference: (x, y, z) => ref.matmul(x!, y!, { transA, transB, activation, bias: z }),
    referenceBackward: (xs, dy) => referenceVjp.matmul!(xs, dy, attrs),
    inputs,
  });
}

test('gradcheck: plain, every transpose combination, batches', async () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      await gradMatmul(shapeA(3, 4, transA), shapeB(4, 5, transB), { transA, transB });
      await gradMatmul([2, ...shapeA(3, 4, transA)], [2, ...shapeB(4, 5, transB)], { transA, transB });
    }
  }
});

test('gradcheck: broadcast batch dimensions sum back to each input', async () => {
  await gradMatmul([2, 1, 3, 4], [3, 4, 5]);
  await gradMatmul([3, 4], [2, 4, 5], { transB: false });
  await gradMatmul([2, 4, 3], [1, 5, 4], { transA: true, transB: true });
});

test('gradcheck: bias, GELU, both (through the fused epilogue), and M = 1', async () => {
  await gradMatmul([3, 4], [4, 5], { bias: true });
  await gradMatmul([3, 4], [4, 5], { activation: 'gelu' });
  await gradMatmul([2, 3, 4], [5, 4], { transB: true, bias: true, activation: 'gelu' });
  await gradMatmul([1, 6], [6, 8], { bias: true });
  await gradMatmul([1, 8], [5, 8], { transB: true });
});

test('gradcheck: 1-D operands', async () => {
  await gradMatmul([4], [4, 5]);
  await gradMatmul([3, 4], [4]);
  await gradMatmul([4], [4]);
  await gradMatmul([4], [2, 4, 3], { bias: true });
});

test('backward through the fused GELU frees the pre-activation with the graph', async () => {
  const device = await testDevice();
  const before = device.memory().tensors;
  const a = tensor(Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.8), [3, 4], { requiresGrad: true });
  const b = tensor(Float32Array.from({ length: 20 }, (_, i) => 0.3 - i / 11), [4, 5], { requiresGrad: true });
  const bias = tensor([0.1, -0.2, 0.3, 0, 1], [5], { requiresGrad: true });
  const y = matmul(a, b, { bias, activation: 'gelu' });
  const loss = sum(y);
  loss.backward();
  assert.equal([...bias.grad!.shape], [5]);
  for (const t of [loss, y, a, b, bias]) t.dispose();
  await device.sync();
  assert.is(device.memory().tensors, before, 'no tensor left behind');
});

test.run();
