/**
 * The attention benchmark: causal multi-head attention, forward plus backward, at B = 12, H = 4,
 * D = 32 (a 128-wide GPT with 4 heads) and T = 64, 256, 1024: the fused kernel (kernels/attention.wgsl)
 * against the same function composed from wgrad's own ops (matmul, where, softmax: the T×T scores
 * materialised), PyTorch on the CPU, and the float64 oracle.
 *
 * One step = attention(q, k, v), then backward from a fixed dy: out, dq, dk, dv, all checked against the
 * oracle before anything is timed. A timed iteration runs `units` steps, then waits for the GPU. The
 * composed contender runs on its own device, so the peak bytes its pool allocated during a step (device
 * .memory().bytesAllocated after a step, minus before, starting from an emptied pool) are its own.
 *
 * attentionForwardCase() is the forward alone at B = 1, for the scaling runs (bench/scaling.ts).
 */
import { init } from '../src/gpu/acquire.js';
import type { Device } from '../src/gpu/device.js';
import { attention, composedAttention } from '../src/ops/attention.js';
import * as ref from '../src/reference/attention.js';
import { ndarray } from '../src/reference/ndarray.js';
import { tensor } from '../src/tensor/create.js';
import { Rng } from '../src/tensor/random.js';
import { LABELS, torchTiming, type BenchContext, type SuitePart } from './context.js';
import { concat, mb, randomF32 } from './data.js';
import { forwardBackwardStep } from './grad-step.js';
import { runCase, type AnyContender, type BenchCase, type Contender, type Row, type TimingOptions, type Unit } from './harness.js';

const [B, H, D] = [12, 4, 32];
const LENGTHS = [64, 256, 1024];
const CAUSAL = true;

/** Small sample counts, medians: the machine has 2 cores and is shared. */
const FAST = { minSamples: 5, maxTime: 1 };
const SLOW = { minSamples: 3, maxTime: 0 };
/** Timing the float64 oracle beyond this length would take minutes (--quick: tens of seconds); it still checks the results. */
const ORACLE_TIMED_UP_TO = 256;
const ORACLE_TIMED_UP_TO_QUICK = 64;

export const MILLISECONDS_PER_STEP: Unit = { label: 'ms/step', better: 'lower', fromSeconds: (s) => s * 1e3, digits: 2 };

export async function attentionSuite(ctx: BenchContext): Promise<SuitePart> {
  const composedDevice = await init({ gpu: ctx.gpu });
  const rows: Row[] = [];
  const peaks: Record<string, { fused: number; composed: number | string }> = {};
  try {
    for (const t of ctx.quick ? LENGTHS.slice(0, 2) : LENGTHS) {
      const c = attentionCase(ctx, composedDevice, t);
      rows.push(await runCase(c.bench));
      peaks[c.bench.name] = { fused: c.peak.fused(), composed: c.peak.composed() };
    }
  } finally {
    composedDevice.destroy();
  }
  const notes = ['One step = attention(q, k, v), then backward(out, dy); "wgrad" is the fused kernel.'];
  for (const [name, p] of Object.entries(peaks)) {
    const composed = typeof p.composed === 'string' ? p.composed : `${mb(p.composed)} (${(p.composed / p.fused).toFixed(1)}× the fused)`;
    notes.push(`Peak pool bytes allocated during one step at ${name}: fused ${mb(p.fused)}, composed ${composed}.`);
  }
  return {
    title: `attention: causal, B ${B}, H ${H}, D ${D}; forward + backward, ms per step`,
    references: { composed: LABELS.composed, torch: LABELS.torch, oracle: LABELS.oracle },
    notes,
    rows,
    environment: { shape: { B, H, D, lengths: LENGTHS, causal: CAUSAL }, peakBytesPerStep: peaks },
  };
}

