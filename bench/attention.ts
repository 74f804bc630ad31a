/**
 * The attention benchmark: causal multi-head attention, forward plus backward, at B = 12, H = 4,
 * D = 32 (a 128-wide GPT with 4 heads) and T = 64, 256, 1024: the fused kernel (kernels/attention.wgsl)
 * against the same function composed from wgrad's own ops (matmul, where, softmax: the T×T scores
 * materialised) and the float64 oracle.
 *
 * One step = attention(q, k, v), then backward from a fixed dy: out, dq, dk, dv, all checked against the
 * oracle before anything is timed. A timed iteration runs `units` steps, then waits for the GPU. Each
 * wgrad contender runs on its own device, so the peak bytes its pool allocated during a step (device
 * .memory().bytesAllocated after a step, minus before, starting from an emptied pool) are its own.
 */
import { init } from '../src/gpu/acquire.js';
import type { Device } from '../src/gpu/device.js';
import { backward } from '../src/autograd/index.js';
import { attention, composedAttention } from '../src/ops/attention.js';
import * as ref from '../src/reference/attention.js';
import { ndarray } from '../src/reference/ndarray.js';
import { tensor } from '../src/tensor/create.js';
import { Rng } from '../src/tensor/random.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { gitCommit, printTable, runCase, writeResults, type BenchCase, type Contender, type Row, type TimingOptions, type Unit } from './harness.js';
import { benchGPU } from './webgpu.js';

const [B, H, D] = [12, 4, 32];
const LENGTHS = [64, 256, 1024];
const CAUSAL = true;

/** Small sample counts, medians: the machine has 2 cores and is shared. */
const FAST = { minSamples: 5, maxTime: 1 };
const SLOW = { minSamples: 3, maxTime: 0 };
/** Timing the float64 oracle beyond this length would take minutes; it still checks the results. */
const ORACLE_TIMED_UP_TO = 256;

const REFERENCES = { composed: 'wgrad composed', oracle: 'oracle (f64 CPU)' };
const RESULTS_FILE = new URL('./results/attention.json', import.meta.url).pathname;

const MILLISECONDS_PER_STEP: Unit = { label: 'ms/step', better: 'lower', fromSeconds: (s) => s * 1e3, digits: 1 };

interface Peak {
  fused: number;
  composed: number | string;
}

