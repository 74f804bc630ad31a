import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import { composedLayerNorm, layerNorm } from '../src/ops/layernorm.js';
import { sum } from '../src/ops/reduce.js';
import * as ref from '../src/reference/layernorm.js';
import { referenceVjp } from '../src/reference/grad.js';
import type { NDArray } from '../src/reference/ndarray.js';
import { full, tensor } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { backward, gradcheck } from '../src/autograd/index.js';
import { bucketSize } from '../src/gpu/pool.js';
import { DTypeError, ShapeError, WgradError } from '../src/errors.js';

const test = suite('layernorm');
test.before(async () => {
  await testDevice();
});

// Row lengths: not multiples of 4 (scalar kernels) and multiples of 4 (vec4 kernels), 1 included.
const CS = [1, 7, 65, 128, 257, 1000];
type Affine = 'weight+bias' | 'weight' | 'bias' | 'none';
const AFFINES: Affine[] = ['weight+bias', 'weight', 'bias', 'none'];

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Tolerances, float32 on the GPU against the float64 oracle, for rows of length c.
 *   y      per row r: atol 4u·√c·max(8, max|x_r|·rstd_r)·(max|weight| or 1) + 1e-6·max|bias|, rtol 1e-5,
 *          u = 2⁻²⁴. The mean is a sum of c float32 terms (rounding grows like √c), carrying an error
 *          of about u·√c·max|x_r|, which the normalisation multiplies by rstd_r: rows with a large
 *          mean or a tiny spread lose digits in any float32 LayerNorm. For unit-scale data,
 *          max|x|·rstd ≤ 8 and atol ≈ 2e-6·√c.
 *   dx     per row r: atol 4u·√c·max(8, max|x_r|·rstd_r)·rstd_r·max|dy_r·weight|, rtol 1e-5: the
 *          error of x̂ above, carried through rstd·(g - mean(g) - x̂·mean(g·x̂)).
 *   dweight, dbias  |Δ| ≤ 16u·√N·max|reference|: sums over the N rows.
 */
const U = 2 ** -24;

async function assertRowsClose(actual: Tensor, expected: NDArray, rowAtol: (r: number) => number, label: string): Promise<void> {
  assert.equal([...actual.shape], [...expected.shape], `${label} shape`);
  const got = await actual.toArray();
  const c = expected.shape[expected.shape.length - 1]!;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    const tol = rowAtol(Math.floor(i / c)) + 1e-5 * Math.abs(e);
    if (!(Math.abs(got[i]! - e) <= tol)) assert.unreachable(`${label} element ${i}: got ${got[i]}, expected ${e} (tolerance ${tol.toExponential(2)}, shape [${expected.shape}])`);
  }
}

function yRowTol(x: NDArray, w: NDArray | null, b: NDArray | null, eps: number): (r: number) => number {
  const c = x.shape[x.shape.length - 1]!;
  const { rstd } = ref.layerNormStats(x, eps);
  const wScale = w ? Math.max(1, maxAbs(w.data)) : 1;
  const bScale = b ? maxAbs(b.data) : 0;
  const rows = rstd.data.map((rs, r) => 4 * U * Math.sqrt(c) * Math.max(8, maxAbs(x.data.subarray(r * c, r * c + c)) * rs) * wScale + 1e-6 * bScale);
  return (r) => rows[r]!;
}
function dxRowTol(x: NDArray, w: NDArray | null, dy: NDArray, eps: number): (r: number) => number {
  const c = x.shape[x.shape.length - 1]!;
  const { rstd } = ref.layerNormStats(x, eps);
  const rows = rstd.data.map((rs, r) => {
    let g = 0;
    for (let k = 0; k < c; k++) g = Math.max(g, Math.abs(dy.data[r * c + k]! * (w ? w.data[k]! : 1)));
    return 4 * U * Math.sqrt(c) * Math.max(8, maxAbs(x.data.subarray(r * c, r * c + c)) * rs) * rs * g;
  });
  return (r) => rows[r]!;
}
function gradTol(len: number, expected: NDArray) {
  return { rtol: 0, atol: 16 * U * Math.sqrt(Math.max(len, 1)) * Math.max(maxAbs(expected.data), 1e-30) };
}

