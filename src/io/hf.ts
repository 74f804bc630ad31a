/**
 * Conversion between wgrad checkpoints and Hugging Face GPT-2 model directories, file by file
 * (platform-neutral: bytes in, bytes out; src/io/hf-dir.ts reads and writes the directories).
 *
 * The weights need no transposing: wgrad already stores GPT-2's names and Conv1D (in, out) layouts.
 * What differs is around them:
 *  - HF directories name tensors with or without the `transformer.` prefix (the hub's `gpt2` has none,
 *    `save_pretrained` writes it), may carry the causal-mask buffers `h.N.attn.bias` /
 *    `h.N.attn.masked_bias`, a copy of the tied `lm_head.weight`, and F16 or BF16 values;
 *  - HF GPT-2 always has biases: a wgrad model trained without them is exported with zero biases
 *    (which compute the same thing) and `wgrad.bias: false` in config.json, so that importing it back
 *    gives the bias-free model again;
 *  - the tokenizer: wgrad's own is written as `wgrad_tokenizer.json` (HF's `tokenizer.json` is another
 *    format); a directory without it must be GPT-2's own vocabulary (vocab.json / merges.txt /
 *    tokenizer.json with 50,257 tokens), which wgrad's `gpt2` tokenizer reproduces.
 */
import { CheckpointError } from '../errors.js';
import { TOKENIZER_TYPES, type TokenizerType } from '../data/tokenizer.js';
import type { GPTConfig } from '../nn/gpt.js';
import { decodeSafetensors, encodeSafetensors, toFloat32Array, type SafetensorsInput } from './safetensors.js';
import { fileGetter, gpt2Config, gptConfigFromJSON, parseJSON } from './model-files.js';

/** wgrad's tokenizer in an exported directory (HF's tokenizer.json is a different format). */
export const WGRAD_TOKENIZER_FILE = 'wgrad_tokenizer.json';

const GPT2_VOCAB = 50257;
const utf8 = new TextEncoder();

/** Every parameter of a GPT-2 model with this configuration, by HF name, with its shape. */
export function gpt2ParameterShapes(c: GPTConfig): Map<string, number[]> {
  const C = c.nEmbd;
  const shapes = new Map<string, number[]>([
    ['transformer.wte.weight', [c.vocabSize, C]],
    ['transformer.wpe.weight', [c.blockSize, C]],
  ]);
  const add = (name: string, weight: number[], biasSize: number) => {
    shapes.set(`${name}.weight`, weight);
    if (c.bias) shapes.set(`${name}.bias`, [biasSize]);
  };
  for (let i = 0; i < c.nLayer; i++) {
    const h = `transformer.h.${i}`;
    add(`${h}.ln_1`, [C], C);
    add(`${h}.attn.c_attn`, [C, 3 * C], 3 * C);
    add(`${h}.attn.c_proj`, [C, C], C);
    add(`${h}.ln_2`, [C], C);
    add(`${h}.mlp.c_fc`, [C, 4 * C], 4 * C);
    add(`${h}.mlp.c_proj`, [4 * C, C], C);
  }
  add('transformer.ln_f', [C], C);
  return shapes;
}

/**
 * A Hugging Face GPT-2 directory's files for a wgrad checkpoint's: model.safetensors (F32, prefixed
 * names, biases always present), config.json (GPT2Config) and wgrad_tokenizer.json.
 */
