/**
 * The normalisation-and-loss benchmark: fused LayerNorm and fused softmax cross-entropy, forward plus
 * backward, against the same functions composed from wgrad's own ops, the float64 oracle, and TF.js's
 * WebGPU backend (its own composition, on the same Dawn adapter).
 *
 *   layerNorm (768 tokens × C = 128, 384, 512), with weight and bias: y, then dx, dweight, dbias for a
 *     fixed dy. TF.js: moments, sub, rsqrt, mul, add, and the backward written with the same ops.
 *   crossEntropy, mean over rows (768 × V = 65, and 512 × 50,257: 768 × 50,257 float32 logits are
 *     154 MB, beyond this adapter's 128 MiB storage-binding limit): the loss, then dlogits. TF.js:
 *     logSoftmax, oneHot(targets), mul, sum, mean, and (exp(logp) - onehot) / N for the backward; the
 *     one-hot is built inside the timed step, as wgrad's composed version builds its own.
 *
 * Every contender's loss/output and gradients are checked against the oracle before it is timed. A
 * timed iteration runs `units` forward+backward steps, then waits for the GPU (device.sync()).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { init } from '../src/gpu/acquire.js';
import type { Device } from '../src/gpu/device.js';
import { backward } from '../src/autograd/index.js';
import { composedLayerNorm, layerNorm } from '../src/ops/layernorm.js';
import { composedCrossEntropy, crossEntropy } from '../src/ops/cross-entropy.js';
import * as refLN from '../src/reference/layernorm.js';
import * as refCE from '../src/reference/cross-entropy.js';
import { ndarray } from '../src/reference/ndarray.js';
import { tensor } from '../src/tensor/create.js';
import { Rng } from '../src/tensor/random.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { gitCommit, printTable, runCase, writeResults, type BenchCase, type Contender, type Row, type TimingOptions, type Unit } from './harness.js';
import { loadTfjs, type TfjsReference } from './tfjs.js';
import { benchGPU } from './webgpu.js';

const TOKENS = 768;
const LN_WIDTHS = [128, 384, 512];
const CE_CASES: [rows: number, vocab: number][] = [[768, 65], [512, 50_257]];
const EPS = 1e-5;

/** Small sample counts, medians: the machine has 2 cores and is shared. */
const FAST = { minSamples: 5, maxTime: 1 };
const SLOW = { minSamples: 3, maxTime: 0 };

const REFERENCES = { composed: 'wgrad composed', tfjs: 'TF.js webgpu', oracle: 'oracle (f64 CPU)' };
const RESULTS_FILE = new URL('./results/norm.json', import.meta.url).pathname;

const MICROSECONDS_PER_STEP: Unit = { label: 'µs/step', better: 'lower', fromSeconds: (s) => s * 1e6, digits: 0 };

export async function runNormSuite(): Promise<boolean> {
  const gpu = benchGPU();
  const device = await init({ gpu });
  const tfjs = await loadTfjs();
  const { vendor, architecture, description } = device.adapterInfo;
  console.log(`adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}`);
  if (typeof tfjs === 'string') console.log(`TF.js skipped: ${tfjs}`);

  const rows: Row[] = [];
  try {
    for (const c of LN_WIDTHS) rows.push(await runCase(layerNormCase(device, tfjs, c)));
    for (const [n, v] of CE_CASES) rows.push(await runCase(crossEntropyCase(device, tfjs, n, v)));
  } finally {
    device.destroy();
    if (typeof tfjs !== 'string') tfjs.destroy();
  }

  printTable('norm suite: forward + backward, fused vs composed', rows, REFERENCES);
  console.log('one step = forward, then backward from a fixed upstream gradient; "wgrad" is the fused kernel.');
  writeResults(RESULTS_FILE, {
    suite: 'norm',
    date: new Date().toISOString(),
    commit: gitCommit(),
    environment: {
      adapter: { vendor, architecture, description },
      node: process.version,
      tfjs: typeof tfjs === 'string' ? `skipped: ${tfjs}` : { version: tfjs.version },
      layerNorm: { tokens: TOKENS, widths: LN_WIDTHS, eps: EPS },
      crossEntropy: { cases: CE_CASES, reduction: 'mean' },
    },
    rows,
  });
  return rows.every((r) => r.wgrad.status === 'timed');
}

