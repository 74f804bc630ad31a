/**
 * The engine-foundation benchmark: what one small dispatch costs (batched into a shared compute pass
 * and submitted every 64 dispatches, or submitted one by one), and elementwise throughput in GB/s, each
 * against the float64 oracle and TF.js's WebGPU backend on the same Dawn adapter.
 *
 *   dispatch overhead: a chain of 200 `neg` (or `add(x, 1)`) on 1,024 elements, then one readback;
 *     µs per dispatch, readback included.
 *   throughput: `add(a, b)` on 1M, 4M, 16M float32 elements, K adds then one sync; bytes moved are
 *     12 per element (read a and b, write the sum), the same figure for every contender.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { init } from '../src/gpu/acquire.js';
import type { Device } from '../src/gpu/device.js';
import { add, neg } from '../src/ops/elementwise.js';
import { binary as refBinary, unary as refUnary } from '../src/reference/elementwise.js';
import { ndarray, type NDArray } from '../src/reference/ndarray.js';
import { tensor } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { LABELS, type BenchContext, type SuitePart } from './context.js';
import { maxAbs, randomF32 } from './data.js';
import { gigabytesPerSecond, MICROSECONDS_PER_DISPATCH, runCase, type BenchCase, type Contender, type Row } from './harness.js';
import type { TfjsReference } from './tfjs.js';

const CHAIN_LENGTH = 200;
const CHAIN_ELEMENTS = 1024;
const THROUGHPUT_SIZES = [1 << 20, 1 << 22, 1 << 24];
/** Elements processed per timed GPU iteration (K = this / n adds), about 0.4 GB of traffic. */
const ELEMENTS_PER_ITERATION = 1 << 25;
const BYTES_PER_ELEMENT_ADD = 12;

/** Small sample counts, medians: the machine has 2 cores and is shared. */
const FAST = { minSamples: 5, maxTime: 1 };
const SLOW = { minSamples: 3, maxTime: 0 };

type ChainOp = 'neg' | 'add1';

export async function dispatchSuite(ctx: BenchContext): Promise<SuitePart> {
  const { tfjs, device: batched } = ctx;
  const unbatched = await init({ gpu: ctx.gpu, maxDispatchesPerSubmit: 1 });
  const rows: Row[] = [];
  try {
    for (const op of ctx.quick ? (['neg'] as const) : (['neg', 'add1'] as const)) {
      const x = randomF32(CHAIN_ELEMENTS, 1);
      const oracle = oracleChain(op, x);
      for (const submitEach of [false, true]) {
        rows.push(await runCase(chainCase(op, x, oracle, submitEach ? unbatched : batched, tfjs, submitEach)));
      }
    }
    for (const n of ctx.quick ? THROUGHPUT_SIZES.slice(0, 1) : THROUGHPUT_SIZES) rows.push(await runCase(addCase(n, batched, tfjs)));
  } finally {
    unbatched.destroy();
  }
  const tfjsBatch = typeof tfjs === 'string' ? '' : `, TF.js ${tfjs.defaultBatch} (its default)`;
  return {
    title: `dispatch: ${CHAIN_LENGTH}-dispatch chains on ${CHAIN_ELEMENTS} elements; add(a, b) throughput`,
    references: { oracle: LABELS.oracle, tfjs: LABELS.tfjs },
    notes: [
      `Batched: wgrad submits every 64 dispatches${tfjsBatch}; submit per dispatch: both submit each one.`,
      `µs/dispatch include one ${CHAIN_ELEMENTS * 4}-byte readback per chain; GB/s count ${BYTES_PER_ELEMENT_ADD} bytes per element (read a, b; write the sum) for every contender.`,
    ],
    rows,
    environment: {
      tfjsDispatchesPerSubmit: typeof tfjs === 'string' ? null : tfjs.defaultBatch,
      wgradDispatchesPerSubmit: { batched: 64, unbatched: 1 },
      chain: { length: CHAIN_LENGTH, elements: CHAIN_ELEMENTS },
      throughput: { sizes: THROUGHPUT_SIZES, elementsPerIteration: ELEMENTS_PER_ITERATION, bytesPerElement: BYTES_PER_ELEMENT_ADD },
    },
  };
}

// ---- dispatch overhead: chains of small ops --------------------------------------------------------

