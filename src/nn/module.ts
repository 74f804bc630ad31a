/**
 * Module: named parameters and sub-modules, train/eval mode. Names nest with dots
 * (`h.0.attn.c_attn.weight`), as PyTorch and Hugging Face name them; checkpoints and LoRA rely on it.
 */
import { WgradError } from '../errors.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** The base of every layer and model: named parameters and sub-modules (names nest with dots, as in PyTorch and Hugging Face), train/eval mode, disposal. */
export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Register a parameter: it requires grad and lives until the module is disposed. */
  protected param(name: string, t: Tensor): Tensor {
    if (this.params.has(name) || this.children.has(name)) {
      throw new WgradError(this.constructor.name, `'${name}' is registered twice`, 'give each parameter and sub-module a unique name');
    }
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    return t;
  }

  /** Register a sub-module under `name`. */
  protected module<M extends Module>(name: string, m: M): M {
    if (this.params.has(name) || this.children.has(name)) {
      throw new WgradError(this.constructor.name, `'${name}' is registered twice`, 'give each parameter and sub-module a unique name');
    }
    this.children.set(name, m);
    return m;
  }

  /** The current tensor of a parameter registered on this module (null when absent). */
  protected paramOrNull(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  /** Replace a registered parameter's tensor (loading weights); the old one is disposed. */
  setParameter(name: string, t: Tensor): void {
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const child = this.children.get(name.slice(0, dot));
      if (!child) throw new WgradError('setParameter', `no sub-module '${name.slice(0, dot)}' in ${this.constructor.name}`, 'use a name from namedParameters()');
      child.setParameter(name.slice(dot + 1), t);
      return;
    }
    const old = this.params.get(name);
    if (!old) throw new WgradError('setParameter', `no parameter '${name}' in ${this.constructor.name}`, 'use a name from namedParameters()');
    t.requiresGrad = old.requiresGrad;
    this.params.set(name, keep(t));
    if (old !== t) old.dispose();
  }

  /** The sub-module at a dotted path ('' is this module), or null when there is none. */
  getModule(path: string): Module | null {
    let m: Module | undefined = this;
    for (const part of path === '' ? [] : path.split('.')) {
      m = m.children.get(part);
      if (!m) return null;
    }
    return m;
  }

  /**
   * Put `m` in place of the sub-module at a dotted path, keeping its position in the tree (LoRA wraps
   * linear layers this way). Returns the module it replaced; nothing is disposed.
   */
  replaceModule(path: string, m: Module): Module {
    const dot = path.lastIndexOf('.');
    const parent = dot < 0 ? this : this.getModule(path.slice(0, dot));
    const name = path.slice(dot + 1);
    const old = parent?.children.get(name);
    if (!parent || !old) throw new WgradError('replaceModule', `no sub-module '${path}' in ${this.constructor.name}`, 'use a name from namedModules()');
    parent.children.set(name, m);
    return old;
  }

  /** All parameters with their dotted names, depth-first in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.params) out.push([prefix + name, t]);
    for (const [name, m] of this.children) out.push(...m.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** All parameters, in the order of namedParameters(). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** This module and every sub-module, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, m] of this.children) out.push(...m.namedModules(`${prefix}${name}.`));
    return out;
  }

  /** Set training mode (dropout active) on this module and every sub-module. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Set evaluation mode (dropout off) on this module and every sub-module. */
  eval(): this {
    return this.train(false);
  }

  /** Drop every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Free every parameter's GPU memory. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

/** A module that only groups others under names (GPT-2's `transformer`, `h`, `attn`, `mlp`). */
export class ModuleDict extends Module {
  /** Register `m` as a sub-module under `name` and return it. */
  set<M extends Module>(name: string, m: M): M {
    return this.module(name, m);
  }
}
