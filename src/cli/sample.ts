/** `wgrad sample`: generate text from a checkpoint, streaming tokens to stdout as they come. */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { init } from '../index.js';
import { ValueError } from '../errors.js';
import { setActiveAdapter } from '../lora/adapters.js';
import { generate } from '../train/generate.js';
import { parseNumber } from './train.js';
import { QUANT_FORMATS, loadWithAdapters } from './with-adapters.js';

export function sampleCommand(): Command {
  return new Command('sample')
    .description('generate text from a checkpoint (with a KV cache)')
    .requiredOption('--ckpt <dir>', 'checkpoint directory written by wgrad train')
    .option('--prompt <text>', 'text to continue', '\n')
    .option('--prompt-file <file>', 'read the prompt from a file')
    .option('--tokens <n>', 'tokens to generate', parseNumber('tokens'), 500)
    .option('--temperature <t>', 'softmax temperature (0: greedy)', parseNumber('temperature'), 0.8)
    .option('--top-k <k>', 'sample among the k most likely tokens (0: all)', parseNumber('topK'), 200)
    .option('--top-p <p>', 'nucleus sampling threshold (1: off)', parseNumber('topP'), 1)
    .option('--seed <s>', 'random seed', parseNumber('seed'), 1337)
    .option('--adapter <dir>', 'apply a LoRA adapter over the checkpoint (not merged)')
    .addOption(new Option('--quantize <format>', 'hold the base linear weights in 4 bits (default: as the adapter was trained)').choices(QUANT_FORMATS))
    .action(async (opts) => {
      if (!Number.isInteger(opts.tokens) || opts.tokens < 0) throw new ValueError('sample', `--tokens ${opts.tokens} is not a whole number ≥ 0`, 'pass e.g. --tokens 200');
      const prompt = opts.promptFile ? await readFile(opts.promptFile, 'utf8') : opts.prompt;
      const device = await init();
      try {
        const { model, tokenizer, names } = await loadWithAdapters(opts.ckpt, opts.adapter ? [opts.adapter] : [], opts.quantize, device);
        setActiveAdapter(model, names[0] ?? null);
        process.stdout.write(prompt);
        const decoder = streamingDecoder((ids) => tokenizer.decode(ids));
        await generate(model, Array.from(tokenizer.encode(prompt)), opts.tokens, { temperature: opts.temperature, topK: opts.topK, topP: opts.topP, seed: opts.seed }, (id) => process.stdout.write(decoder(id)));
        process.stdout.write('\n');
        model.dispose();
      } finally {
        device.destroy();
      }
    });
}

/**
 * Decodes a growing token stream piece by piece. A byte-level token may end inside a multi-byte
 * character: text is only emitted once it decodes without a replacement character at its end.
 */
export function streamingDecoder(decode: (ids: number[]) => string): (id: number) => string {
  let ids: number[] = [];
  return (id) => {
    ids.push(id);
    const text = decode(ids);
    if (text.endsWith('\uFFFD') && ids.length < 8) return '';
    ids = [];
    return text;
  };
}
