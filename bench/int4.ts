/**
 * The int4 benchmark (kernels/q4.wgsl): fused int4 products against float32 matmul on the same
 * adapter, with the weights in the same [N, K] layout (float32 read transposed in place: matvec_dot4
 * for one row, the tile kernel otherwise). Each case is one format; its float32 contenders multiply by
 * that format's dequantized weight, so every contender computes the same product and is checked
 * against the float64 oracle of it.
 *
 *   one row (generation): 1×4096 · [4096, 4096]ᵀ and 1×8192 · [2048, 8192]ᵀ, in ms per product;
 *     GB/s of weights streamed (int4: codes + scales; float32: 4 bytes a weight) are in the notes;
 *   many rows: 512×1024 · [1024, 1024]ᵀ, against float32 matmul and against dequantize-then-matmul;
 *   RMS quantization error of each format on Gaussian weights, and on the 2-D weights of a trained
 *   checkpoint when INT4_CHECKPOINT=<model.safetensors> is set (in the notes and the environment).
 */
import { readFileSync } from 'node:fs';
import type { Device } from '../src/gpu/device.js';
import { decodeSafetensors, toFloat32Array } from '../src/io/safetensors.js';
import { matmul } from '../src/ops/matmul.js';
import { int4Matmul, quantize, type QuantFormat, type QuantizedTensor } from '../src/quant/index.js';
import { int4MatmulRef, quantizeRef, rmsError } from '../src/reference/quant.js';
import { tensor } from '../src/tensor/create.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { BenchContext, SuitePart } from './context.js';
import { randomF32 } from './data.js';
import { runCase, type Contender, type Row, type TimingOptions, type Unit } from './harness.js';

interface Int4Shape {
  name: string;
  m: number;
  n: number;
  k: number;
  units: number;
}

const SHAPES: Int4Shape[] = [
  { name: '1×4096·[4096, 4096]ᵀ', m: 1, n: 4096, k: 4096, units: 4 },
  { name: '1×8192·[2048, 8192]ᵀ', m: 1, n: 2048, k: 8192, units: 4 },
  { name: '512×1024·[1024, 1024]ᵀ', m: 512, n: 1024, k: 1024, units: 1 },
];
const FORMATS: QuantFormat[] = ['q4_0', 'nf4'];
const TIMING: TimingOptions = { minSamples: 5, maxTime: 1.5 };

const MILLISECONDS: Unit = { label: 'ms', better: 'lower', fromSeconds: (s) => s * 1e3, digits: 3 };

