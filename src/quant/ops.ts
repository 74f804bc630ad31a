/**
 * int4 ops (kernels/q4.wgsl): quantize a float32 weight on the GPU, and the fused products
 * `y = x · dequant(W)ᵀ (+ bias)` and `dX = dY · dequant(W)` that never expand W to float32.
 * int4Matmul is recorded on the tape as 'int4Matmul' (rule in src/quant/grad.ts, registered on import): gradients
 * reach x and bias; the quantized weight gets none (QLoRA keeps its base weights frozen).
 */
import { DeviceError, ShapeError, ValueError, WgradError, fmtShape } from '../errors.js';
import { NF4_THRESHOLDS, q4_0Thresholds, BLOCK_SIZE, type QuantFormat } from '../reference/quant.js';
import { expectSameDevice, expectTensor } from '../ops/validate.js';
import { launch } from '../tensor/launch.js';
import { record } from '../tensor/record.js';
import { Tensor } from '../tensor/tensor.js';
import { QuantizedTensor, type PartOptions } from './quantized-tensor.js';
import './grad.js'; // int4Matmul's gradient rule

/**
 * Kernel shapes, measured on lavapipe (notes at the end of kernels/q4.wgsl): one row of X takes the
 * matrix-vector kernel; more rows the tile kernel, TM rows × TN columns per invocation; dX takes
 * TM_DX rows of dY per workgroup.
 */
export const INT4_TILE = { TM: 8, TN: 8 } as const;
const TM_DX = 8;

const THRESHOLDS: Record<QuantFormat, number[]> = { q4_0: q4_0Thresholds(), nf4: [...NF4_THRESHOLDS] };

/**
 * Quantizes a float32 weight [N, K] (out_features, in_features) on the GPU, bit-exact to llama.cpp's
 * Q4_0 or bitsandbytes' NF4 (see src/reference/quant.ts). K must be a multiple of the block size (32
 * for q4_0, 64 for nf4): other K are refused with a ShapeError, not padded. A block holding NaN or Inf
 * gets a NaN scale, so everything computed from it is NaN rather than silently wrong; use
 * quantizeChecked() to refuse such weights with a ValueError instead.
 */
export function quantize(w: Tensor, format: QuantFormat, options: PartOptions = {}): QuantizedTensor {
  const where = 'quantize';
  expectTensor(where, 'w', w);
  if (format !== 'q4_0' && format !== 'nf4') {
    throw new ValueError(where, `unknown format ${JSON.stringify(format)}`, "use 'q4_0' or 'nf4'");
  }
  if (w.rank !== 2) {
    throw new ShapeError(where, `argument 'w' ${fmtShape(w.shape)} is not a matrix [N, K]`, 'reshape the weight to [out_features, in_features] (a GPT-2 Conv1D weight, stored (in, out), is transposed first)');
  }
  const [n, k] = w.shape as [number, number];
  const q = QuantizedTensor.allocate(w.device, format, n, k, where, options);
  const bs = BLOCK_SIZE[format];
  for (const p of q.parts) {
    const blocks = (p.rows * k) / bs;
    if (blocks === 0) continue;
    launch(where, 'q4_quantize', {
      bindings: { src: w, codes: p.words, block_scales: p.scales },
      uniforms: { blocks, first: (p.row0 * k) / bs, thresholds: [...THRESHOLDS[format], 0] },
      overrides: q.overrides(),
      workgroups: Math.ceil(blocks / 64),
    });
  }
  return q;
}

/** quantize(), after reading `w` back to refuse NaN and Inf with a ValueError (nothing is allocated then). */
export async function quantizeChecked(w: Tensor, format: QuantFormat, options: PartOptions = {}): Promise<QuantizedTensor> {
  const where = 'quantizeChecked';
  expectTensor(where, 'w', w);
  const values = await w.toArray();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const k = w.shape[w.rank - 1] ?? 1;
    throw new ValueError(where, `weight ${fmtShape(w.shape)} holds ${values[bad]} at row ${Math.floor(bad / k)}, column ${bad % k}`, 'quantize finite weights only: find where the NaN or Inf came from (a diverged training run?)');
  }
  return quantize(w, format, options);
}

/**
 * `x · dequant(w)ᵀ (+ bias)`: x (…, K), w [N, K], bias [N] → (…, N). One row of x takes the
 * matrix-vector path; more take the tiled path (64 × 64 outputs per workgroup). Gradients flow to x and bias.
 */
