import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import { Rng } from '../src/tensor/random.js';
import { composedCrossEntropy, crossEntropy, type Reduction } from '../src/ops/cross-entropy.js';
import * as ref from '../src/reference/cross-entropy.js';
import { referenceVjp } from '../src/reference/grad.js';
import { ndarray, type NDArray } from '../src/reference/ndarray.js';
import { full, tensor } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { backward, gradcheck } from '../src/autograd/index.js';
import { bucketSize } from '../src/gpu/pool.js';
import { DTypeError, ShapeError, WgradError } from '../src/errors.js';

const test = suite('cross-entropy');
test.before(async () => {
  await testDevice();
});

// Row lengths: short rows (an invocation per row) and from 4,096 on (a workgroup per row).
const VS = [1, 7, 65, 128, 257, 1000, 4096, 5000];
const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];
const U = 2 ** -24;

/**
 * Tolerances, float32 on the GPU against the float64 oracle, for rows of V logits:
 *   per-row loss  atol 8u·(1 + √V), rtol 1e-6 (u = 2⁻²⁴): Σ exp(l - max) is a sum of V float32 terms
 *                 (rounding grows like √V), and log turns its relative error into an absolute one;
 *                 (max - l_t) is rounded once, hence the rtol.
 *   mean, sum     the same plus rtol 4u·√N for the sum over N rows.
 *   dlogits       atol 8u·(1 + √V)·max|g|, rtol 1e-5, g the per-row upstream gradient (÷ count for
 *                 the mean): softmax inherits the error of the log-sum-exp, exp adds a few ulp.
 */
function lossTol(v: number, n: number, reduction: Reduction) {
  return { rtol: 1e-6 + (reduction === 'none' ? 0 : 4 * U * Math.sqrt(n)), atol: 8 * U * (1 + Math.sqrt(v)) };
}
function gradTol(v: number, g: number) {
  return { rtol: 1e-5, atol: 8 * U * (1 + Math.sqrt(v)) * g };
}

/** Random targets in [0, V), with every `ignoreEvery`-th row set to ignoreIndex. */
function targetsFor(rng: Rng, n: number, v: number, ignoreIndex = -100, ignoreEvery = 5): NDArray {
  return ndarray([n], Array.from({ length: n }, (_, r) => (r % ignoreEvery === 2 ? ignoreIndex : Math.floor(rng.uniform() * v))));
}

const int32 = (t: NDArray) => tensor(Int32Array.from(t.data), [...t.shape], { dtype: 'int32' });

/** The per-row upstream gradient scale for dy of a reduction. */
function gScale(dy: NDArray, reduction: Reduction, count: number): number {
  const m = Math.max(...Array.from(dy.data, Math.abs));
  return reduction === 'mean' ? m / Math.max(count, 1) : m;
}

async function checkForwardBackward(logits: { ref: NDArray; gpu: Tensor }, targets: NDArray, options: { ignoreIndex?: number; reduction: Reduction }, label: string, seed: number): Promise<void> {
  const [n, v] = logits.ref.shape as [number, number];
  const t = int32(targets);
  const expected = ref.crossEntropy(logits.ref, targets, options);
  logits.gpu.requiresGrad = true;
  const loss = crossEntropy(logits.gpu, t, options);
  await assertClose(loss, expected, { ...lossTol(v, n, options.reduction), label: `${label} loss` });
  const dy = randomPair(new Rng(seed), [...expected.shape]);
  backward(loss, dy.gpu);
  const [dlogits] = ref.crossEntropyVjp([logits.ref, targets], dy.ref, options);
  const count = targets.data.filter((x) => x !== (options.ignoreIndex ?? -100)).length;
  await assertClose(logits.gpu.grad!, dlogits!, { ...gradTol(v, gScale(dy.ref, options.reduction, count)), label: `${label} dlogits` });
  logits.gpu.grad!.dispose();
  logits.gpu.grad = null;
  logits.gpu.requiresGrad = false;
  for (const x of [loss, dy.gpu, t]) x.dispose();
}

