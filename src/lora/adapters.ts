/**
 * LoRA over a whole model: choosing target layers by name pattern, wrapping them, freezing the base,
 * selecting one of several adapters, merging and unloading.
 *
 * Target patterns follow PEFT: a list of names, each matching a linear layer whose dotted path equals
 * it or ends with `.` + it (`c_attn`, `attn.c_proj`, `c_proj` for both projections); a single string
 * other than `all-linear` is a regular expression the whole path must match; `all-linear` takes every
 * linear layer (GPT-2's LM head is the tied embedding, not a linear layer, so it is never targeted).
 * Every pattern must match at least one layer, or nothing is changed and a ValueError lists the
 * layers there are.
 *
 * GPT-2's fused `c_attn` (q, k and v side by side, 3C outputs) gets one adapter, as in PEFT: A (r, C)
 * is shared by q, k and v, and B (3C, r) holds each one's own rows. So the three projections move in
 * one common r-dimensional subspace of the input, and the adapter files load into PEFT unchanged.
 */
import { ValueError } from '../errors.js';
import { Rng } from '../tensor/random.js';
import type { LinearLayer } from '../nn/gpt.js';
import type { Module } from '../nn/module.js';
import { LoraLinear, checkRank, type AdapterSettings, type BaseLinear } from './lora-linear.js';

/** The target that selects every linear layer of the model (PEFT's "all-linear"). */
export const ALL_LINEAR = 'all-linear';

/** A list of name suffixes, a regular expression, or 'all-linear'. */
export type TargetSpec = readonly string[] | string;

/** An adapter's settings: rank r, alpha (the update is scaled by alpha/r), dropout, target layers and seed. */
export interface LoraOptions {
  r: number;
  alpha: number;
  /** Dropout on the adapter's input while training (default 0). */
  dropout?: number;
  targets: TargetSpec;
  /** Seeds A's initialisation (default 0). */
  seed?: number;
}

/** Whether a module is a linear layer LoRA can wrap (or has wrapped). */
function isLinear(m: Module): m is BaseLinear {
  return typeof (m as Partial<LinearLayer>).inFeatures === 'number' && typeof (m as Partial<LinearLayer>).outFeatures === 'number';
}

/** The model's linear layers by dotted path; a wrapped layer appears once, as its LoraLinear. */
export function linearLayers(model: Module): [string, BaseLinear][] {
  return model.namedModules().filter(([path, m]) => path !== '' && isLinear(m) && !path.endsWith('.base_layer')) as [string, BaseLinear][];
}

/** The model's LoRA-wrapped layers by dotted path. */
export function loraLayers(model: Module): [string, LoraLinear][] {
  return model.namedModules().filter(([, m]) => m instanceof LoraLinear) as [string, LoraLinear][];
}

