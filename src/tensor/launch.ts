/** Dispatching a kernel over tensors: the one path every op takes to the GPU. */
import type { Overrides } from '../gpu/registry.js';
import type { PooledBuffer } from '../gpu/pool.js';
import type { Tensor } from './tensor.js';

export interface LaunchArgs {
  /** Storage bindings by their WGSL names. */
  bindings: Readonly<Record<string, Tensor>>;
  uniforms?: Readonly<Record<string, number | readonly number[]>>;
  overrides?: Overrides;
  /** Invocations wanted (one per output element, usually); rounded up to whole workgroups. */
  threads?: number;
  /** Or the number of workgroups directly (one per row, for reductions). */
  workgroups?: number;
}

export function launch(where: string, entry: string, args: LaunchArgs): void {
  const tensors = Object.values(args.bindings);
  const device = tensors[0]!.device;
  const buffers: Record<string, PooledBuffer> = {};
  for (const [name, t] of Object.entries(args.bindings)) buffers[name] = t.buffer(where);
  let workgroups = args.workgroups ?? 0;
  if (args.threads !== undefined) {
    const wg = args.overrides?.WG ?? device.kernels.info(entry).workgroupSize[0];
    workgroups = Math.ceil(args.threads / wg);
  }
  device.dispatch(entry, { bindings: buffers, uniforms: args.uniforms, overrides: args.overrides, workgroups });
}