interface Case {
  x: { ref: NDArray; gpu: Tensor };
  w: { ref: NDArray; gpu: Tensor } | null;
  b: { ref: NDArray; gpu: Tensor } | null;
}

function makeCase(rng: Rng, shape: number[], affine: Affine, offset = 0): Case {
  const c = shape[shape.length - 1]!;
  return {
    x: randomPair(rng, shape, 2, offset),
    w: affine === 'weight+bias' || affine === 'weight' ? randomPair(rng, [c], 0.5, 1) : null,
    b: affine === 'weight+bias' || affine === 'bias' ? randomPair(rng, [c]) : null,
  };
}

async function checkForward(k: Case, label: string, fn = layerNorm, eps = 1e-5): Promise<void> {
  const [w, b] = [k.w?.ref ?? null, k.b?.ref ?? null];
  const expected = ref.layerNorm(k.x.ref, w, b, eps);
  await assertRowsClose(fn(k.x.gpu, k.w?.gpu ?? null, k.b?.gpu ?? null, eps), expected, yRowTol(k.x.ref, w, b, eps), label);
}

/** Forward and backward (with a random dy) of the fused op, each gradient against the oracle's. */
async function checkBackward(k: Case, label: string, seed: number): Promise<void> {
  const shape = k.x.ref.shape;
  const c = shape[shape.length - 1]!;
  const rows = c === 0 ? 0 : k.x.ref.data.length / c;
  const dy = randomPair(new Rng(seed), shape);
  const inputs = [k.x, k.w, k.b].filter((v) => v !== null);
  const attrs = { eps: 1e-5, hasWeight: k.w !== null, hasBias: k.b !== null };
  const expected = ref.layerNormVjp(inputs.map((v) => v.ref), dy.ref, attrs);
  for (const v of inputs) v.gpu.requiresGrad = true;
  const y = layerNorm(k.x.gpu, k.w?.gpu ?? null, k.b?.gpu ?? null);
  backward(y, dy.gpu);
  for (const [i, v] of inputs.entries()) {
    if (i === 0) await assertRowsClose(v.gpu.grad!, expected[0]!, dxRowTol(k.x.ref, k.w?.ref ?? null, dy.ref, 1e-5), `${label} dx`);
    else await assertClose(v.gpu.grad!, expected[i]!, { ...gradTol(rows, expected[i]!), label: `${label} grad ${i}` });
    v.gpu.grad!.dispose();
    v.gpu.grad = null;
    v.gpu.requiresGrad = false;
  }
  y.dispose();
  dy.gpu.dispose();
}

test('forward matches the oracle: rows of 1…1000, every combination of weight and bias', async () => {
  const rng = new Rng(1);
  for (const c of CS) {
    for (const affine of AFFINES) await checkForward(makeCase(rng, [33, c], affine), `[33, ${c}] ${affine}`);
  }
});

test('backward matches the oracle: dx, dweight, dbias for rows of 1…1000', async () => {
  const rng = new Rng(2);
  for (const c of CS) {
    for (const affine of AFFINES) await checkBackward(makeCase(rng, [33, c], affine), `[33, ${c}] ${affine}`, c);
  }
});

test('batch dimensions: (B, T, C) and rank 4 normalise the last dimension only', async () => {
  const rng = new Rng(3);
  for (const shape of [[2, 5, 65], [2, 5, 64], [2, 3, 4, 8], [1, 1, 7]]) {
    const k = makeCase(rng, shape, 'weight+bias');
    await checkForward(k, `[${shape}]`);
    await checkBackward(k, `[${shape}]`, 30);
  }
});