function attentionCase(ctx: BenchContext, composedDevice: Device, t: number) {
  const rng = new Rng(t);
  const shape = [B, H, t, D];
  const [q, k, v, dy] = [0, 1, 2, 3].map(() => randomF32(B * H * t * D, rng)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const [qr, kr, vr, dyr] = [q, k, v, dy].map((x) => ndarray(shape, x)) as [ReturnType<typeof ndarray>, ReturnType<typeof ndarray>, ReturnType<typeof ndarray>, ReturnType<typeof ndarray>];
  const oracleStep = () => [ref.attention(qr, kr, vr, { causal: CAUSAL }), ...ref.attentionVjp([qr, kr, vr], dyr, { causal: CAUSAL })];
  const expected = concat(oracleStep());
  const units = t <= 64 ? 10 : 1;
  const timing: TimingOptions = t <= 64 ? FAST : SLOW;
  const inputs = [q, k, v].map((data) => ({ data, shape, dtype: 'float32' as const }));
  const work = { inputs, dy: { data: dy, shape }, units, timing };
  const fused = forwardBackwardStep(ctx.device, work, (x) => attention(x[0]!, x[1]!, x[2]!, { causal: CAUSAL }));
  // The composed attention's largest tensors are the (B, H, T, T) scores; they must fit one binding.
  const scoreBytes = B * H * t * t * 4;
  const limit = Math.min(composedDevice.limits.maxStorageBufferBindingSize, composedDevice.limits.maxBufferSize);
  const composed = scoreBytes > limit
    ? `its (B, H, T, T) scores take ${mb(scoreBytes)}, beyond this adapter's ${mb(limit)} storage-binding limit`
    : forwardBackwardStep(composedDevice, work, (x) => composedAttention(x[0]!, x[1]!, x[2]!, { causal: CAUSAL }));
  // Outputs ~1; gradients are sums of up to T terms of order 1 in float32 (errors ~1e-6·√T relative).
  const tolerance = { rtol: 1e-3, atol: 1e-4 };
  const torch: AnyContender | string = typeof ctx.torch === 'string'
    ? ctx.torch
    : ctx.torch.contender({ kind: 'attention', shape, backward: true, units, ...torchTiming(ctx, t > 256) }, [q, k, v, dy], { expected, ...tolerance });
  const oracleLimit = ctx.quick ? ORACLE_TIMED_UP_TO_QUICK : ORACLE_TIMED_UP_TO;
  const bench: BenchCase = {
    name: `T ${t}`,
    unit: MILLISECONDS_PER_STEP,
    expected,
    tolerance,
    wgrad: fused,
    references: {
      composed,
      torch,
      oracle: t <= oracleLimit
        ? { result: async () => expected, iteration: async () => void oracleStep(), units: 1, timing: SLOW }
        : `not timed beyond T = ${oracleLimit}${ctx.quick ? ' in a quick run' : ''} (seconds to minutes per step); its results still check the others`,
    },
  };
  return {
    bench,
    peak: {
      fused: () => fused.peakBytes,
      composed: () => (typeof composed === 'string' ? `skipped: ${composed}` : composed.peakBytes),
    },
  };
}

/** Causal attention forward at (1, H, T, D): wgrad and PyTorch, checked against the oracle. */
export function attentionForwardCase(ctx: BenchContext, t: number, extra: Partial<BenchCase>): BenchCase {
  const rng = new Rng(1000 + t);
  const shape = [1, H, t, D];
  const [q, k, v] = [0, 1, 2].map(() => randomF32(H * t * D, rng)) as [Float32Array, Float32Array, Float32Array];
  const expected = ref.attention(ndarray(shape, q), ndarray(shape, k), ndarray(shape, v), { causal: CAUSAL }).data;
  const units = t <= 256 ? 10 : t <= 1024 ? 2 : 1;
  const [tq, tk, tv] = [q, k, v].map((data) => tensor(data, shape, { device: ctx.device })) as [ReturnType<typeof tensor>, ReturnType<typeof tensor>, ReturnType<typeof tensor>];
  const wgrad: Contender = {
    async result() {
      const out = attention(tq, tk, tv, { causal: CAUSAL });
      const data = await out.toArray();
      out.dispose();
      return data;
    },
    async iteration() {
      for (let i = 0; i < units; i++) attention(tq, tk, tv, { causal: CAUSAL }).dispose();
      await ctx.device.sync();
    },
    units,
    timing: t <= 256 ? FAST : SLOW,
  };
  const tolerance = { rtol: 1e-3, atol: 1e-4 };
  const torch: AnyContender | string = typeof ctx.torch === 'string'
    ? ctx.torch
    : ctx.torch.contender({ kind: 'attention', shape, backward: false, units, ...torchTiming(ctx, t > 1024) }, [q, k, v], { expected, ...tolerance });
  return { name: `attention T ${t}`, unit: MILLISECONDS_PER_STEP, expected, tolerance, wgrad, references: { torch }, ...extra };
}