function chainCase(op: ChainOp, x: Float32Array, oracle: Contender & { expected: Float64Array }, device: Device, tfjs: TfjsReference | string, submitEach: boolean): BenchCase {
  const label = op === 'neg' ? 'neg' : 'add(x, 1)';
  const mode = submitEach ? 'submit per dispatch' : 'batched';
  const steps = CHAIN_LENGTH;
  return {
    name: `${label} ×${steps}, ${mode}`,
    unit: MICROSECONDS_PER_DISPATCH,
    expected: oracle.expected,
    // Negation is exact; add rounds once per step, at most half an ulp (2⁻²⁴ relative) of the running value.
    tolerance: op === 'neg' ? { rtol: 0, atol: 0 } : { rtol: 1e-6, atol: steps * 6e-8 * maxAbs(oracle.expected) },
    wgrad: wgradChain(op, device, x),
    references: { oracle, tfjs: typeof tfjs === 'string' ? tfjs : tfjsChain(op, tfjs, x, submitEach ? 1 : tfjs.defaultBatch) },
  };
}

function wgradChain(op: ChainOp, device: Device, data: Float32Array): Contender {
  const x = tensor(data, [data.length], { device });
  const run = async () => {
    const y = scope(() => {
      let t: Tensor = x;
      for (let i = 0; i < CHAIN_LENGTH; i++) t = op === 'neg' ? neg(t) : add(t, 1);
      return t;
    });
    const out = await y.toArray();
    y.dispose();
    return out;
  };
  return { result: run, iteration: async () => void (await run()), units: CHAIN_LENGTH, timing: FAST };
}

function tfjsChain(op: ChainOp, ref: TfjsReference, data: Float32Array, dispatchesPerSubmit: number): Contender {
  const { tf } = ref;
  const x = tf.tensor1d(data);
  const one = tf.scalar(1); // made once, so the chain measures dispatches, not scalar uploads
  const run = async () => {
    const flags = tf.env();
    flags.set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', dispatchesPerSubmit);
    const y = tf.tidy(() => {
      let t: TF.Tensor = x;
      for (let i = 0; i < CHAIN_LENGTH; i++) t = op === 'neg' ? tf.neg(t) : tf.add(t, one);
      return t;
    });
    flags.set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', ref.defaultBatch);
    const out = await y.data();
    y.dispose();
    return out as Float32Array;
  };
  return { result: run, iteration: async () => void (await run()), units: CHAIN_LENGTH, timing: FAST };
}

/** The oracle's chain, which is also the oracle contender (timed once, shared by both modes). */
function oracleChain(op: ChainOp, data: Float32Array): Contender & { expected: Float64Array } {
  const x = ndarray([data.length], data);
  const one = ndarray([], [1]);
  const run = (): NDArray => {
    let t = x;
    for (let i = 0; i < CHAIN_LENGTH; i++) t = op === 'neg' ? refUnary('neg', t) : refBinary('add', t, one);
    return t;
  };
  const expected = run().data;
  return { expected, result: async () => expected, iteration: async () => void run(), units: CHAIN_LENGTH, timing: FAST };
}

// ---- throughput: add(a, b) on large tensors --------------------------------------------------------

function addCase(n: number, device: Device, tfjs: TfjsReference | string): BenchCase {
  const a = randomF32(n, 2);
  const b = randomF32(n, 3);
  const refA = ndarray([n], a);
  const refB = ndarray([n], b);
  const expected = refBinary('add', refA, refB).data;
  const k = Math.max(1, ELEMENTS_PER_ITERATION / n);
  return {
    name: `add(a, b) ${n >= 1 << 20 ? `${n / (1 << 20)}M` : n} elements`,
    unit: gigabytesPerSecond(n * BYTES_PER_ELEMENT_ADD),
    expected,
    tolerance: { rtol: 1e-6, atol: 1e-6 },
    wgrad: wgradAdd(device, a, b, k),
    references: {
      oracle: { result: async () => expected, iteration: async () => void refBinary('add', refA, refB), units: 1, timing: n > 1 << 20 ? SLOW : FAST },
      tfjs: typeof tfjs === 'string' ? tfjs : tfjsAdd(tfjs, a, b, k),
    },
  };
}

function wgradAdd(device: Device, a: Float32Array, b: Float32Array, k: number): Contender {
  const ta = tensor(a, [a.length], { device });
  const tb = tensor(b, [b.length], { device });
  return {
    async result() {
      const c = add(ta, tb);
      const out = await c.toArray();
      c.dispose();
      return out;
    },
    async iteration() {
      // Each sum is disposed at once, so the pool hands the same buffer to the next add.
      for (let i = 0; i < k; i++) add(ta, tb).dispose();
      await device.sync();
    },
    units: k,
    timing: FAST,
  };
}

function tfjsAdd(ref: TfjsReference, a: Float32Array, b: Float32Array, k: number): Contender {
  const { tf } = ref;
  const ta = tf.tensor1d(a);
  const tb = tf.tensor1d(b);
  return {
    async result() {
      const c = tf.add(ta, tb);
      const out = await c.data();
      c.dispose();
      return out as Float32Array;
    },
    async iteration() {
      for (let i = 0; i < k; i++) tf.add(ta, tb).dispose();
      await ref.sync();
    },
    units: k,
    timing: FAST,
  };
}