test('a large mean and a small spread: two-pass statistics keep their precision', async () => {
  const rng = new Rng(4);
  // x = 1000 + N(0, 2²): a one-pass E[x²] - E[x]² would lose every digit of the variance in float32.
  for (const c of [7, 128]) await checkForward(makeCase(rng, [9, c], 'weight+bias', 1000), `offset 1000, C = ${c}`);
  // Constant rows: var 0, so rstd = 1/√eps and y = bias.
  const x = tensor(new Float32Array(3 * 8).fill(3.5), [3, 8]);
  const b = randomPair(rng, [8]);
  await assertClose(layerNorm(x, null, b.gpu), ref.layerNorm({ shape: [3, 8], data: new Float64Array(24).fill(3.5) }, null, b.ref), { rtol: 0, atol: 0, label: 'constant rows' });
  await checkForward(makeCase(rng, [5, 12], 'weight'), 'eps 0.1', layerNorm, 0.1);
});

test('more than 65,535 × 64 rows: the folded grid reaches every row, forward and backward', async () => {
  // One invocation per row, 64 rows per workgroup: 4,200,000 rows need 65,625 workgroups.
  const rng = new Rng(5);
  const k = makeCase(rng, [4_200_000, 3], 'weight+bias');
  // Rows (j + N(0, 0.1²)) for j = 0, 1, 2: the test is about reaching every row, and rows of nearly
  // equal values are ill-conditioned in float32 (see the tolerances above).
  const xs = k.x.ref.data;
  for (let i = 0; i < xs.length; i++) xs[i] = Math.fround((i % 3) + 0.1 * rng.normal());
  k.x.gpu.dispose();
  k.x.gpu = tensor(Float32Array.from(xs), [4_200_000, 3]);
  await checkForward(k, '[4200000, 3]');
  await checkBackward(k, '[4200000, 3]', 50);
  for (const v of [k.x, k.w!, k.b!]) v.gpu.dispose();
  const k4 = makeCase(rng, [70_000, 4], 'weight');
  await checkForward(k4, '[70000, 4]');
  await checkBackward(k4, '[70000, 4]', 51);
  for (const v of [k4.x, k4.w!]) v.gpu.dispose();
});

test('empty tensors: no rows, or rows of length 0', async () => {
  const w = tensor([1, 2, 3]);
  const y = layerNorm(tensor([], [0, 3]), w, null);
  assert.equal([...y.shape], [0, 3]);
  const x = tensor([], [0, 3]);
  x.requiresGrad = true;
  w.requiresGrad = true;
  backward(layerNorm(x, w, null), tensor([], [0, 3]));
  assert.equal([...(await w.grad!.toArray())], [0, 0, 0], 'dweight of no rows');
  assert.equal([...layerNorm(tensor([], [4, 0]), tensor([], [0])).shape], [4, 0]);
});

// ---- gradients -------------------------------------------------------------------------------------

test('gradcheck: oracle gradient = finite differences; GPU gradient = oracle (x, weight, bias)', async () => {
  const rng = new Rng(6);
  const rand = (shape: number[], offset = 0): NDArray => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + rng.normal()) });
  for (const shape of [[3, 7], [2, 3, 8], [4, 1]]) {
    const c = shape[shape.length - 1]!;
    for (const affine of AFFINES) {
      const hasWeight = affine === 'weight+bias' || affine === 'weight';
      const hasBias = affine === 'weight+bias' || affine === 'bias';
      const attrs = { eps: 1e-5, hasWeight, hasBias };
      const inputs = [rand(shape), ...(hasWeight ? [rand([c], 1)] : []), ...(hasBias ? [rand([c])] : [])];
      const split = <T>(xs: T[]): [T, T | null, T | null] => [xs[0]!, hasWeight ? xs[1]! : null, hasBias ? xs[hasWeight ? 2 : 1]! : null];
      await gradcheck({
        name: `layerNorm [${shape}] ${affine}`,
        forward: (...ts) => layerNorm(...split(ts)),
        reference: (...xs) => ref.layerNorm(...split(xs)),
        referenceBackward: (xs, dy) => referenceVjp.layerNorm!(xs, dy, attrs),
        inputs,
      });
    }
  }
});

