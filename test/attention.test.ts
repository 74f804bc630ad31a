import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, randomPair, testDevice } from './helpers.js';
import '../src/autograd/index.js';
import { backward } from '../src/autograd/tape.js';
import { gradcheck } from '../src/autograd/gradcheck.js';
import { Rng } from '../src/tensor/random.js';
import { full, tensor } from '../src/tensor/create.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { attention, composedAttention, multiHeadAttention, MAX_HEAD_SIZE, type AttentionOptions } from '../src/ops/attention.js';
import * as ref from '../src/reference/attention.js';
import type { NDArray } from '../src/reference/ndarray.js';
import { bucketSize } from '../src/gpu/pool.js';
import { DTypeError, LimitError, ShapeError, WgradError } from '../src/errors.js';

const test = suite('attention');
test.before(async () => {
  await testDevice();
});

/**
 * Tolerances, float32 against float64. Scores are D-term dot products of unit normals (scaled by 1/√D,
 * so of order 1) with rounding errors of a few 1e-7; they move the probabilities by that much relative,
 * and an output (a weighted mean of v rows) by about that times max|v|. Gradients sum Tk (or Tq) such
 * terms more, so their error grows with the sequence length. Both are stated against the largest
 * expected magnitude, as the errors are absolute in nature.
 */
function outTol(expected: NDArray) {
  return { rtol: 0, atol: 2e-6 * (1 + maxAbs(expected)) };
}
function gradTol(expected: NDArray, t: number) {
  return { rtol: 0, atol: 2e-6 * Math.sqrt(Math.max(t, 1)) * (1 + maxAbs(expected)) };
}

function maxAbs(a: NDArray): number {
  let m = 0;
  for (const v of a.data) m = Math.max(m, Math.abs(v));
  return m;
}

function free(...ts: (Tensor | null | undefined)[]) {
  for (const t of ts) t?.dispose();
}

interface Case {
  shape: [number, number, number, number];
  /** Keys, when they differ from the queries (cross attention / a KV cache). */
  tk?: number;
  causal: boolean;
}

function inputs(rng: Rng, c: Case) {
  const [b, h, tq, d] = c.shape;
  const tk = c.tk ?? tq;
  return { q: randomPair(rng, [b, h, tq, d]), k: randomPair(rng, [b, h, tk, d]), v: randomPair(rng, [b, h, tk, d]), dy: randomPair(rng, [b, h, tq, d]) };
}

const label = (c: Case) => `[${c.shape}]${c.tk !== undefined ? ` Tk ${c.tk}` : ''} ${c.causal ? 'causal' : 'full'}`;

// The grid: T = 1, 7, 64, 257 (not a multiple of the 32-row workgroup span), D = 16, 32, 64, B, H > 1.
const GRID: Case[] = [1, 7, 64, 257].flatMap((t) => [16, 32, 64].flatMap((d) => [true, false].map((causal) => ({ shape: [2, 3, t, d] as Case['shape'], causal }))));

