/**
 * The normalisation-and-loss benchmark: fused LayerNorm and fused softmax cross-entropy, forward plus
 * backward, against the same functions composed from wgrad's own ops, the float64 oracle, TF.js's
 * WebGPU backend (its own composition, on the same Dawn adapter), and PyTorch on the CPU
 * (F.layer_norm and F.cross_entropy with autograd, in bench/torch_twin.py). --quick keeps C = 128 and
 * V = 65.
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
import { composedLayerNorm, layerNorm } from '../src/ops/layernorm.js';
import { composedCrossEntropy, crossEntropy } from '../src/ops/cross-entropy.js';
import * as refLN from '../src/reference/layernorm.js';
import * as refCE from '../src/reference/cross-entropy.js';
import { ndarray } from '../src/reference/ndarray.js';
import { Rng } from '../src/tensor/random.js';
import { LABELS, torchTiming, type BenchContext, type SuitePart } from './context.js';
import { concat, randomF32 } from './data.js';
import { forwardBackwardStep, type StepWorkload } from './grad-step.js';
import { runCase, type AnyContender, type BenchCase, type Contender, type Row, type Unit } from './harness.js';
import type { TfjsReference } from './tfjs.js';

const TOKENS = 768;
const LN_WIDTHS = [128, 384, 512];
const CE_CASES: [rows: number, vocab: number][] = [[768, 65], [512, 50_257]];
const EPS = 1e-5;

/** Small sample counts, medians: the machine has 2 cores and is shared. */
const FAST = { minSamples: 5, maxTime: 1 };
const SLOW = { minSamples: 3, maxTime: 0 };

const MICROSECONDS_PER_STEP: Unit = { label: 'µs/step', better: 'lower', fromSeconds: (s) => s * 1e6, digits: 0 };

export async function normSuite(ctx: BenchContext): Promise<SuitePart> {
  const rows: Row[] = [];
  for (const c of ctx.quick ? [128] : LN_WIDTHS) rows.push(await runCase(layerNormCase(ctx, c)));
  for (const [n, v] of ctx.quick ? CE_CASES.slice(0, 1) : CE_CASES) rows.push(await runCase(crossEntropyCase(ctx, n, v)));
  return {
    title: 'layerNorm and softmax cross-entropy: forward + backward, µs per step',
    references: { composed: LABELS.composed, tfjs: LABELS.tfjs, torch: LABELS.torch, oracle: LABELS.oracle },
    notes: [
      'One step = forward, then backward from a fixed upstream gradient; "wgrad" is the fused kernel, "wgrad composed" the same function built from wgrad\'s small ops.',
      'TF.js composes its own ops (moments, rsqrt, … ; logSoftmax, oneHot, …) with the analytic backward written out, since tfjs-core alone registers no gradients.',
    ],
    rows,
    environment: { layerNorm: { tokens: TOKENS, widths: LN_WIDTHS, eps: EPS }, crossEntropy: { cases: CE_CASES, reduction: 'mean' } },
  };
}

// ---- layerNorm ---------------------------------------------------------------------------------------

