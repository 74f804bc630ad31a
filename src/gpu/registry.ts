/**
 * The kernel registry. WGSL files are the source of truth: each is reflected with wgsl_reflect, and a
 * wrapper's bindings and uniform fields are checked against what the entry point declares, so the
 * TypeScript and the WGSL cannot drift apart silently.
 *
 * Conventions every kernel follows: `@group(0) @binding(0) var<uniform> p: Params` holds the shapes and
 * sizes (one pipeline serves every shape), storage buffers are bindings 1.., and tuning knobs are
 * `override` constants. The shared prelude `common.wgsl` is prepended to every file.
 */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import type { FunctionInfo, MemberInfo } from 'wgsl_reflect';
import { KernelBindingError } from '../errors.js';
import { ShaderStage } from './flags.js';

const PRELUDE_FILE = 'common.wgsl';

/** A storage buffer a kernel declares: its WGSL name, binding number and access. */
export interface StorageBinding {
  readonly name: string;
  readonly binding: number;
  readonly readOnly: boolean;
}

/** A field of a kernel's Params uniform, as reflected from the WGSL. */
export interface UniformField {
  readonly name: string;
  readonly offset: number;
  /** Scalar type of the field or of its elements: u32, i32 or f32. */
  readonly scalar: 'u32' | 'i32' | 'f32';
  /** How many scalars the field holds (1 for a scalar, 4·N for array<vec4<u32>, N>). */
  readonly length: number;
}

/** What the registry reflected of one compute entry point: its file, bindings, Params layout, overrides and workgroup size. */
export interface KernelInfo {
  readonly entry: string;
  readonly file: string;
  readonly storage: readonly StorageBinding[];
  readonly uniformSize: number;
  readonly uniformFields: readonly UniformField[];
  readonly overrides: readonly string[];
  readonly workgroupSize: readonly [number, number, number];
}

interface Compiled {
  readonly info: KernelInfo;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** Values of a kernel's `override` constants by name. */
export type Overrides = Readonly<Record<string, number>>;

export class KernelRegistry {
  private readonly sources = new Map<string, string>();
  private readonly entryFile = new Map<string, string>();
  private readonly infos = new Map<string, KernelInfo>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, Compiled>();

  constructor(
    private readonly device: GPUDevice,
    sources: Readonly<Record<string, string>>,
    private readonly reportError: (p: Promise<GPUError | null>, what: string) => void,
  ) {
    for (const [file, code] of Object.entries(sources)) {
      if (file !== PRELUDE_FILE) this.add(file, code);
    }
    this.sources.set(PRELUDE_FILE, sources[PRELUDE_FILE] ?? '');
  }

