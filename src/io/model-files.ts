/**
 * The files of a model checkpoint, as bytes (platform-neutral: no file system; Node's
 * src/io/checkpoint.ts writes and reads them as an atomic directory, a browser gets them from a file
 * picker or fetch):
 *  - model.safetensors: the weights under Hugging Face GPT-2 names and layouts (F32; the tied
 *    `lm_head.weight` is not stored, as in GPT-2's own files);
 *  - config.json: GPT2Config keys (n_layer, n_head, n_embd, n_positions, vocab_size, …) plus
 *    wgrad's own fields under "wgrad";
 *  - tokenizer.json: the tokenizer's toJSON();
 *  - for resuming: train_state.json (step, generator states, best validation loss, training config)
 *    and optimizer.safetensors (AdamW moments as `<param>.m` / `<param>.v`, and the step count).
 */
import type { Device } from '../gpu/device.js';
import { CheckpointError, LimitError } from '../errors.js';
import { GPT, type GPTConfig } from '../nn/gpt.js';
import { parseShardName } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { sizeOf } from '../tensor/shape.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import { tensor } from '../tensor/create.js';
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizer.js';
import { decodeSafetensors, encodeSafetensors, toFloat32Array, type SafetensorsInput } from './safetensors.js';

/** A checkpoint rebuilt from its files: the model on a device, its tokenizer, and what resuming needs. */
export interface Checkpoint {
  /** The model, its weights loaded. */
  model: GPT;
  /** The tokenizer it was trained with (tokenizer.json). */
  tokenizer: Tokenizer;
  /** train_state.json, when the checkpoint can be resumed. */
  trainState: Record<string, unknown> | null;
  /** The optimizer moments, to pass to Optimizer.loadStateDict. */
  optimizerState: OptimizerState | null;
}

/** What a checkpoint is made from; the optimizer and training state only when training should resume. */
export interface CheckpointParts {
  /** The model whose weights are saved. */
  model: GPT;
  /** Its tokenizer, saved as tokenizer.json. */
  tokenizer: Tokenizer;
  /** The optimizer whose moments are saved (with trainState). */
  optimizer?: Optimizer;
  /** train_state.json's content (with optimizer). */
  trainState?: Record<string, unknown>;
}

/** The weights as HF GPT-2 safetensors bytes; a sharded embedding's shards are stored as its one whole table. */
export async function modelSafetensors(model: GPT): Promise<Uint8Array> {
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, { shape, parts }] of fileTensors(model)) {
    const data = new Float32Array(sizeOf(shape));
    for (const { tensor: t, first } of parts) data.set((await t.toArray()) as Float32Array, first * sizeOf(shape.slice(1)));
    tensors[name] = { dtype: 'F32', shape, data };
  }
  return encodeSafetensors(tensors, { format: 'pt' });
}

/** A parameter, or the rows [first, first + rows) of a file tensor that a sharded table splits. */
interface FilePart {
  name: string;
  first: number;
  tensor: Tensor;
}

/** The model's parameters by the file tensor they are stored as: each a whole tensor, or a table's row shards. */
function fileTensors(model: GPT): Map<string, { shape: number[]; parts: FilePart[] }> {
  const out = new Map<string, { shape: number[]; parts: FilePart[] }>();
  for (const [name, t] of model.namedParameters()) {
    const shard = parseShardName(name);
    const entry = out.get(shard?.name ?? name) ?? { shape: [...t.shape], parts: [] };
    if (shard) entry.shape[0] = Math.max(entry.shape[0]!, shard.first + t.shape[0]!); // the whole table's rows
    entry.parts.push({ name, first: shard?.first ?? 0, tensor: t });
    out.set(shard?.name ?? name, entry);
  }
  return out;
}

/** config.json for a model: Hugging Face GPT2Config keys, and wgrad's own fields (plus `extra`) under "wgrad". */
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

/** Every file of a checkpoint by name; the optimizer files only when both optimizer and trainState are given. */
export async function checkpointFiles(parts: CheckpointParts): Promise<Record<string, Uint8Array | string>> {
  const files: Record<string, Uint8Array | string> = {
    'model.safetensors': await modelSafetensors(parts.model),
    'config.json': JSON.stringify(gpt2Config(parts.model.config), null, 2),
    'tokenizer.json': JSON.stringify(parts.tokenizer.toJSON()),
  };
  if (parts.optimizer && parts.trainState) {
    files['optimizer.safetensors'] = encodeOptimizerState(await parts.optimizer.stateDict());
    files['train_state.json'] = JSON.stringify(parts.trainState, null, 2);
  }
  return files;
}

/**
 * Rebuilds a model, its tokenizer and (when present) its training state from a checkpoint's files.
 * `source` names where the files came from in error messages (a directory, a URL, "the selected files").
 * The model's size is checked against the device's limits before anything is allocated on it.
 */
export function checkpointFromFiles(files: Readonly<Record<string, Uint8Array>>, device: Device, source: string): Checkpoint {
  const need = fileGetter(files, 'loadCheckpoint', source, 'a checkpoint written by `wgrad train` has model.safetensors, config.json and tokenizer.json');
  const gpt = gptConfigFromJSON(parseJSON(need('config.json'), 'config.json', source), source);
  checkFitsDevice(gpt, device, source);
  const tokenizer = tokenizerFromJSON(parseJSON(need('tokenizer.json'), 'tokenizer.json', source));
  if (tokenizer.vocabSize > gpt.vocabSize) {
    throw new CheckpointError('loadCheckpoint', `${source}: tokenizer.json has ${tokenizer.vocabSize} tokens, config.json's vocab_size is ${gpt.vocabSize}`, 'the files come from different checkpoints; load the three files of one checkpoint');
  }
  const model = new GPT(gpt, { device, randomInit: false });
  try {
    loadWeights(model, need('model.safetensors'), source);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const trainState = files['train_state.json'] ? (parseJSON(files['train_state.json'], 'train_state.json', source) as Record<string, unknown>) : null;
  const optimizerState = files['optimizer.safetensors'] ? decodeOptimizerState(files['optimizer.safetensors']) : null;
  return { model, tokenizer, trainState, optimizerState };
}

/** optimizer.safetensors: each moment buffer as `<param>.<buffer>` (F32), the step count in the metadata. */
export function encodeOptimizerState(state: OptimizerState): Uint8Array {
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, bufs] of Object.entries(state.buffers)) {
    for (const [key, values] of Object.entries(bufs)) tensors[`${name}.${key}`] = { dtype: 'F32', shape: [values.length], data: values };
  }
  return encodeSafetensors(tensors, { step: String(state.step) });
}