test('forward and backward match the oracle: rows of 1…5000, each reduction, some rows ignored', async () => {
  const rng = new Rng(1);
  for (const v of VS) {
    const logits = randomPair(rng, [33, v], 3);
    const targets = targetsFor(rng, 33, v);
    for (const reduction of REDUCTIONS) await checkForwardBackward(logits, targets, { reduction }, `[33, ${v}] ${reduction}`, v);
    logits.gpu.dispose();
  }
});

test('ignoreIndex may be a valid class: its rows are skipped, the mean is over the others', async () => {
  const rng = new Rng(2);
  const logits = randomPair(rng, [40, 9]);
  const targets = ndarray([40], Array.from({ length: 40 }, (_, r) => r % 9));
  for (const reduction of REDUCTIONS) await checkForwardBackward(logits, targets, { ignoreIndex: 3, reduction }, `ignoreIndex 3 ${reduction}`, 20);
  // Only the ignored rows differ from the default.
  const t = int32(targets);
  const none = await crossEntropy(logits.gpu, t, { reduction: 'none', ignoreIndex: 3 }).toArray();
  const all = await crossEntropy(logits.gpu, t, { reduction: 'none' }).toArray();
  targets.data.forEach((c, r) => assert.ok(c === 3 ? none[r] === 0 && all[r]! > 0 : none[r] === all[r], `row ${r}`));
});

test('all rows ignored: the mean is NaN (as PyTorch), the sum 0, and every gradient 0', async () => {
  const rng = new Rng(3);
  const logits = randomPair(rng, [6, 5]);
  const t = tensor([-100, -100, -100, -100, -100, -100], [6], { dtype: 'int32' });
  const mean = crossEntropy(logits.gpu, t);
  assert.ok(Number.isNaN(await mean.item()), 'mean of nothing');
  assert.is(await crossEntropy(logits.gpu, t, { reduction: 'sum' }).item(), 0);
  assert.equal([...(await crossEntropy(logits.gpu, t, { reduction: 'none' }).toArray())], [0, 0, 0, 0, 0, 0]);
  for (const reduction of REDUCTIONS) {
    logits.gpu.requiresGrad = true;
    const loss = crossEntropy(logits.gpu, t, { reduction });
    backward(loss, full([...loss.shape], 1));
    assert.ok((await logits.gpu.grad!.toArray()).every((g) => g === 0), `${reduction}: zero gradients`);
    logits.gpu.grad!.dispose();
    logits.gpu.grad = null;
  }
  // No rows at all.
  const empty = tensor([], [0, 5]);
  const none = tensor(new Int32Array(0), [0], { dtype: 'int32' });
  assert.ok(Number.isNaN(await crossEntropy(empty, none).item()), 'mean of no rows');
  assert.is(await crossEntropy(empty, none, { reduction: 'sum' }).item(), 0);
  assert.equal([...crossEntropy(empty, none, { reduction: 'none' }).shape], [0]);
});

test('extreme logits (±1e4) are stable: finite losses and gradients equal to the oracle', async () => {
  const rng = new Rng(4);
  for (const v of [7, 5000]) {
    const n = 12;
    const data = Float64Array.from({ length: n * v }, () => [-1e4, 0, 1e4][Math.floor(rng.uniform() * 3)]! + rng.normal());
    const logits = { ref: ndarray([n, v], Float32Array.from(data)), gpu: tensor(Float32Array.from(data), [n, v]) };
    const targets = targetsFor(rng, n, v, -100, 100);
    for (const reduction of REDUCTIONS) await checkForwardBackward(logits, targets, { reduction }, `±1e4 V ${v} ${reduction}`, 40);
    // Losses up to 2e4 (a target at -1e4 against a max of 1e4): relative precision.
    const losses = await crossEntropy(logits.gpu, int32(targets), { reduction: 'none' }).toArray();
    assert.ok(losses.every(Number.isFinite), 'finite losses');
  }
});

