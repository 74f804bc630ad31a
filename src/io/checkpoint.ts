/**
 * Model checkpoints: a directory written atomically (src/io/checkpoint-dir.ts) holding
 *  - model.safetensors: the weights under Hugging Face GPT-2 names and layouts (F32; the tied
 *    `lm_head.weight` is not stored, as in GPT-2's own files);
 *  - config.json: GPT2Config keys (n_layer, n_head, n_embd, n_positions, vocab_size, …) plus
 *    wgrad's own fields under "wgrad";
 *  - tokenizer.json: the tokenizer's toJSON();
 *  - for resuming: train_state.json (step, generator states, best validation loss, training config)
 *    and optimizer.safetensors (AdamW moments as `<param>.m` / `<param>.v`, and the step count).
 */
import type { Device } from '../gpu/device.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import type { Optimizer } from '../optim/optimizer.js';
import { tensor } from '../tensor/create.js';
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizer.js';
import { CheckpointError, readCheckpointDir, writeCheckpointDir, type CheckpointFile } from './checkpoint-dir.js';
import { decodeSafetensors, encodeSafetensors, toFloat32Array, type SafetensorsInput } from './safetensors.js';

export interface Checkpoint {
  model: GPT;
  tokenizer: Tokenizer;
  /** train_state.json, when the checkpoint can be resumed. */
  trainState: Record<string, unknown> | null;
  /** The optimizer moments, to pass to Optimizer.loadStateDict. */
  optimizerState: { step: number; buffers: Record<string, Record<string, Float32Array>> } | null;
}

/** The weights as HF GPT-2 safetensors bytes. */
export async function modelSafetensors(model: GPT): Promise<Uint8Array> {
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, p] of model.namedParameters()) {
    tensors[name] = { dtype: 'F32', shape: [...p.shape], data: (await p.toArray()) as Float32Array };
  }
  return encodeSafetensors(tensors, { format: 'pt' });
}

export function gpt2Config(c: GPTConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.blockSize,
    n_ctx: c.blockSize,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: 'gelu_new',
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: c.dropout,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    tie_word_embeddings: true,
    wgrad: { bias: c.bias, ...extra },
  };
}

export async function saveCheckpoint(dir: string, parts: { model: GPT; tokenizer: Tokenizer; optimizer?: Optimizer; trainState?: Record<string, unknown> }): Promise<void> {
  const files: Record<string, CheckpointFile> = {
    'model.safetensors': await modelSafetensors(parts.model),
    'config.json': JSON.stringify(gpt2Config(parts.model.config), null, 2),
    'tokenizer.json': JSON.stringify(parts.tokenizer.toJSON()),
  };
  if (parts.optimizer && parts.trainState) {
    const state = await parts.optimizer.stateDict();
    const tensors: Record<string, SafetensorsInput> = {};
    for (const [name, bufs] of Object.entries(state.buffers)) {
      for (const [key, values] of Object.entries(bufs)) tensors[`${name}.${key}`] = { dtype: 'F32', shape: [values.length], data: values };
    }
    files['optimizer.safetensors'] = encodeSafetensors(tensors, { step: String(state.step) });
    files['train_state.json'] = JSON.stringify(parts.trainState, null, 2);
  }
  await writeCheckpointDir(dir, files);
}

export async function loadCheckpoint(dir: string, device: Device): Promise<Checkpoint> {
  const { files } = await readCheckpointDir(dir);
  const need = (name: string) => {
    const f = files[name];
    if (!f) throw new CheckpointError('loadCheckpoint', `${dir} has no ${name}`, 'point --ckpt at a directory written by `wgrad train`');
    return f;
  };
  const config = parseJSON(need('config.json'), 'config.json', dir) as Record<string, number> & { wgrad?: { bias?: boolean } };
  const gpt: GPTConfig = {
    vocabSize: config.vocab_size,
    blockSize: config.n_positions,
    nLayer: config.n_layer,
    nHead: config.n_head,
    nEmbd: config.n_embd,
    dropout: config.resid_pdrop ?? 0,
    bias: config.wgrad?.bias ?? true,
  };
  const tokenizer = tokenizerFromJSON(parseJSON(need('tokenizer.json'), 'tokenizer.json', dir));
  const model = new GPT(gpt, { device });
  loadWeights(model, need('model.safetensors'), dir);
  const trainState = files['train_state.json'] ? (parseJSON(files['train_state.json'], 'train_state.json', dir) as Record<string, unknown>) : null;
  let optimizerState: Checkpoint['optimizerState'] = null;
  if (files['optimizer.safetensors']) {
    const decoded = decodeSafetensors(files['optimizer.safetensors']);
    const buffers: Record<string, Record<string, Float32Array>> = {};
    for (const [key, t] of Object.entries(decoded.tensors)) {
      const dot = key.lastIndexOf('.');
      (buffers[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = toFloat32Array(t, key);
    }
    optimizerState = { step: Number(decoded.metadata.step ?? 0), buffers };
  }
  return { model, tokenizer, trainState, optimizerState };
}

/** Replace the model's weights with those of a safetensors file; every name and shape must match. */
export function loadWeights(model: GPT, bytes: Uint8Array, source: string): void {
  const { tensors } = decodeSafetensors(bytes);
  const expected = new Map(model.namedParameters());
  for (const [name, p] of expected) {
    const t = tensors[name];
    if (!t) throw new CheckpointError('loadWeights', `${source}: model.safetensors has no tensor '${name}'`, 'the checkpoint belongs to another architecture or is incomplete');
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw new CheckpointError('loadWeights', `${source}: '${name}' has shape [${t.shape}], the model expects [${p.shape}]`, 'config.json and model.safetensors disagree; the checkpoint is corrupt');
    }
    model.setParameter(name, tensor(toFloat32Array(t, name), p.shape, { device: p.device }));
  }
  const extra = Object.keys(tensors).filter((n) => !expected.has(n) && n !== 'lm_head.weight');
  if (extra.length > 0) throw new CheckpointError('loadWeights', `${source}: unexpected tensors ${extra.slice(0, 3).join(', ')}`, 'the checkpoint belongs to another architecture');
}

function parseJSON(bytes: Uint8Array, name: string, dir: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new CheckpointError('loadCheckpoint', `${dir}/${name} is not valid JSON (${(err as Error).message})`, 'the checkpoint is corrupt; resume from an earlier one');
  }
}
