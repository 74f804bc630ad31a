/** int4 on the GPU (src/quant/, kernels/q4.wgsl): quantize bit-exact to the oracle, dequantize, the fused products and their gradient, files, bad input. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertClose, assertThrows, testDevice } from './helpers.js';
import '../src/autograd/index.js';
import { gradcheck } from '../src/autograd/gradcheck.js';
import { Rng } from '../src/tensor/random.js';
import { tensor } from '../src/tensor/create.js';
import { matmul } from '../src/ops/matmul.js';
import { sum } from '../src/ops/reduce.js';
import { mul } from '../src/ops/elementwise.js';
import { scope } from '../src/tensor/scope.js';
import { QuantizedTensor, int4Matmul, int4MatmulDx, quantize, quantizeChecked, type QuantFormat } from '../src/quant/index.js';
import { quantizedFromSafetensors, quantizedToSafetensors } from '../src/io/quant-files.js';
import { dequantizeRef, int4MatmulBackwardRef, int4MatmulRef, quantizeRef, type QuantBlocks } from '../src/reference/quant.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../src/io/safetensors.js';
import { DisposedError, ShapeError, ValueError, WgradError } from '../src/errors.js';
import type { Device } from '../src/gpu/device.js';

const test = suite('quant');
let device: Device;
test.before(async () => {
  device = await testDevice();
});

const FORMATS: QuantFormat[] = ['q4_0', 'nf4'];
const BS = { q4_0: 32, nf4: 64 };

/** Gaussian rows, then adversarial blocks: zeros, a huge outlier, a negative maximum, denormal and near-threshold values. */
function weights(rng: Rng, format: QuantFormat, n: number, k: number): Float32Array {
  const w = Float32Array.from({ length: n * k }, () => rng.normal());
  const bs = BS[format];
  const blocks = (n * k) / bs;
  const put = (b: number, f: (j: number) => number) => {
    if (b < blocks) for (let j = 0; j < bs; j++) w[b * bs + j] = Math.fround(f(j));
  };
  put(1, () => 0);
  put(2, (j) => (j === 3 ? 5e4 : rng.normal()));
  put(3, (j) => (j === bs - 1 ? -7 : rng.uniform()));
  put(4, (j) => (j - bs / 2) * 1e-41);
  put(5, (j) => (j - bs / 2) * 2 ** -118);
  put(6, (j) => (j - bs / 2) * 1e-39);
  // Values whose scaled code sits on a rounding boundary: x/d ± half an ulp around k + 0.5.
  put(7, (j) => (j === 0 ? -8 : (j % 16) - 8 + 0.5 * (j % 2 ? 1 + 2 ** -22 : 1 - 2 ** -22)));
  put(8, (j) => (j % 2 ? -1 : 1) * (j === 5 ? 3 : 0.5 + j * 0.01));
  return w;
}

async function blocksEqual(got: QuantBlocks, want: QuantBlocks, label: string) {
  for (let i = 0; i < want.codes.length; i++) {
    if (got.codes[i] !== want.codes[i]) assert.unreachable(`${label}: code ${i} (block ${Math.floor(i / BS[want.format])}) is ${got.codes[i]}, oracle ${want.codes[i]}`);
  }
  for (let b = 0; b < want.scales.length; b++) {
    if (!Object.is(got.scales[b], want.scales[b])) assert.unreachable(`${label}: scale ${b} is ${got.scales[b]}, oracle ${want.scales[b]}`);
  }
}

test('GPU quantize is bit-exact with the oracle (random and adversarial blocks, odd N, split parts)', async () => {
  const rng = new Rng(11);
  for (const format of FORMATS) {
    for (const [n, k, maxPartRows] of [[7, 192, undefined], [9, 128, 4], [1, 64, undefined]] as const) {
      const w = weights(rng, format, n, k);
      const q = quantize(tensor(w, [n, k]), format, { maxPartRows });
      assert.is(q.parts.length, maxPartRows ? Math.ceil(n / maxPartRows) : 1);
      const want = quantizeRef(format, w, n, k);
      await blocksEqual(await q.toBlocks(), want, `${format} [${n}, ${k}]`);
      await assertClose(q.dequantize(), dequantizeRef(want), { rtol: 0, atol: 0, label: `${format} dequantize` });
      assert.is(q.byteSize, (n * k) / 2 + ((n * k) / BS[format]) * 4);
      q.dispose();
    }
  }
});

