/** Dispatching a kernel over tensors: the one path every op takes to the GPU. */
import { DeviceError } from '../errors.js';
import type { Overrides } from '../gpu/registry.js';
import type { PooledBuffer } from '../gpu/pool.js';
import type { Tensor } from './tensor.js';

/** What {@link launch} dispatches: tensors by binding name, Params values, overrides and a grid size. */
export interface LaunchArgs {
  /** Storage bindings by their WGSL names. */
  bindings: Readonly<Record<string, Tensor>>;
  /** Params fields by their WGSL names: numbers, or arrays that fill `vec4`/`array<vec4<T>, N>` fields from the front. */
  uniforms?: Readonly<Record<string, number | readonly number[]>>;
  /** Values of the kernel's `override` constants (op selection, tile sizes); each set compiles its own pipeline. */
  overrides?: Overrides;
  /** Invocations wanted (one per output element, usually); rounded up to whole workgroups. */
  threads?: number;
  /** Or the number of workgroups directly (one per row, for reductions). */
  workgroups?: number;
}

/**
 * Dispatch the kernel `entry` over tensors, on their device: the storage bindings and Params fields
 * are checked against the kernel's WGSL (KernelBindingError when they differ), tensors of another
 * device are a DeviceError. `where` names the op in errors. Nothing is read back: the dispatch is
 * recorded into the device's current batch.
 */
export function launch(where: string, entry: string, args: LaunchArgs): void {
  const tensors = Object.values(args.bindings);
  const device = tensors[0]!.device;
  const buffers: Record<string, PooledBuffer> = {};
  for (const [name, t] of Object.entries(args.bindings)) {
    // A buffer of another device would only fail later, as an opaque WebGPU validation error.
    if (t.device !== device) {
      throw new DeviceError(where, `binding '${name}' (tensor #${t.id}) is on a different device than tensor #${tensors[0]!.id}`, 'create every tensor of one op on the same device');
    }
    buffers[name] = t.buffer(where);
  }
  let workgroups = args.workgroups ?? 0;
  if (args.threads !== undefined) {
    const wg = args.overrides?.WG ?? device.kernels.info(entry).workgroupSize[0];
    workgroups = Math.ceil(args.threads / wg);
  }
  device.dispatch(entry, { bindings: buffers, uniforms: args.uniforms, overrides: args.overrides, workgroups });
}
