import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows, testDevice } from './helpers.js';
import * as W from '../src/index.js';
import { AdamW } from '../src/optim/adamw.js';
import { SGD } from '../src/optim/sgd.js';
import { clipGradNorm } from '../src/optim/clip.js';
import { warmupCosine } from '../src/optim/schedule.js';
import { adamwStep, clipFactor, sgdStep } from '../src/reference/optim.js';

const test = suite('optim');
test.before(async () => {
  await testDevice();
});

/** Error relative to max(1, |want|): parameters are O(1), and float32 resolves them to ~1e-7. */
function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
  return err;
}

test('AdamW matches the float64 oracle over several steps to 1e-5 (with weight decay and bias correction)', async () => {
  const rng = new W.Rng(5);
  const n = 1000;
  const init = Float32Array.from({ length: n }, () => rng.normal());
  const p = W.tensor(init, [n], { requiresGrad: true });
  const opt = new AdamW([p], { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
  const ref = Float64Array.from(init);
  const state = { m: new Float64Array(n), v: new Float64Array(n), t: 0 };
  for (let step = 0; step < 5; step++) {
    const g = Float32Array.from({ length: n }, () => rng.normal() * 0.1);
    p.grad = W.keep(W.tensor(g, [n]));
    opt.step();
    opt.zeroGrad();
    adamwStep(ref, g, state, { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
  }
  const err = maxRelErr(await p.toArray(), ref);
  assert.ok(err < 1e-5, `max relative error ${err}`);
  opt.dispose();
  p.dispose();
});

test('SGD with momentum matches the oracle', async () => {
  const rng = new W.Rng(6);
  const n = 300;
  const init = Float32Array.from({ length: n }, () => rng.normal());
  const p = W.tensor(init, [n], { requiresGrad: true });
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  const ref = Float64Array.from(init);
  let buf: Float64Array | null = null;
  for (let step = 0; step < 4; step++) {
    const g = Float32Array.from({ length: n }, () => rng.normal());
    p.grad = W.keep(W.tensor(g, [n]));
    opt.step();
    opt.zeroGrad();
    buf = sgdStep(ref, g, buf, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  }
  assert.ok(maxRelErr(await p.toArray(), ref) < 1e-5);
  opt.dispose();
  p.dispose();
});

test('optimizer state saves and restores exactly', async () => {
  const rng = new W.Rng(7);
  const make = () => W.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [8, 8], { requiresGrad: true });
  const grads = Array.from({ length: 4 }, () => Float32Array.from({ length: 64 }, () => rng.normal()));
  const a = make();
  const optA = new AdamW([a], { lr: 0.01 });
  for (const g of grads) {
    a.grad = W.keep(W.tensor(g, [8, 8]));
    optA.step();
  }
  // B: two steps, save, restore into a fresh optimizer over a copy, two more steps.
  const b = make();
  let optB = new AdamW([b], { lr: 0.01 });
  for (const g of grads.slice(0, 2)) {
    b.grad = W.keep(W.tensor(g, [8, 8]));
    optB.step();
  }
  const saved = await optB.stateDict();
  optB.dispose();
  optB = new AdamW([b], { lr: 0.01 });
  optB.loadStateDict(saved);
  for (const g of grads.slice(2)) {
    b.grad = W.keep(W.tensor(g, [8, 8]));
    optB.step();
  }
  assert.equal(Array.from(await b.toArray()), Array.from(await a.toArray()));
  for (const t of [a, b]) t.dispose();
  optA.dispose();
  optB.dispose();
});

test('clipGradNorm scales gradients by min(1, max/‖g‖) and returns the norm', async () => {
  const g1 = [3, 0, 4];
  const g2 = [12];
  const p1 = W.tensor([0, 0, 0], [3], { requiresGrad: true });
  const p2 = W.tensor([0], [1], { requiresGrad: true });
  p1.grad = W.keep(W.tensor(g1));
  p2.grad = W.keep(W.tensor(g2));
  const norm = clipGradNorm([p1, p2], 6.5)!;
  const want = clipFactor([g1, g2], 6.5);
  assert.ok(Math.abs((await norm.item()) - want.norm) < 1e-5);
  const got = Array.from(await p1.grad!.toArray());
  got.forEach((v, i) => assert.ok(Math.abs(v - g1[i]! * want.factor) < 1e-5, `${v} vs ${g1[i]! * want.factor}`));
  for (const t of [norm, p1, p2]) t.dispose();
});

test('clipGradNorm over gradients of many parts (100,000 + 5,000 + 7 elements) matches the float64 norm to 1e-5', async () => {
  const rng = new W.Rng(9);
  const sizes = [100_000, 5_000, 7];
  const grads = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
  const params = sizes.map((n, i) => {
    const p = W.tensor(new Float32Array(n), [n], { requiresGrad: true });
    p.grad = W.keep(W.tensor(grads[i]!, [n]));
    return p;
  });
  const want = clipFactor(grads, 10);
  const norm = clipGradNorm(params, 10)!;
  assert.ok(Math.abs((await norm.item()) - want.norm) / want.norm < 1e-5, `${await norm.item()} vs ${want.norm}`);
  const got = await params[1]!.grad!.toArray();
  assert.ok(maxRelErr(got, Array.from(grads[1]!, (g) => g * want.factor)) < 1e-6);
  for (const t of [norm, ...params]) t.dispose();
});

test('AdamW and SGD with maxGradNorm match the oracle updating clipped gradients (clipping active, then not)', async () => {
  const rng = new W.Rng(10);
  const sizes = [3000, 40];
  const o = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, momentum: 0.9 };
  for (const kind of ['adamw', 'sgd'] as const) {
    const init = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
    const params = init.map((v) => W.tensor(v, [v.length], { requiresGrad: true }));
    const opt = kind === 'adamw' ? new AdamW(params, { ...o, maxGradNorm: 5 }) : new SGD(params, { ...o, maxGradNorm: 5 });
    const ref = init.map((v) => Float64Array.from(v));
    const adam = sizes.map((n) => ({ m: new Float64Array(n), v: new Float64Array(n), t: 0 }));
    const bufs: (Float64Array | null)[] = sizes.map(() => null);
    // Gradient norms ≈ 55 (clipped to 5), then ≈ 0.55 (left alone).
    for (const spread of [1, 1, 0.01]) {
      const grads = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal() * spread));
      params.forEach((p, i) => (p.grad = W.keep(W.tensor(grads[i]!, [sizes[i]!]))));
      opt.step();
      opt.zeroGrad();
      const { factor } = clipFactor(grads, 5);
      grads.forEach((g, i) => {
        const clipped = Array.from(g, (x) => x * factor);
        if (kind === 'adamw') adamwStep(ref[i]!, clipped, adam[i]!, o);
        else bufs[i] = sgdStep(ref[i]!, clipped, bufs[i]!, o);
      });
    }
    for (let i = 0; i < sizes.length; i++) {
      const err = maxRelErr(await params[i]!.toArray(), ref[i]!);
      assert.ok(err < 1e-5, `${kind} parameter ${i}: max relative error ${err}`);
    }
    opt.dispose();
    for (const p of params) p.dispose();
  }
});

test('a negative maxGradNorm is a ValueError', () => {
  const p = W.tensor([1], [1], { requiresGrad: true });
  assertThrows(() => new AdamW([p], { maxGradNorm: -1 }), W.ValueError, 'maxGradNorm is -1');
  p.dispose();
});

test('warmup + cosine schedule: rises linearly, decays to the floor', () => {
  const s = warmupCosine({ lr: 1e-3, minLr: 1e-4, warmup: 100, total: 2000 });
  assert.ok(Math.abs(s(0) - 1e-3 / 101) < 1e-12);
  assert.ok(Math.abs(s(99) - 1e-3 * 100 / 101) < 1e-12);
  assert.ok(Math.abs(s(100) - 1e-3) < 1e-12);
  assert.ok(Math.abs(s(1050) - 5.5e-4) < 1e-9, 'midpoint of the cosine');
  assert.is(s(2000), 1e-4);
  assert.is(s(5000), 1e-4);
  for (let i = 101; i < 2000; i++) assert.ok(s(i) <= s(i - 1) + 1e-15, 'monotone after warmup');
});

test('a NaN learning rate is a ValueError with a hint, and nothing is updated', async () => {
  const p = W.tensor([1, 2], [2], { requiresGrad: true });
  p.grad = W.keep(W.tensor([1, 1]));
  assertThrows(() => new AdamW([p], { lr: NaN }), W.ValueError, 'lr is NaN');
  const opt = new AdamW([p], { lr: 0.1 });
  opt.lr = NaN;
  assertThrows(() => opt.step(), W.ValueError, 'lr is NaN', 'schedule');
  assert.equal(Array.from(await p.toArray()), [1, 2]);
  opt.dispose();
  p.dispose();
});

test.run();
