// The shipped declarations name WebGPU's types (GPUDevice, …): this makes a user's compiler load them.
/// <reference types="@webgpu/types" preserve="true" />
/**
 * A wgrad device: one WebGPU device with its limits, buffer pool, kernel registry, caches and the
 * command batch that ops record into. Nothing here is global: two devices in one process are
 * independent, and every tensor knows its device.
 */
import { DeviceLostError, GPUValidationError, KernelBindingError, LimitError, OutOfMemoryError, WgradError } from '../errors.js';
import { BufferUsage, MapMode } from './flags.js';
import { BufferPool, type PooledBuffer } from './pool.js';
import { KernelRegistry, type Overrides } from './registry.js';
import { KERNEL_SOURCES } from './kernel-sources.js';

/** Options of a Device (they can also be passed to init()). */
export interface DeviceOptions {
  /** Submit the recorded commands after this many dispatches (they are also submitted at every readback). */
  maxDispatchesPerSubmit?: number;
}

/** One dispatch as Device.dispatch takes it: pooled buffers by binding name, Params values, overrides and a workgroup count. */
export interface DispatchArgs {
  /** Storage buffers by the names the WGSL declares. */
  bindings: Readonly<Record<string, PooledBuffer>>;
  /** Params fields by name; arrays fill vec4 arrays from the front. */
  uniforms?: Readonly<Record<string, number | readonly number[]>>;
  overrides?: Overrides;
  /** Workgroups in total; folded into a 2-D/3-D grid beyond the per-dimension limit. */
  workgroups: number;
}

/** What Device.memory() reports: live tensors and GPU bytes, to prove that code does not leak. */
export interface MemoryInfo {
  /** Tensors created on this device and not yet disposed. */
  tensors: number;
  /** Bytes of GPU buffers backing live tensors. */
  bytesInUse: number;
  /** Bytes of GPU buffers the pool holds, in use or free. */
  bytesAllocated: number;
}

/** Params slots live in arenas of this size; each cached bind group owns one slot. */
const UNIFORM_ARENA_BYTES = 1 << 16;
/** Cached bind groups (and their Params slots) beyond which the caches start over. */
const MAX_BIND_GROUPS = 8192;

/**
 * A cached bind group and the Params slot it binds: a fixed range of a uniform arena that keeps the
 * values of its last dispatch, so the values are uploaded again only when they change. Fixed slots
 * rather than one ring bound with dynamic offsets: lavapipe builds a new descriptor set for every bind
 * with a dynamic offset, which doubled the cost of a small dispatch (55 → 31 µs, measured).
 */
interface Binding {
  readonly group: GPUBindGroup;
  /** Byte offset of the slot in the arena mirror (`arena * UNIFORM_ARENA_BYTES + offset`); -1 without Params. */
  readonly slot: number;
  /** The batch of the last dispatch that used it: its values must not change before that batch is submitted. */
  lastBatch: number;
}

/** A WebGPU device and everything wgrad keeps per device: limits, buffer pool, kernel registry, pipeline and bind-group caches, and the command batch. Get one from init(); two devices in one process are independent. */
export class Device {
  readonly gpu: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly adapterInfo: GPUAdapterInfo;
  readonly pool: BufferPool;
  readonly kernels: KernelRegistry;
  /** The largest buffer a kernel can bind: min(maxBufferSize, maxStorageBufferBindingSize). Every tensor fits it; larger weights are split into row parts (int4) or shards (embeddings). */
  readonly maxBindingBytes: number;
  /** Increments at every submit; a buffer whose lastBatch equals it is referenced by unsubmitted work. */
  batchId = 0;
  liveTensors = 0;
  /** Called once when the device is destroyed or lost. */
  onDestroy: () => void = () => {};