test('fused gradients equal the composed op\'s (autograd through mean, sub, square, rsqrt, mul, add)', async () => {
  const rng = new Rng(7);
  for (const shape of [[5, 7], [2, 4, 64], [3, 257]]) {
    const c = shape[shape.length - 1]!;
    const k = makeCase(rng, shape, 'weight+bias');
    const dy = randomPair(rng, shape);
    const grads = async (fn: typeof layerNorm) => {
      for (const v of [k.x, k.w!, k.b!]) v.gpu.requiresGrad = true;
      const y = fn(k.x.gpu, k.w!.gpu, k.b!.gpu);
      backward(y, dy.gpu);
      const out = await Promise.all([k.x, k.w!, k.b!].map(async (v) => {
        const g = await v.gpu.grad!.toArray();
        v.gpu.grad!.dispose();
        v.gpu.grad = null;
        return Float64Array.from(g);
      }));
      y.dispose();
      return out;
    };
    const fused = await grads(layerNorm);
    const composed = await grads(composedLayerNorm);
    const rows = k.x.ref.data.length / c;
    for (const [i, name] of ['dx', 'dweight', 'dbias'].entries()) {
      const expected = { shape: i === 0 ? shape : [c], data: composed[i]! };
      const got = tensor(Float32Array.from(fused[i]!), expected.shape);
      // Both are float32: twice the oracle tolerance.
      const tol = gradTol(i === 0 ? c : rows, expected);
      await assertClose(got, expected, { rtol: 0, atol: 2 * tol.atol, label: `[${shape}] ${name}: fused vs composed` });
    }
  }
});

test('composedLayerNorm matches the oracle too', async () => {
  const rng = new Rng(8);
  for (const affine of AFFINES) await checkForward(makeCase(rng, [6, 65], affine), `composed ${affine}`, composedLayerNorm);
});

test('only weight and bias require grad: dweight and dbias still come out right', async () => {
  const rng = new Rng(9);
  const k = makeCase(rng, [6, 12], 'weight+bias');
  const dy = randomPair(rng, [6, 12]);
  k.w!.gpu.requiresGrad = true;
  k.b!.gpu.requiresGrad = true;
  backward(layerNorm(k.x.gpu, k.w!.gpu, k.b!.gpu), dy.gpu);
  assert.is(k.x.gpu.grad, null);
  const [, dw, db] = ref.layerNormVjp([k.x.ref, k.w!.ref, k.b!.ref], dy.ref);
  await assertClose(k.w!.gpu.grad!, dw!, { ...gradTol(6, dw!), label: 'dweight' });
  await assertClose(k.b!.gpu.grad!, db!, { ...gradTol(6, db!), label: 'dbias' });
});

test('forward and backward leave no tensors behind (saved statistics are freed)', async () => {
  const device = await testDevice();
  const rng = new Rng(10);
  const k = makeCase(rng, [16, 20], 'weight+bias');
  for (const v of [k.x, k.w!, k.b!]) v.gpu.requiresGrad = true;
  const step = () => {
    scope(() => backward(sum(layerNorm(k.x.gpu, k.w!.gpu, k.b!.gpu))));
    for (const v of [k.x, k.w!, k.b!]) {
      v.gpu.grad!.dispose();
      v.gpu.grad = null;
    }
  };
  step();
  const before = device.memory();
  for (let i = 0; i < 5; i++) step();
  scope(() => void layerNorm(k.x.gpu, k.w!.gpu, k.b!.gpu)); // recorded, never back-propagated
  await device.sync();
  assert.is(device.memory().tensors, before.tensors);
  assert.is(device.memory().bytesInUse, before.bytesInUse);
});

// ---- out of bounds ---------------------------------------------------------------------------------

/**
 * Puts buffers filled with `value` on the pool's free lists for the buckets of these element counts,
 * so that the next tensors of those sizes reuse them: writing past a tensor's end would show.
 */
