/** Input checks shared by ops. Every check runs before anything is dispatched. */
import { DTypeError, WgradError, fmtShape } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** Checks that `value` is a live tensor of an allowed dtype; returns it. */
export function expectTensor(op: string, name: string, value: unknown, dtypes: readonly DType[] = ['float32']): Tensor {
  if (!(value instanceof Tensor)) {
    throw new WgradError(op, `argument '${name}' is ${describe(value)}, not a Tensor`, 'create tensors with tensor(), zeros(), randn(), …');
  }
  value.buffer(op);
  if (!dtypes.includes(value.dtype)) {
    throw new DTypeError(op, `argument '${name}' ${fmtShape(value.shape)} has dtype ${value.dtype}; expected ${dtypes.join(' or ')}`, dtypes.includes('float32') ? 'pass a float32 tensor' : `pass a tensor of dtype ${dtypes[0]}`);
  }
  return value;
}

/** Checks that all tensors share the first one's device. */
export function expectSameDevice(op: string, tensors: Readonly<Record<string, Tensor>>): void {
  const entries = Object.entries(tensors);
  const [, first] = entries[0]!;
  for (const [name, t] of entries.slice(1)) first.assertSameDevice(op, t, `argument '${name}'`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `${typeof value} ${String(value)}`;
}