test('targets outside [0, V) that are not ignored: NaN loss and gradient for that row only', async () => {
  const rng = new Rng(5);
  const v = 6;
  const logits = randomPair(rng, [7, v]);
  const idx = [2, -1, v, 2 ** 31 - 1, -(2 ** 31), -100, 5];
  const targets = ndarray([7], idx);
  const t = int32(targets);
  await assertClose(crossEntropy(logits.gpu, t, { reduction: 'none' }), ref.crossEntropy(logits.ref, targets, { reduction: 'none' }), { ...lossTol(v, 7, 'none'), label: 'none' });
  assert.ok(Number.isNaN(await crossEntropy(logits.gpu, t).item()), 'the mean is NaN');
  logits.gpu.requiresGrad = true;
  backward(crossEntropy(logits.gpu, t, { reduction: 'sum' }));
  const [expected] = ref.crossEntropyVjp([logits.ref, targets], ndarray([], [1]), { reduction: 'sum' });
  await assertClose(logits.gpu.grad!, expected!, { ...gradTol(v, 1), label: 'dlogits' });
});

test('more than 65,535 workgroups: 4,200,000 rows (64 rows per forward workgroup, 64 row chunks per backward one)', async () => {
  // Row r: logits ((r + k) % 4) / 2 for k < 4, target r % 3: twelve (pattern, target) combinations,
  // each checked against the oracle, so the check needs no per-row float64 copy.
  const n = 4_200_000;
  const v = 4;
  const data = new Float32Array(n * v);
  for (let i = 0; i < data.length; i++) data[i] = ((Math.floor(i / v) + (i % v)) % 4) / 2;
  const tdata = Int32Array.from({ length: n }, (_, r) => r % 3);
  const logits = tensor(data, [n, v]);
  const t = tensor(tdata, [n], { dtype: 'int32' });
  logits.requiresGrad = true;
  const loss = crossEntropy(logits, t, { reduction: 'none' });
  backward(loss, full([n], 0.5));
  const [losses, grads] = [await loss.toArray(), await logits.grad!.toArray()];
  const oracle = new Map<string, { loss: number; grad: Float64Array }>();
  for (let p = 0; p < 4; p++) {
    for (let target = 0; target < 3; target++) {
      const row = ndarray([1, v], Array.from({ length: v }, (_, k) => ((p + k) % 4) / 2));
      const tt = ndarray([1], [target]);
      oracle.set(`${p},${target}`, { loss: ref.crossEntropy(row, tt, { reduction: 'none' }).data[0]!, grad: ref.crossEntropyVjp([row, tt], ndarray([1], [0.5]), { reduction: 'none' })[0]!.data });
    }
  }
  const tol = 8 * U * (1 + Math.sqrt(v));
  for (let r = 0; r < n; r++) {
    const o = oracle.get(`${r % 4},${r % 3}`)!;
    if (!(Math.abs(losses[r]! - o.loss) <= tol + 1e-6 * o.loss)) assert.unreachable(`row ${r}: loss ${losses[r]}, expected ${o.loss}`);
    for (let k = 0; k < v; k++) {
      if (!(Math.abs(grads[r * v + k]! - o.grad[k]!) <= tol + 1e-5 * Math.abs(o.grad[k]!))) assert.unreachable(`row ${r}, class ${k}: dlogit ${grads[r * v + k]}, expected ${o.grad[k]}`);
    }
  }
  for (const x of [logits, t, loss]) x.dispose();
});

// ---- gradients -------------------------------------------------------------------------------------

