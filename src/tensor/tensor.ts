/**
 * Tensor: a dtype, a shape and a GPU buffer on one device. Storage is always contiguous (row-major);
 * views that are free (reshape) share the storage, which is reference-counted and goes back to the
 * device's pool when the last tensor using it is disposed. Op methods (`add`, `sum`, …) are attached
 * by src/ops/methods.ts.
 */
import type { Device } from '../gpu/device.js';
import type { PooledBuffer } from '../gpu/pool.js';
import { DisposedError, DeviceError, ShapeError, fmtShape } from '../errors.js';
import { BYTES_PER_ELEMENT, arrayFor, type DType } from './dtype.js';
import { checkShape, sizeOf, type Shape } from './shape.js';
import { track } from './scope.js';
import { record, type GradNode } from './record.js';

/** A GPU buffer shared by a tensor and its views. */
export class Storage {
  refs = 1;
  constructor(readonly buffer: PooledBuffer) {}
}

let nextTensorId = 1;

/** A float32, int32 or bool array on one GPU device: a dtype, a shape and contiguous storage. Create tensors with tensor(), zeros(), randn(), … and free them with dispose() or scope(). */
export class Tensor {
  readonly id = nextTensorId++;
  readonly device: Device;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  private storage: Storage | null;
  /** Whether gradients flow to this tensor (set on leaves; ops propagate it). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf, after backward(). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor, if it was computed with gradients on. */
  node: GradNode | null = null;

  /** Use the creation functions (`tensor`, `zeros`, …) or ops; this is for the engine itself. */
  constructor(device: Device, storage: Storage, shape: Shape, dtype: DType) {
    this.device = device;
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    device.liveTensors++;
    track(this);
  }

  /** A new tensor with fresh (uninitialised) storage from the device's pool. */
  static empty(device: Device, shape: Shape, dtype: DType, where: string): Tensor {
    checkShape(where, shape);
    const bytes = Math.max(1, sizeOf(shape)) * BYTES_PER_ELEMENT;
    return new Tensor(device, new Storage(device.pool.acquire(bytes, where)), shape, dtype);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** The GPU buffer, for an op named `where`; throws DisposedError / DeviceLostError. */
  buffer(where: string): PooledBuffer {
    if (!this.storage) {
      throw new DisposedError(where, `tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`, 'keep the tensor alive until its last use: return it from scope(), or call keep() on it');
    }
    this.device.assertAlive(where);
    return this.storage.buffer;
  }

  /** Throws DeviceError unless `other` lives on this tensor's device. */
  assertSameDevice(where: string, other: Tensor, argName = 'argument'): void {
    if (other.device !== this.device) {
      throw new DeviceError(where, `${argName} (tensor #${other.id}) is on a different device than tensor #${this.id}`, 'create both tensors on the same device, or copy one over with toArray() and tensor()');
    }
  }

  /** A view with a new shape over the same storage (free: storage is contiguous). -1 infers one size. */
  reshape(shape: Shape): Tensor {
    const where = 'reshape';
    const resolved = resolveReshape(where, this.shape, shape);
    return record(where, [this], this.view(resolved, where));
  }

  /** Another tensor over the same storage (no copy), outside the autograd graph. */
  view(shape: Shape = this.shape, where = 'view'): Tensor {
    const storage = this.liveStorage(where);
    storage.refs++;
    return new Tensor(this.device, storage, shape, this.dtype);
  }

  /** Read the values back: Float32Array, Int32Array, or Uint8Array for bool. */
  async toArray(): Promise<Float32Array | Int32Array | Uint8Array> {
    const buf = this.buffer('toArray');
    if (this.size === 0) return arrayFor(this.dtype, new ArrayBuffer(0));
    const bytes = await this.device.read(buf, this.size * BYTES_PER_ELEMENT, 'toArray');
    return arrayFor(this.dtype, bytes);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new ShapeError('item', `tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, not 1`, 'reduce it first (sum, mean) or index one element');
    }
    return (await this.toArray())[0]!;
  }

  /** Free the tensor's GPU memory (shared storage is freed with its last view). Idempotent. */
  dispose(): void {
    const storage = this.storage;
    if (!storage) return;
    this.storage = null;
    this.device.liveTensors--;
    if (--storage.refs === 0) this.device.pool.release(storage.buffer);
    this.grad?.dispose();
    this.grad = null;
    const node = this.node;
    this.node = null;
    node?.release();
  }

  /** `Tensor(#id, [shape], dtype)`, for messages and logs. */
  toString(): string {
    return `Tensor(#${this.id}, ${fmtShape(this.shape)}, ${this.dtype}${this.isDisposed ? ', disposed' : ''})`;
  }

  private liveStorage(where: string): Storage {
    this.buffer(where);
    return this.storage!;
  }
}

function resolveReshape(where: string, from: Shape, to: Shape): number[] {
  const size = sizeOf(from);
  const inferred = to.filter((d) => d === -1).length;
  if (inferred > 1) throw new ShapeError(where, `shape ${fmtShape(to)} has more than one -1`, 'infer at most one dimension');
  const known = sizeOf(to.filter((d) => d !== -1));
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (sizeOf(out) !== size || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(where, `cannot reshape ${fmtShape(from)} (${size} elements) to ${fmtShape(to)}`, 'the new shape must hold the same number of elements');
  }
  checkShape(where, out);
  return out;
}