function seedPool(counts: number[], value: number, copies = 4): void {
  const seeds = counts.flatMap((n) => Array.from({ length: copies }, () => full([bucketSize(n * 4) / 4], value)));
  for (const t of seeds) t.dispose();
}

/** The words of t's pooled buffer past its last element are still `value`. */
async function assertTailIntact(t: Tensor, value: number, label: string): Promise<void> {
  const capacity = t.buffer('test').size / 4;
  assert.ok(capacity > t.size, `${label}: the bucket has a tail to check`);
  const whole = t.view([capacity]);
  const words = await whole.toArray();
  whole.dispose();
  for (let i = t.size; i < capacity; i++) {
    if (words[i] !== Math.fround(value)) assert.unreachable(`${label}: word ${i} past the end (${t.size}) was overwritten with ${words[i]}`);
  }
}

test('out of bounds: NaN beyond the inputs is never read; nothing is written beyond the outputs', async () => {
  const rng = new Rng(11);
  for (const c of [7, 8]) {
    const n = 5;
    // Inputs as views of the front of larger NaN-padded tensors.
    const padded = (r: { ref: NDArray }) => {
      const data = new Float32Array(r.ref.data.length + 37).fill(NaN);
      data.set(Float32Array.from(r.ref.data));
      return tensor(data).view([...r.ref.shape]);
    };
    const k = makeCase(rng, [n, c], 'weight+bias');
    const dy = randomPair(rng, [n, c]);
    const [x, w, b, g] = [padded(k.x), padded(k.w!), padded(k.b!), padded(dy)];
    for (const t of [x, w, b]) t.requiresGrad = true;
    seedPool([n * c, c], 1e30);
    const y = layerNorm(x, w, b);
    await assertRowsClose(y, ref.layerNorm(k.x.ref, k.w!.ref, k.b!.ref), yRowTol(k.x.ref, k.w!.ref, k.b!.ref, 1e-5), `C ${c} y`);
    await assertTailIntact(y, 1e30, `C ${c} y`);
    seedPool([n * c, c], 1e30);
    backward(y, g);
    const expected = ref.layerNormVjp([k.x.ref, k.w!.ref, k.b!.ref], dy.ref);
    await assertRowsClose(x.grad!, expected[0]!, dxRowTol(k.x.ref, k.w!.ref, dy.ref, 1e-5), `C ${c} dx`);
    for (const [i, t] of [x, w, b].entries()) {
      if (i > 0) await assertClose(t.grad!, expected[i]!, { ...gradTol(n, expected[i]!), label: `C ${c} grad ${i}` });
      await assertTailIntact(t.grad!, 1e30, `C ${c} grad ${i}`);
    }
  }
});

// ---- errors ----------------------------------------------------------------------------------------

test('bad input: typed errors naming the op, the argument and the shapes', () => {
  const x = tensor(new Float32Array(12), [3, 4]);
  assertThrows(() => layerNorm(x, tensor([1, 2, 3, 4, 5])), ShapeError, 'layerNorm', 'weight', '[5]', '[3, 4]', '[4]');
  assertThrows(() => layerNorm(x, tensor(new Float32Array(4), [1, 4])), ShapeError, 'weight', '[1, 4]');
  assertThrows(() => layerNorm(x, null, tensor([1, 2, 3])), ShapeError, 'bias', '[3]', '[3, 4]');
  assertThrows(() => layerNorm(x, tensor([1, 2, 3, 4], [4], { dtype: 'int32' })), DTypeError, 'layerNorm', 'weight', 'int32');
  assertThrows(() => layerNorm(tensor([1, 2], [2], { dtype: 'int32' })), DTypeError, 'layerNorm', 'x', 'int32');
  assertThrows(() => layerNorm(tensor(1)), ShapeError, 'layerNorm', 'rank 0');
  assertThrows(() => layerNorm(x, null, null, -1), WgradError, 'layerNorm', 'eps -1');
  assertThrows(() => composedLayerNorm(x, tensor([1, 2])), ShapeError, 'composedLayerNorm', 'weight', '[2]');
});

test.run();
