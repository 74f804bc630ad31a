/**
 * `wgrad merge`: fold a LoRA adapter into its base's weights, W ← W + (α/r)·(B·A)ᵀ, and write an
 * ordinary checkpoint that runs without the adapter. The base is always loaded in float32, also for
 * an adapter trained over an int4 base (QLoRA): the merged weights are then the float32 base plus
 * the update, which differs from what training saw by the base's quantization error.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { init } from '../index.js';
import { ValueError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { mergeAndUnload } from '../lora/adapters.js';
import { readAdapterDir } from '../io/adapter-dir.js';
import { decodeAdapter } from '../io/peft.js';
import { checkAdapterTokenizer } from './with-adapters.js';

export function mergeCommand(): Command {
  return new Command('merge')
    .description('merge a LoRA adapter into its base checkpoint and save the result as a new checkpoint')
    .requiredOption('--base <dir>', 'base checkpoint (written by wgrad train)')
    .requiredOption('--adapter <dir>', 'adapter directory (written by wgrad finetune, or PEFT)')
    .requiredOption('--out <dir>', 'where to write the merged checkpoint (not the base)')
    .action(async (opts) => {
      const device = await init();
      try {
        const params = await mergeAdapterFiles(opts.base, opts.adapter, opts.out, device);
        console.log(`merged ${opts.adapter} into ${opts.base}: ${params.toLocaleString()} parameters written to ${opts.out}`);
      } finally {
        device.destroy();
      }
    });
}

/** Merge adapter directory `adapter` into checkpoint `base`, writing checkpoint `out`. Returns the parameter count. */
export async function mergeAdapterFiles(base: string, adapter: string, out: string, device: Device): Promise<number> {
  if (resolve(out) === resolve(base)) throw new ValueError('merge', `--out ${out} is the base checkpoint`, 'write the merged model to a new directory; the base stays as it is');
  const { model, tokenizer } = await loadCheckpoint(base, device);
  try {
    const { config, weights, files } = await readAdapterDir(adapter);
    checkAdapterTokenizer(files, tokenizer, adapter, base);
    decodeAdapter(model, 'merge', config, weights, adapter);
    mergeAndUnload(model, 'merge');
    await saveCheckpoint(out, { model, tokenizer });
    return model.numParameters();
  } finally {
    model.dispose();
  }
}