test('forward matches the float64 oracle: T 1, 7, 64, 257; D 16, 32, 64; causal and not', async () => {
  const rng = new Rng(1);
  for (const c of GRID) {
    const x = inputs(rng, c);
    const out = attention(x.q.gpu, x.k.gpu, x.v.gpu, { causal: c.causal });
    const want = ref.attention(x.q.ref, x.k.ref, x.v.ref, { causal: c.causal });
    await assertClose(out, want, { ...outTol(want), label: label(c) });
    free(out, x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
  }
});

test('backward (dQ, dK, dV) matches the oracle\'s vector-Jacobian product on the same grid', async () => {
  const rng = new Rng(2);
  for (const c of GRID) {
    const x = inputs(rng, c);
    for (const t of [x.q.gpu, x.k.gpu, x.v.gpu]) t.requiresGrad = true;
    const out = attention(x.q.gpu, x.k.gpu, x.v.gpu, { causal: c.causal });
    backward(out, x.dy.gpu);
    const want = ref.attentionVjp([x.q.ref, x.k.ref, x.v.ref], x.dy.ref, { causal: c.causal });
    const t = c.shape[2];
    for (const [i, g] of [x.q.gpu.grad, x.k.gpu.grad, x.v.gpu.grad].entries()) {
      await assertClose(g!, want[i]!, { ...gradTol(want[i]!, t), label: `${label(c)} d${'qkv'[i]}` });
    }
    free(out, x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
  }
});

test('more keys than queries (bottom-right causal mask), head sizes that are not multiples of 4, a custom scale', async () => {
  const rng = new Rng(3);
  const cases: (Case & { scale?: number })[] = [
    { shape: [2, 2, 5, 16], tk: 37, causal: true },
    { shape: [1, 3, 1, 32], tk: 70, causal: true },
    { shape: [2, 2, 33, 16], tk: 9, causal: false },
    { shape: [2, 3, 19, 6], causal: true },
    { shape: [1, 2, 40, 13], causal: false, scale: 0.3 },
  ];
  for (const c of cases) {
    const x = inputs(rng, c);
    for (const t of [x.q.gpu, x.k.gpu, x.v.gpu]) t.requiresGrad = true;
    const options = { causal: c.causal, scale: c.scale };
    const out = attention(x.q.gpu, x.k.gpu, x.v.gpu, options);
    const want = ref.attention(x.q.ref, x.k.ref, x.v.ref, options);
    await assertClose(out, want, { ...outTol(want), label: label(c) });
    backward(out, x.dy.gpu);
    const grads = ref.attentionVjp([x.q.ref, x.k.ref, x.v.ref], x.dy.ref, options);
    for (const [i, g] of [x.q.gpu.grad, x.k.gpu.grad, x.v.gpu.grad].entries()) {
      await assertClose(g!, grads[i]!, { ...gradTol(grads[i]!, Math.max(c.shape[2], c.tk ?? 0)), label: `${label(c)} d${'qkv'[i]}` });
    }
    free(out, x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
  }
});

test('gradcheck: the oracle\'s gradient against finite differences, the GPU\'s against the oracle', async () => {
  const rng = new Rng(4);
  const rand = (shape: number[]): NDArray => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
  const cases: { q: number[]; kv: number[]; options: AttentionOptions }[] = [
    { q: [2, 2, 5, 16], kv: [2, 2, 5, 16], options: { causal: true } },
    { q: [2, 2, 5, 16], kv: [2, 2, 5, 16], options: { causal: false } },
    { q: [1, 2, 3, 16], kv: [1, 2, 6, 16], options: { causal: true, scale: 0.5 } },
    { q: [2, 1, 4, 6], kv: [2, 1, 4, 6], options: { causal: true } },
  ];
  for (const c of cases) {
    await gradcheck({
      name: `attention q [${c.q}] kv [${c.kv}] ${JSON.stringify(c.options)}`,
      forward: (q, k, v) => attention(q!, k!, v!, c.options),
      reference: (q, k, v) => ref.attention(q!, k!, v!, c.options),
      referenceBackward: (xs, dy) => ref.attentionVjp(xs, dy, c.options),
      inputs: [rand(c.q), rand(c.kv), rand(c.kv)],
    });
  }
});

test('multiHeadAttention on a fused (B, T, 3C) projection: output and d qkv against the split-heads oracle', async () => {
  const rng = new Rng(11);
  // T 1, 7, 70 (beyond two workgroup spans); head sizes 32, 16 and 6 (not a multiple of 4: split path).
  const cases = [
    { lead: [2], t: 7, nHead: 4, d: 32 },
    { lead: [3], t: 70, nHead: 2, d: 16 },
    { lead: [1], t: 1, nHead: 3, d: 16 },
    { lead: [2, 2], t: 9, nHead: 2, d: 8 },
    { lead: [2], t: 11, nHead: 3, d: 6 },
  ];
  for (const c of cases) {
    const cc = c.nHead * c.d;
    const qkv = randomPair(rng, [...c.lead, c.t, 3 * cc]);
    const dy = randomPair(rng, [...c.lead, c.t, cc]);
    qkv.gpu.requiresGrad = true;
    const out = multiHeadAttention(qkv.gpu, c.nHead);
    const attrs = { nHead: c.nHead, causal: true };
    const want = ref.multiHeadAttention(qkv.ref, attrs);
    const name = `[${c.lead}] T ${c.t} ${c.nHead}×${c.d}`;
    await assertClose(out, want, { ...outTol(want), label: name });
    backward(out, dy.gpu);
    const [grad] = ref.multiHeadAttentionVjp([qkv.ref], dy.ref, attrs);
    await assertClose(qkv.gpu.grad!, grad!, { ...gradTol(grad!, c.t), label: `${name} dqkv` });
    free(out, qkv.gpu, dy.gpu);
  }
  await gradcheck({
    name: 'multiHeadAttention (2, 5, 3·2·8)',
    forward: (x) => multiHeadAttention(x!, 2),
    reference: (x) => ref.multiHeadAttention(x!, { nHead: 2 }),
    referenceBackward: (xs, g) => ref.multiHeadAttentionVjp(xs, g, { nHead: 2 }),
    inputs: [{ shape: [2, 5, 48], data: Float64Array.from({ length: 480 }, () => rng.normal()) }],
  });
});

test('multiHeadAttention: NaN beyond qkv is never read, nothing written beyond out or dqkv; bad shapes are typed errors', async () => {
  const rng = new Rng(12);
  const qkvRef = randomPair(rng, [2, 9, 96]);
  const dyRef = randomPair(rng, [2, 9, 32]);
  const padded = (r: { ref: NDArray }) => {
    const data = new Float32Array(r.ref.data.length + 53).fill(NaN);
    data.set(Float32Array.from(r.ref.data));
    return tensor(data).view([...r.ref.shape]);
  };
  const [qkv, dy] = [padded(qkvRef), padded(dyRef)];
  qkv.requiresGrad = true;
  seedPool([2 * 9 * 32, 2 * 4 * 9], 1e30);
  const out = multiHeadAttention(qkv, 4);
  const want = ref.multiHeadAttention(qkvRef.ref, { nHead: 4 });
  await assertClose(out, want, outTol(want));
  await assertTailIntact(out, 1e30, 'out');
  seedPool([2 * 9 * 96, 2 * 4 * 9], 1e30);
  backward(out, dy);
  const [grad] = ref.multiHeadAttentionVjp([qkvRef.ref], dyRef.ref, { nHead: 4 });
  await assertClose(qkv.grad!, grad!, gradTol(grad!, 9));
  await assertTailIntact(qkv.grad!, 1e30, 'dqkv');
  free(out, qkv, dy, qkvRef.gpu, dyRef.gpu);

  const x = tensor(new Float32Array(2 * 3 * 30), [2, 3, 30]);
  assertThrows(() => multiHeadAttention(x, 4), ShapeError, 'does not split into 4 heads');
  assertThrows(() => multiHeadAttention(tensor(new Float32Array(10), [2, 5]), 1), ShapeError, '3·C');
  x.dispose();
});

test('fused gradients match the composed attention\'s (matmul, where, softmax) on the GPU', async () => {
  const rng = new Rng(5);
  for (const c of [{ shape: [2, 3, 64, 32], causal: true }, { shape: [2, 3, 50, 16], causal: false }, { shape: [1, 2, 7, 64], tk: 20, causal: true }] as Case[]) {
    const x = inputs(rng, c);
    const run = (f: typeof attention) => {
      const leaves = [x.q.gpu, x.k.gpu, x.v.gpu].map((t) => t.view());
      for (const t of leaves) t.requiresGrad = true;
      const out = f(leaves[0]!, leaves[1]!, leaves[2]!, { causal: c.causal });
      backward(out, x.dy.gpu);
      return { out, leaves };
    };
    const fused = run(attention);
    const composed = run(composedAttention);
    const want = ref.attention(x.q.ref, x.k.ref, x.v.ref, { causal: c.causal });
    await assertClose(composed.out, want, { ...outTol(want), label: `composed ${label(c)}` });
    const composedOut = await composed.out.toArray();
    await assertClose(fused.out, { shape: want.shape, data: Float64Array.from(composedOut) }, { ...outTol(want), label: `fused vs composed ${label(c)}` });
    for (let i = 0; i < 3; i++) {
      const expected = { shape: fused.leaves[i]!.shape, data: Float64Array.from(await composed.leaves[i]!.grad!.toArray()) };
      await assertClose(fused.leaves[i]!.grad!, expected, { ...gradTol(expected, c.tk ?? c.shape[2]), label: `fused vs composed ${label(c)} d${'qkv'[i]}` });
    }
    free(fused.out, composed.out, ...fused.leaves, ...composed.leaves, x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
  }
});

test('only the inputs that need a gradient get one (the other backward pass is skipped)', async () => {
  const rng = new Rng(6);
  const x = inputs(rng, { shape: [1, 2, 9, 16], causal: true });
  x.k.gpu.requiresGrad = true;
  const out = attention(x.q.gpu, x.k.gpu, x.v.gpu);
  backward(out, x.dy.gpu);
  assert.is(x.q.gpu.grad, null);
  assert.is(x.v.gpu.grad, null);
  const want = ref.attentionVjp([x.q.ref, x.k.ref, x.v.ref], x.dy.ref, { causal: true });
  await assertClose(x.k.gpu.grad!, want[1]!, { ...gradTol(want[1]!, 9), label: 'dk alone' });
  free(out, x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
});

test('memory grows linearly in T: no buffer of T·T floats is ever requested (the composed one does)', async () => {
  const device = await testDevice();
  const t = 512;
  const rng = new Rng(7);
  const x = inputs(rng, { shape: [1, 2, t, 16], causal: true });
  const requests: number[] = [];
  const acquire = device.pool.acquire;
  device.pool.acquire = function (bytes: number, where: string) {
    requests.push(bytes);
    return acquire.call(this, bytes, where);
  };
  const run = (f: typeof attention) => {
    requests.length = 0;
    const leaves = [x.q.gpu, x.k.gpu, x.v.gpu].map((v) => v.view());
    for (const l of leaves) l.requiresGrad = true;
    const out = f(leaves[0]!, leaves[1]!, leaves[2]!);
    backward(out, x.dy.gpu);
    free(out, ...leaves);
    return Math.max(...requests);
  };
  try {
    const fused = run(attention);
    const composed = run(composedAttention);
    assert.ok(fused < t * t * 4, `the fused attention requested ${fused} bytes at once (T·T·4 = ${t * t * 4})`);
    assert.ok(fused <= 2 * t * 16 * 4, `its largest buffer is a (B, H, T, D) tensor, got ${fused} bytes`);
    assert.ok(composed >= t * t * 4, `the check can see a T×T buffer: the composed attention requested ${composed} bytes`);
  } finally {
    device.pool.acquire = acquire;
    free(x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
  }
});

test('repeated forward + backward steps leave tensor count and pool bytes flat (lse and delta are freed)', async () => {
  const device = await testDevice();
  const rng = new Rng(9);
  const x = inputs(rng, { shape: [2, 2, 20, 16], causal: true });
  for (const t of [x.q.gpu, x.k.gpu, x.v.gpu]) t.requiresGrad = true;
  const step = () => {
    const out = attention(x.q.gpu, x.k.gpu, x.v.gpu);
    backward(out, x.dy.gpu);
    out.dispose();
    for (const t of [x.q.gpu, x.k.gpu, x.v.gpu]) {
      t.grad!.dispose();
      t.grad = null;
    }
  };
  step();
  await device.sync();
  const before = device.memory();
  for (let i = 0; i < 10; i++) step();
  await device.sync();
  const after = device.memory();
  assert.is(after.tensors, before.tensors, 'tensor count');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
  assert.is(after.bytesAllocated, before.bytesAllocated, 'bytes allocated by the pool');
  free(x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
});

// ---- out of bounds ---------------------------------------------------------------------------------

/** Puts buffers full of `value` on the pool's free lists for these element counts' buckets. */
function seedPool(counts: number[], value: number, copies = 4): void {
  const seeds = counts.flatMap((n) => Array.from({ length: copies }, () => full([bucketSize(n * 4) / 4], value)));
  for (const t of seeds) t.dispose();
}

/** The words of t's pooled buffer past its last element still hold `value`. */
async function assertTailIntact(t: Tensor, value: number, what: string): Promise<void> {
  const capacity = t.buffer('test').size / 4;
  assert.ok(capacity > t.size, `${what}: the bucket has a tail to check`);
  const whole = t.view([capacity]);
  const words = await whole.toArray();
  whole.dispose();
  for (let i = t.size; i < capacity; i++) {
    if (words[i] !== Math.fround(value)) assert.unreachable(`${what}: word ${i} past the end (${t.size}) was overwritten with ${words[i]}`);
  }
}

test('out of bounds: NaN beyond the inputs is never read; nothing is written beyond the outputs', async () => {
  const rng = new Rng(8);
  for (const c of [{ shape: [1, 2, 37, 16], causal: true }, { shape: [2, 1, 11, 8], tk: 45, causal: false }] as Case[]) {
    const x = inputs(rng, c);
    // Inputs as views of the front of larger NaN-padded tensors.
    const padded = (r: { ref: NDArray }) => {
      const data = new Float32Array(r.ref.data.length + 53).fill(NaN);
      data.set(Float32Array.from(r.ref.data));
      return tensor(data).view([...r.ref.shape]);
    };
    const [q, k, v, dy] = [padded(x.q), padded(x.k), padded(x.v), padded(x.dy)];
    for (const t of [q, k, v]) t.requiresGrad = true;
    const [b, h, tq, d] = c.shape;
    const tk = c.tk ?? tq;
    seedPool([b * h * tq * d, b * h * tq], 1e30);
    const out = attention(q, k, v, { causal: c.causal });
    await assertClose(out, ref.attention(x.q.ref, x.k.ref, x.v.ref, { causal: c.causal }), { rtol: 0, atol: 1e-5, label: `${label(c)} out` });
    await assertTailIntact(out, 1e30, `${label(c)} out`);
    seedPool([b * h * tq * d, b * h * tk * d, b * h * tq], 1e30);
    backward(out, dy);
    const want = ref.attentionVjp([x.q.ref, x.k.ref, x.v.ref], x.dy.ref, { causal: c.causal });
    for (const [i, t] of [q, k, v].entries()) {
      await assertClose(t.grad!, want[i]!, { ...gradTol(want[i]!, tk), label: `${label(c)} d${'qkv'[i]}` });
      await assertTailIntact(t.grad!, 1e30, `${label(c)} d${'qkv'[i]}`);
    }
    free(out, q, k, v, dy, x.q.gpu, x.k.gpu, x.v.gpu, x.dy.gpu);
  }
});

// ---- edge cases and errors -------------------------------------------------------------------------

test('size 0: empty batch, no queries; gradients of the right (empty or zero) shape', async () => {
  const cases: [number[], number[]][] = [[[0, 2, 4, 8], [0, 2, 4, 8]], [[1, 2, 0, 8], [1, 2, 5, 8]]];
  for (const [qs, kvs] of cases) {
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const q = tensor(new Float32Array(size(qs)), qs, { requiresGrad: true });
    const k = tensor(new Float32Array(size(kvs)).fill(1), kvs, { requiresGrad: true });
    const v = tensor(new Float32Array(size(kvs)).fill(1), kvs, { requiresGrad: true });
    const out = attention(q, k, v, { causal: false });
    assert.equal([...out.shape], [...qs]);
    backward(out, tensor(new Float32Array(0), [...qs]));
    assert.equal([...k.grad!.shape], [...kvs]);
    assert.ok((await k.grad!.toArray()).every((g) => g === 0), 'no query: no key gradient');
    free(out, q, k, v);
  }
});

test('bad input: typed errors naming the op, the argument and the shapes', () => {
  const t = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const [q, k, v] = [t([2, 3, 8, 16]), t([2, 3, 8, 16]), t([2, 3, 8, 16])];
  assertThrows(() => attention(q, t([2, 3, 8, 8]), v), ShapeError, 'attention', 'head size', '[2, 3, 8, 16]', '[2, 3, 8, 8]');
  assertThrows(() => attention(q, k, t([2, 3, 8, 32])), ShapeError, 'head size', '[2, 3, 8, 32]');
  assertThrows(() => attention(q, t([2, 4, 8, 16]), t([2, 4, 8, 16])), ShapeError, 'batch and head', '[2, 4, 8, 16]');
  assertThrows(() => attention(q, k, t([2, 3, 9, 16])), ShapeError, 'keys', '[2, 3, 9, 16]');
  assertThrows(() => attention(q, t([3, 8, 16]), v), ShapeError, 'rank', '[3, 8, 16]');
  assertThrows(() => attention(t([2, 3, 9, 16]), k, v), ShapeError, 'Tq 9 > Tk 8', 'causal: false');
  assertThrows(() => attention(t([2, 3, 4, 16]), t([2, 3, 0, 16]), t([2, 3, 0, 16]), { causal: false }), ShapeError, 'no keys');
  const big = MAX_HEAD_SIZE + 4;
  assertThrows(() => attention(t([1, 1, 2, big]), t([1, 1, 2, big]), t([1, 1, 2, big])), LimitError, 'attention', `D = ${big}`, `${MAX_HEAD_SIZE}`, `[1, 1, 2, ${big}]`, 'composedAttention');
  assertThrows(() => attention(q, tensor(new Int32Array(2 * 3 * 8 * 16), [2, 3, 8, 16]), v), DTypeError, 'attention', "'k'", 'int32');
  assertThrows(() => attention(q, k, v, { scale: Number.NaN }), WgradError, 'scale');
  assertThrows(() => attention(q, k, [1, 2] as unknown as Tensor), WgradError, "'v'", 'not a Tensor');
  // The composed attention validates the same way (and has no head-size limit).
  assertThrows(() => composedAttention(q, t([2, 3, 8, 8]), v), ShapeError, 'composedAttention', 'head size');
  free(q, k, v);
});

test.run();
