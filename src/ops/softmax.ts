/** Softmax and log-softmax along one axis (numerically stable: the row max is subtracted). */
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import { launch } from '../tensor/launch.js';
import { Tensor } from '../tensor/tensor.js';
import { expectTensor } from './validate.js';
import { record } from '../tensor/record.js';

/** Rows at least this long get 256 invocations per workgroup; shorter ones get 64. */
const LONG_ROW = 2048;

function softmaxOp(op: 'softmax' | 'logSoftmax', x: Tensor, axis: number): Tensor {
  expectTensor(op, 'x', x);
  const a = normalizeAxis(op, axis, x.rank);
  // [outer, len, inner] around the axis; a rank-0 tensor is one row of one element.
  const len = x.rank === 0 ? 1 : x.shape[a]!;
  const inner = x.rank === 0 ? 1 : sizeOf(x.shape.slice(a + 1));
  const outer = x.rank === 0 ? 1 : sizeOf(x.shape.slice(0, a));
  const out = Tensor.empty(x.device, x.shape, 'float32', op);
  const nRows = x.size === 0 ? 0 : outer * inner;
  launch(op, 'softmax', {
    bindings: { x, out },
    uniforms: { n_rows: nRows, len, inner },
    overrides: { LOG: op === 'logSoftmax' ? 1 : 0, WG: len >= LONG_ROW ? 256 : 64 },
    workgroups: nRows,
  });
  return record(op, [x], out, { axis: a });
}

/** exp(x - max) / Σ exp(x - max) along `axis` (default the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp('softmax', x, axis);
}

/** x - max - log Σ exp(x - max) along `axis` (default the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxOp('logSoftmax', x, axis);
}