  /** Add a WGSL file (wgrad's own, or a user's custom kernel). Entry point names must be unique. */
  add(file: string, code: string): void {
    for (const match of code.matchAll(/@compute[^;{]*?\bfn\s+([A-Za-z_]\w*)/g)) {
      const entry = match[1]!;
      const other = this.entryFile.get(entry);
      if (other && other !== file) {
        throw new KernelBindingError(
          'KernelRegistry',
          `entry point '${entry}' in ${file} is already defined in ${other}`,
          'give every compute entry point a unique name; it is also the kernel\'s registry key',
        );
      }
      this.entryFile.set(entry, file);
    }
    this.sources.set(file, code);
  }

  has(entry: string): boolean {
    return this.entryFile.has(entry);
  }

  /** The reflected description of an entry point. */
  info(entry: string): KernelInfo {
    let info = this.infos.get(entry);
    if (!info) {
      this.reflectFile(this.fileOf(entry));
      info = this.infos.get(entry)!;
    }
    return info;
  }

  /** The compute pipeline for an entry point and a set of override values, created on first use. */
  pipeline(entry: string, overrides: Overrides = {}): Compiled {
    const key = overrideKey(entry, overrides);
    let compiled = this.pipelines.get(key);
    if (compiled) return compiled;
    const info = this.info(entry);
    for (const name of Object.keys(overrides)) {
      if (!info.overrides.includes(name)) {
        throw new KernelBindingError(
          entry,
          `override '${name}' is not declared by the kernel (it declares: ${info.overrides.join(', ') || 'none'})`,
          `check kernels/${info.file}`,
        );
      }
    }
    const layout = this.device.createBindGroupLayout({
      label: entry,
      entries: [
        ...(info.uniformSize > 0
          ? [{
              binding: 0,
              visibility: ShaderStage.COMPUTE,
              buffer: { type: 'uniform' as const, hasDynamicOffset: false, minBindingSize: info.uniformSize },
            }]
          : []),
        ...info.storage.map((s) => ({
          binding: s.binding,
          visibility: ShaderStage.COMPUTE,
          buffer: { type: s.readOnly ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: this.module(info.file), entryPoint: entry, constants: { ...overrides } },
    });
    this.reportError(this.device.popErrorScope(), `compiling kernel ${key} (kernels/${info.file})`);
    compiled = { info, pipeline, layout };
    this.pipelines.set(key, compiled);
    return compiled;
  }

  /**
   * Check a wrapper's storage bindings and uniform fields against the kernel's declarations and pack
   * the uniform values. Throws KernelBindingError naming every missing or unexpected name.
   */
  check(entry: string, bindingNames: readonly string[], uniforms: Readonly<Record<string, number | readonly number[]>>): void {
    const info = this.info(entry);
    const declared = info.storage.map((s) => s.name);
    const fields = info.uniformFields.map((f) => f.name);
    const problems = [
      ...diff('binding', declared, bindingNames),
      ...diff('uniform field', fields, Object.keys(uniforms)),
    ];
    if (problems.length > 0) {
      throw new KernelBindingError(
        entry,
        `the wrapper does not match kernels/${info.file}: ${problems.join('; ')}`,
        'update the TypeScript wrapper or the WGSL so that both name the same bindings and Params fields',
      );
    }
  }

  private fileOf(entry: string): string {
    const file = this.entryFile.get(entry);
    if (!file) {
      throw new KernelBindingError(
        'KernelRegistry',
        `no kernel has the entry point '${entry}'`,
        'register the WGSL file that defines it (kernels/ for wgrad\'s own, Device.registerKernel for yours)',
      );
    }
    return file;
  }

  private fullSource(file: string): string {
    return `${this.sources.get(PRELUDE_FILE)}\n${this.sources.get(file)}`;
  }

  private module(file: string): GPUShaderModule {
    let mod = this.modules.get(file);
    if (!mod) {
      mod = this.device.createShaderModule({ label: file, code: this.fullSource(file) });
      this.modules.set(file, mod);
    }
    return mod;
  }

  private reflectFile(file: string): void {
    const reflect = new WgslReflect(this.fullSource(file));
    // Overrides are listed per file: wgsl_reflect only sees those an entry point uses directly.
    const overrides = reflect.overrides.map((o) => o.name);
    for (const fn of reflect.entry.compute) this.infos.set(fn.name, describe(fn, file, overrides));
  }
}

function describe(fn: FunctionInfo, file: string, overrides: string[]): KernelInfo {
  const where = `${fn.name} (kernels/${file})`;
  const storage: StorageBinding[] = [];
  let uniformSize = 0;
  let uniformFields: UniformField[] = [];
  for (const res of fn.resources) {
    if (res.group !== 0) throw new KernelBindingError(where, `binding '${res.name}' is in group ${res.group}`, 'put every binding in @group(0)');
    if (res.resourceType === 0 /* uniform */) {
      if (res.binding !== 0) throw new KernelBindingError(where, `the uniform '${res.name}' is at binding ${res.binding}`, 'declare the Params uniform at @binding(0)');
      uniformSize = res.size;
      uniformFields = (res.members ?? []).map((m) => field(m, where));
    } else if (res.resourceType === 1 /* storage */) {
      storage.push({ name: res.name, binding: res.binding, readOnly: res.access !== 'read_write' });
    } else {
      throw new KernelBindingError(where, `binding '${res.name}' is neither a uniform nor a storage buffer`, 'kernels use buffers only');
    }
  }
  storage.sort((a, b) => a.binding - b.binding);
  const [x, y, z] = fn.workgroupSize ?? [1, 1, 1];
  return {
    entry: fn.name,
    file,
    storage,
    uniformSize,
    uniformFields,
    overrides,
    workgroupSize: [x, y, z],
  };
}

function field(m: MemberInfo, where: string): UniformField {
  // Scalars, vec4<T> and array<vec4<T>, N>: anything else has padding we would have to mirror.
  const t = m.type;
  const inner = t.isArray ? (t as unknown as { format: { name: string; format?: { name: string } } }).format : null;
  let scalar: string;
  let length: number;
  if (!t.isArray && !t.isTemplate) {
    scalar = t.name;
    length = 1;
  } else if (!t.isArray && t.name === 'vec4') {
    scalar = (t as unknown as { format: { name: string } }).format.name;
    length = 4;
  } else if (inner && inner.name === 'vec4' && inner.format) {
    scalar = inner.format.name;
    length = 4 * m.count;
  } else {
    throw new KernelBindingError(where, `Params field '${m.name}' has type ${t.getTypeName()}`, 'use u32, i32, f32, vec4<T> or array<vec4<T>, N> in Params');
  }
  if (scalar !== 'u32' && scalar !== 'i32' && scalar !== 'f32') {
    throw new KernelBindingError(where, `Params field '${m.name}' has scalar type ${scalar}`, 'use u32, i32 or f32');
  }
  return { name: m.name, offset: m.offset, scalar, length };
}

function diff(what: string, declared: readonly string[], given: readonly string[]): string[] {
  const missing = declared.filter((n) => !given.includes(n)).map((n) => `${what} '${n}' is declared but not passed`);
  const extra = given.filter((n) => !declared.includes(n)).map((n) => `${what} '${n}' is passed but not declared`);
  return [...missing, ...extra];
}

function overrideKey(entry: string, overrides: Overrides): string {
  const keys = Object.keys(overrides);
  if (keys.length === 0) return entry;
  return `${entry}{${keys.sort().map((k) => `${k}=${overrides[k]}`).join(',')}}`;
}