export function hfFilesFromCheckpoint(files: Readonly<Record<string, Uint8Array>>, source: string): Record<string, Uint8Array> {
  const need = fileGetter(files, 'exportHF', source, 'a checkpoint written by `wgrad train` has model.safetensors, config.json and tokenizer.json');
  const configJSON = parseJSON(need('config.json'), 'config.json', source) as Record<string, unknown>;
  const config = gptConfigFromJSON(configJSON, source);
  const tokenizerJSON = parseJSON(need('tokenizer.json'), 'tokenizer.json', source) as { type?: string };
  const { tensors } = decodeSafetensors(need('model.safetensors'));
  const out: Record<string, SafetensorsInput> = {};
  for (const [name, shape] of gpt2ParameterShapes({ ...config, bias: true })) {
    const t = tensors[name];
    if (t) out[name] = { dtype: 'F32', shape, data: toFloat32Array(t, name) };
    else if (!config.bias && name.endsWith('.bias')) out[name] = { dtype: 'F32', shape, data: new Float32Array(shape[0]!) };
    else throw new CheckpointError('exportHF', `${source}: model.safetensors has no tensor '${name}'`, 'the checkpoint is incomplete or from another architecture');
  }
  const hfConfig: Record<string, unknown> = { ...gpt2Config(config), ...(configJSON.wgrad ? { wgrad: configJSON.wgrad } : {}) };
  if (tokenizerJSON.type === 'gpt2') Object.assign(hfConfig, { bos_token_id: GPT2_VOCAB - 1, eos_token_id: GPT2_VOCAB - 1 });
  return {
    'model.safetensors': encodeSafetensors(out, { format: 'pt' }),
    'config.json': utf8.encode(JSON.stringify(hfConfig, null, 2)),
    [WGRAD_TOKENIZER_FILE]: utf8.encode(JSON.stringify(tokenizerJSON)),
  };
}

/**
 * A wgrad checkpoint's files (model.safetensors, config.json, tokenizer.json) for a Hugging Face
 * GPT-2 directory's. `files` holds config.json, the tokenizer files present, and the weights: the
 * files named in `weightFiles` (`model.safetensors`, or every shard of a sharded model).
 */
export function checkpointFilesFromHF(files: Readonly<Record<string, Uint8Array>>, weightFiles: readonly string[], source: string): Record<string, Uint8Array> {
  const need = fileGetter(files, 'importHF', source, 'a Hugging Face GPT-2 directory has config.json and model.safetensors (download them with `huggingface-cli download gpt2`)');
  const configJSON = parseJSON(need('config.json'), 'config.json', source) as Record<string, unknown>;
  checkGpt2Architecture(configJSON, source);
  const hfConfig = gptConfigFromJSON(configJSON, source);
  const tensors = hfTensors(weightFiles.map((name) => [name, need(name)]), hfConfig, source);

  // Zero biases with wgrad.bias = false come from a bias-free wgrad model: give it back its shape.
  const biasFree = (configJSON.wgrad as { bias?: unknown } | undefined)?.bias === false && Object.entries(tensors).every(([n, t]) => !n.endsWith('.bias') || t.data.every((v) => v === 0));
  const config: GPTConfig = { ...hfConfig, bias: !biasFree };
  const out: Record<string, SafetensorsInput> = {};
  for (const [name, shape] of gpt2ParameterShapes(config)) out[name] = { dtype: 'F32', shape, data: tensors[name]!.data };

  return {
    'model.safetensors': encodeSafetensors(out, { format: 'pt' }),
    'config.json': utf8.encode(JSON.stringify(gpt2Config(config), null, 2)),
    'tokenizer.json': utf8.encode(JSON.stringify(hfTokenizer(files, config, source))),
  };
}

/** wgrad implements GPT-2 itself: refuse configurations that compute something else. */
function checkGpt2Architecture(c: Record<string, unknown>, source: string): void {
  const refuse = (what: string) => {
    throw new CheckpointError('importHF', `${source}: config.json ${what}`, 'wgrad imports GPT-2 models (GPT2LMHeadModel with GPT-2\'s defaults) only');
  };
  if (c.model_type !== undefined && c.model_type !== 'gpt2') refuse(`describes a ${JSON.stringify(c.model_type)} model, not gpt2`);
  const activation = c.activation_function ?? 'gelu_new';
  if (activation !== 'gelu_new' && activation !== 'gelu_pytorch_tanh') refuse(`uses activation ${JSON.stringify(activation)}; wgrad's GELU is GPT-2's tanh form (gelu_new)`);
  if (c.n_inner != null && c.n_inner !== 4 * (c.n_embd as number)) refuse(`has n_inner ${c.n_inner}; wgrad's MLP is 4 × n_embd wide`);
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (eps !== 1e-5) refuse(`has layer_norm_epsilon ${eps}; wgrad's LayerNorm uses 1e-5`);
  if (c.tie_word_embeddings === false) refuse('unties the LM head from the token embedding; wgrad ties them');
  if (c.scale_attn_weights === false) refuse('turns off the 1/√d attention scale');
  if (c.scale_attn_by_inverse_layer_idx === true) refuse('scales attention by the inverse layer index');
}