/** The inverse of encodeOptimizerState, for Optimizer.loadStateDict. */
export function decodeOptimizerState(bytes: Uint8Array): OptimizerState {
  const decoded = decodeSafetensors(bytes);
  const buffers: OptimizerState['buffers'] = {};
  for (const [key, t] of Object.entries(decoded.tensors)) {
    const dot = key.lastIndexOf('.');
    (buffers[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = toFloat32Array(t, key);
  }
  return { step: Number(decoded.metadata.step ?? 0), buffers };
}

/** The GPTConfig a config.json describes (GPT2Config keys; wgrad's own under "wgrad"). */
export function gptConfigFromJSON(json: unknown, source: string): GPTConfig {
  const config = (json ?? {}) as Record<string, unknown> & { wgrad?: { bias?: boolean } };
  for (const key of ['vocab_size', 'n_positions', 'n_layer', 'n_head', 'n_embd']) {
    const v = config[key];
    if (!Number.isInteger(v) || (v as number) < 1) {
      throw new CheckpointError('loadCheckpoint', `${source}: config.json's ${key} is ${JSON.stringify(v)}, not a whole number ≥ 1`, 'config.json must hold GPT2Config keys, as `wgrad train` writes it');
    }
  }
  return {
    vocabSize: config.vocab_size as number,
    blockSize: config.n_positions as number,
    nLayer: config.n_layer as number,
    nHead: config.n_head as number,
    nEmbd: config.n_embd as number,
    dropout: (config.resid_pdrop as number | undefined) ?? 0,
    bias: config.wgrad?.bias ?? true,
  };
}

/**
 * Throws a LimitError when one of the model's weight matrices needs a bigger buffer than the device
 * can bind; browsers often grant far less than a native driver. (The token embedding is exempt: it is
 * split into row shards when it does not fit.)
 */
export function checkFitsDevice(c: GPTConfig, device: Device, source: string): void {
  const limit = device.maxBindingBytes;
  const largest: [string, number][] = [
    ['the position embedding (n_positions × n_embd)', c.blockSize * c.nEmbd],
    ['an MLP weight (n_embd × 4·n_embd)', 4 * c.nEmbd * c.nEmbd],
  ];
  for (const [what, elements] of largest) {
    const bytes = elements * 4;
    if (bytes > limit) {
      throw new LimitError(
        'loadCheckpoint',
        `${source}: ${what} needs ${fmtBytes(bytes)} in one buffer, but this device binds at most ${fmtBytes(limit)} (maxStorageBufferBindingSize / maxBufferSize)`,
        'the model is too large for this GPU or browser; use a smaller model (fewer n_embd or a smaller vocabulary), or a device with higher limits',
      );
    }
  }
}

/** Replace the model's weights with those of a safetensors file; every name and shape must match. */
export function loadWeights(model: GPT, bytes: Uint8Array, source: string): void {
  const { tensors } = decodeSafetensors(bytes);
  const expected = fileTensors(model);
  for (const [name, { shape, parts }] of expected) {
    const t = tensors[name];
    if (!t) throw new CheckpointError('loadWeights', `${source}: model.safetensors has no tensor '${name}'`, 'the checkpoint belongs to another architecture or is incomplete');
    if (t.shape.join(',') !== shape.join(',')) {
      throw new CheckpointError('loadWeights', `${source}: '${name}' has shape [${t.shape}], the model expects [${shape}]`, 'config.json and model.safetensors disagree; the checkpoint is corrupt');
    }
    const data = toFloat32Array(t, name);
    const row = sizeOf(shape.slice(1));
    for (const part of parts) {
      const values = parts.length === 1 ? data : data.subarray(part.first * row, (part.first + part.tensor.shape[0]!) * row);
      model.setParameter(part.name, tensor(values, part.tensor.shape, { device: part.tensor.device }));
    }
  }
  const extra = Object.keys(tensors).filter((n) => !expected.has(n) && n !== 'lm_head.weight');
  if (extra.length > 0) throw new CheckpointError('loadWeights', `${source}: unexpected tensors ${extra.slice(0, 3).join(', ')}`, 'the checkpoint belongs to another architecture');
}

/** A function returning the file of that name, or throwing a CheckpointError that it is missing from `source`. */
export function fileGetter(files: Readonly<Record<string, Uint8Array>>, where: string, source: string, hint: string): (name: string) => Uint8Array {
  return (name) => {
    const f = files[name];
    if (!f) throw new CheckpointError(where, `${source} has no ${name}`, hint);
    return f;
  };
}

/** A JSON file's content; a CheckpointError naming the file when it does not parse. */
export function parseJSON(bytes: Uint8Array, name: string, source: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new CheckpointError('loadCheckpoint', `${source}: ${name} is not valid JSON (${(err as Error).message})`, 'the file is corrupt; use an earlier checkpoint, or download or export it again');
  }
}

function fmtBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}