function layerNormCase(ctx: BenchContext, c: number): BenchCase {
  const { device, tfjs } = ctx;
  const rng = new Rng(c);
  const x = randomF32(TOKENS * c, rng, 1);
  const w = Float32Array.from({ length: c }, () => 1 + 0.1 * rng.normal());
  const b = randomF32(c, rng, 0.1);
  const dy = randomF32(TOKENS * c, rng, 1);
  const [xr, wr, br, dyr] = [ndarray([TOKENS, c], x), ndarray([c], w), ndarray([c], b), ndarray([TOKENS, c], dy)];
  const oracleStep = () => [refLN.layerNorm(xr, wr, br, EPS), ...refLN.layerNormVjp([xr, wr, br], dyr, { eps: EPS })];
  const expected = concat(oracleStep());
  const work: StepWorkload = {
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
    wgrad: forwardBackwardStep(device, work, (t) => layerNorm(t[0]!, t[1]!, t[2]!, EPS)),
    references: {
      composed: forwardBackwardStep(device, work, (t) => composedLayerNorm(t[0]!, t[1]!, t[2]!, EPS)),
      tfjs: typeof tfjs === 'string' ? tfjs : tfjsStep(tfjs, work, (tf, [x, w, b], dy) => {
        const { mean, variance } = tf.moments(x!, -1, true);
        const rstd = tf.rsqrt(tf.add(variance, EPS));
        const xhat = tf.mul(tf.sub(x!, mean), rstd);
        const g = tf.mul(dy, w!);
        const dx = tf.mul(rstd, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
        return [tf.add(tf.mul(xhat, w!), b!), dx, tf.sum(tf.mul(dy, xhat), 0), tf.sum(dy, 0)];
      }),
      torch: torchStep(ctx, { kind: 'layernorm', shape: [TOKENS, c], eps: EPS, units: work.units }, [x, w, b, dy], expected, { rtol: 1e-4, atol: 1e-4 }),
      oracle: { result: async () => expected, iteration: async () => void oracleStep(), units: 1, timing: FAST },
    },
  };
}

// ---- crossEntropy ------------------------------------------------------------------------------------

function crossEntropyCase(ctx: BenchContext, n: number, v: number): BenchCase {
  const { device, tfjs } = ctx;
  const rng = new Rng(v);
  const logits = randomF32(n * v, rng, 2);
  const targets = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * v));
  const [lr, tr, dyr] = [ndarray([n, v], logits), ndarray([n], targets), ndarray([], [1])];
  const oracleStep = () => [refCE.crossEntropy(lr, tr), refCE.crossEntropyVjp([lr, tr], dyr)[0]!];
  const expected = concat(oracleStep());
  const big = n * v > 1e6;
  const work: StepWorkload = {
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
    wgrad: forwardBackwardStep(device, work, (t) => crossEntropy(t[0]!, t[1]!)),
    references: {
      composed: forwardBackwardStep(device, work, (t) => composedCrossEntropy(t[0]!, t[1]!)),
      tfjs: typeof tfjs === 'string' ? tfjs : tfjsStep(tfjs, work, (tf, [logits, targets], dy) => {
        const logp = tf.logSoftmax(logits!);
        const onehot = tf.oneHot(targets!, v);
        const loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), -1)));
        return [loss, tf.mul(tf.sub(tf.exp(logp), onehot), tf.div(dy, n))];
      }),
      torch: torchStep(ctx, { kind: 'cross_entropy', shape: [n, v], units: work.units }, [logits, targets], expected, { rtol: 1e-4, atol: 1e-5 / n }),
      oracle: { result: async () => expected, iteration: async () => void oracleStep(), units: 1, timing: SLOW },
    },
  };
}

// ---- contenders --------------------------------------------------------------------------------------

function torchStep(ctx: BenchContext, job: { kind: 'layernorm' | 'cross_entropy'; units: number; [k: string]: unknown }, inputs: (Float32Array | Int32Array)[], expected: Float64Array, tolerance: { rtol: number; atol: number }): AnyContender | string {
  if (typeof ctx.torch === 'string') return ctx.torch;
  return ctx.torch.contender({ ...job, ...torchTiming(ctx) }, inputs, { expected, ...tolerance });
}

/**
 * TF.js: the forward and the analytic backward, composed from TF.js ops in one tidy. (tfjs-core's Node
 * bundle registers no gradients — the @tensorflow/tfjs umbrella package does — so tf.grads cannot run
 * here; the backward is written out as TF.js's own gradients would compute it.)
 */
function tfjsStep(ref: TfjsReference, work: StepWorkload, step: (tf: typeof TF, inputs: TF.Tensor[], dy: TF.Tensor) => TF.Tensor[]): Contender {
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
