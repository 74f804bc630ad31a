/**
 * The AdamW benchmark: one fused update (kernels/adamw.wgsl) of a float32 parameter of 1M and 4M
 * elements with a fixed gradient, against PyTorch's torch.optim.AdamW and the float64 oracle. The
 * check runs the first step from zeroed moments on fresh copies; timed iterations keep stepping the
 * same state (units steps, then a GPU sync). GB/s count 28 bytes per element for every contender:
 * read the parameter, gradient and both moments, write the parameter and both moments.
 */
import { tensor } from '../src/tensor/create.js';
import { AdamW } from '../src/optim/adamw.js';
import { adamwStep } from '../src/reference/optim.js';
import { LABELS, torchTiming, type BenchContext, type SuitePart } from './context.js';
import { randomF32 } from './data.js';
import { gigabytesPerSecond, runCase, type AnyContender, type BenchCase, type Contender, type Row } from './harness.js';

const SIZES = [1 << 20, 1 << 22];
const HYPER = { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 };
const BYTES_PER_ELEMENT = 28;
const TFJS_SKIP = 'TF.js has no AdamW (its Adam couples weight decay into the gradient): no like-for-like update to time';

export async function adamwSuite(ctx: BenchContext): Promise<SuitePart> {
  const rows: Row[] = [];
  for (const n of ctx.quick ? SIZES.slice(0, 1) : SIZES) rows.push(await runCase(adamwCase(ctx, n)));
  return {
    title: 'AdamW: one fused update, GB/s',
    references: { torch: LABELS.torch, tfjs: LABELS.tfjs, oracle: LABELS.oracle },
    notes: [`lr ${HYPER.lr}, betas (${HYPER.beta1}, ${HYPER.beta2}), eps ${HYPER.eps}, weight decay ${HYPER.weightDecay}; ${BYTES_PER_ELEMENT} bytes per element moved.`],
    rows,
    environment: { sizes: SIZES, hyper: HYPER },
  };
}

function adamwCase(ctx: BenchContext, n: number): BenchCase {
  const p = randomF32(n, 7);
  const g = randomF32(n, 8, 0.01);
  const refStep = () => {
    const out = Float64Array.from(p);
    adamwStep(out, g, { m: new Float64Array(n), v: new Float64Array(n), t: 0 }, HYPER);
    return out;
  };
  const expected = refStep();
  const units = 10;
  // One step moves each element by about lr: float32 rounding of p is the error that matters.
  const tolerance = { rtol: 1e-6, atol: 1e-6 };
  const torch: AnyContender | string = typeof ctx.torch === 'string'
    ? ctx.torch
    : ctx.torch.contender({ kind: 'adamw', ...HYPER, units, ...torchTiming(ctx) }, [p, g], { expected, ...tolerance });
  return {
    name: `AdamW ${n / (1 << 20)}M parameters`,
    unit: gigabytesPerSecond(n * BYTES_PER_ELEMENT),
    expected,
    tolerance,
    wgrad: wgradAdamW(ctx, p, g, units),
    references: {
      torch,
      tfjs: TFJS_SKIP,
      oracle: { result: async () => expected, iteration: async () => void refStep(), units: 1, timing: { minSamples: 3, maxTime: 0 } },
    },
  };
}

function wgradAdamW(ctx: BenchContext, p: Float32Array, g: Float32Array, units: number): Contender {
  const fresh = () => {
    const param = tensor(p, [p.length], { device: ctx.device });
    param.grad = tensor(g, [g.length], { device: ctx.device });
    return { param, optimizer: new AdamW([param], HYPER) };
  };
  const timed = fresh();
  return {
    async result() {
      const { param, optimizer } = fresh();
      optimizer.step();
      const out = await param.toArray();
      optimizer.dispose();
      param.grad!.dispose();
      param.dispose();
      return out;
    },
    async iteration() {
      for (let i = 0; i < units; i++) timed.optimizer.step();
      await ctx.device.sync();
    },
    units,
    timing: { minSamples: 5, maxTime: 1 },
  };
}