// ---- layerNorm ---------------------------------------------------------------------------------------

function layerNormCase(device: Device, tfjs: TfjsReference | string, c: number): BenchCase {
  const rng = new Rng(c);
  const x = randomF32(TOKENS * c, rng, 1);
  const w = Float32Array.from({ length: c }, () => 1 + 0.1 * rng.normal());
  const b = randomF32(c, rng, 0.1);
  const dy = randomF32(TOKENS * c, rng, 1);
  const [xr, wr, br, dyr] = [ndarray([TOKENS, c], x), ndarray([c], w), ndarray([c], b), ndarray([TOKENS, c], dy)];
  const oracleStep = () => [refLN.layerNorm(xr, wr, br, EPS), ...refLN.layerNormVjp([xr, wr, br], dyr, { eps: EPS })];
  const expected = concat(oracleStep());
  const work: Workload = {
    inputs: [{ data: x, shape: [TOKENS, c], dtype: 'float32' }, { data: w, shape: [c], dtype: 'float32' }, { data: b, shape: [c], dtype: 'float32' }],
    dy: { data: dy, shape: [TOKENS, c] },
    units: c <= 128 ? 20 : 10,
    timing: FAST,
  };
  return {
    name: `layerNorm ${TOKENS}×${c}`,
    unit: MICROSECONDS_PER_STEP,
    expected,
    // y, dx ~ 1 and dweight, dbias ~ √768: float32 sums of up to 768 terms.
    tolerance: { rtol: 1e-4, atol: 1e-4 },
    wgrad: wgradStep(device, work, (t) => layerNorm(t[0]!, t[1]!, t[2]!, EPS)),
    references: {
      composed: wgradStep(device, work, (t) => composedLayerNorm(t[0]!, t[1]!, t[2]!, EPS)),
      tfjs: typeof tfjs === 'string' ? tfjs : tfjsStep(tfjs, work, (tf, [x, w, b], dy) => {
        const { mean, variance } = tf.moments(x!, -1, true);
        const rstd = tf.rsqrt(tf.add(variance, EPS));
        const xhat = tf.mul(tf.sub(x!, mean), rstd);
        const g = tf.mul(dy, w!);
        const dx = tf.mul(rstd, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
        return [tf.add(tf.mul(xhat, w!), b!), dx, tf.sum(tf.mul(dy, xhat), 0), tf.sum(dy, 0)];
      }),
      oracle: { result: async () => expected, iteration: async () => void oracleStep(), units: 1, timing: FAST },
    },
  };
}

// ---- crossEntropy ------------------------------------------------------------------------------------

function crossEntropyCase(device: Device, tfjs: TfjsReference | string, n: number, v: number): BenchCase {
  const rng = new Rng(v);
  const logits = randomF32(n * v, rng, 2);
  const targets = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * v));
  const [lr, tr, dyr] = [ndarray([n, v], logits), ndarray([n], targets), ndarray([], [1])];
  const oracleStep = () => [refCE.crossEntropy(lr, tr), refCE.crossEntropyVjp([lr, tr], dyr)[0]!];
  const expected = concat(oracleStep());
  const big = n * v > 1e6;
  const work: Workload = {
    inputs: [{ data: logits, shape: [n, v], dtype: 'float32' }, { data: targets, shape: [n], dtype: 'int32' }],
    dy: { data: new Float32Array([1]), shape: [] },
    units: big ? 1 : 20,
    timing: big ? SLOW : FAST,
  };
  return {
    name: `crossEntropy ${n}×${v}`,
    unit: MICROSECONDS_PER_STEP,
    expected,
    // The loss ~ log V; dlogits = (p - onehot) / n, as small as e⁻¹⁰/n: relative to 1/n.
    tolerance: { rtol: 1e-4, atol: 1e-5 / n },
    wgrad: wgradStep(device, work, (t) => crossEntropy(t[0]!, t[1]!)),
    references: {
      composed: wgradStep(device, work, (t) => composedCrossEntropy(t[0]!, t[1]!)),
      tfjs: typeof tfjs === 'string' ? tfjs : tfjsStep(tfjs, work, (tf, [logits, targets], dy) => {
        const logp = tf.logSoftmax(logits!);
        const onehot = tf.oneHot(targets!, v);
        const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1)));
        return [loss, tf.mul(tf.sub(tf.exp(logp), onehot), tf.div(dy, n))];
      }),
      oracle: { result: async () => expected, iteration: async () => void oracleStep(), units: 1, timing: SLOW },
    },
  };
}

