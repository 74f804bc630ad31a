/**
 * Scaling runs: how a kernel's time grows with its size. Square matmul N×N·N×N for N = 128…2048
 * (wgrad, TF.js WebGPU, PyTorch) and causal attention forward at B = 1, H = 4, D = 32 for
 * T = 64…2048 (wgrad, PyTorch). Each point is a case like any other (checked against the float64
 * oracle, on sampled rows of C for the large products, before it is timed); the report plots
 * ms per call against size on log-log axes, where an O(N³) kernel is a line of slope 3.
 */
import { attentionForwardCase } from './attention.js';
import { type BenchContext, LABELS, type SuitePart } from './context.js';
import { runCase, type Row, type Unit } from './harness.js';
import { matmulCase } from './matmul.js';

const MATMUL_N = [128, 256, 512, 1024, 2048];
const MATMUL_N_QUICK = [256, 512, 1024];
const ATTENTION_T = [64, 128, 256, 512, 1024, 2048];
const ATTENTION_T_QUICK = [64, 256, 1024];
/** Beyond this N the oracle checks 16 sampled rows of C instead of all N (seconds per product otherwise). */
const FULL_CHECK_UP_TO = 512;

const MILLISECONDS_PER_CALL: Unit = { label: 'ms/call', better: 'lower', fromSeconds: (s) => s * 1e3, digits: 2 };

export async function scalingSuite(ctx: BenchContext): Promise<SuitePart> {
  const rows: Row[] = [];
  for (const n of ctx.quick ? MATMUL_N_QUICK : MATMUL_N) {
    const units = Math.min(32, Math.max(1, Math.round(2 ** 28 / n ** 3)));
    const rowsToCheck = n > FULL_CHECK_UP_TO ? Array.from({ length: 16 }, (_, i) => Math.round((i * (n - 1)) / 15)) : undefined;
    const scaling = { series: 'matmul', parameter: 'N', size: n };
    rows.push(await runCase(matmulCase({ name: `matmul N ${n}`, m: n, n, k: n, units }, ctx, { unit: MILLISECONDS_PER_CALL, scaling }, rowsToCheck, ['tfjs', 'torch'])));
  }
  for (const t of ctx.quick ? ATTENTION_T_QUICK : ATTENTION_T) {
    rows.push(await runCase(attentionForwardCase(ctx, t, { unit: MILLISECONDS_PER_CALL, scaling: { series: 'attention', parameter: 'T', size: t } })));
  }
  return {
    title: 'scaling: ms per call as the size grows',
    references: { tfjs: LABELS.tfjs, torch: LABELS.torch },
    notes: [
      'matmul: N×N·N×N in float32. attention: causal forward at B = 1, H = 4, D = 32. Plotted in scaling.svg (log-log).',
      `Products with N > ${FULL_CHECK_UP_TO} are checked on 16 rows of C against the float64 oracle (the full oracle would take minutes).`,
    ],
    rows,
    environment: { matmulN: ctx.quick ? MATMUL_N_QUICK : MATMUL_N, attentionT: ctx.quick ? ATTENTION_T_QUICK : ATTENTION_T, attention: { B: 1, H: 4, D: 32, causal: true } },
  };
}
