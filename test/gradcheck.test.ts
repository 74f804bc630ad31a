import { suite } from 'uvu';
import { testDevice } from './helpers.js';
import * as W from '../src/index.js';
import { reference as R, type Tensor } from '../src/index.js';
import type { NDArray } from '../src/reference/ndarray.js';

const test = suite('gradcheck');
test.before(async () => {
  await testDevice();
});

const rng = new W.Rng(42);
/** Random values; `away` keeps them at least that far from 0 (kinks of abs/relu, poles of log/div). */
function rand(shape: number[], { scale = 1, away = 0, positive = false } = {}): NDArray {
  const data = Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    let v = rng.normal() * scale;
    if (positive) v = Math.abs(v);
    return Math.sign(v || 1) * (Math.abs(v) + away);
  });
  return { shape, data };
}

async function check(name: string, forward: (...t: Tensor[]) => Tensor, reference: (...x: NDArray[]) => NDArray, op: string, attrs: Record<string, unknown>, inputs: NDArray[], extra: { wrt?: number[]; dtypes?: ('float32' | 'int32' | 'bool')[] } = {}) {
  await W.gradcheck({ name, forward, reference, referenceBackward: (xs, dy) => R.referenceVjp[op]!(xs, dy, attrs), inputs, ...extra });
}

const UNARY_INPUT: Record<string, Parameters<typeof rand>[1]> = {
  log: { positive: true, away: 0.5 }, sqrt: { positive: true, away: 0.5 }, rsqrt: { positive: true, away: 0.5 },
  reciprocal: { away: 0.5 }, abs: { away: 0.1 }, relu: { away: 0.1 },
};
for (const op of ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'gelu', 'square', 'reciprocal'] as const) {
  test(`${op}: oracle gradient = finite differences; GPU gradient = oracle`, async () => {
    await check(op, (x) => W.unary(op, x), (x) => R.elementwise.unary(op, x), op, {}, [rand([3, 7], UNARY_INPUT[op])]);
  });
}

// Broadcasting in both directions, and a rank-0 operand.
const PAIRS: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], [4]], [[2, 1, 3], [4, 1]], [[], [2, 3]]];
for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const) {
  test(`${op} with broadcasting: gradients reduce back to each input's shape`, async () => {
    for (const [sa, sb] of PAIRS) {
      const a = rand(sa, op === 'pow' ? { positive: true, away: 0.5 } : {});
      const b = rand(sb, op === 'div' ? { away: 0.5 } : {});
      await check(`${op} [${sa}]·[${sb}]`, (x, y) => W.binary(op, x!, y!), (x, y) => R.elementwise.binary(op, x!, y!), op, {}, [a, b]);
    }
  });
  test(`${op} with a number operand on either side`, async () => {
    const x = rand([5], op === 'pow' || op === 'div' ? { positive: true, away: 0.5 } : {});
    const c = 1.7;
    const asArray = (v: number): NDArray => ({ shape: [], data: Float64Array.of(v) });
    // The oracle's binary vjp with a constant second (or first) argument.
    await W.gradcheck({ name: `${op}(x, c)`, forward: (t) => W.binary(op, t!, c), reference: (v) => R.elementwise.binary(op, v!, asArray(c)), referenceBackward: ([v], dy) => [R.referenceVjp[op]!([v!, asArray(c)], dy, {})[0]!], inputs: [x] });
    await W.gradcheck({ name: `${op}(c, x)`, forward: (t) => W.binary(op, c, t!), reference: (v) => R.elementwise.binary(op, asArray(c), v!), referenceBackward: ([v], dy) => [R.referenceVjp[op]!([asArray(c), v!], dy, {})[1]!], inputs: [x] });
  });
}

test('where: gradients go to the chosen branch, broadcast back', async () => {
  const cond: NDArray = { shape: [3, 1], data: Float64Array.of(1, 0, 1) };
  await check('where', (c, a, b) => W.where(W.gt(c!, 0.5), a!, b!), (c, a, b) => R.elementwise.where(c!, a!, b!), 'where', {}, [cond, rand([3, 4]), rand([4])], { wrt: [1, 2] });
});