export function int4Matmul(x: Tensor, w: QuantizedTensor, bias?: Tensor): Tensor {
  const op = 'int4Matmul';
  expectTensor(op, 'x', x);
  expectQuantized(op, w);
  if (bias !== undefined) expectTensor(op, 'bias', bias);
  const [n, k] = w.shape;
  if (w.device !== x.device) {
    throw new DeviceError(op, `the weight ${w} is on a different device than x (tensor #${x.id})`, 'quantize the weight on the device that runs the model');
  }
  if (bias) expectSameDevice(op, { x, bias });
  if (x.rank === 0 || x.shape[x.rank - 1] !== k) {
    throw new ShapeError(op, `x ${fmtShape(x.shape)} does not end in K = ${k}, the in_features of the ${w.format} weight ${fmtShape(w.shape)}`, `pass x of shape (…, ${k})`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new ShapeError(op, `bias ${fmtShape(bias.shape)} does not match the N = ${n} rows (out_features) of the weight ${fmtShape(w.shape)}`, `pass a bias of shape [${n}]`);
  }
  const m = x.shape.slice(0, -1).reduce((a, b) => a * b, 1); // rows of x (K = 0 still gives bias or zeros)
  const out = Tensor.empty(x.device, [...x.shape.slice(0, -1), n], 'float32', op);
  const { TM, TN } = INT4_TILE;
  for (const p of w.parts) {
    if (m === 0 || p.rows === 0) continue;
    const shared = { bias: bias ?? x, y: out, x4: x, scales: p.scales };
    const overrides = { ...w.overrides(), BIAS: bias ? 1 : 0 };
    if (m === 1) {
      const tiles = Math.ceil(p.rows / 64);
      launch(op, 'q4_matvec', { bindings: { ...shared, words4: p.words }, uniforms: { m, n, n0: p.row0, rows: p.rows, k, tiles }, overrides: { ...overrides, TM: 1 }, workgroups: tiles });
    } else {
      const tiles = Math.ceil(p.rows / (8 * TN));
      launch(op, 'q4_matmul_tile', { bindings: { ...shared, words: p.words }, uniforms: { m, n, n0: p.row0, rows: p.rows, k, tiles }, overrides: { ...overrides, TM, TN }, workgroups: tiles * Math.ceil(m / (8 * TM)) });
    }
  }
  return record(op, bias ? [x, bias] : [x], out, { weight: w, bias: bias !== undefined });
}

/** `dy · dequant(w)`: dy (…, N), w [N, K] → (…, K): int4Matmul's gradient to x. Not recorded. */
export function int4MatmulDx(dy: Tensor, w: QuantizedTensor): Tensor {
  const op = 'int4MatmulDx';
  expectTensor(op, 'dy', dy);
  expectQuantized(op, w);
  const [n, k] = w.shape;
  if (w.device !== dy.device) {
    throw new DeviceError(op, `the weight ${w} is on a different device than dy (tensor #${dy.id})`, 'keep the weight and the activations on one device');
  }
  if (dy.rank === 0 || dy.shape[dy.rank - 1] !== n) {
    throw new ShapeError(op, `dy ${fmtShape(dy.shape)} does not end in N = ${n}, the out_features of the ${w.format} weight ${fmtShape(w.shape)}`, `pass dy of shape (…, ${n})`);
  }
  const m = dy.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const out = Tensor.empty(dy.device, [...dy.shape.slice(0, -1), k], 'float32', op);
  if (m === 0 || k === 0) return out;
  if (n === 0) {
    launch(op, 'fill', { bindings: { filled: out }, uniforms: { n: out.size, value: 0 }, threads: out.size });
    return out;
  }
  const tiles = Math.ceil(k / 8 / 64);
  w.parts.forEach((p, i) => {
    launch(op, 'q4_matmul_dx', {
      bindings: { dy, words: p.words, scales: p.scales, dx4: out },
      uniforms: { m, n, n0: p.row0, rows: p.rows, k, tiles },
      overrides: { ...w.overrides(), ACCUMULATE: i > 0 ? 1 : 0, TM: TM_DX },
      workgroups: tiles * Math.ceil(m / TM_DX),
    });
  });
  return out;
}

function expectQuantized(op: string, w: unknown): asserts w is QuantizedTensor {
  if (!(w instanceof QuantizedTensor)) {
    throw new WgradError(op, `argument 'w' is ${w === null ? 'null' : typeof w === 'object' ? `a ${w.constructor?.name ?? 'object'}` : typeof w}, not a QuantizedTensor`, 'quantize the weight first: quantize(w, "nf4") or quantize(w, "q4_0")');
  }
  w.assertLive(op);
}