test('a block holding NaN or Inf gets a NaN scale; quantizeChecked refuses it and allocates nothing', async () => {
  const w = new Float32Array(2 * 64).fill(1);
  w[70] = NaN;
  const x = tensor(w, [2, 64]);
  const q = quantize(x, 'nf4');
  const b = await q.toBlocks();
  assert.is(b.scales[0], 1);
  assert.ok(Number.isNaN(b.scales[1]));
  q.dispose();
  const before = device.memory().tensors;
  try {
    await quantizeChecked(x, 'q4_0');
    assert.unreachable('expected ValueError');
  } catch (err) {
    assert.instance(err, ValueError);
    assert.ok((err as Error).message.includes('row 1, column 6'));
  }
  assert.is(device.memory().tensors, before, 'nothing allocated');
});

/** int4Matmul against the engine's float32 matmul on the dequantized weight, and the float64 oracle. */
async function checkProduct(rng: Rng, format: QuantFormat, xShape: number[], n: number, withBias: boolean, maxPartRows?: number) {
  const k = xShape[xShape.length - 1]!;
  const w = weights(rng, format, n, k);
  const qRef = quantizeRef(format, w, n, k);
  const q = quantize(tensor(w, [n, k]), format, { maxPartRows });
  const xv = Float32Array.from({ length: xShape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const bv = Float32Array.from({ length: n }, () => rng.normal());
  const x = tensor(xv, xShape);
  const bias = withBias ? tensor(bv, [n]) : undefined;
  const label = `${format} x [${xShape}] · [${n}, ${k}]ᵀ${withBias ? ' + bias' : ''}`;
  const got = int4Matmul(x, q, bias);
  const deq = q.dequantize();
  const want32 = matmul(x, deq, { transB: true, bias });
  const want = await want32.toArray();
  await assertClose(got, { shape: [...want32.shape], data: Float64Array.from(want) }, { rtol: 1e-4, atol: 1e-4, label: `${label} vs float32 matmul` });
  const oracle = int4MatmulRef({ shape: xShape, data: Float64Array.from(xv) }, qRef, withBias ? { shape: [n], data: Float64Array.from(bv) } : undefined);
  await assertClose(got, oracle, { rtol: 1e-4, atol: 1e-4 * Math.sqrt(k), label: `${label} vs oracle` });
  q.dispose();
}

test('fused int4Matmul: matrix-vector and tiled paths, odd shapes, bias, batches, split parts', async () => {
  const rng = new Rng(12);
  for (const format of FORMATS) {
    await checkProduct(rng, format, [192], 70, false); // one row: the matrix-vector path
    await checkProduct(rng, format, [1, 128], 5, true);
    await checkProduct(rng, format, [3, 192], 67, true); // tiled, M < 8
    await checkProduct(rng, format, [2, 9, 128], 130, false); // tiled, batched, M = 18
    await checkProduct(rng, format, [17, 64 * 3], 33, true, 10); // four parts
  }
});

test('backward: dX = dY · dequant(W) by the fused kernel, bias gradient, no gradient to the weight', async () => {
  const rng = new Rng(13);
  for (const format of FORMATS) {
    for (const [xShape, n, parts] of [[[5, 128], 37, undefined], [[2, 3, 192], 9, 4], [[128], 3, undefined]] as const) {
      const k = xShape[xShape.length - 1]!;
      const w = weights(rng, format, n, k);
      const qRef = quantizeRef(format, w, n, k);
      const q = quantize(tensor(w, [n, k]), format, { maxPartRows: parts });
      const x = tensor(Float32Array.from({ length: xShape.reduce((a, b) => a * b, 1) }, () => rng.normal()), [...xShape], { requiresGrad: true });
      const bias = tensor(Float32Array.from({ length: n }, () => rng.normal()), [n], { requiresGrad: true });
      const outShape = [...xShape.slice(0, -1), n];
      const gv = Float64Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => Math.fround(rng.normal()));
      const loss = sum(mul(int4Matmul(x, q, bias), tensor(Float32Array.from(gv), outShape)));
      loss.backward();
      const dxRef = int4MatmulBackwardRef({ shape: outShape, data: gv }, qRef);
      await assertClose(x.grad!, dxRef, { rtol: 1e-4, atol: 1e-4 * Math.sqrt(n), label: `${format} dX [${xShape}]` });
      // Against float32 matmul on the dequantized weight: dX = dY · W.
      const deq = q.dequantize();
      const want = await matmul(tensor(Float32Array.from(gv), outShape), deq).toArray();
      await assertClose(x.grad!, { shape: [...xShape], data: Float64Array.from(want) }, { rtol: 1e-4, atol: 1e-4, label: `${format} dX vs float32` });
      const db = new Float64Array(n);
      gv.forEach((g, i) => (db[i % n]! += g));
      await assertClose(bias.grad!, { shape: [n], data: db }, { rtol: 1e-5, atol: 1e-5, label: 'dbias' });
      q.dispose();
    }
  }
});

test('gradcheck: int4Matmul to x and bias, finite differences on the oracle, then the GPU rule', async () => {
  const rng = new Rng(17);
  for (const format of FORMATS) {
    const [n, k] = [6, 64];
    const w = weights(rng, format, n, k);
    const blocks = quantizeRef(format, w, n, k);
    const q = quantize(tensor(w, [n, k]), format);
    const normal = (shape: number[]) => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
    await gradcheck({
      name: `int4Matmul ${format}`,
      forward: (x, bias) => int4Matmul(x!, q, bias),
      reference: (x, bias) => int4MatmulRef(x!, blocks, bias),
      referenceBackward: ([, bias], dy) => [int4MatmulBackwardRef(dy, blocks), { shape: bias!.shape, data: Float64Array.from({ length: n }, (_, j) => dy.data.reduce((t, v, i) => (i % n === j ? t + v : t), 0)) }],
      inputs: [normal([3, k]), normal([n])],
    });
    q.dispose();
  }
});

test('int4MatmulDx with one row, and size-0 shapes (M, N or K = 0)', async () => {
  const rng = new Rng(14);
  const w = weights(rng, 'q4_0', 4, 64);
  const q = quantize(tensor(w, [4, 64]), 'q4_0');
  const g = Float64Array.from({ length: 4 }, () => Math.fround(rng.normal()));
  await assertClose(int4MatmulDx(tensor(Float32Array.from(g), [4]), q), int4MatmulBackwardRef({ shape: [4], data: g }, quantizeRef('q4_0', w, 4, 64)), { rtol: 1e-4, atol: 1e-5 });
  assert.equal([...int4Matmul(tensor(new Float32Array(0), [0, 64]), q).shape], [0, 4]);
  assert.equal([...int4MatmulDx(tensor(new Float32Array(0), [0, 4]), q).shape], [0, 64]);
  q.dispose();
  // K = 0: the product is the bias (or zeros); N = 0: dX is zeros.
  const empty = quantize(tensor(new Float32Array(0), [3, 0]), 'nf4');
  await assertClose(int4Matmul(tensor(new Float32Array(0), [2, 0]), empty, tensor([1, 2, 3])), { shape: [2, 3], data: Float64Array.from([1, 2, 3, 1, 2, 3]) }, { rtol: 0, atol: 0 });
  await assertClose(int4Matmul(tensor(new Float32Array(0), [0]), empty), { shape: [3], data: new Float64Array(3) }, { rtol: 0, atol: 0 });
  const none = quantize(tensor(new Float32Array(0), [0, 64]), 'q4_0');
  await assertClose(int4MatmulDx(tensor(new Float32Array(0), [2, 0]), none), { shape: [2, 64], data: new Float64Array(128) }, { rtol: 0, atol: 0 });
  empty.dispose();
  none.dispose();
});

test('safetensors round trip, bit for bit, for both formats (and split parts on load)', async () => {
  const rng = new Rng(15);
  for (const format of FORMATS) {
    const w = weights(rng, format, 6, 128);
    const q = quantize(tensor(w, [6, 128]), format);
    const file = encodeSafetensors({ ...(await quantizedToSafetensors(q, 'h.0.mlp.weight')), other: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    const decoded = decodeSafetensors(file);
    const back = quantizedFromSafetensors(decoded.tensors, 'h.0.mlp.weight', { maxPartRows: 4 });
    assert.is(back.format, format);
    assert.equal([...back.shape], [6, 128]);
    assert.is(back.parts.length, 2);
    await blocksEqual(await back.toBlocks(), quantizeRef(format, w, 6, 128), `${format} from file`);
    const again = encodeSafetensors({ ...(await quantizedToSafetensors(back, 'h.0.mlp.weight')), other: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    assert.equal(again, file, 'the file is reproduced byte for byte');
    q.dispose();
    back.dispose();
  }
});

test('bad input: typed errors, nothing allocated', async () => {
  const rng = new Rng(16);
  const q = quantize(tensor(weights(rng, 'nf4', 2, 64), [2, 64]), 'nf4');
  const tensors = decodeSafetensors(encodeSafetensors(await quantizedToSafetensors(q, 'w'))).tensors;
  const before = device.memory().tensors;
  const truncated = { ...tensors, w: { ...tensors['w']!, data: tensors['w']!.data.subarray(0, 60), shape: [60, 1] } };
  assertThrows(() => quantizedFromSafetensors(truncated, 'w'), SafetensorsError, 'U8 of 64 bytes', 'U8 of 60 bytes');
  const { ['w.absmax']: _absmax, ...noAbsmax } = tensors;
  assertThrows(() => quantizedFromSafetensors(noAbsmax, 'w'), SafetensorsError, 'w.absmax', 'missing');
  assertThrows(() => quantizedFromSafetensors(tensors, 'v'), SafetensorsError, 'no quantized weight named "v"');
  const badState = { ...tensors, 'w.quant_state.bitsandbytes__nf4': { dtype: 'U8' as const, shape: [2], data: new TextEncoder().encode('{}') } };
  assertThrows(() => quantizedFromSafetensors(badState, 'w'), SafetensorsError, 'quant state');
  assert.is(device.memory().tensors, before, 'no GPU buffers for a refused file');
  assertThrows(() => quantize(tensor(new Float32Array(2 * 48), [2, 48]), 'q4_0'), ShapeError, 'multiple of the 32-weight block', 'pad');
  assertThrows(() => quantize(tensor(new Float32Array(64), [64]), 'nf4'), ShapeError, 'not a matrix');
  const x = tensor(new Float32Array(3 * 32), [3, 32]);
  const afterInputs = device.memory().tensors;
  assertThrows(() => int4Matmul(x, q), ShapeError, 'K = 64');
  assertThrows(() => int4Matmul(tensor(new Float32Array(64), [64]), q, tensor([1, 2, 3])), ShapeError, 'bias [3]');
  assertThrows(() => int4Matmul(x, x as unknown as QuantizedTensor), WgradError, 'not a QuantizedTensor');
  assert.is(device.memory().tensors, afterInputs + 2, 'only the test inputs were created');
  q.dispose();
  assertThrows(() => int4Matmul(tensor(new Float32Array(64), [64]), q), DisposedError);
});

test('scope() frees a quantized tensor unless it is returned', () => {
  const w = tensor(new Float32Array(64).fill(1), [1, 64]);
  let inner: QuantizedTensor | null = null;
  scope(() => {
    inner = quantize(w, 'q4_0');
  });
  assert.ok(inner!.isDisposed);
  const kept = scope(() => quantize(w, 'q4_0'));
  assert.not.ok(kept.isDisposed);
  kept.dispose();
});

test.run();
