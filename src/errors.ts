/**
 * Typed errors. Every message names what went wrong and where (the op or component, the argument,
 * the shapes) and ends with a `HINT:` line saying what to do about it.
 */

/** Base class of every error wgrad throws on purpose. */
export class WgradError extends Error {
  /** The op or component that raised the error, e.g. `add` or `BufferPool`. */
  readonly where: string;
  /** What to do about it. */
  readonly hint: string;

  constructor(where: string, message: string, hint: string) {
    super(`${where}: ${message}\nHINT: ${hint}`);
    this.name = new.target.name;
    this.where = where;
    this.hint = hint;
  }
}

/** Shapes that cannot be combined, reshaped or indexed as asked. */
export class ShapeError extends WgradError {}
/** A tensor of the wrong dtype for this op or argument. */
export class DTypeError extends WgradError {}
/** An axis, index or value outside its valid range. */
export class IndexError extends WgradError {}
/** A number outside its valid range: a NaN learning rate, a probability of 1.5, a rank of 0. */
export class ValueError extends WgradError {}
/** A request beyond what the device allows (buffer size, binding size, workgroups). */
export class LimitError extends WgradError {}
/** A tensor used after `dispose()` (or after the scope that owned it ended). */
export class DisposedError extends WgradError {}
/** Tensors from different devices mixed in one op, or no device available. */
export class DeviceError extends WgradError {}
/** The GPU device was lost or destroyed; nothing more can run on it. */
export class DeviceLostError extends WgradError {}
/** WebGPU reported a validation error (a bug in a kernel or its wrapper). */
export class GPUValidationError extends WgradError {}
/** WebGPU could not allocate memory. */
export class OutOfMemoryError extends WgradError {}
/** Autograd misuse: backward through a freed graph, a missing gradient rule, … */
export class AutogradError extends WgradError {}
/** A kernel wrapper's bindings or parameters do not match what the WGSL declares. */
export class KernelBindingError extends WgradError {}
/** A checkpoint that is missing, incomplete, corrupt or does not fit the model, or that could not be written. */
export class CheckpointError extends WgradError {
  constructor(where: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(where, message, hint);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}

/** Format a shape the way messages print it: `[2, 3]`, `[]` for a scalar. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
