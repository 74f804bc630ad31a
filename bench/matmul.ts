/**
 * The matmul benchmark: GFLOP/s of wgrad's matmul (kernels/matmul.wgsl) against TF.js's WebGPU backend
 * on the same Dawn adapter, TF.js's WASM backend (on the CPU), and the float64 oracle (small shapes
 * only: it is slow). Every contender is checked against the oracle before it is timed.
 *
 *   1024×1024×1024 (the headline figure);
 *   the GPT training shapes at 768 tokens, widths 128/384/512: forward products and both backward
 *     products of the 128→384 layer (dA = dY·Wᵀ, dW = Xᵀ·dY, read transposed in place);
 *   M = 1 (generation): 1×1024·1024×1024, 1×4096·4096×4096, and 1×1024 against weights stored (N, K).
 *
 * FLOPs are 2·M·N·K per product for every contender; an iteration runs `units` products, then waits
 * for the GPU (or reads nothing back on the CPU backends). MATMUL_CASES=<text> runs only the cases
 * whose names contain the text (e.g. MATMUL_CASES=1024 npm run bench -- matmul).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { init } from '../src/gpu/acquire.js';
import type { Device } from '../src/gpu/device.js';
import { matmul, MATVEC, TILE } from '../src/ops/matmul.js';
import { matmul as refMatmul } from '../src/reference/matmul.js';
import { tensor } from '../src/tensor/create.js';
import { Rng } from '../src/tensor/random.js';
import { gitCommit, printTable, runCase, writeResults, type BenchCase, type Contender, type Row, type TimingOptions, type Unit } from './harness.js';
import { loadTfjs, type TfjsReference } from './tfjs.js';
import { benchGPU } from './webgpu.js';

interface Shape {
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

/** The oracle is timed only below this many multiply-adds per product (it runs at ~0.3 GFLOP/s). */
const ORACLE_MAX_MACS = 64 * 1024 * 1024;

const TIMING: TimingOptions = { minSamples: 5, maxTime: 2 };
const SLOW: TimingOptions = { minSamples: 3, maxTime: 0 };

const REFERENCES = { oracle: 'oracle (f64 CPU)', tfjs: 'TF.js webgpu', wasm: 'TF.js wasm' };
const RESULTS_FILE = new URL('./results/matmul.json', import.meta.url).pathname;

function gigaflopsPerSecond(flops: number): Unit {
  return { label: 'GFLOP/s', better: 'higher', fromSeconds: (s) => flops / s / 1e9, digits: 2 };
}

export async function runMatmulSuite(): Promise<boolean> {
  const gpu = benchGPU();
  const device = await init({ gpu });
  const tfjs = await loadTfjs();
  const wasm = typeof tfjs === 'string' ? 'TF.js did not load' : await loadWasm(tfjs.tf);
  const { vendor, architecture, description } = device.adapterInfo;
  console.log(`adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}`);
  if (typeof tfjs === 'string') console.log(`TF.js skipped: ${tfjs}`);
  if (typeof wasm === 'string') console.log(`TF.js wasm skipped: ${wasm}`);

  const rows: Row[] = [];
  try {
    const only = process.env.MATMUL_CASES;
    for (const shape of SHAPES.filter((c) => !only || c.name.includes(only))) rows.push(await runCase(matmulCase(shape, device, tfjs, wasm)));
  } finally {
    device.destroy();
    if (typeof tfjs !== 'string') tfjs.destroy();
  }

  printTable('matmul suite: GFLOP/s (2·M·N·K per product)', rows, REFERENCES);
  writeResults(RESULTS_FILE, {
    suite: 'matmul',
    date: new Date().toISOString(),
    commit: gitCommit(),
    environment: {
      adapter: { vendor, architecture, description },
      node: process.version,
      tfjs: typeof tfjs === 'string' ? `skipped: ${tfjs}` : { version: tfjs.version },
      tfjsWasm: typeof wasm === 'string' ? `skipped: ${wasm}` : 'loaded',
      tile: TILE,
      matvec: MATVEC,
      shapes: SHAPES,
    },
    rows,
  });
  return rows.every((r) => r.wgrad.status === 'timed');
}

/** TF.js's WASM backend, registered next to WebGPU; each contender activates the backend it uses. */
async function loadWasm(tf: typeof TF): Promise<true | string> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return 'tf.setBackend("wasm") returned false';
    await tf.ready();
    await tf.setBackend('webgpu');
    return true;
  } catch (err) {
    return `@tensorflow/tfjs-backend-wasm is not available (${(err as Error).message ?? String(err)}); install it with npm install --no-save @tensorflow/tfjs-backend-wasm`;
  }
}

function matmulCase(s: Shape, device: Device, tfjs: TfjsReference | string, wasm: true | string): BenchCase {
  const { m, n, k, transA = false, transB = false } = s;
  const aShape = transA ? [k, m] : [m, k];
  const bShape = transB ? [n, k] : [k, n];
  const a = randomF32(m * k, 1);
  const b = randomF32(k * n, 2);
  const refA = { shape: aShape, data: Float64Array.from(a) };
  const refB = { shape: bShape, data: Float64Array.from(b) };
  const started = performance.now();
  const expected = refMatmul(refA, refB, { transA, transB }).data;
  const oracleSeconds = (performance.now() - started) / 1e3;
  const scale = Math.sqrt(expected.reduce((t, v) => t + v * v, 0) / Math.max(1, expected.length));
  const oracle: Contender | string = m * n * k <= ORACLE_MAX_MACS
    ? { result: async () => expected, iteration: async () => void refMatmul(refA, refB, { transA, transB }), units: 1, timing: SLOW }
    : `too slow for a benchmark (${oracleSeconds.toFixed(1)} s per product)`;
  const tfjsContender = typeof tfjs === 'string' ? tfjs : tfjsMatmul(tfjs, 'webgpu', s, aShape, bShape, a, b);
  const wasmContender = typeof tfjs === 'string' ? 'TF.js did not load' : typeof wasm === 'string' ? wasm : tfjsMatmul(tfjs, 'wasm', s, aShape, bShape, a, b);
  return {
    name: s.name,
    unit: gigaflopsPerSecond(2 * m * n * k),
    expected,
    // float32 sums of k products: rounding grows like √k relative to the typical magnitude.
    tolerance: { rtol: 2e-5 * Math.sqrt(k), atol: 2e-5 * Math.sqrt(k) * scale },
    wgrad: wgradMatmul(device, s, aShape, bShape, a, b),
    references: { oracle, tfjs: tfjsContender, wasm: wasmContender },
  };
}

function wgradMatmul(device: Device, s: Shape, aShape: number[], bShape: number[], a: Float32Array, b: Float32Array): Contender {
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

function tfjsMatmul(ref: TfjsReference, backend: 'webgpu' | 'wasm', s: Shape, aShape: number[], bShape: number[], a: Float32Array, b: Float32Array): Contender {
  const { tf } = ref;
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
      if (backend === 'webgpu') await ref.sync(); // WASM computes synchronously
    },
    units: s.units,
    timing: TIMING,
  };
}

function randomF32(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}