export async function int4Suite(ctx: BenchContext): Promise<SuitePart> {
  const rows: Row[] = [];
  const notes: string[] = [
    'Each case multiplies by one format\'s weight; "float32" multiplies by the same weight dequantized to float32 (stored [N, K], read transposed in place), "dequant+matmul" dequantizes it and then multiplies (the unfused path). ms per product, medians.',
  ];
  const bandwidth: Record<string, number> = {};
  const shapes = ctx.quick ? SHAPES.filter((s) => s.k === 4096 || s.m > 1) : SHAPES;
  for (const s of shapes) {
    for (const format of FORMATS) {
      const w = randomF32(s.n * s.k, 7, 0.02);
      const x = randomF32(s.m * s.k, 8);
      const blocks = quantizeRef(format, w, s.n, s.k);
      const expected = int4MatmulRef({ shape: [s.m, s.k], data: Float64Array.from(x) }, blocks).data;
      const scale = Math.sqrt(expected.reduce((t, v) => t + v * v, 0) / expected.length);
      const xt = tensor(x, [s.m, s.k], { device: ctx.device });
      const q = quantize(tensor(w, [s.n, s.k], { device: ctx.device }), format);
      const deq = q.dequantize();
      const references: Record<string, Contender | string> = { float32: contender(ctx.device, s.units, () => matmul(xt, deq, { transB: true })) };
      references['dequant'] = s.m > 1 ? contender(ctx.device, s.units, () => dequantThenMatmul(xt, q)) : 'not timed at one row (the fused matrix-vector kernel is the case)';
      const row = await runCase({
        name: `${format} ${s.name}`,
        unit: MILLISECONDS,
        expected,
        tolerance: { rtol: 1e-4, atol: 1e-4 * scale },
        wgrad: contender(ctx.device, s.units, () => int4Matmul(xt, q)),
        references,
      });
      rows.push(row);
      if (s.m === 1) {
        const gbps = (o: Row['wgrad'], bytes: number) => (o.status === 'timed' ? bytes / (o.medianSeconds / o.units) / 1e9 : NaN);
        bandwidth[`${format} ${s.name}`] = gbps(row.wgrad, q.byteSize);
        bandwidth[`float32 (${format} case) ${s.name}`] = gbps(row.references['float32']!, s.n * s.k * 4);
      }
      xt.dispose();
      deq.dispose();
      q.dispose();
    }
  }
  for (const [name, v] of Object.entries(bandwidth)) notes.push(`weights streamed, ${name}: ${v.toFixed(2)} GB/s`);
  const rms: Record<string, number> = {};
  const gaussian = randomF32(1024 * 1024, 9);
  for (const format of FORMATS) rms[format] = rmsError(gaussian, quantizeRef(format, gaussian, 1024, 1024));
  notes.push(`RMS quantization error on N(0, 1) weights (1M): ${FORMATS.map((f) => `${f} ${rms[f]!.toFixed(4)}`).join(', ')}`);
  const trained = process.env.INT4_CHECKPOINT ? checkpointError(process.env.INT4_CHECKPOINT) : null;
  if (trained) notes.push(`RMS quantization error on ${trained.weights} 2-D weights of ${process.env.INT4_CHECKPOINT} (relative to their RMS ${trained.rms.toFixed(4)}): ${FORMATS.map((f) => `${f} ${trained.error[f]!.toExponential(3)} (${(trained.error[f]! / trained.rms * 100).toFixed(2)}%)`).join(', ')}`);
  else notes.push('RMS error on a trained model: set INT4_CHECKPOINT=<model.safetensors> to measure it.');
  return {
    title: 'int4: fused int4 products against float32 matmul on the same adapter (ms per product)',
    references: { float32: 'float32 matmul', dequant: 'dequant+matmul' },
    notes,
    rows,
    environment: { shapes, bandwidthGBps: bandwidth, rmsGaussian: rms, ...(trained ? { rmsTrained: trained } : {}) },
  };
}

/**
 * Quantization error over every 2-D float weight of a checkpoint, as QLoRA would quantize it: GPT-2's
 * Conv1D weights are stored (in, out), so each is transposed to [out, in] (K = in) first; weights whose
 * K is not a multiple of 64 (embeddings with an odd width) are skipped.
 */
function checkpointError(path: string): { weights: number; rms: number; error: Record<string, number> } {
  const { tensors } = decodeSafetensors(readFileSync(path));
  const sq: Record<string, number> = { q4_0: 0, nf4: 0 };
  let count = 0;
  let sumSq = 0;
  let weights = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.shape.length !== 2 || t.dtype !== 'F32' || name.includes('wte') || name.includes('wpe')) continue;
    const [kIn, nOut] = t.shape as [number, number];
    if (kIn % 64 !== 0) continue;
    const v = toFloat32Array(t, name);
    const w = new Float32Array(v.length);
    for (let i = 0; i < kIn; i++) for (let j = 0; j < nOut; j++) w[j * kIn + i] = v[i * nOut + j]!;
    for (const f of FORMATS) sq[f]! += rmsError(w, quantizeRef(f, w, nOut, kIn)) ** 2 * w.length;
    sumSq += w.reduce((a, x) => a + x * x, 0);
    count += w.length;
    weights++;
  }
  const error = Object.fromEntries(FORMATS.map((f) => [f, Math.sqrt(sq[f]! / Math.max(1, count))]));
  return { weights, rms: Math.sqrt(sumSq / Math.max(1, count)), error };
}

function contender(device: Device, units: number, product: () => Tensor): Contender {
  return {
    async result() {
      const y = product();
      const out = await y.toArray();
      y.dispose();
      return out;
    },
    async iteration() {
      for (let i = 0; i < units; i++) product().dispose();
      await device.sync();
    },
    units,
    timing: TIMING,
  };
}

function dequantThenMatmul(x: Tensor, q: QuantizedTensor): Tensor {
  const w = q.dequantize();
  const y = matmul(x, w, { transB: true });
  w.dispose();
  return y;
}