/** The float32 tensors of a HF GPT-2 state dict under wgrad's names, checked against the configuration. */
function hfTensors(weightFiles: [string, Uint8Array][], c: GPTConfig, source: string): Record<string, { shape: number[]; data: Float32Array }> {
  const expected = gpt2ParameterShapes({ ...c, bias: true });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  let lmHead: Float32Array | null = null;
  for (const [file, bytes] of weightFiles) {
    for (const [key, t] of Object.entries(decodeSafetensors(bytes).tensors)) {
      if (/(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/.test(key)) continue; // the causal mask, a buffer
      if (key === 'lm_head.weight') {
        lmHead = toFloat32Array(t, key);
        continue;
      }
      const name = key.startsWith('transformer.') ? key : `transformer.${key}`;
      const shape = expected.get(name);
      if (!shape) throw new CheckpointError('importHF', `${source}: ${file} has a tensor '${key}' that GPT-2 does not`, 'the directory holds another architecture, or a model with adapters; merge them first');
      if (t.shape.join(',') !== shape.join(',')) {
        throw new CheckpointError('importHF', `${source}: '${key}' has shape [${t.shape}], config.json implies [${shape}]`, 'config.json and the weights disagree; download the directory again');
      }
      tensors[name] = { shape, data: Float32Array.from(toFloat32Array(t, key)) };
    }
  }
  const missing = [...expected.keys()].filter((n) => !tensors[n]);
  if (missing.length > 0) throw new CheckpointError('importHF', `${source}: no tensor ${missing.slice(0, 3).map((n) => `'${n}'`).join(', ')}${missing.length > 3 ? ` (and ${missing.length - 3} more)` : ''}`, 'the weights are incomplete; download the directory again (every shard of a sharded model)');
  const wte = tensors['transformer.wte.weight']!.data;
  if (lmHead && (lmHead.length !== wte.length || lmHead.some((v, i) => v !== wte[i]))) {
    throw new CheckpointError('importHF', `${source}: lm_head.weight differs from transformer.wte.weight`, 'wgrad ties the LM head to the token embedding; this model was fine-tuned with an untied head');
  }
  return tensors;
}

/** The tokenizer of an HF directory: wgrad's own when exported by wgrad, else GPT-2's, verified. */
function hfTokenizer(files: Readonly<Record<string, Uint8Array>>, c: GPTConfig, source: string): unknown {
  if (files[WGRAD_TOKENIZER_FILE]) return parseJSON(files[WGRAD_TOKENIZER_FILE], WGRAD_TOKENIZER_FILE, source);
  // tokenizer.json is wgrad's own in a checkpoint directory, HF's (a BPE model with its vocabulary) otherwise.
  const json = files['tokenizer.json'] ? (parseJSON(files['tokenizer.json'], 'tokenizer.json', source) as { type?: unknown; model?: { vocab?: Record<string, number> } }) : null;
  if (TOKENIZER_TYPES.includes(json?.type as TokenizerType)) return json;
  const vocab = files['vocab.json'] ? (parseJSON(files['vocab.json'], 'vocab.json', source) as Record<string, number>) : json?.model?.vocab;
  if (!vocab) {
    throw new CheckpointError('importHF', `${source} has no tokenizer (${WGRAD_TOKENIZER_FILE}, vocab.json or tokenizer.json)`, 'download the tokenizer files with the weights; wgrad reads GPT-2\'s vocabulary');
  }
  const isGpt2 = Object.keys(vocab).length === GPT2_VOCAB && vocab['<|endoftext|>'] === GPT2_VOCAB - 1 && vocab['\u0120the'] === 262;
  if (!isGpt2) throw new CheckpointError('importHF', `${source}: the tokenizer is not GPT-2's (${Object.keys(vocab).length} tokens)`, 'wgrad imports models that use GPT-2\'s own 50,257-token vocabulary');
  if (c.vocabSize < GPT2_VOCAB) throw new CheckpointError('importHF', `${source}: vocab_size ${c.vocabSize} is smaller than GPT-2's vocabulary (${GPT2_VOCAB})`, 'config.json and the tokenizer come from different models');
  return { type: 'gpt2' };
}
