/**
 * The matmul benchmark: GFLOP/s of wgrad's matmul (kernels/matmul.wgsl) against TF.js's WebGPU backend
 * on the same Dawn adapter, TF.js's WASM and CPU backends, PyTorch on the CPU (bench/torch_twin.py), and
 * the float64 oracle (small shapes only: it is slow). Every contender is checked against the oracle
 * before it is timed.
 *
 *   1024×1024×1024 (the headline figure);
 *   the GPT training shapes at 768 tokens, widths 128/384/512: forward products and both backward
 *     products of the 128→384 layer (dA = dY·Wᵀ, dW = Xᵀ·dY, read transposed in place);
 *   M = 1 (generation): 1×1024·1024×1024, 1×4096·4096×4096, and 1×1024 against weights stored (N, K).
 *
 * FLOPs are 2·M·N·K per product for every contender; an iteration runs `units` products, then waits
 * for the GPU (or reads nothing back on the CPU backends). MATMUL_CASES=<text> runs only the cases
 * whose names contain the text (e.g. MATMUL_CASES=1024 npm run bench -- --suite kernels).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { Device } from '../src/gpu/device.js';
import { matmul, MATVEC, TILE } from '../src/ops/matmul.js';
import { matmul as refMatmul } from '../src/reference/matmul.js';
import { tensor } from '../src/tensor/create.js';
import { LABELS, torchTiming, type BenchContext, type SuitePart } from './context.js';
import { randomF32 } from './data.js';
import { runCase, type AnyContender, type BenchCase, type Contender, type Row, type TimingOptions, type Unit } from './harness.js';
import type { TfjsReference } from './tfjs.js';

export interface Shape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** Products per timed iteration. */
  units: number;
}

const SHAPES: Shape[] = [
  { name: '1024×1024·1024×1024', m: 1024, n: 1024, k: 1024, units: 1 },
  { name: 'fwd 768×128·128×384', m: 768, n: 384, k: 128, units: 4 },
  { name: 'dA 768×384·(128×384)ᵀ', m: 768, n: 128, k: 384, transB: true, units: 4 },
  { name: 'dW (768×128)ᵀ·768×384', m: 128, n: 384, k: 768, transA: true, units: 4 },
  { name: 'fwd 768×128·128×512', m: 768, n: 512, k: 128, units: 4 },
  { name: 'fwd 768×512·512×128', m: 768, n: 128, k: 512, units: 4 },
  { name: 'M=1 1×1024·1024×1024', m: 1, n: 1024, k: 1024, units: 20 },
  { name: 'M=1 1×1024·(1024×1024)ᵀ', m: 1, n: 1024, k: 1024, transB: true, units: 20 },
  { name: 'M=1 1×4096·4096×4096', m: 1, n: 4096, k: 4096, units: 4 },
];
/** --quick keeps the headline, one GPT product of each kind and one M = 1 product. */
const QUICK = new Set(['1024×1024·1024×1024', 'fwd 768×128·128×384', 'dA 768×384·(128×384)ᵀ', 'dW (768×128)ᵀ·768×384', 'M=1 1×1024·1024×1024']);

/** The oracle is timed only below this many multiply-adds per product (it runs at ~0.3 GFLOP/s). */
const ORACLE_MAX_MACS = 64 * 1024 * 1024;
/** TF.js's CPU backend (plain JavaScript) is timed up to this many multiply-adds. */
const TFJS_CPU_MAX_MACS = 256 * 1024 * 1024;

const TIMING: TimingOptions = { minSamples: 5, maxTime: 2 };
const SLOW: TimingOptions = { minSamples: 3, maxTime: 0 };

export function gigaflopsPerSecond(flops: number): Unit {
  return { label: 'GFLOP/s', better: 'higher', fromSeconds: (s) => flops / s / 1e9, digits: 2 };
}

