/**
 * Adapters in Hugging Face PEFT's layout (platform-neutral: bytes and JSON in, bytes and JSON out;
 * src/io/adapter-dir.ts reads and writes directories).
 *
 *  - adapter_config.json: `peft_type: "LORA"`, `r`, `lora_alpha`, `lora_dropout`, `target_modules`,
 *    `fan_in_fan_out: true` (GPT-2's Conv1D stores weights (in, out)), `bias: "none"`,
 *    `base_model_name_or_path`, `task_type: "CAUSAL_LM"`, and wgrad's own fields under "wgrad"
 *    (the base's quantization while training, the base's layer shapes).
 *  - adapter_model.safetensors: F32 `base_model.model.<module path>.lora_A.weight` (r, in) and
 *    `.lora_B.weight` (out, r), the adapter name left out, as PEFT saves them.
 *
 * Loading checks everything against the model before changing it: the file's layers must be exactly
 * the linear layers `target_modules` selects on this model, with the shapes the base layers imply;
 * PEFT options wgrad does not implement (DoRA, rsLoRA, rank or alpha patterns, trained biases,
 * layers_to_transform) are refused rather than ignored.
 */
import { CheckpointError, fmtShape } from '../errors.js';
import { tensor } from '../tensor/create.js';
import type { Module } from '../nn/module.js';
import { decodeSafetensors, encodeSafetensors, toFloat32Array, type SafetensorsInput } from './safetensors.js';
import { ALL_LINEAR, addAdapter, linearLayers, loraLayers, resolveTargets, setTrainable } from '../lora/adapters.js';
import { checkRank } from '../lora/lora-linear.js';

/** The file name of a PEFT adapter's configuration. */
export const ADAPTER_CONFIG = 'adapter_config.json';
/** The file name of a PEFT adapter's weights. */
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
const PREFIX = 'base_model.model.';

/** adapter_config.json as PEFT writes it for LoRA (the fields wgrad reads and writes). */
export interface PeftLoraConfig {
  peft_type: 'LORA';
  task_type: string;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[] | string;
  fan_in_fan_out: boolean;
  bias: 'none';
  base_model_name_or_path: string | null;
  inference_mode: boolean;
  [key: string]: unknown;
}

/** What an adapter file records besides its weights: the base model and wgrad's own fields. */
export interface AdapterMeta {
  /** Where the base model lives (a checkpoint directory), recorded as base_model_name_or_path. */
  base?: string | null;
  /** wgrad's own fields, kept under "wgrad" in adapter_config.json. */
  extra?: Record<string, unknown>;
}

/** adapter_config.json and adapter_model.safetensors of adapter `name` of a model. */
export async function encodeAdapter(model: Module, name: string, meta: AdapterMeta = {}): Promise<{ config: PeftLoraConfig; weights: Uint8Array }> {
  const layers = loraLayers(model).filter(([, l]) => l.adapterNames.includes(name));
  if (layers.length === 0) throw new CheckpointError('saveAdapter', `the model has no adapter named '${name}'`, 'add or load the adapter before saving it');
  const s = layers[0]![1].adapterSettings(name);
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [path, l] of layers) {
    const { A, B } = l.factors(name);
    tensors[`${PREFIX}${path}.lora_A.weight`] = { dtype: 'F32', shape: [...A.shape], data: (await A.toArray()) as Float32Array };
    tensors[`${PREFIX}${path}.lora_B.weight`] = { dtype: 'F32', shape: [...B.shape], data: (await B.toArray()) as Float32Array };
  }
  const paths = layers.map(([p]) => p);
  const config: PeftLoraConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: s.r,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    target_modules: targetModulesFor(model, paths),
    fan_in_fan_out: true,
    bias: 'none',
    base_model_name_or_path: meta.base ?? null,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
    wgrad: { base_shapes: Object.fromEntries(layers.map(([p, l]) => [p, [l.inFeatures, l.outFeatures]])), ...meta.extra },
  };
  return { config, weights: encodeSafetensors(tensors, { format: 'pt' }) };
}

/**
 * The shortest PEFT target list that selects exactly these layers: each layer's last name (c_attn,
 * c_fc), or its last two (attn.c_proj) when the last alone would select more layers than adapted.
 */
function targetModulesFor(model: Module, paths: string[]): string[] {
  const chosen = new Set(paths);
  const all = linearLayers(model).map(([p]) => p);
  const names = new Set<string>();
  for (const p of paths) {
    const parts = p.split('.');
    let suffix = parts[parts.length - 1]!;
    for (let n = 2; n <= parts.length && all.some((q) => !chosen.has(q) && (q === suffix || q.endsWith(`.${suffix}`))); n++) suffix = parts.slice(-n).join('.');
    names.add(suffix);
  }
  return [...names];
}

