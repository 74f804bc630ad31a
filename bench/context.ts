/**
 * What every suite receives: the run's options, one wgrad device and one TF.js on the same Dawn
 * adapter, the other TF.js backends and the PyTorch twin (each either ready or a reason it is
 * skipped). A suite returns its part of results.json.
 */
import type { Device } from '../src/gpu/device.js';
import type { SuiteResult } from './schema.js';
import type { TfjsReference } from './tfjs.js';
import type { TorchTwin } from './torch.js';

export interface BenchContext {
  quick: boolean;
  gpu: GPU;
  device: Device;
  tfjs: TfjsReference | string;
  tfjsWasm: true | string;
  tfjsCpu: true | string;
  torch: TorchTwin | string;
}

/** A suite's section of the results; the runner adds its name and timing. */
export type SuitePart = Omit<SuiteResult, 'name' | 'seconds'>;

export type Suite = (ctx: BenchContext) => Promise<SuitePart>;

/** The reference labels tables use, by reference id. */
export const LABELS = {
  oracle: 'oracle (f64 CPU)',
  tfjs: 'TF.js webgpu',
  wasm: 'TF.js wasm',
  cpu: 'TF.js cpu',
  torch: 'PyTorch CPU',
  composed: 'wgrad composed',
} as const;

/** Samples and warm-up runs for the PyTorch twin, by workload weight. */
export function torchTiming(ctx: BenchContext, heavy = false): { samples: number; warmup: number } {
  if (ctx.quick) return { samples: heavy ? 2 : 3, warmup: 1 };
  return { samples: heavy ? 3 : 7, warmup: heavy ? 1 : 2 };
}