export async function runAttentionSuite(): Promise<boolean> {
  const gpu = benchGPU();
  const fusedDevice = await init({ gpu });
  const composedDevice = await init({ gpu });
  const { vendor, architecture, description } = fusedDevice.adapterInfo;
  console.log(`adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}`);

  const rows: Row[] = [];
  const peaks: Record<string, Peak> = {};
  try {
    for (const t of LENGTHS) {
      const c = attentionCase(fusedDevice, composedDevice, t);
      rows.push(await runCase(c.bench));
      peaks[c.bench.name] = { fused: c.peak.fused(), composed: c.peak.composed() };
    }
  } finally {
    fusedDevice.destroy();
    composedDevice.destroy();
  }

  printTable(`attention suite: causal, B ${B}, H ${H}, D ${D}; forward + backward`, rows, REFERENCES);
  console.log('one step = attention(q, k, v) then backward(out, dy); "wgrad" is the fused kernel.');
  console.log('\npeak bytes the pool allocated during one step (inputs excluded):');
  for (const [name, p] of Object.entries(peaks)) {
    const composed = typeof p.composed === 'string' ? p.composed : `${mb(p.composed)} (${(p.composed / p.fused).toFixed(1)}× the fused)`;
    console.log(`  ${name}: fused ${mb(p.fused)}, composed ${composed}`);
  }
  writeResults(RESULTS_FILE, {
    suite: 'attention',
    date: new Date().toISOString(),
    commit: gitCommit(),
    environment: {
      adapter: { vendor, architecture, description },
      node: process.version,
      shape: { B, H, D, lengths: LENGTHS, causal: CAUSAL },
      peakBytesPerStep: peaks,
    },
    rows,
  });
  return rows.every((r) => r.wgrad.status === 'timed');
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function attentionCase(fusedDevice: Device, composedDevice: Device, t: number) {
  const rng = new Rng(t);
  const shape = [B, H, t, D];
  const [q, k, v, dy] = [0, 1, 2, 3].map(() => randomF32(B * H * t * D, rng));
  const [qr, kr, vr, dyr] = [q, k, v, dy].map((x) => ndarray(shape, x!));
  const oracleStep = () => [ref.attention(qr!, kr!, vr!, { causal: CAUSAL }), ...ref.attentionVjp([qr!, kr!, vr!], dyr!, { causal: CAUSAL })];
  const expected = concat(oracleStep());
  const units = t <= 64 ? 10 : 1;
  const timing: TimingOptions = t <= 64 ? FAST : SLOW;
  const work: Workload = { inputs: [q!, k!, v!], dy: dy!, shape, units, timing };
  const fused = wgradStep(fusedDevice, work, (x) => attention(x[0]!, x[1]!, x[2]!, { causal: CAUSAL }));
  // The composed attention's largest tensors are the (B, H, T, T) scores; they must fit one binding.
  const scoreBytes = B * H * t * t * 4;
  const limit = Math.min(composedDevice.limits.maxStorageBufferBindingSize, composedDevice.limits.maxBufferSize);
  const composed = scoreBytes > limit
    ? `its (B, H, T, T) scores take ${mb(scoreBytes)}, beyond this adapter's ${mb(limit)} storage-binding limit`
    : wgradStep(composedDevice, work, (x) => composedAttention(x[0]!, x[1]!, x[2]!, { causal: CAUSAL }));
  const bench: BenchCase = {
    name: `T ${t}`,
    unit: MILLISECONDS_PER_STEP,
    expected,
    // Outputs ~1; gradients are sums of up to T terms of order 1 in float32 (errors ~1e-6·√T relative).
    tolerance: { rtol: 1e-3, atol: 1e-4 },
    wgrad: fused,
    references: {
      composed,
      oracle: t <= ORACLE_TIMED_UP_TO
        ? { result: async () => expected, iteration: async () => void oracleStep(), units: 1, timing: SLOW }
        : `not timed beyond T = ${ORACLE_TIMED_UP_TO} (minutes per step); its results still check the others`,
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

// ---- contenders --------------------------------------------------------------------------------------

interface Workload {
  /** q, k, v (differentiated), each of `shape`. */
  inputs: Float32Array[];
  dy: Float32Array;
  shape: number[];
  units: number;
  timing: TimingOptions;
}

/** wgrad: one step is the forward and backward(out, dy) in a scope; the gradients are read or dropped. */
function wgradStep(device: Device, work: Workload, forward: (inputs: Tensor[]) => Tensor): Contender & { peakBytes: number } {
  const inputs = work.inputs.map((data) => tensor(data, work.shape, { device, requiresGrad: true }));
  const dy = tensor(work.dy, work.shape, { device });
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
  const contender = {
    peakBytes: 0,
    async result() {
      // The first step measures the pool's growth: it starts empty of free buffers.
      device.pool.trim();
      const before = device.memory().bytesAllocated;
      const out = step();
      const parts = [await out.toArray(), ...(await Promise.all(inputs.map((t) => t.grad!.toArray())))];
      contender.peakBytes = device.memory().bytesAllocated - before;
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
  return contender;
}

// ---- data --------------------------------------------------------------------------------------------

function randomF32(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
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

// `npx tsx bench/attention.ts` runs this suite alone (bench/run.ts runs it with the others).
if (import.meta.url === `file://${process.argv[1]}`) {
  const ok = await runAttentionSuite();
  process.exit(ok ? 0 : 1);
}
