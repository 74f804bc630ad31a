/**
 * A kernel micro-benchmark in the page, in the manner of bench/: each kernel is first checked against
 * its float64 oracle (src/reference/) and only timed when it agrees; the time is the median of several
 * samples, each running the op enough times to take ~50 ms and then waiting for the GPU; the oracle's
 * one run (the check) gives the CPU reference time for the speed-up column.
 */
import {
  Rng, add, attention, layerNorm, matmul, reference, scope, softmax, tensor,
  type Device, type Tensor,
} from 'wgrad';

type NDArray = reference.NDArray;

export interface BenchRow {
  kernel: string;
  shape: string;
  /** Median milliseconds per op on the GPU (null when the result was wrong). */
  gpuMs: number | null;
  throughput: string;
  oracleMs: number;
  maxError: number;
  ok: boolean;
}

interface Case {
  kernel: string;
  shape: string;
  inputs: number[][];
  /** FLOPs per op (reported as GFLOP/s) or, when null, bytes moved per op (GB/s). */
  flops: number | null;
  bytes: number;
  gpu(xs: Tensor[]): Tensor;
  oracle(xs: NDArray[]): NDArray;
}

const SAMPLES = 5;
const SAMPLE_MS = 50;

function cases(): Case[] {
  const mm = (n: number): Case => ({
    kernel: 'matmul', shape: `${n}×${n}·${n}×${n}`, inputs: [[n, n], [n, n]], flops: 2 * n ** 3, bytes: 12 * n * n,
    gpu: ([a, b]) => matmul(a!, b!), oracle: ([a, b]) => reference.matmul.matmul(a!, b!),
  });
  const [B, H, T, D] = [1, 4, 256, 32];
  return [
    mm(256),
    mm(512),
    { kernel: 'add', shape: '1,048,576', inputs: [[1 << 20], [1 << 20]], flops: null, bytes: 12 << 20,
      gpu: ([a, b]) => add(a!, b!), oracle: ([a, b]) => reference.elementwise.binary('add', a!, b!) },
    { kernel: 'softmax', shape: '512×1024', inputs: [[512, 1024]], flops: null, bytes: 8 * 512 * 1024,
      gpu: ([x]) => softmax(x!), oracle: ([x]) => reference.softmax.softmax(x!) },
    { kernel: 'layerNorm', shape: '2048×256', inputs: [[2048, 256], [256], [256]], flops: null, bytes: 8 * 2048 * 256,
      gpu: ([x, w, b]) => layerNorm(x!, w!, b!), oracle: ([x, w, b]) => reference.layernorm.layerNorm(x!, w!, b!) },
    { kernel: 'attention (causal)', shape: `B${B} H${H} T${T} D${D}`, inputs: [[B, H, T, D], [B, H, T, D], [B, H, T, D]],
      flops: 2 * B * H * T * T * D, // q·kᵀ and p·v over the causal half
      bytes: 16 * B * H * T * D,
      gpu: ([q, k, v]) => attention(q!, k!, v!, { causal: true }), oracle: ([q, k, v]) => reference.attention.attention(q!, k!, v!, { causal: true }) },
  ];
}

/** Runs every case, calling `onRow` as each finishes. */
export async function runBenchmark(device: Device, onRow: (row: BenchRow) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const rng = new Rng(42);
  for (const c of cases()) {
    const refs = c.inputs.map((shape) => reference.ndarray(shape, Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround(rng.normal()))));
    const xs = refs.map((r) => tensor(Float32Array.from(r.data), r.shape, { device }));
    try {
      const started = performance.now();
      const expected = c.oracle(refs);
      const oracleMs = performance.now() - started;
      const got = scope(() => c.gpu(xs));
      const values = await got.toArray();
      got.dispose();
      const maxError = worstError(values, expected.data);
      const ok = maxError <= 1e-3;
      const gpuMs = ok ? await medianMs(device, () => c.gpu(xs)) : null;
      const throughput = gpuMs === null ? 'wrong result' : c.flops !== null ? `${(c.flops / gpuMs / 1e6).toFixed(2)} GFLOP/s` : `${(c.bytes / gpuMs / 1e6).toFixed(2)} GB/s`;
      const row = { kernel: c.kernel, shape: c.shape, gpuMs, throughput, oracleMs, maxError, ok };
      rows.push(row);
      onRow(row);
    } finally {
      xs.forEach((x) => x.dispose());
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return rows;
}

/** Largest |got − expected| relative to max(1, |expected|). */
function worstError(got: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  return worst;
}

async function medianMs(device: Device, op: () => Tensor): Promise<number> {
  const timeReps = async (reps: number) => {
    const started = performance.now();
    for (let i = 0; i < reps; i++) scope(() => void op());
    await device.sync();
    return (performance.now() - started) / reps;
  };
  const once = await timeReps(1); // also the warm-up: pipelines compiled, buffers pooled
  const reps = Math.min(50, Math.max(1, Math.ceil(SAMPLE_MS / Math.max(once, 0.01))));
  const samples: number[] = [];
  for (let s = 0; s < SAMPLES; s++) samples.push(await timeReps(reps));
  samples.sort((a, b) => a - b);
  return samples[SAMPLES >> 1]!;
}
