/**
 * What `sample`, `eval` and `finetune` share about adapters: loading a base checkpoint with adapters
 * over it (optionally int4), the --unknown policy flags, and the text encoding they imply.
 */
import { Command, Option } from 'commander';
import type { Device } from '../gpu/device.js';
import { CheckpointError, ValueError } from '../errors.js';
import type { GPT } from '../nn/gpt.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { describeReplacements, encodeWithPolicy, type UnknownPolicy } from '../data/unknown-text.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { readAdapterDir } from '../io/adapter-dir.js';
import { decodeAdapter } from '../io/peft.js';
import { setActiveAdapter } from '../lora/adapters.js';

export type QuantFormatName = 'nf4' | 'q4_0';
export const QUANT_FORMATS: QuantFormatName[] = ['nf4', 'q4_0'];

export function addUnknownOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--unknown <policy>', 'characters a character-level base lacks: error, or replace each by --replacement').choices(['error', 'replace']).default('error'))
    .option('--replacement <char>', 'the in-vocabulary character --unknown replace substitutes', ' ');
}

/** Encode text under the --unknown policy, telling the user (stderr) what was replaced. */
export function encodeText(text: string, tokenizer: Tokenizer, policy: UnknownPolicy, replacement: string): Int32Array {
  const { tokens, replaced } = encodeWithPolicy(text, tokenizer, policy, replacement);
  if (replaced.length > 0) console.error(`note: ${describeReplacements(replaced, replacement)}`);
  return tokens;
}

/**
 * A base checkpoint with adapters loaded under the names a0, a1, … (none active afterwards). The base
 * linear weights are quantized when `quantize` says so, or else when the adapters were trained over
 * an int4 base (their adapter_config.json records it), so an adapter runs over the base it was
 * trained on.
 */
export async function loadWithAdapters(ckpt: string, adapters: string[], quantize: QuantFormatName | undefined, device: Device): Promise<{ model: GPT; tokenizer: Tokenizer; names: string[]; quantized: QuantFormatName | null }> {
  const { model, tokenizer } = await loadCheckpoint(ckpt, device);
  try {
    const names: string[] = [];
    const trainedOver = new Set<QuantFormatName | null>();
    for (const [i, dir] of adapters.entries()) {
      const { config, weights, files } = await readAdapterDir(dir);
      checkAdapterTokenizer(files, tokenizer, dir, ckpt);
      decodeAdapter(model, `a${i}`, config, weights, dir);
      names.push(`a${i}`);
      const q = (config.wgrad as { base_quantization?: QuantFormatName | null } | undefined)?.base_quantization ?? null;
      trainedOver.add(q);
    }
    if (quantize === undefined && trainedOver.size > 1) {
      throw new ValueError('adapters', `the adapters were trained over different bases (${[...trainedOver].map((q) => q ?? 'float32').join(', ')})`, 'pass --quantize nf4|q4_0, or load them in separate runs');
    }
    setActiveAdapter(model, null);
    const format = quantize ?? [...trainedOver][0] ?? null;
    if (format) {
      const { quantizeLinearLayers } = await import('../lora/int4-linear.js');
      quantizeLinearLayers(model, format);
    }
    return { model, tokenizer, names, quantized: format };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Same shapes are not enough: token ids mean nothing under another vocabulary. */
export function checkAdapterTokenizer(files: Record<string, Uint8Array>, tokenizer: Tokenizer, dir: string, ckpt: string): void {
  if (files['tokenizer.json'] && new TextDecoder().decode(files['tokenizer.json']) !== JSON.stringify(tokenizer.toJSON())) {
    throw new CheckpointError('adapters', `${dir} was trained with another tokenizer than ${ckpt}'s`, 'apply the adapter over the base it was fine-tuned from (base_model_name_or_path in its adapter_config.json)');
  }
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