test('gradcheck: oracle gradient = finite differences; GPU gradient = oracle (wrt logits)', async () => {
  const rng = new Rng(6);
  for (const [n, v] of [[5, 7], [4, 1], [3, 33]] as const) {
    const logits: NDArray = { shape: [n, v], data: Float64Array.from({ length: n * v }, () => 2 * rng.normal()) };
    const targets = targetsFor(rng, n, v, -100, 3);
    for (const reduction of REDUCTIONS) {
      const attrs = { ignoreIndex: -100, reduction };
      await gradcheck({
        name: `crossEntropy [${n}, ${v}] ${reduction}`,
        forward: (l, t) => crossEntropy(l!, t!, attrs),
        reference: (l, t) => ref.crossEntropy(l!, t!, attrs),
        referenceBackward: (xs, dy) => referenceVjp.crossEntropy!(xs, dy, attrs),
        inputs: [logits, targets],
        wrt: [0],
        dtypes: ['float32', 'int32'],
      });
    }
  }
});

test('fused gradients equal the composed op\'s (autograd through logSoftmax, gather, where, sum, div)', async () => {
  const rng = new Rng(7);
  for (const [n, v] of [[9, 7], [20, 65], [4, 5000]] as const) {
    const logits = randomPair(rng, [n, v], 3);
    const targets = targetsFor(rng, n, v, 1, 4);
    const t = int32(targets);
    for (const reduction of REDUCTIONS) {
      const options = { ignoreIndex: 1, reduction };
      const dy = randomPair(rng, reduction === 'none' ? [n] : []);
      const grad = async (fn: typeof crossEntropy) => {
        logits.gpu.requiresGrad = true;
        backward(fn(logits.gpu, t, options), dy.gpu);
        const g = Float64Array.from(await logits.gpu.grad!.toArray());
        logits.gpu.grad!.dispose();
        logits.gpu.grad = null;
        return g;
      };
      const composed = ndarray([n, v], await grad(composedCrossEntropy));
      const fused = tensor(Float32Array.from(await grad(crossEntropy)), [n, v]);
      const count = targets.data.filter((x) => x !== 1).length;
      // Both are float32: twice the oracle tolerance.
      const tol = gradTol(v, gScale(dy.ref, reduction, count));
      await assertClose(fused, composed, { rtol: 2 * tol.rtol, atol: 2 * tol.atol, label: `[${n}, ${v}] ${reduction}: fused vs composed` });
    }
  }
});

test('composedCrossEntropy matches the oracle for targets in range', async () => {
  const rng = new Rng(8);
  const logits = randomPair(rng, [30, 65], 3);
  const targets = targetsFor(rng, 30, 65, 7, 4);
  for (const reduction of REDUCTIONS) {
    const options = { ignoreIndex: 7, reduction };
    await assertClose(composedCrossEntropy(logits.gpu, int32(targets), options), ref.crossEntropy(logits.ref, targets, options), { ...lossTol(65, 30, reduction), label: `composed ${reduction}` });
  }
});

test('forward and backward leave no tensors behind (saved statistics are freed)', async () => {
  const device = await testDevice();
  const rng = new Rng(9);
  const logits = randomPair(rng, [16, 33]);
  const t = int32(targetsFor(rng, 16, 33));
  logits.gpu.requiresGrad = true;
  const step = (reduction: Reduction) => {
    scope(() => {
      const loss = crossEntropy(logits.gpu, t, { reduction });
      backward(loss, full([...loss.shape], 1));
    });
    logits.gpu.grad!.dispose();
    logits.gpu.grad = null;
  };
  step('mean');
  const before = device.memory();
  for (const reduction of REDUCTIONS) step(reduction);
  scope(() => void crossEntropy(logits.gpu, t)); // recorded, never back-propagated
  await device.sync();
  assert.is(device.memory().tensors, before.tensors);
  assert.is(device.memory().bytesInUse, before.bytesInUse);
});

// ---- out of bounds ---------------------------------------------------------------------------------

