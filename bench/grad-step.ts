/**
 * A wgrad contender for one forward + backward step: forward(inputs), then backward(out, dy), inside
 * a scope; its result is the output followed by the gradient of every differentiated input, in order.
 * The layerNorm, cross-entropy and attention cases all measure this shape of work.
 */
import type { Device } from '../src/gpu/device.js';
import { backward } from '../src/autograd/index.js';
import { tensor } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { concat } from './data.js';
import type { Contender, TimingOptions } from './harness.js';

export interface StepWorkload {
  /** float32 inputs are differentiated, int32 ones (targets) are not. */
  inputs: { data: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' }[];
  dy: { data: Float32Array; shape: number[] };
  /** Steps per timed iteration. */
  units: number;
  timing: TimingOptions;
}

/**
 * `peakBytes` is set by result(): the bytes the device's pool allocated during one step, starting
 * from an emptied pool (meaningful when the contender has the device to itself).
 */
export function forwardBackwardStep(device: Device, work: StepWorkload, forward: (inputs: Tensor[]) => Tensor): Contender & { peakBytes: number } {
  const inputs = work.inputs.map(({ data, shape, dtype }) => tensor(data, shape, { device, dtype, requiresGrad: dtype === 'float32' }));
  const dy = tensor(work.dy.data, work.dy.shape, { device });
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
      device.pool.trim();
      const before = device.memory().bytesAllocated;
      const out = step();
      const parts = [await out.toArray(), ...(await Promise.all(inputs.filter((t) => t.grad).map((t) => t.grad!.toArray())))];
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