  private readonly maxDispatches: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  /** Uniform buffers holding the Params slots, and their CPU mirror (one growing ArrayBuffer). */
  private readonly arenas: GPUBuffer[] = [];
  private mirror = new ArrayBuffer(UNIFORM_ARENA_BYTES);
  private mirrorU32 = new Uint32Array(this.mirror);
  /** Next free byte of the arenas, and the mirror's byte range not yet uploaded. */
  private slotsUsed = 0;
  private dirtyFrom = Infinity;
  private dirtyTo = 0;
  /** Params of the dispatch being recorded, packed before they are compared with the slot's. */
  private readonly packed = new ArrayBuffer(4096);
  private readonly packedU32 = new Uint32Array(this.packed);
  private readonly packedI32 = new Int32Array(this.packed);
  private readonly packedF32 = new Float32Array(this.packed);
  private readonly uniformAlign: number;
  private readonly bindGroups = new Map<string, Binding>();
  private readonly checkedCalls = new Set<string>();
  private readonly errors: WgradError[] = [];
  private lostReason: string | null = null;

  constructor(gpu: GPUDevice, adapterInfo: GPUAdapterInfo, options: DeviceOptions = {}) {
    this.gpu = gpu;
    this.limits = gpu.limits;
    this.adapterInfo = adapterInfo;
    this.maxDispatches = options.maxDispatchesPerSubmit ?? 64;
    this.uniformAlign = Math.max(16, gpu.limits.minUniformBufferOffsetAlignment);
    const report = (p: Promise<GPUError | null>, what: string) => this.watch(p, what);
    this.maxBindingBytes = Math.min(gpu.limits.maxBufferSize, gpu.limits.maxStorageBufferBindingSize);
    this.pool = new BufferPool(gpu, this.maxBindingBytes, report);
    this.pool.onDestroy = () => this.forgetBindGroups();
    this.kernels = new KernelRegistry(gpu, KERNEL_SOURCES, report);
    gpu.lost.then((info) => {
      this.lostReason = info.reason === 'destroyed' ? 'the device was destroyed' : `the device was lost (${info.message || info.reason})`;
      this.onDestroy();
    });
    gpu.addEventListener('uncapturederror', (event) => {
      const err = (event as GPUUncapturedErrorEvent).error;
      this.errors.push(toTyped(err, 'WebGPU'));
    });
  }

  /** Throws DeviceLostError once the device is lost or destroyed. Every op calls it first. */
  assertAlive(where: string): void {
    if (this.lostReason) {
      throw new DeviceLostError(where, this.lostReason, 'create a new device with init(); tensors of the lost device cannot be recovered');
    }
  }

  /** Register a WGSL file of your own; its entry points become dispatchable kernels. */
  registerKernel(file: string, code: string): void {
    this.kernels.add(file, code);
  }