export async function matmulSuite(ctx: BenchContext): Promise<SuitePart> {
  const rows: Row[] = [];
  const only = process.env.MATMUL_CASES;
  const shapes = SHAPES.filter((c) => (!only || c.name.includes(only)) && (!ctx.quick || QUICK.has(c.name)));
  for (const shape of shapes) rows.push(await runCase(matmulCase(shape, ctx)));
  return {
    title: 'matmul: GFLOP/s (2·M·N·K per product)',
    references: { oracle: LABELS.oracle, tfjs: LABELS.tfjs, wasm: LABELS.wasm, cpu: LABELS.cpu, torch: LABELS.torch },
    notes: [
      'The GPT shapes are those of a 128-wide GPT at 768 tokens (the baby preset): forward products, and both backward products of the 128→384 layer (dA = dY·Wᵀ, dW = Xᵀ·dY, read transposed in place). M = 1 is generation.',
      'An iteration runs `units` products, then waits for the GPU; CPU contenders compute synchronously.',
    ],
    rows,
    environment: { tile: TILE, matvec: MATVEC, shapes },
  };
}

/** TF.js on one of its backends for a product, or why it is skipped. */
function tfjsFor(ctx: BenchContext, backend: 'webgpu' | 'wasm' | 'cpu', s: Shape, a: Float32Array, b: Float32Array): AnyContender | string {
  if (typeof ctx.tfjs === 'string') return ctx.tfjs;
  if (backend === 'wasm' && ctx.tfjsWasm !== true) return ctx.tfjsWasm;
  if (backend === 'cpu' && ctx.tfjsCpu !== true) return ctx.tfjsCpu;
  if (backend === 'cpu' && s.m * s.n * s.k > TFJS_CPU_MAX_MACS) return `not timed above ${TFJS_CPU_MAX_MACS / 2 ** 20}M multiply-adds (plain JavaScript, seconds per product)`;
  return tfjsMatmul(ctx.tfjs, backend, s, a, b);
}

/** One product with every contender; `sampleRows` checks only those rows of C (the oracle is slow). */
export function matmulCase(s: Shape, ctx: BenchContext, extra: Partial<BenchCase> = {}, sampleRows?: number[], referenceIds = ['oracle', 'tfjs', 'wasm', 'cpu', 'torch']): BenchCase {
  const { m, n, k, transA = false, transB = false } = s;
  const a = randomF32(m * k, 1);
  const b = randomF32(k * n, 2);
  const [aShape, bShape] = shapesOf(s);
  const refA = { shape: aShape, data: Float64Array.from(a) };
  const refB = { shape: bShape, data: Float64Array.from(b) };
  const started = performance.now();
  const expected = sampleRows ? sampledProduct(s, a, b, sampleRows) : refMatmul(refA, refB, { transA, transB }).data;
  const oracleSeconds = ((performance.now() - started) / 1e3) * (sampleRows ? m / sampleRows.length : 1);
  const scale = Math.sqrt(expected.reduce((t, v) => t + v * v, 0) / Math.max(1, expected.length));
  const oracle: AnyContender | string = m * n * k <= ORACLE_MAX_MACS && !sampleRows
    ? { result: async () => expected, iteration: async () => void refMatmul(refA, refB, { transA, transB }), units: 1, timing: SLOW }
    : `too slow for a benchmark (${oracleSeconds.toFixed(1)} s per product)`;
  // float32 sums of k products: rounding grows like √k relative to the typical magnitude.
  const tolerance = { rtol: 2e-5 * Math.sqrt(k), atol: 2e-5 * Math.sqrt(k) * scale };
  const pick = (c: AnyContender | string) => (typeof c === 'string' || !sampleRows ? c : pickRows(c, sampleRows, n));
  const torch: AnyContender | string = !referenceIds.includes('torch')
    ? 'not part of this run'
    : typeof ctx.torch === 'string'
    ? ctx.torch
    : ctx.torch.contender({ kind: 'matmul', aShape, bShape, transA, transB, units: s.units, ...torchTiming(ctx, m * n * k >= 2 ** 30) }, [a, b], { expected: sampleRows ? expandRows(expected, sampleRows, m, n) : expected, ...tolerance, ...(sampleRows ? { atol: 1e30 } : {}) });
  return {
    name: s.name,
    unit: gigaflopsPerSecond(2 * m * n * k),
    expected,
    tolerance,
    wgrad: pick(wgradMatmul(ctx.device, s, a, b)) as AnyContender,
    references: Object.fromEntries(
      referenceIds.map((id) => [id, id === 'oracle' ? oracle : id === 'torch' ? pick(torch) : pick(tfjsFor(ctx, id === 'tfjs' ? 'webgpu' : (id as 'wasm' | 'cpu'), s, a, b))]),
    ),
    ...extra,
  };
}