// ---- contenders --------------------------------------------------------------------------------------

/** One forward+backward workload: the inputs (float32 ones are differentiated), dy, steps per iteration. */
interface Workload {
  inputs: { data: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' }[];
  dy: { data: Float32Array; shape: number[] };
  units: number;
  timing: TimingOptions;
}

/** wgrad: one step is the forward and backward(out, dy) in a scope; then the gradients are read or dropped. */
function wgradStep(device: Device, work: Workload, forward: (inputs: Tensor[]) => Tensor): Contender {
  const inputs = work.inputs.map(({ data, shape, dtype }) => tensor(data, shape, { device, dtype, requiresGrad: dtype === 'float32' }));
  const dy = tensor(work.dy.data, work.dy.shape, { device });
  const step = (): Tensor => scope(() => {
    const out = forward(inputs);
    backward(out, dy);
    return out;
  });
  const dropGrads = () => {
    for (const t of inputs) {
      t.grad?.dispose();
      t.grad = null;
    }
  };
  return {
    async result() {
      const out = step();
      const parts = [await out.toArray(), ...(await Promise.all(inputs.filter((t) => t.grad).map((t) => t.grad!.toArray())))];
      out.dispose();
      dropGrads();
      return concat(parts.map((p) => ({ data: p })));
    },
    async iteration() {
      for (let i = 0; i < work.units; i++) {
        step().dispose();
        dropGrads();
      }
      await device.sync();
    },
    units: work.units,
    timing: work.timing,
  };
}

/**
 * TF.js: the forward and the analytic backward, composed from TF.js ops in one tidy. (tfjs-core's Node
 * bundle registers no gradients — the @tensorflow/tfjs umbrella package does — so tf.grads cannot run
 * here; the backward is written out as TF.js's own gradients would compute it.)
 */
function tfjsStep(ref: TfjsReference, work: Workload, step: (tf: typeof TF, inputs: TF.Tensor[], dy: TF.Tensor) => TF.Tensor[]): Contender {
  const { tf } = ref;
  const inputs = work.inputs.map(({ data, shape, dtype }) => tf.tensor(data, shape, dtype));
  const dy = tf.tensor(work.dy.data, work.dy.shape);
  const run = () => tf.tidy(() => step(tf, inputs, dy));
  return {
    async result() {
      const outs = run();
      const parts = await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
      return concat(parts.map((p) => ({ data: p as Float32Array })));
    },
    async iteration() {
      for (let i = 0; i < work.units; i++) tf.dispose(run());
      await ref.sync();
    },
    units: work.units,
    timing: work.timing,
  };
}

// ---- data --------------------------------------------------------------------------------------------

function randomF32(n: number, rng: Rng, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * rng.normal();
  return out;
}

function concat(parts: readonly { data: ArrayLike<number> }[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