for (const op of ['sum', 'mean', 'max'] as const) {
  test(`${op} over axes, with and without keepdim`, async () => {
    for (const [axes, keepdim] of [[undefined, false], [1, false], [[0, 2], true], [-1, true]] as const) {
      const attrs = { axes: axes === undefined ? undefined : typeof axes === 'number' ? [axes < 0 ? axes + 3 : axes] : [...axes] };
      await check(`${op}(${axes}, ${keepdim})`, (x) => W[op](x!, axes as number[] | number | undefined, keepdim), (x) => R.reduce[op](x!, axes as number[] | number | undefined, keepdim), op, attrs, [rand([2, 3, 4])]);
    }
  });
}

for (const op of ['softmax', 'logSoftmax'] as const) {
  test(`${op} along each axis`, async () => {
    for (const axis of [0, 1, -1]) {
      await check(`${op}(${axis})`, (x) => W[op](x!, axis), (x) => R.softmax[op](x!, axis), op, { axis }, [rand([3, 4, 5])]);
    }
  });
}

test('permute, transpose, reshape, broadcastTo', async () => {
  await check('permute', (x) => W.permute(x!, [2, 0, 1]), (x) => R.layout.permute(x!, [2, 0, 1]), 'permute', { dims: [2, 0, 1] }, [rand([2, 3, 4])]);
  await check('transpose', (x) => W.transpose(x!), (x) => R.layout.permute(x!, [0, 2, 1]), 'transpose', {}, [rand([2, 3, 4])]);
  await check('reshape', (x) => x!.reshape([4, -1]), (x) => ({ shape: [4, 6], data: x!.data }), 'reshape', {}, [rand([2, 3, 4])]);
  await check('broadcastTo', (x) => W.broadcastTo(x!, [2, 3, 4]), (x) => R.layout.broadcastTo(x!, [2, 3, 4]), 'broadcastTo', {}, [rand([3, 1])]);
});

test('slice (with steps) and concat', async () => {
  await check('slice', (x) => W.slice(x!, 1, 1, 6, 2), (x) => R.layout.slice(x!, 1, 1, 6, 2), 'slice', { axis: 1, start: 1, step: 2 }, [rand([3, 7])]);
  await check('concat', (a, b, c) => W.concat([a!, b!, c!], 1), (a, b, c) => R.layout.concat([a!, b!, c!], 1), 'concat', { axis: 1 }, [rand([2, 1, 3]), rand([2, 4, 3]), rand([2, 2, 3])]);
});

test('gather: repeated indices accumulate into the same row', async () => {
  const indices: NDArray = { shape: [2, 3], data: Float64Array.of(1, 3, 1, 0, 1, 3) };
  await check('gather', (t, i) => W.gather(t!, i!), (t, i) => R.layout.gather(t!, i!), 'gather', {}, [rand([5, 4]), indices], { wrt: [0], dtypes: ['float32', 'int32'] });
});

test('gather from a shard (first row 2): indices outside it get no gradient', async () => {
  const indices: NDArray = { shape: [2, 3], data: Float64Array.of(1, 3, 2, 6, 4, 3) };
  await check('gather first 2', (t, i) => W.gather(t!, i!, { first: 2 }), (t, i) => R.layout.gather(t!, i!, 2), 'gather', { first: 2 }, [rand([3, 4]), indices], { wrt: [0], dtypes: ['float32', 'int32'] });
});

test('a composed expression: gradients through shared subexpressions add up', async () => {
  // f(x, w) = sum(softmax(x·w + x) · x), x used three times.
  const forward = (x: Tensor, w: Tensor) => W.sum(W.mul(W.softmax(W.add(W.mul(x, w), x), -1), x));
  const reference = (x: NDArray, w: NDArray) => {
    const E = R.elementwise;
    return R.reduce.sum(E.binary('mul', R.softmax.softmax(E.binary('add', E.binary('mul', x, w), x), -1), x));
  };
  await W.gradcheck({ name: 'composed', forward: (x, w) => forward(x!, w!), reference: (x, w) => reference(x!, w!), inputs: [rand([3, 4]), rand([4])] });
});

test.run();
