/** Creating tensors: from data, constants, ranges and seeded random values. */
import type { Device } from '../gpu/device.js';
import { defaultDevice } from '../gpu/default-device.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { uploadArray, type DType } from './dtype.js';
import { launch } from './launch.js';
import { Rng } from './random.js';
import { checkShape, sizeOf, type Shape } from './shape.js';
import { Tensor } from './tensor.js';

/** Where and how creation functions make a tensor: its device (default: the latest init()'s) and dtype. */
export interface CreateOptions {
  /** Defaults to the device of the latest init(). */
  device?: Device;
  dtype?: DType;
  /** Make the tensor a leaf that gradients flow to (float32 only). */
  requiresGrad?: boolean;
}

/** Creation options plus the seed (or generator) of random values. */
export interface RandomOptions extends CreateOptions {
  seed?: number;
  /** Or an existing generator, whose state advances. */
  rng?: Rng;
}

/** Nested arrays of numbers (or booleans), as PyTorch's `tensor()` takes them. */
export type NestedArray = number | boolean | readonly NestedArray[];

/**
 * A tensor from values: a typed array or flat array with a shape, or nested arrays whose shape is
 * inferred (`tensor([[1, 2], [3, 4]])`), or a single number (rank 0).
 */
export function tensor(data: NestedArray | ArrayLike<number>, shape?: Shape, options: CreateOptions = {}): Tensor {
  const where = 'tensor';
  const device = options.device ?? defaultDevice(where);
  const flat: ArrayLike<number> = isFlat(data) ? data : flatten(data as NestedArray);
  const inferred = shape ?? (isFlat(data) ? [flat.length] : inferShape(data as NestedArray));
  checkShape(where, inferred);
  if (sizeOf(inferred) !== flat.length) {
    throw new ShapeError(where, `${flat.length} values do not fill shape ${fmtShape(inferred)} (${sizeOf(inferred)} elements)`, 'pass as many values as the shape holds');
  }
  const dtype = options.dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  if (dtype === 'int32' && Array.from(flat).some((v) => !Number.isInteger(v))) {
    throw new DTypeError(where, 'int32 tensors take whole numbers', 'round the values, or use dtype float32');
  }
  const t = Tensor.empty(device, inferred, dtype, where);
  if (flat.length > 0) device.write(t.buffer(where), uploadArray(dtype, flat));
  return withGrad(t, options);
}

/** A tensor filled with one value. */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  const where = 'full';
  const device = options.device ?? defaultDevice(where);
  const dtype = options.dtype ?? 'float32';
  const t = Tensor.empty(device, shape, dtype, where);
  const bits = uploadArray(dtype, [value]);
  launch(where, 'fill', { bindings: { filled: t }, uniforms: { n: t.size, value: new Uint32Array(bits.buffer)[0]! }, threads: t.size });
  return withGrad(t, options);
}

/** A new float32 (or `options.dtype`) tensor of zeros. */
export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

/** A new float32 (or `options.dtype`) tensor of ones. */
export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** `[start, start + step, …)` below `end`, as PyTorch's arange. `arange(n)` counts from 0. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ShapeError('arange', `step ${step} is not a finite non-zero number`, 'use a step such as 1 or -1');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const values = Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(values, [n], options);
}

/** Uniform values in [0, 1) from a seeded generator. */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  checkShape('rand', shape);
  return tensor(Float32Array.from({ length: sizeOf(shape) }, () => rng.uniform()), shape, { ...options, dtype: 'float32' });
}

/** Standard normal values from a seeded generator. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  checkShape('randn', shape);
  return tensor(Float32Array.from({ length: sizeOf(shape) }, () => rng.normal()), shape, { ...options, dtype: 'float32' });
}

function withGrad(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) {
    if (t.dtype !== 'float32') throw new DTypeError('tensor', `a ${t.dtype} tensor cannot require grad`, 'only float32 tensors have gradients');
    t.requiresGrad = true;
  }
  return t;
}

function isFlat(data: unknown): data is ArrayLike<number> {
  return ArrayBuffer.isView(data) || (Array.isArray(data) && data.every((v) => typeof v === 'number' || typeof v === 'boolean') && data.length > 0) || (Array.isArray(data) && data.length === 0);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray): number[] {
  const shape = inferShape(data);
  const out: number[] = [];
  const walk = (v: NestedArray, depth: number): void => {
    if (Array.isArray(v)) {
      if (v.length !== shape[depth]) {
        throw new ShapeError('tensor', `nested arrays are ragged: length ${v.length} at depth ${depth}, expected ${shape[depth]}`, 'every row at one depth must have the same length');
      }
      for (const x of v) walk(x, depth + 1);
    } else {
      if (depth !== shape.length) throw new ShapeError('tensor', 'nested arrays are ragged (a number where an array was expected)', 'every row at one depth must have the same length');
      out.push(Number(v));
    }
  };
  walk(data, 0);
  return out;
}