/** Puts sentinel-filled buffers on the pool's free lists for these element counts (see layernorm.test.ts). */
function seedPool(counts: number[], value: number, copies = 4): void {
  const seeds = counts.flatMap((n) => Array.from({ length: copies }, () => full([bucketSize(n * 4) / 4], value)));
  for (const s of seeds) s.dispose();
}

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

test('out of bounds: NaN beyond the logits is never read; nothing is written beyond the outputs', async () => {
  const rng = new Rng(10);
  for (const v of [7, 4097]) {
    const n = 5;
    const logits = randomPair(rng, [n, v]);
    const targets = ndarray([n], [0, v - 1, 3, -100, 1]);
    const padded = new Float32Array(n * v + 41).fill(NaN);
    padded.set(Float32Array.from(logits.ref.data));
    const l = tensor(padded).view([n, v]);
    const t = tensor(Int32Array.from([...targets.data, 1, 2, 3]), [n + 3], { dtype: 'int32' }).view([n]);
    for (const reduction of REDUCTIONS) {
      l.requiresGrad = true;
      seedPool([n, 1, n * v], 1e30);
      const loss = crossEntropy(l, t, { reduction });
      await assertClose(loss, ref.crossEntropy(logits.ref, targets, { reduction }), { ...lossTol(v, n, reduction), label: `V ${v} ${reduction}` });
      await assertTailIntact(loss, 1e30, `V ${v} ${reduction} loss`);
      const dy = tensor(Float32Array.from({ length: loss.size }, (_, i) => 1 + i), [...loss.shape]);
      seedPool([n * v], 1e30);
      backward(loss, dy);
      const [expected] = ref.crossEntropyVjp([logits.ref, targets], ndarray([...loss.shape], Array.from({ length: loss.size }, (_, i) => 1 + i)), { reduction });
      await assertClose(l.grad!, expected!, { ...gradTol(v, n), label: `V ${v} ${reduction} dlogits` });
      await assertTailIntact(l.grad!, 1e30, `V ${v} ${reduction} dlogits`);
      l.grad!.dispose();
      l.grad = null;
    }
  }
});

// ---- errors ----------------------------------------------------------------------------------------

test('bad input: typed errors naming the op, the argument and the shapes', () => {
  const logits = tensor(new Float32Array(12), [3, 4]);
  const t = tensor([0, 1, 2], [3], { dtype: 'int32' });
  assertThrows(() => crossEntropy(logits, tensor([0, 1, 2])), DTypeError, 'crossEntropy', 'targets', 'float32', 'int32');
  assertThrows(() => crossEntropy(tensor([0, 1, 2, 3], [2, 2], { dtype: 'int32' }), tensor([0, 1], [2], { dtype: 'int32' })), DTypeError, 'crossEntropy', 'logits', 'int32');
  assertThrows(() => crossEntropy(logits, tensor([0, 1, 2, 3], [4], { dtype: 'int32' })), ShapeError, 'crossEntropy', 'targets', '[4]', '[3, 4]', '[3]');
  assertThrows(() => crossEntropy(logits, tensor([0, 1, 2], [3, 1], { dtype: 'int32' })), ShapeError, 'targets', '[3, 1]');
  assertThrows(() => crossEntropy(tensor(new Float32Array(24), [2, 3, 4]), t), ShapeError, 'crossEntropy', 'logits', '[2, 3, 4]', 'not 2-D');
  assertThrows(() => crossEntropy(tensor([1, 2, 3]), t), ShapeError, 'logits', '[3]', 'not 2-D');
  assertThrows(() => crossEntropy(logits, t, { reduction: 'avg' as Reduction }), WgradError, 'crossEntropy', "'avg'");
  assertThrows(() => crossEntropy(logits, t, { ignoreIndex: 1.5 }), WgradError, 'crossEntropy', 'ignoreIndex 1.5');
  assertThrows(() => composedCrossEntropy(logits, tensor([0, 1])), DTypeError, 'composedCrossEntropy', 'targets');
});

test.run();
