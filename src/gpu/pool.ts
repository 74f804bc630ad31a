/**
 * A size-bucketed pool of storage buffers. Freed buffers go back to a free list for their bucket and
 * are handed out again, so a training step that allocates the same shapes every time stops creating
 * GPU buffers after the first step.
 */
import { LimitError } from '../errors.js';
import { BufferUsage } from './flags.js';

/** A pooled GPU buffer. `size` is the bucket size, which may exceed what the tensor uses. */
export interface PooledBuffer {
  readonly id: number;
  readonly buffer: GPUBuffer;
  readonly size: number;
  /** The command batch that last referenced this buffer (see Device.batchId). */
  lastBatch: number;
}

/** Bucket sizes: 256 bytes at least, then four steps per power of two (at most 25% wasted). */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  for (const step of [1, 1.25, 1.5, 1.75, 2]) {
    const size = pow * step;
    if (size >= bytes) return size;
  }
  return pow * 2;
}

export class BufferPool {
  private readonly free = new Map<number, PooledBuffer[]>();
  private nextId = 1;
  /** Bytes of buffers handed out and not yet released. */
  bytesInUse = 0;
  /** Bytes of buffers held by the pool, in use or free. */
  bytesAllocated = 0;
  /** Called when buffers are destroyed, so caches that hold them can forget them. */
  onDestroy: () => void = () => {};

  constructor(
    private readonly device: GPUDevice,
    /** The largest buffer a kernel can bind (min of maxBufferSize and maxStorageBufferBindingSize). */
    private readonly maxBufferSize: number,
    private readonly reportError: (p: Promise<GPUError | null>, what: string) => void,
  ) {}

  acquire(bytes: number, where: string): PooledBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize && bytes <= this.maxBufferSize) {
      return this.create(bytes, where); // the last bucket may not fit; allocate exactly
    }
    const list = this.free.get(size);
    const found = list?.pop();
    if (found) {
      this.bytesInUse += found.size;
      return found;
    }
    return this.create(size, where);
  }

  release(buf: PooledBuffer): void {
    this.bytesInUse -= buf.size;
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
  }

  /** Destroy every free buffer (GPU memory goes back to the driver). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buf of list) {
        buf.buffer.destroy();
        this.bytesAllocated -= buf.size;
      }
    }
    this.free.clear();
    this.onDestroy();
  }

  private create(size: number, where: string): PooledBuffer {
    if (size > this.maxBufferSize) {
      throw new LimitError(
        where,
        `a buffer of ${size} bytes exceeds what this device can bind as one storage buffer (${this.maxBufferSize} bytes: maxStorageBufferBindingSize / maxBufferSize)`,
        'use smaller tensors (split the work), or an adapter with larger limits',
      );
    }
    this.device.pushErrorScope('out-of-memory');
    const buffer = this.device.createBuffer({
      size,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    });
    this.reportError(this.device.popErrorScope(), `${where}: allocating ${size} bytes`);
    this.bytesAllocated += size;
    this.bytesInUse += size;
    return { id: this.nextId++, buffer, size, lastBatch: -1 };
  }
}