/** The paths of the linear layers a target spec selects; throws when a pattern selects none. */
export function resolveTargets(model: Module, spec: TargetSpec): string[] {
  const paths = linearLayers(model).map(([p]) => p);
  const available = `the model's linear layers are ${describePaths(paths)}`;
  if (typeof spec === 'string') {
    if (spec === ALL_LINEAR) return paths;
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${spec})$`);
    } catch (err) {
      throw new ValueError('lora targets', `'${spec}' is not a valid regular expression (${(err as Error).message})`, `pass a list of layer names such as c_attn,mlp.c_fc, or ${ALL_LINEAR}`);
    }
    const hit = paths.filter((p) => re.test(p));
    if (hit.length === 0) throw new ValueError('lora targets', `the pattern '${spec}' matches no linear layer`, `${available}; target them by name (c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) or ${ALL_LINEAR}`);
    return hit;
  }
  if (spec.length === 0) throw new ValueError('lora targets', 'no target modules were given', `name the layers to adapt, e.g. c_attn, or ${ALL_LINEAR}`);
  const selected = new Set<string>();
  for (const pattern of spec) {
    if (pattern === ALL_LINEAR) {
      paths.forEach((p) => selected.add(p));
      continue;
    }
    const hit = paths.filter((p) => p === pattern || p.endsWith(`.${pattern}`));
    if (hit.length === 0) throw new ValueError('lora targets', `the target '${pattern}' matches no linear layer`, `${available}; use a name or dotted suffix of one (c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) or ${ALL_LINEAR}`);
    hit.forEach((p) => selected.add(p));
  }
  return paths.filter((p) => selected.has(p));
}

/** GPT-2's layers grouped by their name within a block: 'transformer.h.{0..3}.attn.c_attn'. */
function describePaths(paths: string[]): string {
  const groups = new Map<string, number[]>();
  for (const p of paths) {
    const m = /^(.*?\.)(\d+)(\..*)$/.exec(p);
    const key = m ? `${m[1]}{i}${m[3]}` : p;
    const list = groups.get(key) ?? [];
    if (m) list.push(Number(m[2]));
    groups.set(key, list);
  }
  return [...groups].map(([key, idx]) => (idx.length > 0 ? key.replace('{i}', `{${Math.min(...idx)}..${Math.max(...idx)}}`) : key)).join(', ');
}

/**
 * Add an adapter named `name` to the layers `options.targets` selects (wrapping them on first use),
 * make it the active one, and freeze everything else: afterwards only this adapter's A and B
 * require grad. Validates every target and rank before changing anything. Returns the paths adapted.
 */
export function addAdapter(model: Module, name: string, options: LoraOptions): string[] {
  const where = 'addAdapter';
  const s: AdapterSettings = { r: options.r, alpha: options.alpha, dropout: options.dropout ?? 0 };
  if (!Number.isFinite(s.alpha) || s.alpha <= 0) throw new ValueError(where, `lora_alpha = ${s.alpha} must be a positive number`, 'pass --lora-alpha such as 16 (the update is scaled by alpha / r)');
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new ValueError(where, `lora_dropout = ${s.dropout} is outside [0, 1)`, 'pass --lora-dropout such as 0 or 0.05');
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ValueError(where, `adapter name '${name}' is not a plain name`, 'use letters, digits, _ and -');
  const paths = resolveTargets(model, options.targets);
  const layers = paths.map((p) => [p, model.getModule(p) as BaseLinear] as const);
  for (const [p, layer] of layers) {
    checkRank(where, s.r, layer.inFeatures, layer.outFeatures, p);
    if (layer instanceof LoraLinear && layer.adapterNames.includes(name)) throw new ValueError(where, `${p} already has an adapter named '${name}'`, 'choose another adapter name');
  }
  const dropoutRng = loraLayers(model)[0]?.[1].dropoutRng ?? new Rng((options.seed ?? 0) ^ 0x10a4);
  const initRng = new Rng(options.seed ?? 0);
  for (const [p, layer] of layers) {
    const wrapped = layer instanceof LoraLinear ? layer : new LoraLinear(layer, dropoutRng);
    if (wrapped !== layer) model.replaceModule(p, wrapped);
    wrapped.addAdapter(name, s, initRng);
  }
  setActiveAdapter(model, name);
  setTrainable(model, name);
  return paths;
}

/** Choose the adapter every LoRA layer applies (null: the base model alone). */
export function setActiveAdapter(model: Module, name: string | null): void {
  const layers = loraLayers(model);
  if (name !== null && !layers.some(([, l]) => l.adapterNames.includes(name))) {
    const names = [...new Set(layers.flatMap(([, l]) => l.adapterNames))];
    throw new ValueError('setActiveAdapter', `no adapter named '${name}' is loaded (loaded: ${names.join(', ') || 'none'})`, 'load or add it first');
  }
  for (const [, l] of layers) l.active = name !== null && l.adapterNames.includes(name) ? name : null;
}

/** Only adapter `name`'s A and B require grad; null unfreezes nothing (a frozen model). */
export function setTrainable(model: Module, name: string | null): void {
  const suffixes = name === null ? [] : [`.lora_A.${name}.weight`, `.lora_B.${name}.weight`];
  for (const [path, p] of model.namedParameters()) p.requiresGrad = suffixes.some((sfx) => path.endsWith(sfx));
}

/** Parameter elements that train, and in all (a quantized base counts its logical elements). */
export function countParameters(model: Module): { trainable: number; total: number } {
  let trainable = 0;
  let total = 0;
  for (const p of model.parameters()) {
    total += p.size;
    if (p.requiresGrad) trainable += p.size;
  }
  for (const [, m] of model.namedModules()) total += (m as { frozenElements?: number }).frozenElements ?? 0;
  return { trainable, total };
}

/**
 * Fold adapter `name` into the float32 base weights and put the plain base layers back in the tree
 * (PEFT's merge_and_unload): the model is then an ordinary GPT again. Every adapter is disposed.
 */
export function mergeAndUnload(model: Module, name: string): void {
  const layers = loraLayers(model);
  if (!layers.some(([, l]) => l.adapterNames.includes(name))) {
    throw new ValueError('mergeAndUnload', `no adapter named '${name}' is loaded`, 'load or add it before merging');
  }
  for (const [, l] of layers) if (l.adapterNames.includes(name)) l.merge(name);
  unloadAdapters(model);
}

/** Put the base layers back in place of their LoRA wrappers, disposing the adapters (not the bases). */
export function unloadAdapters(model: Module): void {
  for (const [path, l] of loraLayers(model)) {
    const base = l.base;
    model.replaceModule(path, base);
    for (const [p, t] of l.namedParameters()) if (!p.startsWith('base_layer.')) t.dispose();
  }
}

/**
 * GPU bytes of the frozen base weights as the model holds them: float32 parameters that are not
 * adapters, plus int4 weights (modules exposing `weightBytes`). `linear` counts the linear layers'
 * weights alone, the part QLoRA quantizes.
 */
export function baseWeightBytes(model: Module): { total: number; linear: number } {
  let total = 0;
  for (const [name, p] of model.namedParameters()) if (!/\.lora_[AB]\./.test(name)) total += 4 * p.size;
  let linear = 0;
  for (const [, layer] of linearLayers(model)) {
    const base = layer instanceof LoraLinear ? layer.base : layer;
    const int4 = (base as { weightBytes?: number }).weightBytes;
    linear += int4 ?? 4 * base.inFeatures * base.outFeatures;
    total += int4 ?? 0;
  }
  return { total, linear };
}