/** Parse and check adapter_config.json. */
export function parseAdapterConfig(bytes: Uint8Array | string, source: string): PeftLoraConfig {
  const where = 'loadAdapter';
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch (err) {
    throw new CheckpointError(where, `${source}/${ADAPTER_CONFIG} is not valid JSON (${(err as Error).message})`, 'the adapter is corrupt; save it again');
  }
  if (c === null || typeof c !== 'object') throw new CheckpointError(where, `${source}/${ADAPTER_CONFIG} is not a JSON object`, 'the adapter is corrupt; save it again');
  if (c.peft_type !== 'LORA') throw new CheckpointError(where, `${source}: peft_type is ${JSON.stringify(c.peft_type)}, wgrad loads "LORA" adapters only`, 'pass a LoRA adapter directory');
  const unsupported: string[] = [];
  if (c.use_dora === true) unsupported.push('use_dora');
  if (c.use_rslora === true) unsupported.push('use_rslora');
  if (c.bias !== undefined && c.bias !== 'none') unsupported.push(`bias "${c.bias}"`);
  for (const k of ['rank_pattern', 'alpha_pattern']) if (c[k] && Object.keys(c[k] as object).length > 0) unsupported.push(k);
  for (const k of ['layers_to_transform', 'modules_to_save']) if (c[k] !== undefined && c[k] !== null) unsupported.push(k);
  if (unsupported.length > 0) throw new CheckpointError(where, `${source} uses PEFT options wgrad does not implement: ${unsupported.join(', ')}`, 'train the adapter without them');
  if (!Number.isInteger(c.r) || (c.r as number) < 1) throw new CheckpointError(where, `${source}: r = ${JSON.stringify(c.r)} is not a whole number ≥ 1`, 'the adapter config is corrupt');
  if (typeof c.lora_alpha !== 'number' || !(c.lora_alpha > 0)) throw new CheckpointError(where, `${source}: lora_alpha = ${JSON.stringify(c.lora_alpha)} is not a positive number`, 'the adapter config is corrupt');
  const targets = c.target_modules;
  if (!(typeof targets === 'string' || (Array.isArray(targets) && targets.every((t) => typeof t === 'string')))) {
    throw new CheckpointError(where, `${source}: target_modules is ${JSON.stringify(targets)}`, `expected a list of layer names or a regular expression (or "${ALL_LINEAR}")`);
  }
  const dropout = typeof c.lora_dropout === 'number' ? c.lora_dropout : 0;
  return { ...(c as PeftLoraConfig), lora_dropout: dropout };
}

/**
 * Add the adapter described by a config and safetensors bytes to a model under `name`. Nothing is
 * changed unless every layer and shape fits. Loaded adapters are frozen unless `trainable` (resuming).
 */
export function decodeAdapter(model: Module, name: string, config: PeftLoraConfig, weights: Uint8Array, source: string, { trainable = false } = {}): string[] {
  const where = 'loadAdapter';
  let paths: string[];
  try {
    paths = resolveTargets(model, config.target_modules);
  } catch (err) {
    throw new CheckpointError(where, `${source}: target_modules ${JSON.stringify(config.target_modules)} do not fit this base model (${(err as Error).message.split('\n')[0]})`, 'load the adapter over the base model it was trained on');
  }
  let tensors;
  try {
    tensors = decodeSafetensors(weights).tensors;
  } catch (err) {
    throw new CheckpointError(where, `${source}/${ADAPTER_WEIGHTS} cannot be read: ${(err as Error).message.split('\n')[0]}`, 'the adapter is corrupt; save it again');
  }
  const mismatch = (msg: string) => new CheckpointError(where, `${source}: ${msg}`, 'this adapter was trained on a base model of another shape; load it over that base (see base_model_name_or_path in adapter_config.json)');
  const values = new Map<string, { A: Float32Array; B: Float32Array }>();
  const layers = new Map(linearLayers(model));
  for (const path of paths) {
    const layer = layers.get(path)!;
    const keyA = `${PREFIX}${path}.lora_A.weight`;
    const keyB = `${PREFIX}${path}.lora_B.weight`;
    const [A, B] = [tensors[keyA], tensors[keyB]];
    if (!A || !B) throw mismatch(`${ADAPTER_WEIGHTS} has no ${!A ? keyA : keyB}, which target_modules selects on this base`);
    try {
      checkRank(where, config.r, layer.inFeatures, layer.outFeatures, path);
    } catch (err) {
      throw mismatch((err as Error).message.split('\n')[0]!);
    }
    const wantA = [config.r, layer.inFeatures];
    const wantB = [layer.outFeatures, config.r];
    if (A.shape.join() !== wantA.join()) throw mismatch(`${keyA} has shape ${fmtShape(A.shape)}, the base layer needs ${fmtShape(wantA)} (r × in_features)`);
    if (B.shape.join() !== wantB.join()) throw mismatch(`${keyB} has shape ${fmtShape(B.shape)}, the base layer needs ${fmtShape(wantB)} (out_features × r)`);
    values.set(path, { A: toFloat32Array(A, keyA), B: toFloat32Array(B, keyB) });
  }
  const expected = new Set(paths.flatMap((p) => [`${PREFIX}${p}.lora_A.weight`, `${PREFIX}${p}.lora_B.weight`]));
  const extra = Object.keys(tensors).filter((k) => !expected.has(k));
  if (extra.length > 0) throw mismatch(`${ADAPTER_WEIGHTS} holds tensors this base has no place for: ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''}`);

  const previouslyTrainable = model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
  addAdapter(model, name, { r: config.r, alpha: config.lora_alpha, dropout: config.lora_dropout, targets: paths });
  for (const [path, v] of values) {
    const device = model.getModule(`${path}.lora_A.${name}`)!.parameters()[0]!.device;
    model.setParameter(`${path}.lora_A.${name}.weight`, tensor(v.A, [config.r, v.A.length / config.r], { device }));
    model.setParameter(`${path}.lora_B.${name}.weight`, tensor(v.B, [v.B.length / config.r, config.r], { device }));
  }
  if (!trainable) {
    // A loaded adapter is for inference: restore which parameters trained before.
    setTrainable(model, null);
    const names = new Set(previouslyTrainable);
    for (const [n, p] of model.namedParameters()) if (names.has(n)) p.requiresGrad = true;
  }
  return paths;
}
