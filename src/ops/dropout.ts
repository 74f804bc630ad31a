/**
 * Inverted dropout. The mask comes from a hash of (seed, element index) on the GPU and is never
 * stored: backward runs the same kernel on the gradient with the same seed.
 */
import { ValueError } from '../errors.js';
import { launch } from '../tensor/launch.js';
import { record } from '../tensor/record.js';
import { Tensor } from '../tensor/tensor.js';
import { expectTensor } from './validate.js';

/** Zero each element with probability p and scale the rest by 1/(1 − p); `seed` picks the mask. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  const op = 'dropout';
  expectTensor(op, 'x', x);
  if (!(p >= 0 && p < 1)) throw new ValueError(op, `p = ${p} is outside [0, 1)`, 'use a drop probability such as 0.1');
  const out = Tensor.empty(x.device, x.shape, 'float32', op);
  launch(op, 'dropout', {
    bindings: { x, out },
    uniforms: { n: x.size, seed: seed >>> 0, threshold: Math.min(0xffffffff, Math.round(p * 2 ** 32)), scale: 1 / (1 - p) },
    threads: x.size,
  });
  return record(op, [x], out, { p, seed });
}
