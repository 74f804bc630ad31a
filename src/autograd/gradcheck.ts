/**
 * gradcheck: proves an op's gradient in two steps.
 *  1. On the float64 oracle: central finite differences of ⟨reference(x), dy⟩ against the oracle's
 *     analytic vector-Jacobian product (when one is given): checks the math.
 *  2. On the GPU: the gradients autograd computes for the op against the oracle's: checks the kernels
 *     and the registered rule.
 * Exported so users who add ops can check theirs the same way.
 */
import { WgradError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { NDArray } from '../reference/ndarray.js';
import { Rng } from '../tensor/random.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { backward } from './tape.js';

/** What gradcheck checks: an op on GPU tensors, the same op on the float64 oracle (and optionally its analytic backward), and input values. */
export interface GradcheckCase {
  /** Used in messages. */
  name: string;
  /** The op on GPU tensors. */
  forward: (...inputs: Tensor[]) => Tensor;
  /** The same op on the float64 oracle. */
  reference: (...inputs: NDArray[]) => NDArray;
  /** The oracle's analytic backward: input gradients given the inputs and dy. Optional. */
  referenceBackward?: (inputs: NDArray[], dy: NDArray) => NDArray[];
  /** Input values (they are rounded to float32 first, so both sides see the same numbers). */
  inputs: NDArray[];
  /** Indices of the inputs to differentiate; default: all. Others are passed as constants. */
  wrt?: number[];
  /** dtypes of the GPU inputs; default float32. */
  dtypes?: ('float32' | 'int32' | 'bool')[];
}

/** Device, seed, finite-difference step and tolerances of gradcheck. */
export interface GradcheckOptions {
  device?: Device;
  seed?: number;
  /** Finite-difference step (on float64). */
  eps?: number;
  /** Tolerance of the oracle's analytic gradient against finite differences. */
  referenceTol?: number;
  /** Tolerance of the GPU gradients against the oracle's: |gpu - ref| ≤ atol + rtol·max|ref|. */
  rtol?: number;
  atol?: number;
}

/** The largest errors gradcheck saw (both within tolerance, or it would have thrown). */
export interface GradcheckReport {
  /** Largest |analytic - numeric| / (1 + |numeric|) on the oracle. */
  referenceError: number;
  /** Largest |gpu - ref| / max|ref| over each input. */
  gpuError: number;
}

export class GradcheckError extends WgradError {}

/** Prove an op's gradient: the oracle's analytic gradient against finite differences (when given), then the GPU gradients autograd computes against the oracle's. Throws GradcheckError naming the input and element that differ. */
export async function gradcheck(c: GradcheckCase, options: GradcheckOptions = {}): Promise<GradcheckReport> {
  const { eps = 1e-6, referenceTol = 1e-5, rtol = 2e-3, atol = 1e-5 } = options;
  const rng = new Rng(options.seed ?? 0);
  const inputs = c.inputs.map((x) => ({ shape: [...x.shape], data: Float64Array.from(x.data, Math.fround) }));
  const wrt = c.wrt ?? inputs.map((_, i) => i);
  const y0 = c.reference(...inputs);
  const dy: NDArray = { shape: y0.shape, data: Float64Array.from(y0.data, () => Math.fround(rng.normal())) };
  const dot = (y: NDArray) => y.data.reduce((s, v, i) => s + v * dy.data[i]!, 0);

  // 1. Finite differences on the oracle.
  const numeric = wrt.map((k) => {
    const x = inputs[k]!;
    const g = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const keepV = x.data[i]!;
      const h = eps * Math.max(1, Math.abs(keepV));
      x.data[i] = keepV + h;
      const plus = dot(c.reference(...inputs));
      x.data[i] = keepV - h;
      const minus = dot(c.reference(...inputs));
      x.data[i] = keepV;
      g[i] = (plus - minus) / (2 * h);
    }
    return g;
  });
  let referenceError = 0;
  let expected: Float64Array[] = numeric;
  if (c.referenceBackward) {
    const analytic = c.referenceBackward(inputs, dy);
    expected = wrt.map((k) => Float64Array.from(analytic[k]!.data));
    wrt.forEach((_, j) => {
      const scale = Math.max(1, ...Array.from(numeric[j]!, Math.abs));
      for (let i = 0; i < numeric[j]!.length; i++) {
        referenceError = Math.max(referenceError, Math.abs(expected[j]![i]! - numeric[j]![i]!) / scale);
      }
    });
    if (referenceError > referenceTol) {
      throw new GradcheckError(c.name, `the oracle's analytic gradient differs from finite differences by ${referenceError.toExponential(2)} (tolerance ${referenceTol})`, 'fix referenceBackward (src/reference/grad.ts for wgrad\'s own ops)');
    }
  }

  // 2. GPU gradients against the oracle's.
  const device = options.device;
  const gpuInputs = inputs.map((x, k) => {
    const t = tensor(Float32Array.from(x.data), x.shape, { device, dtype: c.dtypes?.[k] ?? 'float32' });
    t.requiresGrad = wrt.includes(k);
    return t;
  });
  const dyTensor = tensor(Float32Array.from(dy.data), dy.shape, { device });
  const out = c.forward(...gpuInputs);
  let gpuError = 0;
  try {
    backward(out, dyTensor);
    for (const [j, k] of wrt.entries()) {
      const grad = gpuInputs[k]!.grad;
      if (!grad) throw new GradcheckError(c.name, `input ${k} got no gradient on the GPU`, 'check that the op records itself and its rule returns a gradient for this input');
      const got = await grad.toArray();
      const want = expected[j]!;
      const scale = Math.max(...Array.from(want, Math.abs), 0);
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(got[i]! - want[i]!);
        if (!(err <= atol + rtol * scale)) {
          throw new GradcheckError(c.name, `GPU gradient of input ${k} at element ${i} is ${got[i]}, the oracle's is ${want[i]} (|Δ| ${err.toExponential(2)} > ${atol} + ${rtol}·${scale.toExponential(2)})`, 'the registered gradient rule or a backward kernel is wrong');
        }
        gpuError = Math.max(gpuError, scale > 0 ? err / scale : err);
      }
    }
  } finally {
    for (const t of [...gpuInputs, dyTensor, out]) t.dispose();
  }
  return { referenceError, gpuError };
}
