/**
 * A linear layer with LoRA adapters (Hu et al., 2021): y = base(x) + (α/r)·B·A·dropout(x), with
 * A (r, in) and B (out, r) stored as PEFT stores them (`lora_A.<adapter>.weight`,
 * `lora_B.<adapter>.weight`), A initialised Kaiming-uniform as PEFT does (U(±1/√in), i.e. a = √5) and
 * B zeros, so a fresh adapter leaves the base's outputs exactly as they were.
 *
 * The base layer (GPT-2's Conv1D, or its int4 counterpart for QLoRA) is kept as the child
 * `base_layer` and is frozen. Several adapters can sit over one base; `active` chooses the one
 * forward() applies (null: the base alone). When the base has a fused GELU (GPT-2's c_fc), the
 * adapter's delta is added before the activation, so the fused epilogue is given up for that layer.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { add, gelu, mul, sub } from '../ops/elementwise.js';
import { dropout } from '../ops/dropout.js';
import { matmul } from '../ops/matmul.js';
import { tensor, zeros } from '../tensor/create.js';
import type { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv1D, type LinearLayer } from '../nn/gpt.js';
import { Module, ModuleDict } from '../nn/module.js';

/** The hyper-parameters of one adapter on one layer. */
export interface AdapterSettings {
  r: number;
  alpha: number;
  dropout: number;
}

/** PEFT's lora_A[name] / lora_B[name]: a bias-free linear map holding one matrix. */
class LoraFactor extends Module {
  constructor(w: Tensor) {
    super();
    this.param('weight', w);
  }

  get weight(): Tensor {
    return this.paramOrNull('weight')!;
  }
}

/** A base linear layer: Conv1D or a module standing in for it (the int4 base of QLoRA). */
export type BaseLinear = Module & LinearLayer;