  /** Record one compute dispatch into the shared pass. */
  dispatch(entry: string, args: DispatchArgs): void {
    this.assertAlive(entry);
    const uniforms = args.uniforms ?? {};
    const names = Object.keys(args.bindings);
    const callKey = `${entry}|${names.join(',')}|${Object.keys(uniforms).join(',')}`;
    if (!this.checkedCalls.has(callKey)) {
      this.kernels.check(entry, names, uniforms);
      this.checkedCalls.add(callKey);
    }
    if (args.workgroups === 0) return;
    const { info, pipeline, layout } = this.kernels.pipeline(entry, args.overrides);
    const grid = foldGrid(args.workgroups, this.limits.maxComputeWorkgroupsPerDimension, entry);

    const storage = info.storage;
    let key = pipeline.label;
    for (let i = 0; i < storage.length; i++) key += `:${args.bindings[storage[i]!.name]!.id}`;
    const words = info.uniformSize / 4;
    if (words > 0) this.packUniforms(info.uniformFields, uniforms, words);
    let binding = this.bindGroups.get(key);
    if (binding && binding.slot >= 0 && !this.slotHolds(binding.slot, words)) {
      // New Params values: rewrite the slot, unless a dispatch not yet submitted still needs the old ones.
      if (binding.lastBatch === this.batchId) binding = undefined;
      else this.writeSlot(binding.slot, words);
    }
    if (!binding) {
      binding = this.bind(key, layout, info, args.bindings, words);
      if (words > 0) this.writeSlot(binding.slot, words);
    }
    binding.lastBatch = this.batchId;
    for (let i = 0; i < storage.length; i++) args.bindings[storage[i]!.name]!.lastBatch = this.batchId;

    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, binding.group);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    if (++this.dispatches >= this.maxDispatches) this.flush();
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    this.uploadSlots();
    this.gpu.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.dispatches = 0;
    this.batchId++;
  }

  /** Upload bytes into a pooled buffer. */
  write(buf: PooledBuffer, data: ArrayBufferView): void {
    // queue.writeBuffer runs before commands not yet submitted; if those still read the old contents
    // of this (reused) buffer, submit them first.
    if (buf.lastBatch === this.batchId) this.flush();
    this.gpu.queue.writeBuffer(buf.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copy `bytes` bytes of a buffer back to the CPU; submits pending work first. */
  async read(buf: PooledBuffer, bytes: number, where: string): Promise<ArrayBuffer> {
    this.assertAlive(where);
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.gpu.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.pass?.end();
    this.pass = null;
    const encoder = this.encoder ?? this.gpu.createCommandEncoder();
    this.encoder = encoder;
    encoder.copyBufferToBuffer(buf.buffer, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MapMode.READ);
    } catch (err) {
      this.assertAlive(where);
      throw toTyped(err, where);
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.throwPendingErrors();
    return out;
  }

  /** Wait until the GPU has finished all submitted work; rethrows any deferred WebGPU error. */
  async sync(): Promise<void> {
    this.assertAlive('sync');
    this.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    await Promise.resolve();
    this.throwPendingErrors();
  }

  /** Live tensors and GPU bytes in use and held by the pool, now. */
  memory(): MemoryInfo {
    return { tensors: this.liveTensors, bytesInUse: this.pool.bytesInUse, bytesAllocated: this.pool.bytesAllocated };
  }

  /** Destroy the device. Its tensors become unusable, and Node can exit once nothing else holds it. */
  destroy(): void {
    if (this.lostReason) return;
    this.flush();
    this.lostReason = 'the device was destroyed';
    this.gpu.destroy();
    this.onDestroy();
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.encoder ??= this.gpu.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    return this.pass;
  }

  private packUniforms(fields: ReturnType<KernelRegistry['info']>['uniformFields'], values: Readonly<Record<string, number | readonly number[]>>, words: number): void {
    this.packedU32.fill(0, 0, words);
    for (const f of fields) {
      const value = values[f.name]!;
      const base = f.offset / 4;
      const view = f.scalar === 'f32' ? this.packedF32 : f.scalar === 'i32' ? this.packedI32 : this.packedU32;
      if (typeof value === 'number') {
        view[base] = value;
      } else {
        if (value.length > f.length) {
          throw new KernelBindingError('Params', `field '${f.name}' holds ${f.length} values, got ${value.length}`, 'tensors of this rank are not supported by the kernel');
        }
        for (let i = 0; i < value.length; i++) view[base + i] = value[i]!;
      }
    }
  }

  /** A new bind group for `key`, with a Params slot of its own. */
  private bind(key: string, layout: GPUBindGroupLayout, info: ReturnType<KernelRegistry['info']>, buffers: Readonly<Record<string, PooledBuffer>>, words: number): Binding {
    const slotBytes = Math.ceil((words * 4) / this.uniformAlign) * this.uniformAlign;
    let start = this.slotsUsed;
    if ((start % UNIFORM_ARENA_BYTES) + slotBytes > UNIFORM_ARENA_BYTES) start = Math.ceil(start / UNIFORM_ARENA_BYTES) * UNIFORM_ARENA_BYTES;
    if (this.bindGroups.size >= MAX_BIND_GROUPS || start + slotBytes > MAX_BIND_GROUPS * this.uniformAlign * 2) {
      this.forgetBindGroups();
      start = 0;
    }
    const entries: GPUBindGroupEntry[] = info.storage.map((s) => ({ binding: s.binding, resource: { buffer: buffers[s.name]!.buffer } }));
    let slot = -1;
    if (words > 0) {
      slot = start;
      this.slotsUsed = start + slotBytes;
      const arena = Math.floor(slot / UNIFORM_ARENA_BYTES);
      this.growArenas(arena + 1);
      entries.push({ binding: 0, resource: { buffer: this.arenas[arena]!, offset: slot % UNIFORM_ARENA_BYTES, size: words * 4 } });
    }
    const binding: Binding = { group: this.gpu.createBindGroup({ layout, entries }), slot, lastBatch: -1 };
    this.bindGroups.set(key, binding);
    return binding;
  }

  private growArenas(count: number): void {
    while (this.arenas.length < count) {
      this.arenas.push(this.gpu.createBuffer({ size: UNIFORM_ARENA_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }));
    }
    if (this.mirror.byteLength < count * UNIFORM_ARENA_BYTES) {
      const bigger = new ArrayBuffer(count * UNIFORM_ARENA_BYTES);
      new Uint8Array(bigger).set(new Uint8Array(this.mirror));
      this.mirror = bigger;
      this.mirrorU32 = new Uint32Array(bigger);
    }
  }

  /** Whether the slot already holds the packed Params. */
  private slotHolds(slot: number, words: number): boolean {
    const base = slot / 4;
    for (let i = 0; i < words; i++) if (this.mirrorU32[base + i] !== this.packedU32[i]) return false;
    return true;
  }

  /** Copy the packed Params into the slot; they are uploaded with the next submit. */
  private writeSlot(slot: number, words: number): void {
    this.mirrorU32.set(this.packedU32.subarray(0, words), slot / 4);
    this.dirtyFrom = Math.min(this.dirtyFrom, slot);
    this.dirtyTo = Math.max(this.dirtyTo, slot + words * 4);
  }

  private uploadSlots(): void {
    for (let from = this.dirtyFrom; from < this.dirtyTo; ) {
      const arena = Math.floor(from / UNIFORM_ARENA_BYTES);
      const to = Math.min(this.dirtyTo, (arena + 1) * UNIFORM_ARENA_BYTES);
      this.gpu.queue.writeBuffer(this.arenas[arena]!, from % UNIFORM_ARENA_BYTES, this.mirror, from, to - from);
      from = to;
    }
    this.dirtyFrom = Infinity;
    this.dirtyTo = 0;
  }

  /** Drop every cached bind group and free their slots (after submitting the work that uses them). */
  private forgetBindGroups(): void {
    this.flush();
    this.bindGroups.clear();
    this.slotsUsed = 0;
  }

  private watch(p: Promise<GPUError | null>, what: string): void {
    p.then((err) => {
      if (err) this.errors.push(toTyped(err, what));
    }, () => {});
  }

  private throwPendingErrors(): void {
    if (this.errors.length === 0) return;
    // Errors that only say "invalid due to a previous error" hide the cause; report the cause.
    const cause = this.errors.find((e) => !e.message.includes('due to a previous error')) ?? this.errors[0]!;
    this.errors.length = 0;
    throw cause;
  }
}

/** Fold a workgroup count into a grid whose dimensions each stay within the device limit. */
export function foldGrid(workgroups: number, maxPerDim: number, where: string): [number, number, number] {
  if (workgroups <= maxPerDim) return [workgroups, 1, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  if (y <= maxPerDim) return [Math.ceil(workgroups / y), y, 1];
  const z = Math.ceil(workgroups / (maxPerDim * maxPerDim));
  if (z > maxPerDim) {
    throw new LimitError(where, `${workgroups} workgroups exceed ${maxPerDim}³`, 'split the work into smaller tensors');
  }
  const xy = Math.ceil(workgroups / z);
  const y2 = Math.ceil(xy / maxPerDim);
  return [Math.ceil(xy / y2), y2, z];
}

function toTyped(err: unknown, where: string): WgradError {
  if (err instanceof WgradError) return err;
  const message = err instanceof Error || (typeof err === 'object' && err && 'message' in err) ? String((err as { message: string }).message) : String(err);
  const kind = (err as { constructor?: { name?: string } })?.constructor?.name ?? '';
  if (kind.includes('OutOfMemory')) {
    return new OutOfMemoryError(where, `WebGPU is out of memory: ${message}`, 'dispose tensors you no longer need (or use scope()), or work on smaller batches');
  }
  return new GPUValidationError(where, `WebGPU reported: ${message}`, 'this is a bug in wgrad or in a custom kernel; please report it with the message above');
}