function shapesOf(s: Shape): [number[], number[]] {
  return [s.transA ? [s.k, s.m] : [s.m, s.k], s.transB ? [s.n, s.k] : [s.k, s.n]];
}

/** Rows `rows` of op(A)·op(B) in float64 (untransposed A and B only: what scaling runs use). */
function sampledProduct(s: Shape, a: Float32Array, b: Float32Array, rows: number[]): Float64Array {
  const out = new Float64Array(rows.length * s.n);
  rows.forEach((r, i) => {
    for (let kk = 0; kk < s.k; kk++) {
      const av = a[r * s.k + kk]!;
      for (let j = 0; j < s.n; j++) out[i * s.n + j]! += av * b[kk * s.n + j]!;
    }
  });
  return out;
}

/** A contender whose result is reduced to the sampled rows of C. */
function pickRows(c: AnyContender, rows: number[], n: number): AnyContender {
  return {
    ...c,
    async result() {
      const full = await c.result();
      const out = new Float64Array(rows.length * n);
      rows.forEach((r, i) => {
        for (let j = 0; j < n; j++) out[i * n + j] = full[r * n + j]!;
      });
      return out;
    },
  };
}

/**
 * The twin checks whole results; for sampled rows it gets the full shape with NaN elsewhere, which
 * its rule (atol = 1e30) accepts, so the bench's own check on the sampled rows is the one that counts.
 */
function expandRows(sampled: Float64Array, rows: number[], m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  rows.forEach((r, i) => out.set(sampled.subarray(i * n, (i + 1) * n), r * n));
  return out;
}

function wgradMatmul(device: Device, s: Shape, a: Float32Array, b: Float32Array): Contender {
  const [aShape, bShape] = shapesOf(s);
  const ta = tensor(a, aShape, { device });
  const tb = tensor(b, bShape, { device });
  const opts = { transA: s.transA, transB: s.transB };
  return {
    async result() {
      const c = matmul(ta, tb, opts);
      const out = await c.toArray();
      c.dispose();
      return out;
    },
    async iteration() {
      // Each product is disposed at once, so the pool hands the same buffer to the next one.
      for (let i = 0; i < s.units; i++) matmul(ta, tb, opts).dispose();
      await device.sync();
    },
    units: s.units,
    timing: TIMING,
  };
}

function tfjsMatmul(ref: TfjsReference, backend: 'webgpu' | 'wasm' | 'cpu', s: Shape, a: Float32Array, b: Float32Array): Contender {
  const { tf } = ref;
  const [aShape, bShape] = shapesOf(s);
  let tensors: [TF.Tensor2D, TF.Tensor2D] | null = null;
  // Tensors are made on (and only used with) the contender's own backend.
  const use = async () => {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    tensors ??= [tf.tensor2d(a, aShape as [number, number]), tf.tensor2d(b, bShape as [number, number])];
    return tensors;
  };
  const product = ([ta, tb]: [TF.Tensor2D, TF.Tensor2D]) => tf.matMul(ta, tb, s.transA ?? false, s.transB ?? false);
  return {
    async result() {
      const c = product(await use());
      const out = (await c.data()) as Float32Array;
      c.dispose();
      return out;
    },
    async iteration() {
      const t = await use();
      for (let i = 0; i < s.units; i++) product(t).dispose();
      if (backend === 'webgpu') await ref.sync(); // WASM and CPU compute synchronously
    },
    units: s.units,
    timing: backend === 'cpu' ? SLOW : TIMING,
  };
}