export class LoraLinear extends Module implements LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The adapter forward() applies; null runs the base alone. */
  active: string | null = null;
  /** The adapter folded into the base weights, if any (forward() then does not add it again). */
  private mergedName: string | null = null;
  private readonly loraA: ModuleDict;
  private readonly loraB: ModuleDict;
  private readonly settings = new Map<string, AdapterSettings>();

  /** `dropoutRng` is shared by every LoRA layer of a model, so that one state resumes them all. */
  constructor(base: BaseLinear, readonly dropoutRng: Rng) {
    super();
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.module('base_layer', base);
    this.loraA = this.module('lora_A', new ModuleDict());
    this.loraB = this.module('lora_B', new ModuleDict());
  }

  get base(): BaseLinear {
    return this.getModule('base_layer') as BaseLinear;
  }

  /** Swap the base layer (QLoRA quantizes it in place); returns the old one, not disposed. */
  replaceBase(base: BaseLinear): BaseLinear {
    if (base.inFeatures !== this.inFeatures || base.outFeatures !== this.outFeatures) {
      throw new ShapeError('LoraLinear.replaceBase', `the new base maps ${base.inFeatures} → ${base.outFeatures}, the layer ${this.inFeatures} → ${this.outFeatures}`, 'replace a base layer with one of the same shape');
    }
    return this.replaceModule('base_layer', base) as BaseLinear;
  }

  get adapterNames(): string[] {
    return [...this.settings.keys()];
  }

  /** The rank, alpha and dropout of the adapter `name`; throws ValueError when the layer has none by that name. */
  adapterSettings(name: string): AdapterSettings {
    const s = this.settings.get(name);
    if (!s) throw new ValueError('LoraLinear', `no adapter named '${name}' on this layer (it has: ${this.adapterNames.join(', ') || 'none'})`, 'add the adapter first (addAdapter or loadAdapter)');
    return s;
  }

  /** A (r, in) and B (out, r) of an adapter. */
  factors(name: string): { A: Tensor; B: Tensor } {
    this.adapterSettings(name);
    return { A: (this.loraA.getModule(name) as LoraFactor).weight, B: (this.loraB.getModule(name) as LoraFactor).weight };
  }

  /** Add an adapter: A Kaiming-uniform from `rng`, B zeros. Its parameters require grad. */
  addAdapter(name: string, s: AdapterSettings, rng: Rng): void {
    if (this.settings.has(name)) throw new ValueError('LoraLinear', `an adapter named '${name}' already exists on this layer`, 'choose another adapter name');
    checkRank('LoraLinear', s.r, this.inFeatures, this.outFeatures);
    const device = this.base.parameters()[0]?.device;
    const bound = 1 / Math.sqrt(this.inFeatures);
    const a = Float32Array.from({ length: s.r * this.inFeatures }, () => (2 * rng.uniform() - 1) * bound);
    this.settings.set(name, { ...s });
    this.loraA.set(name, new LoraFactor(tensor(a, [s.r, this.inFeatures], { device })));
    this.loraB.set(name, new LoraFactor(zeros([this.outFeatures, s.r], { device })));
  }

  /** The base layer's output plus the active adapter's (alpha/r)·B·A·x (with dropout on x while training), then the activation. */
  forward(x: Tensor, activation?: 'gelu'): Tensor {
    const name = this.active;
    if (name === null || name === this.mergedName) return this.base.forward(x, activation);
    const s = this.adapterSettings(name);
    const { A, B } = this.factors(name);
    const y = this.base.forward(x);
    const xIn = this.training && s.dropout > 0 ? dropout(x, s.dropout, this.dropoutRng.nextU32()) : x;
    const down = matmul(xIn, A, { transB: true }); // (…, r)
    const delta = matmul(down, B, { transB: true }); // (…, out)
    const out = add(y, mul(delta, s.alpha / s.r));
    return activation === 'gelu' ? gelu(out) : out;
  }

  /** ΔW = (α/r)·(B·A)ᵀ in the base's (in, out) layout. */
  deltaWeight(name: string): Tensor {
    const s = this.adapterSettings(name);
    const { A, B } = this.factors(name);
    return noGrad(() => mul(matmul(A, B, { transA: true, transB: true }), s.alpha / s.r)); // (in, out)
  }

  /** Fold an adapter into the float32 base weights (forward() then skips it); unmerge() undoes it. */
  merge(name: string): void {
    const base = this.floatBase('merge');
    if (this.mergedName !== null) throw new ValueError('LoraLinear.merge', `adapter '${this.mergedName}' is already merged into this layer`, 'unmerge() it first');
    const delta = this.deltaWeight(name);
    base.setParameter('weight', noGrad(() => add(ownParameter(base, 'weight'), delta)));
    delta.dispose();
    this.mergedName = name;
  }

  /** Subtract the merged adapter from the base weights again (after merge()). */
  unmerge(): void {
    const name = this.mergedName;
    if (name === null) return;
    const base = this.floatBase('unmerge');
    const delta = this.deltaWeight(name);
    base.setParameter('weight', noGrad(() => sub(ownParameter(base, 'weight'), delta)));
    delta.dispose();
    this.mergedName = null;
  }

  get merged(): string | null {
    return this.mergedName;
  }

  private floatBase(where: string): Conv1D {
    const base = this.base;
    if (!(base instanceof Conv1D)) {
      throw new ValueError(`LoraLinear.${where}`, `the base layer is ${base.constructor.name}, not float32 weights`, 'merge into the float32 base checkpoint (wgrad merge loads it unquantized)');
    }
    return base;
  }
}

/** A parameter registered directly on a module (not on its children). */
export function ownParameter(m: Module, name: string): Tensor {
  const found = m.namedParameters().find(([n]) => n === name);
  if (!found) throw new ValueError(m.constructor.name, `has no parameter '${name}'`, 'this is a bug in the LoRA wrapper');
  return found[1];
}

/** Rank must be a whole number in [1, min(in, out)]: beyond that the update is no longer low-rank. */
export function checkRank(where: string, r: number, inFeatures: number, outFeatures: number, layer = ''): void {
  const limit = Math.min(inFeatures, outFeatures);
  if (!Number.isInteger(r) || r < 1 || r > limit) {
    throw new ValueError(where, `rank r = ${r} is not a whole number in [1, ${limit}]${layer ? ` for ${layer}` : ''} (a ${fmtShape([inFeatures, outFeatures])} layer)`, `pass --lora-r between 1 and ${limit}, e.g. 8`);
  }
}
